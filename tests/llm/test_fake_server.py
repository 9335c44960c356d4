"""The fake OpenAI-compatible server itself, as the pipeline's tests will use it."""

from __future__ import annotations

import openai
import pytest

from tests.fakes.openai_server import FakeOpenAIServer, reply, status


@pytest.fixture
def sdk(fake_openai):
    return openai.OpenAI(base_url=fake_openai.base_url, api_key="sk-do-not-show", max_retries=0, timeout=2)


def ask(sdk, content="hi", **kwargs):
    return sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": content}], **kwargs)


def test_models_endpoint_lists_the_configured_ids(fake_openai, sdk):
    fake_openai.models = ["local-llama", "local-qwen"]
    assert [m.id for m in sdk.models.list()] == ["local-llama", "local-qwen"]


def test_responder_scripts_answers_from_the_request_once_the_queue_is_empty(fake_openai, sdk):
    fake_openai.enqueue("queued first")
    fake_openai.set_responder(lambda body: "echo: " + body["messages"][-1]["content"])
    assert ask(sdk, "one").choices[0].message.content == "queued first"
    assert ask(sdk, "two").choices[0].message.content == "echo: two"
    assert fake_openai.chat_requests[1]["messages"][-1]["content"] == "two"


def test_nothing_scripted_answers_400_with_a_clear_message(sdk):
    with pytest.raises(openai.BadRequestError, match="nothing scripted"):
        ask(sdk)


def test_reply_usage_and_model_are_exactly_as_scripted(fake_openai, sdk):
    fake_openai.enqueue(reply("x", usage=(7, 8, 3), model="served-model"), reply("y", usage=(1, 1, 0)))
    first = ask(sdk)
    ask(sdk)
    assert first.model == "served-model"
    assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (7, 8)
    assert first.usage.prompt_tokens_details.cached_tokens == 3
    assert fake_openai.reported_usage == (8, 9, 3)


def test_streaming_sends_usage_in_a_last_chunk_without_choices(fake_openai, sdk):
    fake_openai.enqueue(reply("streamed text", usage=(4, 5, 0)))
    chunks = list(ask(sdk, stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "streamed text"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 5


def test_status_faults_carry_retry_after_headers(fake_openai, sdk):
    fake_openai.enqueue(status(429, retry_after=2, retry_after_ms=1500))
    with pytest.raises(openai.RateLimitError) as info:
        ask(sdk)
    assert info.value.response.headers["retry-after"] == "2"
    assert info.value.response.headers["retry-after-ms"] == "1500"


def test_authorization_is_redacted_in_history(fake_openai, sdk):
    fake_openai.enqueue("ok")
    ask(sdk)
    assert fake_openai.history[0].headers["authorization"] == "Bearer <redacted>"
    assert "sk-do-not-show" not in repr(fake_openai.history)


def test_server_runs_as_a_context_manager_on_a_free_port():
    with FakeOpenAIServer() as one, FakeOpenAIServer() as two:
        assert one.port != two.port
        assert one.base_url.startswith("http://127.0.0.1:")
