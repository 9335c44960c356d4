"""The Prompt Lab page through app.py with AppTest: edit and save a version, bad input, offline honesty,
and a comparison against the scripted fake server whose figures equal the ledger's."""

from __future__ import annotations

import pytest
import yaml

from core.agents.prompt_store import PromptStore
from core.config import load_settings
from core.ledger import Ledger
from tests.app.conftest import click, open_page, texts
from tests.fakes.openai_server import FakeOpenAIServer
from tests.prompts.conftest import CASES
from tests.prompts.scripted_model import THOROUGH_MARKER, answer, thorough_prompt


@pytest.fixture
def model_server():
    """The fault-injecting fake server answering as the scripted, prompt-version-sensitive model."""
    with FakeOpenAIServer() as server:
        server.set_responder(answer)
        yield server


SECRET = "sk-lab-session-key-0123456789"


def _store() -> PromptStore:
    return PromptStore(load_settings().data_dir)


def _save(at, text: str, label: str, note: str = ""):
    at.selectbox(key="lab.agent").set_value("requirements").run()
    at.text_area(key="lab.text.requirements.v1").input(text)
    at.text_input(key="lab.label").input(label)
    at.text_input(key="lab.note").input(note)
    return click(at, "Save as new version")


def test_offline_the_page_says_prompts_are_unused_and_refuses_to_compare(empty_data):
    at = open_page("prompt_lab")
    assert at.title[0].value == "Prompt Lab" and not at.error
    assert "offline brain does not use the agent prompts" in texts(at)
    assert any("RequirementSpec" in m.value for m in at.markdown)  # the schema beside the editor
    click(at, "Run comparison")
    assert any("offline brain does not use the agent prompts" in e.value for e in at.error)


def test_save_a_new_version_and_see_its_diff(empty_data):
    at = open_page("prompt_lab")
    text = thorough_prompt(_store().prompt("requirements"))
    _save(at, text, "thorough", "name every step")
    assert any("Saved thorough (requirements prompt, from v1)" in s.value for s in at.success)
    assert _store().prompt("requirements", "thorough") == text
    assert (empty_data / "prompts" / "thorough.json").exists()
    diff = "\n".join(c.value for c in at.code)
    assert f"+- {THOROUGH_MARKER}" in diff and "requirements@v1" in diff
    assert at.selectbox(key="lab.b").value == "thorough"  # the new version becomes the candidate


@pytest.mark.parametrize("text, message", [
    ("", "The prompt is empty"),
    ("Be brief.", "never names RequirementSpec"),
])
def test_a_bad_prompt_is_refused_with_the_reason(empty_data, text, message):
    at = open_page("prompt_lab")
    _save(at, text, "broken")
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert _store().labels() == ["v1"]


def test_saving_the_parents_prompt_unchanged_is_refused(empty_data):
    at = open_page("prompt_lab")
    _save(at, _store().prompt("requirements"), "same")
    assert any("identical to the one v1 already uses" in e.value for e in at.error)


def test_compare_two_versions_on_the_scripted_model(empty_data, tmp_path, monkeypatch, model_server):
    from core import comparison

    evals = tmp_path / "evals"
    evals.mkdir()
    (evals / "two-cases.yaml").write_text(yaml.safe_dump({"cases": CASES[:2]}), encoding="utf-8")
    monkeypatch.setattr(comparison, "EVAL_FILE", evals / "requirements.yaml")
    store = _store()
    store.create("thorough", agent="requirements", parent="v1", text=thorough_prompt(store.prompt("requirements")))
    at = open_page("prompt_lab")
    at.selectbox(key="lab.b").set_value("thorough")
    at.text_input(key="lab.base_url").input(model_server.base_url)
    at.text_input(key="lab.model").input("gpt-4o-mini")
    at.text_input(key="lab.key").input(SECRET)
    click(at, "Run comparison")
    assert not at.error, [e.value for e in at.error]
    assert model_server.history[-1].headers["authorization"] == "Bearer <redacted>"  # the key was sent...
    summary = next(m.value for m in at.markdown if "passes" in m.value)
    assert "B (thorough) passes 1 more case than A (v1) (2 vs 1 of 2)" in summary
    row = at.table[0].value
    assert row.loc["meet every expectation"].tolist() == ["1 of 2", "2 of 2"]
    assert row.loc["test runs succeeded"].tolist() == ["2 of 2", "2 of 2"]
    ledger = Ledger.open(load_settings())
    for column, arm in ((1, "A"), (2, "B")):
        tokens = ledger.query("""SELECT sum(r.total_tokens) AS t FROM comparison_runs cr JOIN runs_v r ON r.id = cr.run_id
                                 WHERE cr.arm = ?""", [arm]).iloc[0].t
        assert row.loc["tokens"].iloc[column - 1] == f"{int(tokens):,}"
    assert SECRET not in texts(at)  # ...and is never shown or stored
    for table in ("comparisons", "comparison_runs", "runs", "llm_calls", "events"):
        dump = ledger.query(f"SELECT * FROM {table}").to_csv()
        assert SECRET not in dump, table
    run_b = ledger.query("SELECT run_id FROM comparison_runs WHERE arm = 'B' AND case_id = ?",
                         [at.selectbox(key=next(k for k in _keys(at) if k.startswith("lab.case."))).value]).iloc[0].run_id
    opener = next(b for b in at.button if b.label == "Open B's run in History")
    opener.click().run()
    assert not at.exception
    assert at.selectbox(key="history.run").value == run_b


def _keys(at) -> list[str]:
    return [s.key for s in at.selectbox if s.key]


def test_an_uploaded_eval_file_without_cases_gets_a_clear_message(empty_data, model_server):
    store = _store()
    store.create("thorough", agent="requirements", parent="v1", text=thorough_prompt(store.prompt("requirements")))
    at = open_page("prompt_lab")
    at.radio(key="lab.eval_source").set_value("upload").run()
    at.file_uploader(key="lab.upload").set_value(("mine.yaml", b"cases: []\n", "application/x-yaml")).run()
    at.selectbox(key="lab.b").set_value("thorough")
    at.text_input(key="lab.base_url").input(model_server.base_url)
    click(at, "Run comparison")
    assert any("mine.yaml has no 'cases' list" in e.value for e in at.error), [e.value for e in at.error]
    assert not model_server.chat_requests


def test_analytics_has_a_by_prompt_version_section(populated_data):
    at = open_page("analytics")
    assert any(s.value == "By prompt version" for s in at.subheader)
    frame = next(d.value for d in at.dataframe if "prompt version" in d.value.columns)
    assert frame["prompt version"].tolist() == ["v1"] and frame["runs"].tolist() == [5]


def test_comparing_a_version_with_itself_is_refused(empty_data, model_server):
    at = open_page("prompt_lab")
    at.text_input(key="lab.base_url").input(model_server.base_url)
    click(at, "Run comparison")  # A and B both v1 (the only version)
    assert any("A and B are both v1" in e.value for e in at.error)
    assert not model_server.chat_requests and not at.get("progress")


def test_the_page_renders_on_a_populated_ledger(populated_data):
    at = open_page("prompt_lab")
    assert at.title[0].value == "Prompt Lab" and not at.error


def test_an_interrupted_comparison_shows_what_is_missing(empty_data, model_server):
    from core.comparison import run_comparison
    from core.patterns import PatternLibrary

    settings = load_settings().with_provider(kind="openai", base_url=model_server.base_url, model="gpt-4o-mini")
    store = _store()
    store.create("thorough", agent="requirements", parent="v1", text=thorough_prompt(store.prompt("requirements")))
    evals = empty_data / "two.yaml"
    evals.write_text(yaml.safe_dump({"cases": CASES[:2]}), encoding="utf-8")

    def stop(done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_comparison("v1", "thorough", evals, settings=settings, ledger=Ledger.open(settings),
                       library=PatternLibrary.open(settings), concurrency=1, on_case=stop)
    at = open_page("prompt_lab")
    warning = next(w.value for w in at.warning if "missing" in w.value)
    assert warning.startswith("3 case run(s) are missing (interrupted): ") and "B email-triage" in warning
    assert "The runs it made are kept" in warning
    assert "(3 case run(s) missing: the comparison is incomplete)" in texts(at)
