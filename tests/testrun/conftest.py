"""Fixtures of the test-run tests that go through the pipeline: offline settings, a synced library."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ProviderConfig, Settings


@pytest.fixture(scope="session")
def library(tmp_path_factory):
    from core.patterns import PatternLibrary

    lib = PatternLibrary.open(Settings(data_dir=Path(tmp_path_factory.mktemp("patterns-data"))))
    lib.sync()
    return lib


@pytest.fixture
def offline_settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", provider=ProviderConfig(kind="offline"))


@pytest.fixture
def ledger(offline_settings):
    from core.ledger import Ledger

    led = Ledger.open(offline_settings)
    yield led
    led.close()


from tests.fakes.openai_server import fake_openai  # noqa: E402, F401 - fixture
