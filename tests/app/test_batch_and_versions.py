"""Batch file parsing, the ZIP of workflows, and the version diff (pure core, no streamlit)."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal

import pytest

from core.batch import (
    FALLBACK_EXAMPLES,
    BatchRowResult,
    demo_items,
    example_requirements,
    parse_requirements,
    workflow_filename,
    workflows_zip,
)
from core.errors import InputError
from core.versions import diff_versions
from tests.conftest import EVAL_FILE


def test_csv_with_requirement_and_id_columns_any_case_keeps_empty_rows():
    items = parse_requirements("r.csv", b"ID,Requirement\na,Summarise a PDF\nb,\nc,\"Translate, then review\"\n")
    assert [(i.row, i.id, i.requirement) for i in items] == [
        (1, "a", "Summarise a PDF"), (2, "b", ""), (3, "c", "Translate, then review")]


def test_csv_without_requirement_column_names_the_columns_found():
    with pytest.raises(InputError) as caught:
        parse_requirements("r.csv", "text,id\nhello,1\n")
    assert "no 'requirement' column" in caught.value.message and "'text'" in caught.value.message
    assert "header row" in caught.value.hint


@pytest.mark.parametrize("content", [
    "- Summarise a PDF\n- requirement: Translate it\n  id: t\n",
    "cases:\n  - {id: s, requirement: Summarise a PDF}\n  - {id: t, requirement: Translate it}\n",
])
def test_yaml_lists_and_eval_style_cases(content):
    items = parse_requirements("r.yaml", content)
    assert [i.requirement for i in items] == ["Summarise a PDF", "Translate it"]


@pytest.mark.parametrize(("name", "content", "words"), [
    ("r.yaml", "just: a mapping\n", "no list of requirements"),
    ("r.yaml", "- [unclosed\n", "not valid YAML"),
    ("r.csv", b"\xff\xfe\x00bad", "not UTF-8"),
    ("r.csv", "requirement\n", "no requirements"),
    ("r.csv", "requirement\n" + "x\n" * 501, "at most 500"),
])
def test_bad_batch_files_get_clear_messages(name, content, words):
    with pytest.raises(InputError) as caught:
        parse_requirements(name, content)
    assert words in caught.value.message


def test_demo_set_is_the_evaluation_file_or_the_builtin_examples(tmp_path):
    items = demo_items(EVAL_FILE)
    assert len(items) >= 20 and all(i.requirement and i.id for i in items)
    assert example_requirements(3, EVAL_FILE) == [i.requirement for i in items[:3]]
    missing = demo_items(tmp_path / "nope.yaml")
    assert [i.requirement for i in missing] == list(FALLBACK_EXAMPLES)


def test_zip_holds_each_workflow_and_a_results_table():
    rows = [
        BatchRowResult(1, "a", "req a", "succeeded", run_id="r1", app_name="Email Triage / v2", valid=True,
                       errors=0, warnings=1, cost_usd=Decimal("0.0012"), yaml_text="app: {name: a}\n"),
        BatchRowResult(2, None, "", "failed", message="Empty requirement: nothing to generate."),
        BatchRowResult(3, None, "req c", "succeeded", run_id="r3", app_name=None, cost_usd=None, yaml_text="x: 1\n"),
    ]
    with zipfile.ZipFile(io.BytesIO(workflows_zip(rows))) as archive:
        names = archive.namelist()
        assert names == ["001-email-triage-v2.yml", "003-workflow.yml", "results.csv"]
        assert archive.read("001-email-triage-v2.yml").decode() == "app: {name: a}\n"
        table = list(csv.DictReader(io.StringIO(archive.read("results.csv").decode())))
    assert [r["status"] for r in table] == ["succeeded", "failed", "succeeded"]
    assert table[0]["cost_usd"] == "0.0012" and table[2]["cost_usd"] == ""
    assert table[1]["message"] == "Empty requirement: nothing to generate."


def test_workflow_filename_is_safe():
    assert workflow_filename("../../etc/passwd") == "etc-passwd.yml"
    assert workflow_filename("客服 Bot") == "客服-bot.yml"
    assert workflow_filename(None) == "workflow.yml"


def test_diff_versions_counts_changes():
    old = "app:\n  name: a\n  mode: workflow\n"
    new = "app:\n  name: b\n  mode: workflow\nkind: app\n"
    diff = diff_versions(old, new, old_label="v1", new_label="v2")
    assert (diff.added, diff.removed) == (2, 1)
    assert diff.text.startswith("--- v1\n+++ v2") and "+  name: b" in diff.text
    assert diff.summary() == "+2 / -1 lines"
    same = diff_versions(old, old)
    assert same.identical and same.text == "" and same.summary() == "identical"


def test_graph_changes_name_nodes_and_ignore_layout_icon_and_temperature_noise():
    import copy

    import yaml

    from core.versions import graph_changes
    from tests.conftest import CORPUS_DIR

    old = yaml.safe_load((CORPUS_DIR / "SEO Slug Generator.yml").read_text(encoding="utf-8"))
    noisy = copy.deepcopy(old)
    for node in noisy["workflow"]["graph"]["nodes"]:
        node["position"] = {"x": 1, "y": 2}
        model = (node.get("data") or {}).get("model")
        if isinstance(model, dict):
            model.setdefault("completion_params", {})["temperature"] = 0.123
    noisy["app"]["icon"] = "🤖"
    assert graph_changes(old, noisy).none and graph_changes(old, noisy).lines() == []
    changed = copy.deepcopy(old)
    nodes = changed["workflow"]["graph"]["nodes"]
    llm = next(n for n in nodes if n["data"]["type"] == "llm")
    llm["data"]["prompt_template"] = [{"role": "system", "text": "new"}]
    gone = next(n for n in nodes if n["data"]["type"] == "end")
    nodes.remove(gone)
    changes = graph_changes(yaml.safe_dump(old), yaml.safe_dump(changed))
    assert [c.title for c in changes.removed] == [gone["data"]["title"]]
    assert [(c.title, c.fields) for c in changes.changed] == [(llm["data"]["title"], ("prompt_template",))]
    assert changes.edges_removed and not changes.added
    assert changes.summary() == "2 node(s): 1 removed, 1 changed"
