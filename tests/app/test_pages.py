"""Every page through app.py (st.navigation) with AppTest: renders on an empty and a populated ledger,
its main action works, and bad input gets a clear message."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from core.config import load_settings
from core.dsl import validate
from core.ledger import Ledger, analytics
from tests.app.conftest import click, open_page, texts
from tests.conftest import CORPUS_DIR

PAGES = ["generate", "validate", "patterns", "history", "analytics", "batch", "settings"]


def ledger_runs(data: Path) -> int:
    return int(analytics.headline(Ledger.open(load_settings())).iloc[0]["runs"])


# -- every page renders ---------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_an_empty_ledger(page, empty_data):
    at = open_page(page)
    assert at.title[0].value == page.capitalize()
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_a_populated_ledger(page, populated_data):
    at = open_page(page)
    assert at.title[0].value == page.capitalize()
    assert not at.error, [e.value for e in at.error]


def test_shared_sidebar_shows_provider_and_health(empty_data):
    at = open_page("generate")
    assert "offline brain" in "\n".join(m.value for m in at.sidebar.markdown)
    captions = "\n".join(c.value for c in at.sidebar.caption)
    assert "Ledger ready" in captions and "patterns indexed" in captions


# -- Generate ----------------------------------------------------------------------------------------------


def test_generate_offline_shows_the_workflow_and_records_the_run(empty_data):
    at = open_page("generate")
    at.text_area(key="generate.requirement").input(
        "Classify incoming customer emails as complaint, refund request, or general inquiry and draft a reply.")
    click(at, "Generate workflow")
    shown = texts(at)
    assert "Run `" in shown
    assert "classes: complaint, refund request, general inquiry" in shown.lower()  # each agent's result
    assert "score 100/100" in shown
    download = at.get("download_button")
    assert download, "the YAML download button is missing"
    yaml_text = at.code[0].value
    assert validate(yaml_text).valid
    assert len(at.get("plotly_chart")) >= 1
    assert ledger_runs(empty_data) == 1
    assert any(m.label == "Cost" for m in at.metric)


def test_generate_refine_records_a_child_run(empty_data):
    at = open_page("generate")
    at.text_area(key="generate.requirement").input("Summarize an uploaded PDF report into an executive summary.")
    click(at, "Generate workflow")
    parent = at.session_state["generate.result"].run_id
    at.text_input[0].input("also translate the summary into French")
    click(at, "Refine")
    child = at.session_state["generate.result"]
    assert child.run_id != parent
    led = Ledger.open(load_settings())
    assert led.get_run(child.run_id)["parent_run_id"] == parent
    assert not any("did not change the workflow" in w.value for w in at.warning)
    at.text_input[0].input("please")
    click(at, "Refine")
    assert any("did not change the workflow" in w.value for w in at.warning)


def test_a_successful_refine_shows_the_child_run_and_what_changed(empty_data):
    at = open_page("generate")
    at.text_area(key="generate.requirement").input("Summarize an uploaded PDF report into an executive summary.")
    click(at, "Generate workflow")
    parent = at.session_state["generate.result"].run_id
    at.text_input[0].input("also translate the summary into French")
    click(at, "Refine")
    child = at.session_state["generate.result"].run_id
    message = next(s.value for s in at.success if s.value.startswith("Refined run"))
    assert parent in message and child in message and "also translate the summary into French" in message
    changes = [line for m in at.markdown if m.value.startswith("- ") for line in m.value.splitlines()]
    assert any(line.startswith("- Added: ") and "(llm)" in line for line in changes), changes


def test_a_failing_refine_keeps_its_error_on_screen(empty_data):
    at = open_page("generate")
    at.text_area(key="generate.requirement").input("Summarize an uploaded PDF report into an executive summary.")
    click(at, "Generate workflow")
    parent = at.session_state["generate.result"].run_id
    led = Ledger.open(load_settings())
    led.delete_run(parent)  # e.g. deleted on the History page in another tab
    led.close()
    at.text_input[0].input("also translate the summary into French")
    click(at, "Refine")
    errors = [e.value for e in at.error]
    assert any(parent in e for e in errors), errors  # says which run is missing, and is still there
    assert at.session_state["generate.result"].run_id == parent


def test_generate_empty_requirement_says_so(empty_data):
    at = open_page("generate")
    click(at, "Generate workflow")
    assert any(e.value.startswith("The requirement is empty.") for e in at.error), [e.value for e in at.error]
    assert ledger_runs(empty_data) == 0


def test_generate_an_over_long_requirement_is_refused_before_a_run_is_created(empty_data):
    from core.pipeline import MAX_REQUIREMENT_CHARS

    at = open_page("generate")
    at.text_area(key="generate.requirement").input("Summarise the report. " * (MAX_REQUIREMENT_CHARS // 20))
    click(at, "Generate workflow")
    assert any(f"the limit is {MAX_REQUIREMENT_CHARS:,}" in e.value for e in at.error), [e.value for e in at.error]
    assert ledger_runs(empty_data) == 0 and "generate.result" not in at.session_state


def test_generate_names_the_pattern_it_derived_from_and_its_stages_and_steps(empty_data):
    at = open_page("generate")
    at.text_area(key="generate.requirement").input(
        "Classify incoming customer emails as complaint, refund request, or general inquiry and draft a reply.")
    click(at, "Generate workflow")
    result = at.session_state["generate.result"]
    used = result.blueprint.patterns_used
    assert used, "the offline brain derives this requirement from a library pattern"
    name = next(r.pattern.name for r in result.patterns if r.pattern.id == used[0])
    assert any(m.value.startswith("Derived from the pattern") and name in m.value and used[0] in m.value
               for m in at.markdown)
    assert any(c.value.startswith("Adapted: kept ") for c in at.caption)  # what was taken from the pattern, and how
    assert any(m.label == "Steps" and m.value == "4" for m in at.metric)  # offline: steps, not model calls
    assert not any(m.label == "Model calls" for m in at.metric)
    costs = next(f.value for f in at.dataframe if "Agent" in f.value)
    assert costs["Agent"].tolist() == ["Requirements agent", "Architecture agent", "Configuration agent",
                                       "Quality agent"]
    assert {"Steps", "Prompt tokens", "Completion tokens", "Cost"} <= set(costs.columns)
    assert not {"prompt_tokens", "known_cost_usd", "unknown_cost_calls"} & set(costs.columns)
    at.run()  # the next click: the progress box is gone, the record of the stages stays
    record = next(e for e in at.expander if e.label.startswith("How it was made: 4 stages"))
    lines = [m.value for m in record.markdown]
    assert [line.split("**")[1] for line in lines] == ["Requirements agent", "Architecture agent",
                                                       "Configuration agent", "Quality agent"]
    assert all("1 step" in line for line in lines)


def test_generate_example_fills_the_requirement(empty_data):
    at = open_page("generate")
    example = at.selectbox(key="generate.example").options[1]
    at.selectbox(key="generate.example").select_index(1).run()
    assert at.text_area(key="generate.requirement").value == example


# -- Validate ----------------------------------------------------------------------------------------------


def test_validate_uploads_show_a_summary_per_file_and_findings(empty_data):
    good = (CORPUS_DIR / "SEO Slug Generator.yml").read_bytes()
    doc = yaml.safe_load(good)
    doc["workflow"]["graph"]["edges"][0]["target"] = "no-such-node"
    doc["workflow"]["graph"]["nodes"][1]["data"]["type"] = "made-up-type"
    broken = yaml.safe_dump(doc, allow_unicode=True).encode()
    at = open_page("validate")
    at.file_uploader[0].set_value([("good.yml", good, "application/x-yaml"),
                                   ("broken.yml", broken, "application/x-yaml")]).run()
    assert not at.exception
    shown = texts(at)
    assert "**good.yml**: valid" in shown and "**broken.yml**: not valid" in shown
    tables = [t.value for t in at.table]
    assert tables and all(len(t) > 0 for t in tables)
    findings = pd.concat(tables)
    assert {"code", "node", "message", "hint"} <= set(findings.columns)
    edge = findings[findings["message"] == "Edge target 'no-such-node' is not a node."]
    assert edge["node"].tolist() == ["Start → (unknown node 'no-such-node')"]  # titles, not "Edge 0"
    assert len(at.get("plotly_chart")) == 2


def test_validate_an_edge_without_a_target_names_its_source(empty_data):
    doc = yaml.safe_load((CORPUS_DIR / "SEO Slug Generator.yml").read_text(encoding="utf-8"))
    del doc["workflow"]["graph"]["edges"][1]["target"]
    at = open_page("validate")
    at.file_uploader[0].set_value(("cut.yml", yaml.safe_dump(doc, allow_unicode=True).encode(),
                                   "application/x-yaml")).run()
    findings = pd.concat([t.value for t in at.table])
    row = findings[findings["code"] == "DSL200"].iloc[0]
    assert row["node"].endswith(" → (no target)") and not row["node"].startswith("(")
    assert row["hint"] == "Quote the node id."


def test_validate_pasted_yaml(empty_data):
    at = open_page("validate")
    at.text_area[0].input((CORPUS_DIR / "中译英.yml").read_text(encoding="utf-8"))
    click(at, "Validate pasted YAML")
    assert "**pasted YAML**: valid" in texts(at)


@pytest.mark.parametrize(("content", "words"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "YAML"),
    (b"just: [unclosed", "Not valid YAML"),
])
def test_validate_non_yaml_upload_gets_a_clear_message(empty_data, content, words):
    at = open_page("validate")
    at.file_uploader[0].set_value(("picture.yml", content, "application/octet-stream")).run()
    assert not at.exception
    assert "**picture.yml**: not valid" in texts(at)
    assert any(words in e.value for e in at.error)


def test_validate_a_20_mb_upload_is_refused_with_a_message(empty_data):
    big = b"app:\n  name: big\n  description: '" + b"x" * (20 * 1024 * 1024) + b"'\n"
    at = open_page("validate")
    at.file_uploader[0].set_value(("big.yml", big, "application/x-yaml")).run()
    assert not at.exception
    assert "DSL content is 20.0 MB, over Dify's 10 MB limit." in [e.value for e in at.error]


# -- Patterns ----------------------------------------------------------------------------------------------


def test_patterns_browse_search_and_stats(populated_data):
    at = open_page("patterns")
    frames = [f.value for f in at.dataframe]
    assert any("id" in f and len(f) >= 10 for f in frames)
    at.text_input[0].input("translate a text into several languages").run()
    hits = [f.value for f in at.dataframe if "similarity" in f.value]
    assert hits and "multi-language-translation" in hits[0]["id"].tolist()[:3]
    assert any(m.label == "Patterns" for m in at.metric)


def test_patterns_add_and_remove_a_user_pattern(empty_data):
    source = Path(__file__).resolve().parents[2] / "patterns" / "document-summary.yaml"
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    doc["metadata"]["id"] = "my-summary"
    doc["metadata"]["name"] = "My summary"
    at = open_page("patterns")
    before = _sidebar_pattern_count(at)
    at.file_uploader(key="add-upload").set_value(
        ("mine.yaml", yaml.safe_dump(doc, allow_unicode=True).encode(), "application/x-yaml")).run()
    click(at, "Add pattern")
    assert "Added user pattern my-summary (My summary)." in [s.value for s in at.success]
    assert _sidebar_pattern_count(at) == before + 1  # the sidebar is fresh right after the add
    at.run()
    at.selectbox(key="browse-pick").set_value("my-summary").run()
    at.checkbox(key="browse-confirm").check().run()
    at.button(key="browse-remove").click().run()
    assert "my-summary" not in at.selectbox(key="browse-pick").options
    assert "Removed user pattern my-summary (My summary)." in [s.value for s in at.success]  # survives the rerun
    assert _sidebar_pattern_count(at) == before


def _sidebar_pattern_count(at) -> int:
    caption = next(c.value for c in at.sidebar.caption if "patterns indexed" in c.value)
    return int(caption.split()[-3])


def test_patterns_a_plain_dify_export_is_added_after_naming_and_describing_it(empty_data):
    from core.config import load_settings
    from core.patterns import PatternLibrary

    export = (CORPUS_DIR / "SEO Slug Generator.yml").read_bytes()
    at = open_page("patterns")
    before = _sidebar_pattern_count(at)
    at.file_uploader(key="add-upload").set_value(("seo.yml", export, "application/x-yaml")).run()
    assert any("is a Dify export (workflow)" in i.value for i in at.info)
    assert at.text_input(key="add-name").value == yaml.safe_load(export)["app"]["name"]
    at.text_input(key="add-name").input("SEO slugs")
    at.text_area(key="add-description").input("")
    click(at, "Add pattern")
    assert "The pattern needs a description." in [e.value for e in at.error]  # nothing added yet
    at.text_area(key="add-description").input("Turns an article title into a short SEO-friendly URL slug.")
    at.text_input(key="add-tags").input("SEO, text, slug")
    click(at, "Add pattern")
    assert "Added user pattern seo-slugs (SEO slugs)." in [s.value for s in at.success], [e.value for e in at.error]
    assert _sidebar_pattern_count(at) == before + 1
    added = PatternLibrary.open(load_settings()).get("seo-slugs")
    assert added.source == "user" and added.tags == ["seo", "text", "slug"] and added.mode == "workflow"


def test_patterns_an_export_of_a_chat_app_is_refused_with_the_reason(empty_data):
    export = yaml.safe_dump({"app": {"mode": "completion", "name": "x"}, "workflow": {"graph": {}}}).encode()
    at = open_page("patterns")
    at.file_uploader(key="add-upload").set_value(("c.yml", export, "application/x-yaml")).run()
    assert any("is a Dify 'completion' app" in e.value for e in at.error)
    assert not [b for b in at.button if b.label == "Add pattern"]


def test_patterns_invalid_upload_shows_the_findings(empty_data):
    at = open_page("patterns")
    bad = b"metadata: {id: bad, name: Bad}\ndsl: {app: {mode: workflow}}\n"
    at.file_uploader(key="add-upload").set_value(("bad.yaml", bad, "application/x-yaml")).run()
    click(at, "Add pattern")
    assert at.error and not at.exception


# -- History -----------------------------------------------------------------------------------------------


def test_history_lists_runs_shows_versions_and_deletes_with_confirmation(populated_data):
    at = open_page("history")
    runs = next(f.value for f in at.dataframe if "run_id" in f.value)
    assert len(runs) == 5
    assert any(r == "unknown" or str(r).startswith("$") for r in runs["cost_usd"])
    before = len(runs)
    delete = next(b for b in at.button if b.label == "Delete run")
    assert delete.disabled
    next(c for c in at.checkbox if c.label.startswith("Yes, delete")).check().run()
    click(at, "Delete run")
    runs = next(f.value for f in at.dataframe if "run_id" in f.value)
    assert len(runs) == before - 1


def test_history_text_filter(populated_data):
    at = open_page("history")
    at.text_input(key="history-text").input("PDF report").run()
    runs = next(f.value for f in at.dataframe if "run_id" in f.value)
    matched = runs["requirement"].str.contains("PDF report") | runs["requirement"].str.startswith("Refines ")
    assert len(runs) >= 1 and matched.all()  # a refinement shows its own instruction (see test_history)


# -- Analytics ---------------------------------------------------------------------------------------------


def test_analytics_empty_ledger_invites_and_runs_the_demo_set(empty_data):
    at = open_page("analytics")
    assert any("No runs yet" in i.value for i in at.info)
    click(at, "Run the demo set (offline)")
    assert ledger_runs(empty_data) >= 20
    _offline_charts_say_why(at)


def _offline_charts_say_why(at) -> None:
    """Offline runs: four charts drawn; the token and cost charts say in words why they are not."""
    keys = {c.key for c in at.get("plotly_chart")}
    assert keys == {"chart-pattern popularity", "chart-success by pattern", "chart-runs over time",
                    "chart-latency by agent"}, keys
    notes = [i.value for i in at.info]
    assert sum(n.startswith("Offline runs use no tokens") for n in notes) == 2, notes  # by agent, by model
    assert sum(n.startswith("Every workflow here cost $0") for n in notes) == 2, notes  # per workflow, by pattern
    assert len(at.get("download_button")) == 8  # every chart's data, drawn or not


def test_analytics_populated_shows_headline_and_every_chart(populated_data):
    at = open_page("analytics")
    labels = {m.label: m.value for m in at.metric}
    assert labels["Runs"] == "5"
    assert {"Success rate", "Total cost", "Median cost", "p50 duration",
            "p95 duration"} <= set(labels)
    _offline_charts_say_why(at)


def test_analytics_shows_runs_in_difys_engine_beside_validity(populated_data):
    at = open_page("analytics")
    assert any(s.value == "Runs in Dify's engine" for s in at.subheader)

    def engine_table():
        return next(d.value for d in at.dataframe if "runs in Dify's engine" in d.value.columns)

    assert set(engine_table()["pattern"]) <= {p.stem for p in Path("patterns").glob("*.yaml")}
    at.radio(key="analytics.engine_by").set_value("mode").run()
    by_mode = engine_table()
    ok_runs = Ledger.open(load_settings()).query(
        "SELECT count(*) AS n FROM (SELECT arg_max(status, id) AS s FROM test_runs GROUP BY run_id) "
        "WHERE s = 'succeeded'").iloc[0]["n"]
    assert by_mode["runs"].sum() == 5 and by_mode["test-run"].sum() == 5
    shown = sum(round(float(rate.rstrip("%")) / 100 * n)
                for rate, n in zip(by_mode["runs in Dify's engine"], by_mode["runs"], strict=True))
    assert shown == int(ok_runs)


# -- Batch -------------------------------------------------------------------------------------------------


def test_batch_csv_runs_every_row_and_one_bad_row_does_not_stop_it(empty_data):
    csv_text = ("id,requirement\nsum,Summarize an uploaded PDF report into an executive summary.\n"
                "empty,\nslogans,For each product name in a list generate a catchy slogan.\n")
    at = open_page("batch")
    at.file_uploader[0].set_value(("reqs.csv", csv_text.encode(), "text/csv")).run()
    click(at, "Run batch")
    results = next(f.value for f in at.dataframe if "status" in f.value)
    assert results["status"].tolist() == ["succeeded", "failed", "succeeded"]
    assert results["message"].iloc[1] == "Empty requirement: nothing to generate."
    assert list(results.columns[:4]) == ["row", "id", "status", "message"]  # the reason next to the outcome
    assert results.iloc[1][["errors", "warnings", "valid", "cost"]].tolist() == ["—"] * 4  # never "None"
    assert results.iloc[0]["errors"] == "0" and results.iloc[0]["valid"] == "valid"
    assert "None" not in results.astype(str).to_numpy().ravel().tolist()
    assert "- Row 2 (empty): Empty requirement: nothing to generate." in [w.value for w in at.warning]
    assert "**3 rows:** 2 succeeded, 1 failed" in texts(at)
    assert at.get("download_button")
    assert ledger_runs(empty_data) == 2


def test_batch_csv_without_requirement_column_says_which_columns_it_found(empty_data):
    at = open_page("batch")
    at.file_uploader[0].set_value(("reqs.csv", b"text\nhello\n", "text/csv")).run()
    click(at, "Run batch")
    assert any("no 'requirement' column" in e.value and "'text'" in e.value for e in at.error)


def test_batch_without_a_file_asks_for_one(empty_data):
    at = open_page("batch")
    click(at, "Run batch")
    assert "Choose a file first." in [w.value for w in at.warning]


# -- Settings ----------------------------------------------------------------------------------------------


def test_settings_apply_for_the_session_and_the_sidebar_follows(empty_data):
    at = open_page("settings")
    at.radio[0].set_value("openai")
    at.text_input[0].input("http://127.0.0.1:9/v1")
    at.text_input[1].input("llama3")
    at.text_input[3].input("sk-session-only")
    click(at, "Apply for this session")
    assert any("provider openai:llama3" in s.value for s in at.success)
    at.switch_page("pages/generate.py").run()
    assert "llama3" in "\n".join(m.value for m in at.sidebar.markdown)
    settings = at.session_state["difyforge.settings"]
    assert settings.provider.api_key == "sk-session-only"
    assert not (empty_data / ".streamlit").exists()
    at.switch_page("pages/settings.py").run()
    click(at, "Back to the environment's settings")
    assert at.session_state["difyforge.settings"].provider.kind == "offline"


def test_settings_openai_without_key_or_url_is_refused(empty_data):
    at = open_page("settings")
    at.radio[0].set_value("openai")
    click(at, "Apply for this session")
    assert "The OpenAI endpoint needs an API key." in [e.value for e in at.error]
    assert at.session_state["difyforge.settings"].provider.kind == "offline"


def test_settings_shows_health(empty_data):
    at = open_page("settings")
    shown = texts(at)
    assert "Run ledger OK" in shown and "patterns indexed" in shown and str(empty_data) in shown


def test_settings_checks_the_endpoint_through_its_models_list(empty_data):
    from tests.fakes.openai_server import FakeOpenAIServer

    with FakeOpenAIServer() as server:
        server.api_key = "sk-good"
        at = open_page("settings")
        at.radio[0].set_value("openai")
        at.text_input[0].input(server.base_url)
        at.text_input[1].input("gpt-4o-mini")
        at.text_input[3].input("sk-good")
        click(at, "Apply for this session")
        click(at, "Check the endpoint")
        assert any("offers 'gpt-4o-mini'" in s.value for s in at.success)
        server.api_key = "sk-rotated"
        click(at, "Check the endpoint")
        assert any("(auth)" in e.value for e in at.error)
        assert all("sk-good" not in e.value for e in at.error)


def test_settings_prompt_version_comes_from_the_prompt_files(empty_data, tmp_path, monkeypatch):
    import shutil

    from core.agents import brain

    prompts = tmp_path / "prompts"
    shutil.copytree(brain.PROMPTS_DIR, prompts)
    (prompts / "requirements.v2.md").write_text("A sharper requirements prompt.", encoding="utf-8")
    monkeypatch.setattr(brain, "PROMPTS_DIR", prompts)
    at = open_page("settings")
    box = next(s for s in at.selectbox if s.label == "Prompt version")
    assert box.options == ["v1", "v2"]
    box.set_value("v2")
    click(at, "Apply for this session")
    assert at.session_state["difyforge.settings"].prompt_version == "v2"
    assert brain.load_prompt("requirements", "v2") == "A sharper requirements prompt."
    assert brain.load_prompt("quality", "v2") == brain.load_prompt("quality", "v1")  # no v2 file: keeps v1


def test_settings_structured_output_mode_applies_for_the_session(empty_data):
    at = open_page("settings")
    box = next(s for s in at.selectbox if s.label == "Structured output")
    assert box.options == ["auto", "json_schema", "json_object", "text"] and box.value == "auto"
    box.set_value("json_object")
    click(at, "Apply for this session")
    assert at.session_state["difyforge.settings"].provider.structured_output == "json_object"


@pytest.mark.parametrize("model, cost_shown", [("gpt-4o-mini", "$"), ("house-model-7b", "unknown")])
def test_generate_through_a_model_endpoint_shows_tokens_and_cost_or_unknown(empty_data, model, cost_shown):
    from dataclasses import replace

    from tests.fakes.openai_server import FakeOpenAIServer, reply
    from tests.pipeline.test_llm_path import REQUIREMENT, _answers, agent_of

    answers = _answers(REQUIREMENT)
    with FakeOpenAIServer() as server:
        server.models.append(model)
        server.set_responder(lambda body: reply(answers[agent_of(body)], usage=(1000, 200, 100), model=model))
        at = open_page("generate")
        settings = at.session_state["difyforge.settings"]
        at.session_state["difyforge.settings"] = replace(settings).with_provider(
            kind="openai", base_url=server.base_url, api_key="sk-app-test", model=model)
        at.run()
        at.text_area(key="generate.requirement").input(REQUIREMENT)
        click(at, "Generate workflow")
        result = at.session_state["generate.result"]
        assert result.status == "succeeded" and result.usage.total_tokens == 4 * 1200
        cost = next(m for m in at.metric if m.label == "Cost")
        assert cost.value.startswith(cost_shown), cost.value
        assert next(m for m in at.metric if m.label == "Tokens").value == "4,800"
        assert "sk-app-test" not in texts(at)


def test_the_result_says_where_the_rules_stood_in_for_the_model():
    from types import SimpleNamespace

    from ui.generation import stood_in

    assert stood_in(SimpleNamespace(drafts=[])) == ""
    line = stood_in(SimpleNamespace(drafts=["requirements", "workflow"]))
    assert line == ("The rules stood in for the model at its reading of the requirement; its workflow (it did not "
                    "validate, did not run in Dify's engine, or did less of the ask).")
