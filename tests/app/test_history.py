"""History page: each DSL version of a run with the diff between versions (repair rounds and
refinements), re-run and delete with confirmation."""

from __future__ import annotations

import yaml

from core.config import load_settings
from core.ledger import Ledger
from tests.app.conftest import click, open_page

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


def _runs_table(at):
    return next(f.value for f in at.dataframe if "run_id" in f.value)


def test_the_short_id_shown_in_the_run_picker_finds_the_run(populated_data):
    at = open_page("history")
    target = _runs_table(at)["run_id"].iloc[-1]
    label = next(s for s in at.selectbox if s.label == "Run").format_func(target)
    short = label.rsplit(" · ", 1)[1]
    assert len(short) == 8 and target.startswith(short)
    at.text_input(key="history-text").input(short).run()
    assert _runs_table(at)["run_id"].tolist() == [target]


def test_the_run_table_leads_with_a_readable_label_and_shows_what_a_refinement_asked(populated_data):
    at = open_page("history")
    runs = _runs_table(at)
    assert list(runs.columns[:3]) == ["run", "requirement", "status"] and runs.columns[-1] == "run_id"
    assert all(label.endswith(run_id[:8]) for label, run_id in zip(runs["run"], runs["run_id"], strict=True))
    child = runs[runs["parent_run_id"].astype(str).str.len() > 0].iloc[0]
    assert child["requirement"] == f"Refines {child['parent_run_id'][:8]}: also translate the summary into French"
    picker = next(s for s in at.selectbox if s.label == "Run")
    assert picker.format_func(child["run_id"]).split(" · ")[2] == child["requirement"]
    _select_run(at, child["run_id"])
    assert "**Refinement:** also translate the summary into French" in [m.value for m in at.markdown]


def test_rerun_while_a_filter_hides_it_toasts_and_shows_the_new_run(populated_data):
    at = open_page("history")
    at.selectbox(key="history-status").set_value("succeeded").run()
    first = next(s for s in at.selectbox if s.label == "Run").value
    at.text_input(key="history-text").input(first[:8]).run()  # only this run is listed
    click(at, "Re-run this requirement")
    shown = next(s for s in at.selectbox if s.label == "Run").value
    assert shown != first and shown == at.session_state["history.run"]
    assert shown in _runs_table(at)["run_id"].tolist()
    assert any(t.value.startswith(f"Re-ran {first[:8]} as new run {shown[:8]}") for t in at.toast)
    assert any(f"Run {shown[:8]} is shown at the top although the filters hide it." == c.value for c in at.caption)


def test_the_timeline_draws_stages_and_steps_with_durations(populated_data):
    at = open_page("history")
    chart = next(c for c in at.get("plotly_chart") if c.key == "history-timeline")
    import json

    figure = json.loads(chart.proto.spec)
    stages = next(t for t in figure["data"] if t["name"] == "stage")
    assert stages["y"][:4] == ["Requirements", "Architecture", "Configuration", "Quality"]
    assert all(isinstance(x, float) for x in stages["x"])
    steps = next(t for t in figure["data"] if t["name"] == "call / step")
    assert len(steps["y"]) >= 4
    table = next(f.value for f in at.dataframe if "duration" in f.value)
    assert set(table["kind"]) == {"stage", "call"} and table["duration"].str.endswith(" s").all()
    raw = next(e for e in at.expander if e.label == "Raw events")  # the JSON payloads only on demand
    assert len([f for f in raw.dataframe if "payload" in f.value]) == 1
    assert len([f for f in at.dataframe if "payload" in f.value]) == 1


def test_the_version_diff_says_first_which_nodes_changed_then_the_raw_diff_on_demand(populated_data):
    ledger = Ledger.open(load_settings())
    child = ledger.query("SELECT id FROM runs WHERE parent_run_id IS NOT NULL", []).iloc[0]["id"]
    ledger.close()
    at = _select_run(open_page("history"), child)
    changes = [line for m in at.markdown if m.value.startswith("- ") for line in m.value.splitlines()]
    assert changes and changes[0].startswith("- Added: ") and "(llm)" in changes[0]
    assert not any("icon" in c or "position" in c or "temperature" in c for c in changes)
    raw = next(e for e in at.expander if e.label == "Raw YAML diff")
    assert [c.language for c in raw.code] == ["diff"]
