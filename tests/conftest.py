"""Shared fixtures. Every test runs with the network blocked except loopback, and with its own data dir;
a synced pattern library is shared by the whole session, offline settings and a ledger per test."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from core.config import ProviderConfig, Settings
from tests.fakes.openai_server import fake_openai  # noqa: F401 - the fixture, for every test folder

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS_DIR = SHARED / "dify" / "corpus"
EVAL_FILE = SHARED / "eval" / "requirements.yaml"


def _is_loopback(address) -> bool:
    if isinstance(address, tuple):
        host = address[0]
    else:  # AF_UNIX paths and the like never leave the machine
        return True
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may not reach the network: connect to {address!r} refused")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may not reach the network: connect to {address!r} refused")
    return _real_connect_ex(self, address)


def pytest_configure(config):
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Each test gets its own data dir and no API key from the developer's environment."""
    monkeypatch.setenv("DIFYFORGE_DATA_DIR", str(tmp_path / "data"))
    for name in ("OPENAI_API_KEY", "DIFYFORGE_API_KEY", "OPENAI_BASE_URL", "DIFYFORGE_BASE_URL", "DIFYFORGE_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    yield


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


@pytest.fixture(scope="session")
def corpus_files() -> list[Path]:
    files = sorted(CORPUS_DIR.glob("*.yml"))
    assert len(files) == 46, f"expected the 46 corpus files beside the project, found {len(files)} in {CORPUS_DIR}"
    return files
