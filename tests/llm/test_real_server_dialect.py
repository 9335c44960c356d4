"""What a real local server (llama-cpp-python 0.3.36 and friends) does that the client must survive,
reproduced deterministically on the fake server: a 500 that refuses ``json_schema``, llama.cpp's grammar
form, a generation that never ends, a read timeout while the server is still generating, a 401 that
echoes the key, and reasoning models that want ``max_completion_tokens``."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from core.config import ProviderConfig, load_settings
from core.errors import ProviderError, UnparseableModelOutput
from core.llm import ChatClient
from core.llm.errors import redact_secrets, remember_secret
from tests.fakes.openai_server import endless, reply, status

SECRET = "sk-live-echoed-key-0123456789abcdef"


class Plan(BaseModel):
    title: str
    steps: list[str]


GOOD = '{"title": "Triage", "steps": ["classify", "answer"]}'
MESSAGES = [{"role": "system", "content": "You plan workflows."}, {"role": "user", "content": "Plan a triage bot."}]


def client(server, **config) -> tuple[ChatClient, list, list]:
    sleeps, calls = [], []
    settings = dict(kind="openai", base_url=server.base_url, api_key=SECRET, timeout_s=0.5, max_attempts=4)
    settings.update(config)
    return ChatClient(ProviderConfig(**settings), sleep=sleeps.append), sleeps, calls


def ask(chat: ChatClient, calls: list, **kwargs):
    return chat.complete(agent="architecture", messages=MESSAGES, schema=Plan, on_call=calls.append, **kwargs)


def formats(server) -> list:
    return [r.get("response_format") for r in server.chat_requests]


@pytest.mark.parametrize("code", [500, 422, 400])
def test_a_refused_json_schema_steps_down_at_once_without_retries(fake_openai, code):
    """llama-cpp-python answers json_schema with HTTP 500 naming response_format: before, that was retried
    4 times as a server error and the run failed with 0 tokens."""
    fake_openai.json_schema_supported = False
    fake_openai.format_refusal_status = code
    fake_openai.enqueue(reply(GOOD))
    chat, sleeps, calls = client(fake_openai)
    assert ask(chat, calls).parsed.steps == ["classify", "answer"]
    assert [(c.outcome, c.error_category) for c in calls] == [("error", "bad_request"), ("ok", None)]
    assert sleeps == []  # a refusal is not a transient error: no backoff, no second try of the same request
    assert formats(fake_openai)[1] == {"type": "json_object", "schema": Plan.model_json_schema()}
    assert calls[1].extra["structured_output"] == "json_object+schema"


def test_the_accepted_level_is_remembered_for_the_endpoint_across_clients(fake_openai):
    fake_openai.json_schema_supported = False
    fake_openai.format_refusal_status = 500
    fake_openai.enqueue(reply(GOOD), reply(GOOD), reply(GOOD))
    first, _, calls = client(fake_openai)
    ask(first, calls)
    second, sleeps, later = client(fake_openai)  # a new run's client: no second refusal
    assert second.structured_mode == "json_object+schema"
    ask(second, later)
    assert [c.outcome for c in later] == ["ok"]
    other_model, _, other = client(fake_openai, model="another-model")  # another model starts afresh
    assert other_model.structured_mode == "json_schema"
    assert len(fake_openai.chat_requests) == 3 and other == []


def test_a_server_refusing_the_grammar_form_gets_plain_json_mode(fake_openai):
    fake_openai.json_schema_supported = False
    fake_openai.json_object_schema_supported = False
    fake_openai.enqueue(reply(GOOD))
    chat, _, calls = client(fake_openai)
    ask(chat, calls)
    assert [(f or {}).get("type") for f in formats(fake_openai)] == ["json_schema", "json_object", "json_object"]
    assert formats(fake_openai)[2] == {"type": "json_object"}
    assert chat.structured_mode == "json_object"


def test_explicit_json_object_setting_never_sends_json_schema_and_may_drop_the_schema_key(fake_openai):
    fake_openai.json_object_schema_supported = False
    fake_openai.enqueue(reply(GOOD))
    chat, _, calls = client(fake_openai, structured_output="json_object")
    ask(chat, calls)
    assert formats(fake_openai) == [{"type": "json_object", "schema": Plan.model_json_schema()}, {"type": "json_object"}]


def test_explicit_text_setting_sends_no_response_format_but_describes_the_fields(fake_openai):
    fake_openai.enqueue(reply(f"Sure: {GOOD}"))
    chat, _, calls = client(fake_openai, structured_output="text")
    assert ask(chat, calls).parsed.title == "Triage"
    body = fake_openai.chat_requests[0]
    assert "response_format" not in body
    assert "- title* (string)\n- steps* (list of string)" in body["messages"][0]["content"]


def test_json_schema_mode_also_describes_the_fields_in_the_prompt(fake_openai):
    """Before, the fields went into the prompt only in the other modes; with grammar-only enforcement a
    small model filled the required keys and guessed the rest."""
    fake_openai.enqueue(reply(GOOD))
    chat, _, calls = client(fake_openai)
    ask(chat, calls)
    body = fake_openai.chat_requests[0]
    assert body["response_format"]["type"] == "json_schema"
    assert "- steps* (list of string)" in body["messages"][0]["content"]


def test_an_ordinary_500_is_still_retried(fake_openai):
    fake_openai.enqueue(status(500, message="CUDA out of memory"), reply(GOOD))
    chat, sleeps, calls = client(fake_openai)
    ask(chat, calls)
    assert [c.error_category for c in calls] == ["server", None] and len(sleeps) == 1


def test_a_generation_that_never_ends_is_capped_by_max_tokens(fake_openai):
    """Before, no max_tokens was sent: a grammar-constrained answer ran to the end of a 16k context."""
    fake_openai.enqueue(endless(), endless())
    chat, _, calls = client(fake_openai)
    with pytest.raises(UnparseableModelOutput, match="cut off at the output token limit"):
        ask(chat, calls, max_tokens=300)
    assert [r["max_tokens"] for r in fake_openai.chat_requests] == [300, 300]
    assert "shorter" in fake_openai.chat_requests[1]["messages"][-1]["content"]  # the one re-ask says why
    assert [c.completion_tokens for c in calls] == [300, 300] and fake_openai.unfinished == 0


def test_a_timeout_is_retried_once_only_and_never_sent_to_the_fallback(fake_openai):
    """Before, a timed-out generation was retried up to 4 times, each queueing behind the first."""
    fake_openai.enqueue(endless(), endless(), reply(GOOD))
    chat, sleeps, calls = client(fake_openai, fallback_model="fallback-model")
    with pytest.raises(ProviderError) as info:
        ask(chat, calls)  # no cap: the fake "still generates" until the client gives up
    error = info.value
    assert error.category == "timeout"
    assert "twice" in str(error) and "Not retried again" in str(error)
    assert len(fake_openai.chat_requests) == 2 and fake_openai.unfinished == 2
    assert {r["model"] for r in fake_openai.chat_requests} == {"gpt-4o-mini"}  # the fallback was not asked
    assert "retried once" in calls[0].error_message and "twice" in calls[1].error_message
    assert fake_openai.pending == 1


def test_a_401_that_echoes_the_key_does_not_leak_it(fake_openai):
    fake_openai.api_key = "the-right-key-000000"
    fake_openai.echo_key_in_401 = True
    chat, _, calls = client(fake_openai)
    with pytest.raises(ProviderError) as info:
        ask(chat, calls)
    assert info.value.category == "auth"
    assert SECRET not in str(info.value) and "[REDACTED]" in str(info.value)
    assert all(SECRET not in (c.error_message or "") for c in calls)


def test_redaction_masks_every_remembered_key_and_ignores_short_placeholders():
    remember_secret("sk-proj-another-secret-987654321")
    remember_secret("abc")  # too short to be a key: never masked (it would mangle ordinary words)
    text = "key sk-proj-another-secret-987654321 refused; abc is fine"
    assert redact_secrets(text) == "key [REDACTED] refused; abc is fine"


def test_reasoning_models_get_max_completion_tokens_instead(fake_openai):
    fake_openai.enqueue(status(400, message="Unsupported parameter: 'max_tokens' is not supported with this model. "
                                            "Use 'max_completion_tokens' instead."), reply(GOOD))
    chat, _, calls = client(fake_openai)
    ask(chat, calls, max_tokens=500)
    first, second = fake_openai.chat_requests
    assert first["max_tokens"] == 500 and "max_tokens" not in second and second["max_completion_tokens"] == 500


def test_settings_read_the_structured_output_mode_and_output_limits():
    settings = load_settings({"DIFYFORGE_STRUCTURED_OUTPUT": "JSON_OBJECT",
                              "DIFYFORGE_MAX_OUTPUT_TOKENS": "configuration=6000, quality=512"}, secrets_path=None)
    assert settings.provider.structured_output == "json_object"
    assert settings.provider.max_output_tokens == (("configuration", 6000), ("quality", 512))
    assert load_settings({"DIFYFORGE_MAX_OUTPUT_TOKENS": "3000"}).provider.max_output_tokens == (("*", 3000),)
    with pytest.raises(ValueError, match="DIFYFORGE_STRUCTURED_OUTPUT must be one of auto, json_schema"):
        load_settings({"DIFYFORGE_STRUCTURED_OUTPUT": "grammar"})
    with pytest.raises(ValueError, match="DIFYFORGE_MAX_OUTPUT_TOKENS"):
        load_settings({"DIFYFORGE_MAX_OUTPUT_TOKENS": "configuration=lots"})
