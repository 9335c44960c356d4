"""History page: each DSL version of a run with the diff between versions (repair rounds and
refinements), re-run and delete with confirmation."""

from __future__ import annotations

import yaml

from core.config import load_settings
from core.ledger import Ledger
from tests.app.conftest import open_page
from tests.app.test_pages import click

PATTERN = "patterns/document-summary.yaml"


def _select_run(at, run_id: str):
    box = next(s for s in at.selectbox if s.label == "Run")
    box.set_value(run_id).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _diff(at) -> tuple[str, str]:
    """The diff caption and the diff text the page shows."""
    caption = next(c.value for c in at.caption if "→" in c.value)
    codes = [c.value for c in at.code if c.language == "diff"]
    assert codes, caption
    code = codes[0]
    return caption, code


def _run_with_a_repair_round(settings) -> str:
    """A run recorded the way the pipeline records a repair round: two workflow versions."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    dsl = yaml.safe_load((root / PATTERN).read_text(encoding="utf-8"))["dsl"]
    first = yaml.safe_dump(dsl, allow_unicode=True, sort_keys=True)
    dsl["app"]["name"] = "Repaired summary"  # was "Document executive summary"
    second = yaml.safe_dump(dsl, allow_unicode=True, sort_keys=True)
    ledger = Ledger.open(settings)
    try:
        run_id = ledger.start_run(requirement="Summarize a report (repaired once)", provider="offline",
                                  model="offline", mode="workflow", source="app")
        ledger.record_workflow(run_id, yaml_text=first, app_mode="workflow", valid=False, errors=1, warnings=0,
                               name="Summary")
        ledger.record_workflow(run_id, yaml_text=second, app_mode="workflow", valid=True, errors=0, warnings=0,
                               name="Repaired summary")
        ledger.finish_run(run_id, status="succeeded", app_mode="workflow")
    finally:
        ledger.close()
    return run_id


def test_a_repair_round_shows_both_versions_and_their_diff(populated_data):
    run_id = _run_with_a_repair_round(load_settings())
    at = _select_run(open_page("history"), run_id)
    assert at.selectbox(key="history-version").options == ["v1", "v2"]
    caption, diff = _diff(at)
    assert caption == "v1 → v2: +1 / -1 lines"
    assert "-  name: Document executive summary" in diff and "+  name: Repaired summary" in diff
    assert any(b.label == "Download v2" for b in at.get("download_button"))


def test_a_refined_run_is_compared_with_the_workflow_it_refined(populated_data):
    ledger = Ledger.open(load_settings())
    child = ledger.query("SELECT id, parent_run_id FROM runs WHERE parent_run_id IS NOT NULL", []).iloc[0]
    ledger.close()
    at = _select_run(open_page("history"), child["id"])
    assert any(f"Refines run `{child['parent_run_id']}`" in c.value for c in at.caption), [c.value for c in at.caption]
    caption, diff = _diff(at)
    assert caption.startswith(f"parent v1 (run {child['parent_run_id'][:8]}) → v1: +")
    assert diff.startswith(f"--- parent v1 (run {child['parent_run_id'][:8]})\n+++ v1")
    at.selectbox(key="history-diff-old").set_value(
        at.selectbox(key="history-diff-new").value).run()  # the same version on both sides
    assert next(c.value for c in at.caption if "→" in c.value) == "v1 → v1: identical"
    assert not [c for c in at.code if c.language == "diff"]


def test_a_single_version_says_there_is_nothing_to_compare(populated_data):
    at = open_page("history")
    ledger = Ledger.open(load_settings())
    lone = ledger.query("SELECT id FROM runs WHERE parent_run_id IS NULL AND id NOT IN "
                        "(SELECT parent_run_id FROM runs WHERE parent_run_id IS NOT NULL) LIMIT 1", [])["id"][0]
    ledger.close()
    _select_run(at, lone)
    assert any("Only one version" in c.value for c in at.caption)


def test_rerun_records_a_new_run_and_shows_it(populated_data):
    at = open_page("history")
    before = len(next(f.value for f in at.dataframe if "run_id" in f.value))
    first = next(s for s in at.selectbox if s.label == "Run").value
    click(at, "Re-run this requirement")
    runs = next(f.value for f in at.dataframe if "run_id" in f.value)
    assert len(runs) == before + 1
    shown = next(s for s in at.selectbox if s.label == "Run").value
    assert shown != first and shown == at.session_state["history.run"]
    ledger = Ledger.open(load_settings())
    assert ledger.get_run(shown)["requirement"] == ledger.get_run(first)["requirement"]
    ledger.close()


def test_delete_needs_the_confirmation_and_removes_the_run(populated_data):
    at = open_page("history")
    victim = next(s for s in at.selectbox if s.label == "Run").value
    assert next(b for b in at.button if b.label == "Delete run").disabled
    next(c for c in at.checkbox if c.label.startswith("Yes, delete")).check().run()
    click(at, "Delete run")
    runs = next(f.value for f in at.dataframe if "run_id" in f.value)
    assert victim not in runs["run_id"].tolist()
    ledger = Ledger.open(load_settings())
    assert ledger.query("SELECT count(*) AS n FROM runs WHERE id = ?", [victim])["n"][0] == 0
    ledger.close()


def test_an_empty_ledger_invites_to_generate_instead_of_showing_filters(empty_data):
    at = open_page("history")
    assert any("No runs yet" in i.value for i in at.info)
    assert not at.selectbox and not at.text_input
