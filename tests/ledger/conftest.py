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
