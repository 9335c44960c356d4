"""The project's own pattern library (patterns/): every file loads, is valid and is indexed."""

from __future__ import annotations

import pytest

from core.config import PATTERNS_DIR, Settings
from core.patterns import PatternLibrary

from .conftest import real_pattern_files

pytestmark = pytest.mark.skipif(not real_pattern_files(), reason="patterns/ is still empty")


def test_every_real_pattern_loads_and_is_indexed(tmp_path):
    library = PatternLibrary.open(Settings(data_dir=tmp_path / "data"), patterns_dir=PATTERNS_DIR)
    report = library.sync()
    messages = [f.message for f in report.failed]
    assert messages == [], "\n".join(messages)
    assert len(report.loaded) == len(real_pattern_files())
    for pattern in library.list():
        assert pattern.node_types and "start" in pattern.node_types, pattern.id
        assert pattern.mode == pattern.dsl["app"]["mode"]
