"""Every page over a damaged ledger file: a clear message (what, where, what to do), never a traceback,
and the Generate page still hands over the workflow, saying the run was not recorded."""

from __future__ import annotations

import pytest

from core.dsl import validate
from tests.app.conftest import click, open_page, texts
from tests.app.test_pages import PAGES


@pytest.fixture
def damaged_data(empty_data):
    from core.ledger import Ledger
    from core.ledger.connection import shared_database

    path = empty_data / "ledger.duckdb"
    Ledger.open(path).close()  # a real ledger file ...
    shared_database(path).release()
    with path.open("r+b") as fh:  # ... cut in half (a copy that stopped midway, a full disk)
        fh.truncate(path.stat().st_size // 2)
    return path


def _assert_clear(shown: str, path) -> None:
    assert "Traceback" not in shown and "IOException" not in shown
    assert str(path) in shown and "damaged" in shown and "Move it aside" in shown, shown


@pytest.mark.parametrize("page", PAGES)
def test_every_page_says_what_is_wrong_with_the_ledger(damaged_data, page):
    at = open_page(page)  # fails when the page raised
    _assert_clear(texts(at), damaged_data)


def test_generate_over_a_damaged_ledger_still_gives_the_workflow(damaged_data):
    at = open_page("generate")
    at.text_area(key="generate.requirement").input("Summarise an article in three bullet points.")
    click(at, "Generate workflow")
    result = at.session_state["generate.result"]
    assert result.status == "succeeded" and result.recorded is False
    assert validate(at.code[0].value).valid and at.get("download_button")
    assert any("not recorded" in w.value for w in at.warning)
