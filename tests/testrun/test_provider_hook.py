"""With a provider, LLM nodes' prompts go to the OpenAI-compatible endpoint through core.llm (real HTTP
to the local fake server); classifiers and extractors stay steerable."""

from __future__ import annotations

from core.config import ProviderConfig
from core.testrun import test_run as run_in_engine
from core.testrun.model import provider_completer
from tests.fakes.openai_server import reply
from tests.testrun import workflows as w


def _doc() -> dict:
    return w.workflow([w.start(w.text_input("text")), w.llm("llm", "Summarise: {{#start.text#}}", system="Be brief."),
                       w.end(("summary", ["llm", "text"]))],
                      [w.edge("start", "llm"), w.edge("llm", "end")])


def test_llm_nodes_call_the_endpoint_and_report_its_tokens(fake_openai):
    fake_openai.set_responder(lambda body: reply("A real model's summary.", usage=(30, 7, 0)))
    calls = []
    config = ProviderConfig(kind="openai", base_url=fake_openai.base_url, api_key="test-key", model="test-model")
    report = run_in_engine(_doc(), {"text": "Quarterly sales rose 8%."},
                           model=provider_completer(config, on_call=calls.append), provider="openai")
    assert report.status == "succeeded" and report.provider == "openai"
    assert report.outputs == {"summary": "A real model's summary."}
    assert report.tokens == 37 and [c.agent for c in calls] == ["testrun"]
    sent = fake_openai.chat_requests[-1]["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert "Quarterly sales rose 8%." in sent[-1]["content"]


def test_an_endpoint_failure_is_the_llm_nodes_failure(fake_openai):
    from tests.fakes.openai_server import status

    fake_openai.set_responder(lambda body: status(401, message="bad key"))
    config = ProviderConfig(kind="openai", base_url=fake_openai.base_url, api_key="test-key", model="test-model")
    report = run_in_engine(_doc(), model=provider_completer(config))
    assert report.status == "failed"
    finding = next(f for f in report.findings if f.code == "DSL702")
    assert finding.node_id == "llm" and "test-key" not in finding.message
