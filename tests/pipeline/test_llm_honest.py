"""The LLM path as a real small model drives it, reproduced on the scripted fault-injecting server:
llama.cpp's dialect end to end, honest status (valid is not enough: the workflow must cover the spec),
a reviewer that always says 100, repairs that return the same plan, the verbatim requirement, and a key
echoed by the endpoint."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from core.agents.brain import LANGUAGE_RULE, MAX_OUTPUT_TOKENS
from core.agents.models import (
    Binding,
    Link,
    PlanStep,
    QualityIssue,
    QualityReport,
    QualityReview,
    StartVarPlan,
    WorkflowPlan,
)
from core.agents.quality import PASS_SCORE, merge_review
from core.config import ProviderConfig, Settings
from core.pipeline import INCOMPLETE, generate
from tests.fakes.openai_server import reply
from tests.pipeline.test_llm_path import REQUIREMENT, _answers, agent_of

SECRET = "sk-live-cli-key-abcdef0123456789"

def one_call_plan(given: str, output: str) -> str:
    """A valid plan that does the whole ask in one LLM call on ``given``: what a small model returns when it
    drops the asked structure (a classifier, its classes)."""
    return WorkflowPlan(
        app_mode="workflow", name="Support replies",
        start_vars=[StartVarPlan(name=given, label=given.capitalize())],
        steps=[PlanStep(id="reply", type="llm", title="Reply", after=[Link(step="start")],
                        system=f"Write a reply to the {given}.", user=f"{{{{start.{given}}}}}"),
               PlanStep(id="end", type="end", title="End", after=[Link(step="reply")],
                        outputs=[Binding(name=output, ref="reply.text")])],
    ).model_dump_json()


BAD_PLAN = one_call_plan("email", "result")
"""Valid, but no classifier: the small model's plan that dropped the classification."""


def _user(body: dict) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def _system(body: dict) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "system")


def _block(body: dict, tag: str) -> str | None:
    found = re.search(rf"<{tag}>\n(.*?)\n</{tag}>", _user(body), re.S)
    return found.group(1) if found else None


def _script(server, *, configuration=None, quality_score=100):
    """Answer each agent from the offline brain's output, the configurator with ``configuration(body)``
    when given, and the reviewer always with ``quality_score``."""
    answers = _answers(REQUIREMENT)
    answers["quality"] = QualityReview(score=quality_score).model_dump_json()

    def respond(body):
        agent = agent_of(body)
        if agent == "configuration" and configuration is not None:
            return reply(configuration(body), usage=(100, 40, 0))
        return reply(answers[agent], usage=(100, 40, 0))

    server.set_responder(respond)
    return server


def _config_requests(server) -> list[dict]:
    return [b for b in server.chat_requests if agent_of(b) == "configuration"]


@pytest.fixture
def settings(fake_openai, tmp_path) -> Settings:
    """The fake server, no fallback model, and a timeout long enough that a loaded machine causes no
    retry (these tests count requests)."""
    provider = ProviderConfig(kind="openai", base_url=fake_openai.base_url, api_key="test-key", model="test-model",
                              timeout_s=30)
    return Settings(data_dir=tmp_path / "data", provider=provider)


def test_llama_cpp_dialect_end_to_end(fake_openai, settings, ledger, library):
    """HTTP 500 naming response_format on json_schema: one refusal in the whole run, then llama.cpp's
    grammar form for every agent; every call capped at its agent's max_tokens; the fields and the
    language rule in every system prompt."""
    _script(fake_openai, quality_score=90)
    fake_openai.json_schema_supported = False
    fake_openai.format_refusal_status = 500
    result = generate(REQUIREMENT, settings=settings, ledger=ledger, library=library)
    assert result.status == "succeeded" and result.valid and result.missing == [], result.error_message
    kinds = [(b.get("response_format") or {}).get("type") for b in fake_openai.chat_requests]
    assert kinds[0] == "json_schema" and kinds[1:] == ["json_object"] * (len(kinds) - 1)
    assert all("schema" in b["response_format"] for b in fake_openai.chat_requests[1:])
    for body in fake_openai.chat_requests:
        assert body["max_tokens"] == MAX_OUTPUT_TOKENS[agent_of(body)]
        assert LANGUAGE_RULE in _system(body) and "Its fields (* = required" in _system(body)
    calls = ledger.query("SELECT outcome, error_category FROM llm_calls WHERE run_id = ?", [result.run_id])
    assert list(calls["outcome"]).count("error") == 1


def test_a_valid_workflow_that_drops_the_classifier_is_incomplete_not_succeeded(fake_openai, settings, ledger, library):
    """Before: status succeeded, valid true, quality 0 (the reviewer said 100 to everything). The model's own
    workflow is judged (``rules_stand_in`` off: by default the rules' design, which covers it, stands in)."""
    _script(fake_openai, configuration=lambda body: BAD_PLAN, quality_score=100)
    result = generate(REQUIREMENT, settings=replace(settings, rules_stand_in=False), ledger=ledger, library=library)
    assert result.status == "failed" and result.error_category == INCOMPLETE
    assert result.valid and result.yaml_text and "workflow" not in result.drafts  # the best workflow is returned ...
    assert "not covered: capability classification" in result.missing  # ... with what it lacks
    assert {"not covered: class Billing", "not covered: class Bug report"} <= set(result.missing)
    assert "capability classification" in result.error_message
    assert result.quality.score < PASS_SCORE  # the reviewer's 100 did not raise it
    run = ledger.get_run(result.run_id)
    assert run["status"] == "failed" and run["error_category"] == INCOMPLETE


def test_feedback_names_the_missing_elements_and_where_to_put_them(fake_openai, settings, ledger, library):
    _script(fake_openai, configuration=lambda body: BAD_PLAN)
    generate(REQUIREMENT, settings=replace(settings, repair_rounds=1), ledger=ledger, library=library)
    feedback = _block(_config_requests(fake_openai)[1], "feedback")
    assert "missing capability classification: add a step of type question-classifier" in feedback
    assert "missing class Billing: add it to the `classes` of a new question-classifier step" in feedback
    assert json.loads(_block(_config_requests(fake_openai)[1], "previous_plan"))["steps"][0]["id"] == "reply"


def test_an_unchanged_plan_escalates_then_stops_instead_of_spending_rounds(fake_openai, settings, ledger, library):
    """Before: the model returned the identical plan every round and every round was spent."""
    _script(fake_openai, configuration=lambda body: BAD_PLAN)
    result = generate(REQUIREMENT, settings=replace(settings, repair_rounds=6), ledger=ledger, library=library)
    asked = _config_requests(fake_openai)
    assert len(asked) == 4  # first try, feedback, more specific feedback, the offline draft; then stop
    assert [(r.level, r.changed) for r in result.repairs] == [("feedback", False), ("specific", False), ("draft", True)]
    assert "did not fix these problems" in _block(asked[2], "feedback")
    draft = json.loads(_block(asked[3], "previous_plan"))  # the offline brain's structure for this spec
    assert "question-classifier" in {s["type"] for s in draft["steps"]}
    assert "draft built by rules" in _block(asked[3], "feedback")
    # the draft has every blueprint step: sent alone, not beside a blueprint that repeats it (8k contexts)
    assert _block(asked[3], "blueprint") is None and _block(asked[1], "blueprint") is not None
    assert result.status == "succeeded" and result.drafts[-1] == "workflow"  # the model never took it: the rules did
    events = ledger.query("SELECT type FROM events WHERE run_id = ?", [result.run_id])["type"].tolist()
    assert events.count("repair.result") == 3 and "repair.draft" in events


def test_the_offline_draft_corrected_by_the_model_completes_the_run(fake_openai, settings, ledger, library):
    """The hybrid: a model that cannot plan the classifier itself accepts the rules' draft."""
    def configuration(body):
        feedback = _block(body, "feedback") or ""
        return _block(body, "previous_plan") if "draft built by rules" in feedback else BAD_PLAN

    _script(fake_openai, configuration=configuration, quality_score=95)
    result = generate(REQUIREMENT, settings=replace(settings, repair_rounds=3), ledger=ledger, library=library)
    assert result.status == "succeeded" and result.missing == [], result.error_message
    assert [r.level for r in result.repairs] == ["feedback", "specific", "draft"]
    assert result.repairs[-1].remaining == 0 and result.repairs[-1].fixed
    types = {n["data"]["type"] for n in result.dsl["workflow"]["graph"]["nodes"]}
    assert "question-classifier" in types


def test_a_first_plan_that_is_never_valid_json_gets_the_offline_draft_to_correct(fake_openai, settings, ledger, library):
    """Before: an unparseable plan (asked twice) failed the whole run without a workflow."""
    def configuration(body):
        feedback = _block(body, "feedback") or ""
        return _block(body, "previous_plan") if "draft built by rules" in feedback else "Here is the plan: {steps: ["

    _script(fake_openai, configuration=configuration, quality_score=95)
    result = generate(REQUIREMENT, settings=settings, ledger=ledger, library=library)
    assert result.status == "succeeded" and result.valid, result.error_message
    assert len(_config_requests(fake_openai)) == 3  # the bad answer, its one re-ask, the draft
    events = ledger.query("SELECT type FROM events WHERE run_id = ?", [result.run_id])["type"].tolist()
    assert "repair.unusable" in events and "repair.draft" in events


def test_an_unusable_spec_or_blueprint_is_replaced_by_the_offline_brains(fake_openai, settings, ledger, library):
    answers = _answers(REQUIREMENT)
    answers["quality"] = QualityReview(score=95).model_dump_json()

    def respond(body):
        agent = agent_of(body)
        return reply("{broken" if agent in ("requirements", "architecture") else answers[agent])

    fake_openai.set_responder(respond)
    result = generate(REQUIREMENT, settings=settings, ledger=ledger, library=library)
    assert result.drafts == ["requirements", "architecture"]
    assert result.status == "succeeded" and result.spec.classes == ["Billing", "Bug report", "Feature request"]
    events = ledger.query("SELECT type FROM events WHERE run_id = ?", [result.run_id])["type"].tolist()
    assert events.count("stage.draft") == 2


def test_an_unusable_plan_in_a_repair_round_keeps_the_best_attempt(fake_openai, settings, ledger, library):
    plans = iter([BAD_PLAN, "not json", "still not json"])
    _script(fake_openai, configuration=lambda body: next(plans))
    result = generate(REQUIREMENT, settings=replace(settings, rules_stand_in=False), ledger=ledger, library=library)
    assert result.status == "failed" and result.error_category == INCOMPLETE  # not invalid_output, no lost workflow
    assert result.valid and "not covered: capability classification" in result.missing and "workflow" not in result.drafts


def test_a_review_score_that_contradicts_error_findings_is_not_believed():
    report = QualityReport(score=40, retry=True, issues=[QualityIssue(severity="error", stage="compile", message="x")])
    merged = merge_review(report, QualityReview(score=100))
    assert merged.score < PASS_SCORE and merged.retry
    assert any(i.code == "REVIEW_NOT_BELIEVED" for i in merged.issues)
    own = merge_review(QualityReport(score=100), QualityReview(score=100, issues=[
        QualityIssue(severity="error", stage="configuration", message="the classifier is missing")]))
    assert own.score < PASS_SCORE and own.retry  # its own error findings contradict its 100 too


def test_the_reviewer_is_not_asked_while_the_workflow_has_errors(fake_openai, settings, ledger, library):
    broken = json.loads(BAD_PLAN)
    broken["steps"][1]["outputs"] = [{"name": "result", "ref": "nowhere.text"}]  # a reference to no step
    _script(fake_openai, configuration=lambda body: json.dumps(broken))
    result = generate(REQUIREMENT, settings=replace(settings, repair_rounds=0), ledger=ledger, library=library)
    assert result.drafts[-1] == "workflow"  # the broken workflow gave way to the rules' design
    assert "quality" not in {agent_of(b) for b in fake_openai.chat_requests}


def test_the_spec_keeps_the_users_text_and_language(fake_openai, settings, ledger, library):
    requirement = "把客户邮件分类为：账单、故障报告、功能请求，并为每一类起草回复。"
    answers = _answers(REQUIREMENT)
    spec = json.loads(answers["requirements"])
    spec["requirement"] = "Classify customer emails as billing, bug report, feature request and draft replies."
    answers["requirements"] = json.dumps(spec)  # the model translated the requirement
    fake_openai.set_responder(lambda body: reply(answers[agent_of(body)]))
    result = generate(requirement, settings=settings, ledger=ledger, library=library)
    assert result.spec.requirement == requirement
    first = fake_openai.chat_requests[0]
    assert f"<requirement>\n{requirement}\n</requirement>" in _user(first)
    assert "in the language of the requirement" in _system(first)


def test_the_cli_never_prints_a_key_the_endpoint_echoes(fake_openai, tmp_path, monkeypatch, capsys):
    from core.cli import main

    fake_openai.api_key = "the-right-key-000000"
    fake_openai.echo_key_in_401 = True
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("DIFYFORGE_DATA_DIR", str(tmp_path / "data"))
    code = main(["generate", "Summarize a text.", "--provider", "openai", "--base-url", fake_openai.base_url,
                 "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1
    assert json.loads(out)["error_category"] == "auth"
    assert SECRET not in out + err and "[REDACTED]" in out


def test_the_cli_says_incomplete_and_exits_1(fake_openai, tmp_path, monkeypatch, capsys, library):
    from core import pipeline
    from core.cli import main

    _script(fake_openai, configuration=lambda body: BAD_PLAN)
    monkeypatch.setenv("DIFYFORGE_RULES_STAND_IN", "0")  # the model's own workflow, as it is
    data = tmp_path / "data"
    monkeypatch.setenv("DIFYFORGE_DATA_DIR", str(data))
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-0000")
    monkeypatch.setitem(pipeline._LIBRARIES, str(data), library)  # the session's synced library
    code = main(["generate", REQUIREMENT, "--provider", "openai", "--base-url", fake_openai.base_url])
    out, err = capsys.readouterr()
    assert code == 1
    assert "failed" in err and "error (incomplete): The workflow is valid but does not do everything" in err
    assert "not covered: capability classification" in err
    assert "app:" in out  # the best workflow is still written


def test_a_spec_naming_tools_that_do_not_exist_still_gets_its_draft(fake_openai, settings, ledger, library):
    """The real small model copied the field's description ('md_exporter_docx/pdf/pptx') as a tool key; the
    offline draft built from that spec then crashed the run. Unknown keys are dropped at the boundary."""
    answers = _answers(REQUIREMENT)
    spec = json.loads(answers["requirements"])
    spec["tools"] = ["md_exporter_docx/pdf/pptx", "no_such_tool"]
    answers["requirements"] = json.dumps(spec)

    def respond(body):
        agent = agent_of(body)
        if agent == "configuration":
            feedback = _block(body, "feedback") or ""
            return reply(_block(body, "previous_plan") if "draft built by rules" in feedback else "{steps: [",
                         usage=(100, 40, 0))
        return reply(answers[agent] if agent != "quality" else QualityReview(score=95).model_dump_json(),
                     usage=(100, 40, 0))

    fake_openai.set_responder(respond)
    result = generate(REQUIREMENT, settings=settings, ledger=ledger, library=library)
    assert result.status == "succeeded", (result.error_category, result.error_message)
    assert result.spec.tools == [] and result.valid
    events = ledger.query("SELECT type FROM events WHERE run_id = ?", [result.run_id])["type"].tolist()
    assert "repair.draft" in events


def test_an_unusable_blueprint_in_a_repair_round_keeps_the_best_attempt(fake_openai, settings, ledger, library):
    """The real small model's repair-round blueprint ran into the output limit twice; the run then failed
    without its workflow. Now the round's answer is dropped, and the best attempt, which leaves the
    classes uncovered, gives way to the rules' design, which covers them."""
    answers = _answers(REQUIREMENT)
    seen = {"architecture": 0}

    def respond(body):
        agent = agent_of(body)
        if agent == "architecture":
            seen["architecture"] += 1
            return reply(answers["architecture"] if seen["architecture"] == 1 else '{"steps": [', usage=(100, 40, 0))
        if agent == "configuration":
            return reply(BAD_PLAN, usage=(100, 40, 0))
        return reply(answers[agent] if agent != "quality" else QualityReview(score=95).model_dump_json(),
                     usage=(100, 40, 0))

    fake_openai.set_responder(respond)
    result = generate(REQUIREMENT, settings=settings, ledger=ledger, library=library)
    assert result.dsl is not None and result.valid
    assert result.status == "succeeded" and result.drafts[-1] == "workflow", (result.error_category, result.error_message)
    events = ledger.query("SELECT type FROM events WHERE run_id = ?", [result.run_id])["type"].tolist()
    assert "repair.unusable" in events
