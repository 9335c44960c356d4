"""Fixtures of the pattern tests: small valid pattern files, and libraries built from them in tmp folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.config import PATTERNS_DIR, Settings
from core.patterns import PatternLibrary

FIXTURES = Path(__file__).parent / "fixtures"
INVALID = FIXTURES / "invalid"
VALID_FILES = sorted(FIXTURES.glob("*.yaml"))


def real_pattern_files() -> list[Path]:
    return sorted(p for p in PATTERNS_DIR.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def make_library(root: Path, files: list[Path] = VALID_FILES) -> PatternLibrary:
    """A library whose built-in folder holds copies of ``files``, with its data under ``root/data``."""
    builtin = root / "patterns"
    builtin.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, builtin / f.name)
    return PatternLibrary.open(Settings(data_dir=root / "data"), patterns_dir=builtin)


@pytest.fixture
def library(tmp_path) -> PatternLibrary:
    """A fresh library over the valid fixtures (not yet synced)."""
    return make_library(tmp_path)


@pytest.fixture(scope="session")
def synced_library(tmp_path_factory) -> PatternLibrary:
    """One synced library over the valid fixtures, shared by read-only tests."""
    lib = make_library(tmp_path_factory.mktemp("patterns-shared"))
    report = lib.sync()
    assert not report.failed, report.failed
    return lib
