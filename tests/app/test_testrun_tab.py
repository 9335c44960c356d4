"""AppTest: the "Test run" tab on Validate (any uploaded export) and on Generate (the pipeline's run)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.app.conftest import click, open_page, texts
from tests.testrun import workflows as w

PATTERNS = Path(__file__).resolve().parents[2] / "patterns"


def _upload(at, name: str, doc: dict):
    at.file_uploader[0].set_value((name, yaml.safe_dump(doc, allow_unicode=True).encode(), "application/x-yaml")).run()
    assert not at.exception, [e.value for e in at.exception]


def test_validate_test_run_tab_runs_an_upload_and_shows_the_trace(empty_data):
    doc = yaml.safe_load((PATTERNS / "sentiment-branching-reply.yaml").read_text(encoding="utf-8"))["dsl"]
    at = open_page("validate")
    _upload(at, "reply.yml", doc)
    assert [t.label for t in at.tabs][:2] == ["Findings", "Test run"]
    review = next(t for t in at.text_area if "review" in t.label)
    assert review.value.startswith("This is a sample")  # prefilled with the synthesized input
    review.input("The parcel arrived broken and nobody answers my emails.")
    click(at, "Run in Dify's engine")
    shown = texts(at)
    assert "Test run succeeded" in shown
    trace = [f.value for f in at.dataframe if "status" in f.value.columns and "type" in f.value.columns][0]
    assert list(trace["type"])[:2] == ["start", "parameter-extractor"]
    assert set(trace["status"]) == {"succeeded"}
    assert at.selectbox(key="v0-testrun-branch").options[1].startswith("branch ")
    assert len(at.get("plotly_chart")) >= 2  # the findings graph and the test-run path


def test_validate_test_run_tab_shows_a_runtime_finding(empty_data):
    at = open_page("validate")
    _upload(at, "mutant.yml", w.json_loads_free_text())
    click(at, "Run in Dify's engine")
    assert "Test run failed" in texts(at)
    findings = [f.value for f in at.dataframe if "code" in f.value.columns and "hint" in f.value.columns]
    assert any((f["code"] == "DSL703").any() for f in findings)


def test_generate_shows_the_pipelines_test_run_in_its_tab(empty_data):
    at = open_page("generate")
    at.text_area(key="generate.requirement").input(
        "Sort incoming customer emails into billing, delivery and other, and draft a reply for each kind.")
    click(at, "Generate workflow")
    assert "Test run" in [t.label for t in at.tabs]
    shown = texts(at)
    assert "Test run succeeded" in shown and "3 branch run(s)" in shown
    assert "The test run made while generating" in shown and "Your run, with the inputs above." not in shown
    click(at, "Run in Dify's engine")
    assert "Your run, with the inputs above." in texts(at)


def test_history_shows_a_runs_test_runs_with_the_node_trace(populated_data):
    from core.config import load_settings
    from core.ledger import Ledger

    led = Ledger.open(load_settings())
    run_id = led.query("SELECT run_id FROM test_runs ORDER BY id DESC LIMIT 1")["run_id"][0]
    led.close()
    at = open_page("history")
    next(s for s in at.selectbox if s.label == "Run").set_value(run_id).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Test runs" in [t.label for t in at.tabs]
    frames = [f.value for f in at.dataframe]
    listing = next(f for f in frames if "branch_runs" in f.columns)
    assert "succeeded" in set(listing["status"])  # the offline run it picked passed its test run
    nodes = next(f for f in frames if "node_type" in f.columns and "branch_label" in f.columns)
    assert nodes["node_type"].iloc[0] == "start"
