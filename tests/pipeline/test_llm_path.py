"""The LLM brain end to end through the real ``openai`` SDK against the local fake server.

The "model" is scripted: the responder recognises the agent from the system prompt and answers with
that agent's JSON. Faults are queued in front of it. Ledger token totals must equal exactly what the
server reported.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.agents.architecture import ArchitectureInput, design
from core.agents.configuration import ConfigurationInput, configure
from core.agents.models import QualityReview
from core.agents.rules import analyse
from core.config import ProviderConfig, Settings
from core.pipeline import generate
from tests.fakes.openai_server import (
    delay,
    drop,
    malformed,
    refusal,
    reply,
    schema_invalid,
    status,
    truncated,
)

REQUIREMENT = "Classify incoming support emails as billing, bug report, or feature request and draft a reply for each."
AGENT_MARKERS = {
    "requirements analyst": "requirements",
    "workflow architect": "architecture",
    "workflow configurator": "configuration",
    "quality reviewer": "quality",
}


def _answers(requirement: str) -> dict[str, str]:
    spec = analyse(requirement)
    blueprint = design(ArchitectureInput(spec=spec))
    plan = configure(ConfigurationInput(spec=spec, blueprint=blueprint))
    return {"requirements": spec.model_dump_json(), "architecture": blueprint.model_dump_json(),
            "configuration": plan.model_dump_json(), "quality": QualityReview(score=90).model_dump_json()}


def agent_of(body: dict) -> str:
    system = next(m["content"] for m in body["messages"] if m["role"] == "system")
    return next(agent for marker, agent in AGENT_MARKERS.items() if marker in system)


@pytest.fixture
def llm_settings(fake_openai, tmp_path) -> Settings:
    provider = ProviderConfig(kind="openai", base_url=fake_openai.base_url, api_key="test-key", model="test-model",
                              fallback_model="test-fallback", timeout_s=0.5)
    return Settings(data_dir=tmp_path / "data", provider=provider)


@pytest.fixture
def scripted(fake_openai):
    answers = _answers(REQUIREMENT)
    fake_openai.set_responder(lambda body: reply(answers[agent_of(body)], usage=(100, 40, 10)))
    return fake_openai


def _ledger_totals(ledger, run_id):
    row = ledger.get_run(run_id)
    return row["prompt_tokens"], row["completion_tokens"], row["cached_tokens"]


def test_scripted_generation_is_valid_and_fully_recorded(scripted, llm_settings, ledger, library):
    result = generate(REQUIREMENT, settings=llm_settings, ledger=ledger, library=library)
    assert result.status == "succeeded" and result.valid, result.error_message
    assert [s.stage for s in result.stages] == ["requirements", "architecture", "configuration", "quality"]
    types = [n["data"]["type"] for n in result.dsl["workflow"]["graph"]["nodes"]]
    assert "question-classifier" in types
    requests = scripted.chat_requests
    assert len(requests) == 4 and {r["model"] for r in requests} == {"test-model"}
    user = requests[0]["messages"][1]["content"]
    assert f"<requirement>\n{REQUIREMENT}\n</requirement>" in user  # the requirement is fenced as data
    assert _ledger_totals(ledger, result.run_id) == scripted.reported_usage == (400, 160, 40)
    calls = ledger.query("SELECT agent, provider, model FROM llm_calls WHERE run_id = ?", [result.run_id])
    assert list(calls["agent"]) == ["requirements", "architecture", "configuration", "quality"]


FAULTS = {
    "429 retry-after": (lambda: status(429, retry_after_ms=50), "succeeded", 2),
    "500": (lambda: status(500), "succeeded", 2),
    "503": (lambda: status(503), "succeeded", 2),
    # the late answer is never read by the client, so its usage cannot be known: send none
    "read timeout": (lambda: delay(1.5, reply("{}", usage=None)), "succeeded", 2),
    "dropped connection": (lambda: drop(), "succeeded", 2),
    "malformed json": (lambda: malformed(), "succeeded", 2),
    "schema-invalid json": (lambda: schema_invalid({"wrong": "shape"}), "succeeded", 2),
    "truncated answer": (lambda: truncated('{"requirement": "x", "goal": '), "succeeded", 2),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_on_the_first_call_is_recovered_and_counted(fault, scripted, llm_settings, ledger, library):
    make, outcome, attempts = FAULTS[fault]
    scripted.enqueue(make())
    result = generate(REQUIREMENT, settings=llm_settings, ledger=ledger, library=library)
    assert result.status == outcome, result.error_message
    calls = ledger.query("SELECT agent, attempt, outcome, is_fallback FROM llm_calls WHERE run_id = ? ORDER BY called_at",
                         [result.run_id])
    first = calls[calls["agent"] == "requirements"]
    assert len(first) == attempts and first.iloc[0]["outcome"] == "error" and first.iloc[-1]["outcome"] == "ok"
    assert not calls["is_fallback"].any()
    assert _ledger_totals(ledger, result.run_id) == scripted.reported_usage


def test_refusal_falls_back_or_fails_cleanly_with_usage_kept(scripted, llm_settings, ledger, library):
    scripted.enqueue(*[refusal("I can't help with that")] * 12)
    result = generate(REQUIREMENT, settings=llm_settings, ledger=ledger, library=library)
    calls = ledger.query("SELECT attempt, outcome, is_fallback, error_category FROM llm_calls WHERE run_id = ?", [result.run_id])
    assert (calls["outcome"] == "error").any()
    if result.status == "failed":
        assert result.error_category == "invalid_output"
    assert _ledger_totals(ledger, result.run_id) == scripted.reported_usage


def test_server_without_json_schema_support_steps_down(scripted, llm_settings, ledger, library):
    scripted.json_schema_supported = False
    result = generate(REQUIREMENT, settings=llm_settings, ledger=ledger, library=library)
    assert result.status == "succeeded" and result.valid, result.error_message
    formats = [(r.get("response_format") or {}).get("type") for r in scripted.chat_requests]
    assert formats[0] == "json_schema" and formats[-1] != "json_schema"
    assert _ledger_totals(ledger, result.run_id) == scripted.reported_usage


def test_persistent_server_errors_use_the_fallback_then_fail(fake_openai, llm_settings, ledger, library):
    fake_openai.set_responder(lambda body: status(500))
    settings = replace(llm_settings, provider=replace(llm_settings.provider, max_attempts=2))
    result = generate(REQUIREMENT, settings=settings, ledger=ledger, library=library)
    assert result.status == "failed" and result.error_category == "server"
    calls = ledger.query("SELECT model, is_fallback FROM llm_calls WHERE run_id = ?", [result.run_id])
    assert set(calls["model"]) == {"test-model", "test-fallback"} and calls["is_fallback"].any()
    assert ledger.get_run(result.run_id)["status"] == "failed"
    assert _ledger_totals(ledger, result.run_id) == fake_openai.reported_usage


def test_run_token_budget_stops_the_run(scripted, llm_settings, ledger, library):
    settings = replace(llm_settings, max_tokens_per_run=200)
    result = generate(REQUIREMENT, settings=settings, ledger=ledger, library=library)
    assert result.status == "failed" and result.error_category == "budget"
    assert _ledger_totals(ledger, result.run_id) == scripted.reported_usage
