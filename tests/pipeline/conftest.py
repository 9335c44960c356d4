"""Fixtures of the pipeline tests: settings for the offline brain, a shared pattern library."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ProviderConfig, Settings
from tests.fakes.openai_server import fake_openai  # noqa: F401


@pytest.fixture(scope="session")
def library_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("patterns-data")


@pytest.fixture(scope="session")
def library(library_dir):
    """One synced pattern library for the whole session (embedding is the expensive part)."""
    from core.patterns import PatternLibrary

    lib = PatternLibrary.open(Settings(data_dir=library_dir))
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
