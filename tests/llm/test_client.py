"""ChatClient through the real openai SDK against the real local fake server: faults, retries,
fallback, structured output, repair asks, usage totals and the budget."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from types import SimpleNamespace

import pytest
from pydantic import BaseModel

from core.config import ProviderConfig
from core.errors import BudgetExceeded, ProviderError, UnparseableModelOutput
from core.llm import ChatClient, ModelRefused, RunBudget, check_provider
from core.llm.structured import schema_instruction, with_instruction
from tests.fakes.openai_server import (
    cut_stream,
    delay,
    drop,
    malformed,
    refusal,
    reply,
    schema_invalid,
    status,
    truncated,
)

SECRET = "sk-test-secret-value-0123456789"


class Plan(BaseModel):
    title: str
    steps: list[str]


GOOD = '{"title": "Triage", "steps": ["classify", "answer"]}'
MESSAGES = [{"role": "system", "content": "You plan workflows."}, {"role": "user", "content": "Plan a triage bot."}]
SENT = with_instruction(MESSAGES, schema_instruction(Plan))
"""What a schema call sends in every structured-output mode: the fields are always described."""


class Harness:
    """A client wired to the fake server, recording its sleeps and CallRecords."""

    def __init__(self, server, **config) -> None:
        self.server = server
        self.sleeps: list[float] = []
        self.calls = []
        settings = dict(kind="openai", base_url=server.base_url, api_key=SECRET, timeout_s=0.5, max_attempts=4)
        settings.update(config)
        self.budget = settings.pop("budget", None)
        self.client = ChatClient(ProviderConfig(**settings), budget=self.budget, sleep=self.sleeps.append)

    def complete(self, schema=Plan, stream=False, messages=MESSAGES):
        return self.client.complete(
            agent="architecture", messages=messages, schema=schema, on_call=self.calls.append, stream=stream
        )

    def fails(self, exc_type, **kwargs):
        with pytest.raises(exc_type) as info:
            self.complete(**kwargs)
        return info.value

    @property
    def models_asked(self) -> list[str]:
        return [body["model"] for body in self.server.chat_requests]

    def assert_tokens_match_server(self) -> None:
        recorded = tuple(sum(getattr(c, f) for c in self.calls) for f in ("prompt_tokens", "completion_tokens", "cached_tokens"))
        assert recorded == self.server.reported_usage

    def outcomes(self) -> list[tuple[int, str, str | None]]:
        return [(c.attempt, c.outcome, c.error_category) for c in self.calls]


@pytest.fixture
def h(fake_openai):
    return Harness(fake_openai)


def test_429_with_retry_after_waits_exactly_that_long_then_succeeds(h):
    h.server.enqueue(status(429, retry_after=2, message="slow down"), reply(GOOD, usage=(120, 30, 64)))
    result = h.complete()
    assert result.parsed == Plan(title="Triage", steps=["classify", "answer"])
    assert h.sleeps == [2.0]
    assert h.outcomes() == [(1, "error", "rate_limit"), (2, "ok", None)]
    assert "slow down" in h.calls[0].error_message
    assert len(h.server.chat_requests) == 2
    assert h.calls[1].cached_tokens == 64
    h.assert_tokens_match_server()


def test_retry_after_ms_is_preferred_and_long_waits_are_capped(h):
    h.server.enqueue(status(429, retry_after=9, retry_after_ms=250), status(503, retry_after=3600), reply(GOOD))
    h.complete()
    assert h.sleeps == [0.25, 30.0]


def test_500s_back_off_exponentially_with_jitter(h):
    h.server.enqueue(status(500), status(500), status(500), reply(GOOD, usage=(5, 6, 0)))
    result = h.complete()
    assert result.parsed.title == "Triage"
    assert h.outcomes() == [(1, "error", "server"), (2, "error", "server"), (3, "error", "server"), (4, "ok", None)]
    first, second, third = h.sleeps
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 1.5 and 2.0 <= third <= 2.5
    h.assert_tokens_match_server()


def test_503_exhausts_the_attempts_then_the_fallback_model_answers(fake_openai):
    h = Harness(fake_openai, max_attempts=3, fallback_model="fallback-model")
    fake_openai.enqueue(status(503), status(503), status(503), reply(GOOD, usage=(40, 10, 0)))
    result = h.complete()
    assert result.model == "fallback-model"
    assert h.models_asked == ["gpt-4o-mini"] * 3 + ["fallback-model"]
    assert [c.is_fallback for c in h.calls] == [False, False, False, True]
    assert [c.attempt for c in h.calls] == [1, 2, 3, 4]
    assert len(h.sleeps) == 2  # between the primary's attempts only; the fallback starts at once
    assert result.calls == h.calls
    h.assert_tokens_match_server()


def test_503_everywhere_raises_server_error_after_all_attempts(fake_openai):
    h = Harness(fake_openai, max_attempts=2, fallback_model="fallback-model")
    fake_openai.set_responder(lambda body: status(503))
    error = h.fails(ProviderError)
    assert error.category == "server" and error.status_code == 503
    assert "4 attempts" in str(error)
    assert h.models_asked == ["gpt-4o-mini", "gpt-4o-mini", "fallback-model", "fallback-model"]
    assert all(c.outcome == "error" for c in h.calls)


def test_read_timeout_is_retried(h):
    h.server.enqueue(delay(3), reply(GOOD, usage=(7, 3, 0)))
    result = h.complete()
    assert result.parsed is not None
    assert h.outcomes() == [(1, "error", "timeout"), (2, "ok", None)]
    assert h.calls[0].latency_ms >= 400
    assert len(h.server.chat_requests) == 2
    h.assert_tokens_match_server()


def test_dropped_connection_is_retried(h):
    h.server.enqueue(drop(), reply(GOOD, usage=(8, 4, 0)))
    h.complete()
    assert h.outcomes() == [(1, "error", "connection"), (2, "ok", None)]
    assert len(h.server.chat_requests) == 2
    h.assert_tokens_match_server()


def test_malformed_json_is_re_asked_once_with_the_error(h):
    h.server.enqueue(malformed(usage=(50, 20, 0)), reply(GOOD, usage=(90, 15, 10)))
    result = h.complete()
    assert result.parsed.steps == ["classify", "answer"]
    assert h.outcomes() == [(1, "error", "invalid_output"), (2, "ok", None)]
    assert h.sleeps == []  # a repair ask is no retry: no backoff
    repair = h.server.chat_requests[1]["messages"]
    assert repair[:2] == SENT
    assert repair[2] == {"role": "assistant", "content": "Sure! Here is the plan: {not json at all"}
    assert repair[3]["role"] == "user" and "no JSON object" in repair[3]["content"]
    assert "valid JSON only" in repair[3]["content"]
    assert h.calls[0].prompt_tokens == 50  # the failed parse still counts
    h.assert_tokens_match_server()


def test_malformed_twice_raises_unparseable_without_fallback(h):
    h.server.enqueue(malformed(usage=(10, 10, 0)), malformed(usage=(11, 11, 0)))
    error = h.fails(UnparseableModelOutput)
    assert error.category == "invalid_output"
    assert len(h.server.chat_requests) == 2
    h.assert_tokens_match_server()


def test_invalid_output_twice_moves_on_to_the_fallback_model(fake_openai):
    h = Harness(fake_openai, fallback_model="fallback-model")
    fake_openai.enqueue(malformed(), schema_invalid({"title": 1}), reply(GOOD))
    result = h.complete()
    assert result.model == "fallback-model"
    assert h.models_asked == ["gpt-4o-mini", "gpt-4o-mini", "fallback-model"]
    # the fallback starts from the original conversation, not the primary's repair thread
    assert fake_openai.chat_requests[2]["messages"] == SENT


def test_schema_invalid_json_is_re_asked_with_the_validation_error(h):
    h.server.enqueue(schema_invalid({"title": "x", "steps": "not a list"}, usage=(30, 5, 0)), reply(GOOD))
    result = h.complete()
    assert result.parsed.title == "Triage"
    ask = h.server.chat_requests[1]["messages"][-1]["content"]
    assert "steps" in ask and "valid list" in ask
    assert h.calls[0].error_message.startswith("the JSON does not match the schema")
    h.assert_tokens_match_server()


def test_truncated_answer_counts_as_invalid_and_asks_for_a_shorter_one(h):
    h.server.enqueue(truncated('{"title": "Triage", "st', usage=(60, 4096, 0)), reply(GOOD, usage=(70, 20, 0)))
    result = h.complete()
    assert result.parsed is not None
    assert h.outcomes() == [(1, "error", "invalid_output"), (2, "ok", None)]
    ask = h.server.chat_requests[1]["messages"][-1]["content"]
    assert "cut off" in ask and "shorter" in ask
    assert h.calls[0].extra["finish_reason"] == "length"
    h.assert_tokens_match_server()


def test_refusal_raises_at_once_without_retry_or_fallback(fake_openai):
    h = Harness(fake_openai, fallback_model="fallback-model")
    fake_openai.enqueue(refusal("I can't help with that.", usage=(25, 8, 0)), reply(GOOD))
    error = h.fails(ModelRefused)
    assert error.category == "invalid_output"
    assert "refused" in str(error) and "I can't help with that." in str(error)
    assert len(fake_openai.chat_requests) == 1 and fake_openai.pending == 1
    assert h.calls[0].response_text == "I can't help with that."
    h.assert_tokens_match_server()


def test_content_filter_finish_is_a_refusal(h):
    h.server.enqueue(reply("", finish_reason="content_filter"))
    assert h.fails(ModelRefused).category == "invalid_output"
    assert len(h.server.chat_requests) == 1


def test_server_without_json_schema_falls_back_to_json_mode_and_remembers(h):
    h.server.json_schema_supported = False
    h.server.enqueue(reply(GOOD, usage=(10, 5, 0)), reply(GOOD, usage=(10, 5, 0)))
    assert h.complete().parsed is not None
    first, second = h.server.chat_requests
    assert first["response_format"]["type"] == "json_schema"
    assert first["response_format"]["json_schema"]["name"] == "Plan"
    # llama.cpp's grammar form: JSON mode constrained by the schema
    assert second["response_format"] == {"type": "json_object", "schema": Plan.model_json_schema()}
    assert "- steps* (list of string)" in second["messages"][0]["content"]  # the fields, in the prompt
    assert h.outcomes() == [(1, "error", "bad_request"), (2, "ok", None)]
    assert h.sleeps == []
    assert h.client.structured_mode == "json_object+schema"
    h.complete()  # the next call goes straight to the grammar form
    assert len(h.server.chat_requests) == 3
    assert h.server.chat_requests[2]["response_format"]["type"] == "json_object"
    h.assert_tokens_match_server()


def test_server_without_any_json_mode_gets_plain_text_and_json_is_extracted(h):
    h.server.json_schema_supported = False
    h.server.json_object_supported = False
    h.server.enqueue(reply(f"Here you go:\n```json\n{GOOD}\n```\nAnything else?"))
    result = h.complete()
    assert result.parsed.steps == ["classify", "answer"]
    last = h.server.chat_requests[-1]
    assert "response_format" not in last
    assert "- title* (string)" in last["messages"][0]["content"]
    assert h.client.structured_mode == "text"
    formats = [r.get("response_format") for r in h.server.chat_requests]
    assert [(f or {}).get("type") for f in formats] == ["json_schema", "json_object", "json_object", None]
    assert "schema" in formats[1] and "schema" not in formats[2]  # grammar form, then plain JSON mode


def test_explicit_json_schema_mode_does_not_downgrade(fake_openai):
    fake_openai.json_schema_supported = False
    h = Harness(fake_openai, structured_output="json_schema")
    error = h.fails(ProviderError)
    assert error.category == "bad_request" and error.status_code == 400
    assert "json_schema" in str(error)
    assert len(fake_openai.chat_requests) == 1


def test_401_is_not_retried_nor_sent_to_the_fallback_and_no_key_leaks(fake_openai):
    h = Harness(fake_openai, fallback_model="fallback-model")
    fake_openai.enqueue(status(401, message="Incorrect API key provided"))
    error = h.fails(ProviderError)
    assert error.category == "auth" and error.status_code == 401
    assert "API key" in str(error)
    assert len(fake_openai.chat_requests) == 1 and h.sleeps == []
    assert h.outcomes() == [(1, "error", "auth")]
    everything = repr(h.calls) + str(error) + repr(fake_openai.history)
    assert SECRET not in everything
    assert fake_openai.history[0].headers["authorization"] == "Bearer <redacted>"


@pytest.mark.parametrize("code", [400, 403, 404, 422])
def test_client_errors_are_not_retried(h, code):
    h.server.enqueue(status(code, message="no such parameter"))
    error = h.fails(ProviderError)
    assert error.status_code == code
    assert error.category == ("auth" if code == 403 else "bad_request")
    assert len(h.server.chat_requests) == 1


def test_404_model_not_found_tries_the_fallback(fake_openai):
    h = Harness(fake_openai, fallback_model="fallback-model")
    fake_openai.enqueue(status(404, message="model not found"), reply(GOOD))
    assert h.complete().model == "fallback-model"
    assert h.models_asked == ["gpt-4o-mini", "fallback-model"]


def test_quota_exhausted_429_is_not_retried(h):
    h.server.enqueue(status(429, message="You exceeded your current quota", error_code="insufficient_quota"))
    error = h.fails(ProviderError)
    assert error.category == "rate_limit"
    assert len(h.server.chat_requests) == 1


@pytest.mark.parametrize("code,category", [(408, "timeout"), (409, "server"), (502, "server")])
def test_other_transient_statuses_are_retried(h, code, category):
    h.server.enqueue(status(code), reply(GOOD))
    h.complete()
    assert h.outcomes() == [(1, "error", category), (2, "ok", None)]


def test_streaming_success_reads_usage_from_the_last_chunk(h):
    h.server.enqueue(reply(GOOD, usage=(321, 45, 300)))
    result = h.complete(stream=True)
    assert result.parsed == Plan(title="Triage", steps=["classify", "answer"])
    assert result.text == GOOD
    body = h.server.chat_requests[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert (h.calls[0].prompt_tokens, h.calls[0].completion_tokens, h.calls[0].cached_tokens) == (321, 45, 300)
    h.assert_tokens_match_server()


def test_streaming_with_retry_and_repair_keeps_every_token(h):
    h.server.enqueue(status(500), truncated('{"title"', usage=(100, 50, 0)), reply(GOOD, usage=(150, 30, 20)))
    h.complete(stream=True)
    assert h.outcomes() == [(1, "error", "server"), (2, "error", "invalid_output"), (3, "ok", None)]
    h.assert_tokens_match_server()
    assert sum(c.total_tokens for c in h.calls) == 330


def test_free_text_without_schema(h):
    h.server.enqueue(reply("Just prose.", usage=(3, 2, 0)))
    result = h.complete(schema=None)
    assert result.parsed is None and result.text == "Just prose."
    assert "response_format" not in h.server.chat_requests[0]
    assert h.calls[0].extra.get("structured_output") is None


def test_response_without_usage_records_zero_tokens_and_a_note(h):
    h.server.enqueue(reply(GOOD, usage=None))
    h.complete()
    call = h.calls[0]
    assert (call.prompt_tokens, call.completion_tokens, call.cached_tokens) == (0, 0, 0)
    assert "no token usage" in call.extra["usage"]


def test_call_records_carry_prompt_and_response_text(h):
    h.server.enqueue(reply(GOOD))
    h.complete()
    call = h.calls[0]
    assert call.agent == "architecture" and call.provider == "openai" and call.model == "gpt-4o-mini"
    assert call.prompt_text == (f"system: You plan workflows.\n\n{schema_instruction(Plan)}\n\n"
                                "user: Plan a triage bot.")
    assert call.response_text == GOOD
    assert call.extra["structured_output"] == "json_schema"
    assert h.server.chat_requests[0]["temperature"] == 0.2


def test_on_call_receives_each_attempt_before_the_next_request(h):
    seen_requests = []
    h.server.enqueue(status(500), status(500), reply(GOOD))
    h.client.complete(
        agent="quality", messages=MESSAGES, schema=Plan,
        on_call=lambda call: seen_requests.append(len(h.server.chat_requests)),
    )
    assert seen_requests == [1, 2, 3]


def test_crossing_max_tokens_raises_after_recording_the_call(fake_openai):
    budget = RunBudget(max_tokens=100)
    h = Harness(fake_openai, budget=budget)
    fake_openai.enqueue(reply(GOOD, usage=(80, 30, 0)))
    error = h.fails(BudgetExceeded)
    assert error.category == "budget"
    assert "110 tokens" in str(error) and "100" in str(error)
    assert h.outcomes() == [(1, "ok", None)]  # recorded before the budget refused
    assert budget.tokens_used == 110
    # the next call is refused before any request, and that refusal is recorded too
    assert h.fails(BudgetExceeded).category == "budget"
    assert len(fake_openai.chat_requests) == 1
    assert h.outcomes()[-1] == (1, "error", "budget")
    assert h.calls[-1].total_tokens == 0


def test_failed_attempts_are_charged_to_the_budget(fake_openai):
    budget = RunBudget(max_tokens=1000)
    h = Harness(fake_openai, budget=budget)
    fake_openai.enqueue(malformed(usage=(300, 100, 0)), reply(GOOD, usage=(200, 50, 0)))
    h.complete()
    assert budget.tokens_used == 650


def test_cost_budget_uses_the_price_function(fake_openai):
    priced = []

    def price(provider, model, prompt, completion, cached):
        priced.append((provider, model, prompt, completion, cached))
        return SimpleNamespace(cost_usd=Decimal("0.004"), source="test")

    budget = RunBudget(max_cost_usd=0.01, price=price)
    h = Harness(fake_openai, budget=budget)
    fake_openai.set_responder(lambda body: reply(GOOD, usage=(10, 5, 1)))
    h.complete()
    h.complete()
    assert budget.cost_usd == Decimal("0.008")
    error = h.fails(BudgetExceeded)
    assert "$0.0120" in str(error)
    assert priced == [("openai", "gpt-4o-mini", 10, 5, 1)] * 3
    assert h.fails(BudgetExceeded).category == "budget"
    assert len(fake_openai.chat_requests) == 3


def test_missing_api_key_sends_a_dummy_for_local_servers(fake_openai):
    h = Harness(fake_openai, api_key=None)
    fake_openai.enqueue(reply(GOOD))
    h.complete()
    assert "authorization" in fake_openai.history[0].headers


def test_stream_that_breaks_off_is_retried_as_a_connection_error(h):
    h.server.enqueue(cut_stream(GOOD), reply(GOOD, usage=(9, 9, 0)))
    result = h.complete(stream=True)
    assert result.parsed is not None
    assert h.outcomes() == [(1, "error", "connection"), (2, "ok", None)]
    assert "broke off" in h.calls[0].error_message
    h.assert_tokens_match_server()


def test_model_that_rejects_temperature_is_asked_again_without_it(h):
    h.server.enqueue(
        status(400, message="Unsupported value: 'temperature' does not support 0.2 with this model."),
        reply(GOOD),
        reply(GOOD),
    )
    h.complete()
    h.complete()
    first, second, third = h.server.chat_requests
    assert first["temperature"] == 0.2
    assert "temperature" not in second and "temperature" not in third
    assert h.outcomes() == [(1, "error", "bad_request"), (2, "ok", None), (1, "ok", None)]


def test_clients_share_one_connection_pool_and_closing_one_leaves_the_others_working(fake_openai):
    fast = ProviderConfig(kind="openai", base_url=fake_openai.base_url, timeout_s=0.5)
    slow = ProviderConfig(kind="openai", base_url=fake_openai.base_url, timeout_s=30)
    fake_openai.enqueue(reply("one"), reply("two"))
    with ChatClient(fast) as first:
        assert first.complete(agent="a", messages=MESSAGES, schema=None, on_call=lambda c: None).text == "one"
    second = ChatClient(slow)
    assert second._sdk._client is first._sdk._client
    assert second.complete(agent="a", messages=MESSAGES, schema=None, on_call=lambda c: None).text == "two"


def test_check_provider_reports_reachability_model_and_auth(fake_openai):
    config = ProviderConfig(kind="openai", base_url=fake_openai.base_url, api_key="sk-health", model="gpt-4o-mini")
    health = check_provider(config)
    assert health.ok and "gpt-4o-mini" in health.models and "offers 'gpt-4o-mini'" in health.message
    missing = check_provider(replace(config, model="no-such-model"))
    assert missing.ok and "lists no model 'no-such-model'" in missing.message
    fake_openai.api_key = "sk-other"
    refused = check_provider(config)
    assert not refused.ok and "(auth)" in refused.message and "sk-health" not in refused.message
    unreachable = check_provider(replace(config, base_url="http://127.0.0.1:9/v1"), timeout_s=0.5)
    assert not unreachable.ok and "(connection)" in unreachable.message
    assert check_provider(ProviderConfig(kind="offline")).ok


def test_cost_budget_prices_with_core_pricing_by_default(fake_openai):
    budget = RunBudget(max_cost_usd=0.05)
    h = Harness(fake_openai, budget=budget)
    fake_openai.enqueue(reply(GOOD, usage=(1_000_000, 0, 0)))  # a million gpt-4o-mini input tokens: cents
    error = h.fails(BudgetExceeded)
    assert "crossed its limit of $0.0500" in str(error)
    assert Decimal("0.05") < budget.cost_usd < Decimal("1")
    assert h.outcomes() == [(1, "ok", None)]


def test_unpriced_model_counts_tokens_but_not_cost(fake_openai):
    budget = RunBudget(max_cost_usd=0.01, max_tokens=10_000)
    h = Harness(fake_openai, budget=budget, model="my-local-llama-q4")
    fake_openai.enqueue(reply(GOOD, usage=(500, 100, 0)))
    h.complete()
    assert (budget.tokens_used, budget.cost_usd, budget.unpriced_calls) == (600, Decimal(0), 1)
