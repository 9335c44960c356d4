"""Fixtures of the ledger tests: a fresh ledger file per test."""

from __future__ import annotations

import pytest

from core.config import load_settings
from core.ledger import Ledger


@pytest.fixture
def settings():
    return load_settings()


@pytest.fixture
def ledger(settings) -> Ledger:
    led = Ledger.open(settings)
    yield led
    led.close()


@pytest.fixture(scope="session")
def library_for_ledger(tmp_path_factory):
    """One synced pattern library for the ledger tests that generate workflows."""
    from core.config import Settings
    from core.patterns import PatternLibrary

    lib = PatternLibrary.open(Settings(data_dir=tmp_path_factory.mktemp("ledger-patterns")))
    lib.sync()
    return lib
