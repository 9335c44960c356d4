"""AppTest fixtures: a pattern index built once and copied per test, and a ledger populated by real runs.

Every page is opened through ``app.py`` (st.navigation) so the shared sidebar and router are exercised.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.batch import FALLBACK_EXAMPLES
from core.config import load_settings
from core.ledger import Ledger
from core.patterns import PatternLibrary

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 60
POPULATE = list(FALLBACK_EXAMPLES[:4])  # four kinds: file summary, classifier, chatbot with retrieval, HTTP


def offline_settings(data_dir: Path):
    """Offline settings over ``data_dir`` (what the app reads from the environment in these tests)."""
    return replace(load_settings(env={"DIFYFORGE_DATA_DIR": str(data_dir)}), data_dir=data_dir)


@pytest.fixture(scope="session")
def indexed_template(tmp_path_factory) -> Path:
    """A data dir whose Chroma index holds the pattern library (built once per session)."""
    data = tmp_path_factory.mktemp("indexed") / "data"
    PatternLibrary.open(offline_settings(data)).sync()
    return data


def _with_index(template: Path, target: Path) -> Path:
    shutil.copytree(template / "chroma", target / "chroma")
    return target


@pytest.fixture
def empty_data(tmp_path, indexed_template, monkeypatch) -> Path:
    """This test's own data dir: patterns indexed, ledger empty."""
    data = _with_index(indexed_template, tmp_path / "app-data")
    monkeypatch.setenv("DIFYFORGE_DATA_DIR", str(data))
    return data


@pytest.fixture(scope="session")
def populated_template(tmp_path_factory, indexed_template) -> Path:
    """A data dir with a ledger of real offline runs (one of them refined), built once per session."""
    from core.pipeline import generate, refine

    data = _with_index(indexed_template, tmp_path_factory.mktemp("populated") / "data")
    settings = offline_settings(data)
    ledger = Ledger.open(settings)
    library = PatternLibrary.open(settings)
    library.sync()
    first = None
    for requirement in POPULATE:
        result = generate(requirement, settings=settings, ledger=ledger, library=library, source="app")
        first = first or result
    refine(first.run_id, "also translate the summary into French", settings=settings, ledger=ledger, library=library)
    ledger.close()
    return data


@pytest.fixture
def populated_data(tmp_path, populated_template, monkeypatch) -> Path:
    """This test's own copy of the populated data dir."""
    data = tmp_path / "app-data"
    shutil.copytree(populated_template, data)
    monkeypatch.setenv("DIFYFORGE_DATA_DIR", str(data))
    return data


def open_page(page: str) -> AppTest:
    """Run the app and switch to ``pages/<page>.py``; fails when the page raised."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    if page != "generate":
        at.switch_page(f"pages/{page}.py")
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """All the text a user sees in the main area: markdown, captions, alerts, metrics."""
    parts = [e.value for kind in ("markdown", "caption", "error", "warning", "info", "success", "title",
                                  "subheader", "text")
             for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def click(at, label: str):
    """Click the (form submit) button with this label and run the app again."""
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    matches[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at
