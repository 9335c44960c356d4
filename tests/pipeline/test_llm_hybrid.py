"""The hybrid LLM path (issue 13): the model is shown the rule reading and the rule design as drafts to
correct; its spec is held to what the text itself says (named inputs and outputs, classes, language,
structure); and a best workflow that does not validate or test-run gives way to the rule design of the
same spec, so every run ends a valid, test-running workflow (succeeded or an honest incomplete)."""

from __future__ import annotations

import json
import re

import pytest

from core.agents.models import Binding, Gate, Link, PlanStep, RequirementSpec, StartVarPlan, WorkflowPlan
from core.agents.requirements import reconcile
from core.agents.rules import analyse
from core.config import ProviderConfig, Settings
from core.pipeline import generate
from tests.fakes.openai_server import reply
from tests.pipeline.test_llm_honest import one_call_plan
from tests.pipeline.test_llm_path import _answers, agent_of

ASK = ("把客户留言 message 分类为“咨询”“投诉”“表扬”，投诉要写道歉回复，其他写普通回复，统一输出 reply。")


def _user(body: dict) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def _block(body: dict, tag: str) -> str | None:
    found = re.search(rf"<{tag}>\n(.*?)\n</{tag}>", _user(body), re.S)
    return found.group(1) if found else None


@pytest.fixture
def settings(fake_openai, tmp_path) -> Settings:
    provider = ProviderConfig(kind="openai", base_url=fake_openai.base_url, api_key="test-key", model="test-model",
                              timeout_s=30)
    return Settings(data_dir=tmp_path / "data", provider=provider, repair_rounds=1)


def _small_model_spec(**extra) -> RequirementSpec:
    """What a 1.5B model answered for such an ask: English, no start variables, invented capabilities and classes."""
    return RequirementSpec(requirement=ASK, goal="Classify the customer message and reply to it.", language="en",
                           capabilities=["retrieval", "classification", "loop", "http"],
                           classes=["message_classification", "reply_generation"], **extra)


def test_reconcile_holds_a_model_spec_to_the_texts_own_names_and_structure():
    reading = analyse(ASK)
    spec = reconcile(_small_model_spec(constraints=["a polite tone"]), reading)
    assert spec.language == "zh" and spec.app_mode == "workflow"
    assert [i.name for i in spec.inputs] == ["message"] and [o.name for o in spec.outputs if o.explicit] == ["reply"]
    assert spec.classes == ["咨询", "投诉", "表扬"]  # the invented classes are gone, the quoted ones are there
    assert "retrieval" not in spec.capabilities and "loop" not in spec.capabilities and "http" not in spec.capabilities
    assert "classification" in spec.capabilities
    assert spec.goal == "Classify the customer message and reply to it." and spec.constraints == ["a polite tone"]


def test_reconcile_keeps_what_the_model_adds_that_the_text_holds():
    text = "Summarize the report (variable report) as summary. If the report mentions more than 3 incidents, flag it."
    reading = analyse(text).model_copy(update={"gate": None})
    model = reading.model_copy(update={"gate": Gate(subject="incidents", operator=">", value="3"),
                                       "extraction_fields": ["severity"]})  # 'severity' is not in the text
    spec = reconcile(model, reading)
    assert spec.gate is not None and spec.gate.value == "3"
    assert spec.extraction_fields == reading.extraction_fields


def test_the_model_is_shown_the_rule_reading_and_the_rule_design(fake_openai, settings, ledger, library):
    answers = _answers(ASK)
    answers["requirements"] = _small_model_spec().model_dump_json()
    fake_openai.set_responder(lambda body: reply(answers[agent_of(body)], usage=(100, 40, 0)))
    result = generate(ASK, settings=settings, ledger=ledger, library=library)
    bodies = {agent_of(b): b for b in reversed(fake_openai.chat_requests)}
    draft = json.loads(_block(bodies["requirements"], "draft"))
    assert [i["name"] for i in draft["inputs"]] == ["message"] and draft["classes"] == ["咨询", "投诉", "表扬"]
    blueprint = json.loads(_block(bodies["architecture"], "draft_blueprint"))
    assert any(s["type"] == "question-classifier" for s in blueprint["steps"])
    assert result.spec.language == "zh" and result.spec.classes == ["咨询", "投诉", "表扬"]
    assert result.status == "succeeded", result.error_message
    assert "workflow" not in result.drafts  # the model's own workflow covers the ask: it is the one returned


BROKEN_PLAN = WorkflowPlan(
    app_mode="workflow", name="Replies",
    start_vars=[StartVarPlan(name="message", label="Message")],
    steps=[PlanStep(id="count", type="code", title="Count", after=[Link(step="start")],
                    code="def main(text: str) -> dict:\n    return {'n': 1 / 0}\n",
                    bindings=[Binding(name="text", ref="start.message")], outputs=[Binding(name="n", ref="number")]),
           PlanStep(id="end", type="end", title="End", after=[Link(step="count")],
                    outputs=[Binding(name="reply", ref="count.n")])],
).model_dump_json()
"""Valid, but its code raises in Dify's engine: the test run fails."""


def test_a_workflow_that_does_not_test_run_gives_way_to_the_rule_design(fake_openai, settings, ledger, library):
    answers = _answers(ASK)
    answers["configuration"] = BROKEN_PLAN
    fake_openai.set_responder(lambda body: reply(answers[agent_of(body)], usage=(100, 40, 0)))
    result = generate(ASK, settings=settings, ledger=ledger, library=library)
    assert result.status == "succeeded", result.error_message  # not failed/invalid_output
    assert "workflow" in result.drafts and result.test_run.succeeded and result.valid
    types = [n["data"]["type"] for n in result.dsl["workflow"]["graph"]["nodes"]]
    assert "question-classifier" in types and "code" not in types
    events = ledger.query("SELECT type FROM events WHERE run_id = ?", [result.run_id])["type"].tolist()
    assert events.count("stage.draft") == 1


ONE_CALL_PLAN = one_call_plan("message", "reply")
"""Valid and runs, but the asked routing by class collapsed into one LLM call."""


def test_a_running_workflow_that_does_less_of_the_ask_gives_way_to_a_rule_design_that_does_more(
        fake_openai, settings, ledger, library):
    answers = _answers(ASK)
    answers["configuration"] = ONE_CALL_PLAN
    fake_openai.set_responder(lambda body: reply(answers[agent_of(body)], usage=(100, 40, 0)))
    result = generate(ASK, settings=settings, ledger=ledger, library=library)
    assert result.status == "succeeded", result.error_message
    assert result.missing == []
    assert result.drafts[-1] == "workflow" and result.test_run.succeeded
    types = [n["data"]["type"] for n in result.dsl["workflow"]["graph"]["nodes"]]
    assert "question-classifier" in types
    message = ledger.query("SELECT payload FROM events WHERE run_id = ? AND type = 'stage.draft'",
                           [result.run_id])["payload"].tolist()
    assert any("unmet" in str(p) and "class" in str(p) for p in message), message


def test_a_repair_prompt_past_the_models_context_ends_with_the_rule_design_not_without_a_workflow(
        fake_openai, settings, ledger, library):
    """From the real-model run: both configuration answers cut off at the token limit, then the draft round's
    prompt grew past the 8,192-token context and llama.cpp answered HTTP 400; the run ended with no workflow."""
    from tests.fakes.openai_server import status

    answers = _answers(ASK)
    configured = []

    def respond(body):
        agent = agent_of(body)
        if agent == "configuration":
            configured.append(1)
            if len(configured) <= 3:  # each answer asked for twice: the first round, then the draft round's first
                return reply('{"app_mode": "workflow", "name": "cut', usage=(100, 40, 0))  # cut off: not JSON
            return status(400, message="This model's maximum context length is 8192 tokens. However, you requested "
                                       "10789 tokens (8229 in the messages, 2560 in the completion).")
        return reply(answers[agent], usage=(100, 40, 0))

    fake_openai.set_responder(respond)
    result = generate(ASK, settings=settings, ledger=ledger, library=library)
    assert len(configured) == 4  # the 400 was reached
    assert result.valid and result.test_run.succeeded and result.yaml_text
    assert result.status == "succeeded", result.error_message
    assert result.drafts[-1] == "workflow"


def test_a_capability_the_model_adds_that_needs_a_node_of_its_own_needs_the_texts_word():
    """From the real-model run: the model's spec added "template"; the reading kept it, and a workflow that met
    every expectation ended incomplete for want of a template step nobody asked for."""
    reading = analyse(ASK)
    model = _small_model_spec().model_copy(update={"capabilities": ["classification", "template", "summarization"]})
    spec = reconcile(model, reading)
    assert "template" not in spec.capabilities and "summarization" in spec.capabilities
    asked = "把客户留言 message 用固定模板整理成一段回复，输出 reply。"
    spec = reconcile(analyse(asked).model_copy(update={"capabilities": ["template"]}), analyse(asked))
    assert "template" in spec.capabilities
