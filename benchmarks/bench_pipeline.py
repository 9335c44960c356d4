"""Generation speed: offline time per requirement (warm process), and the pipeline's overhead per
model call against the local fake server with zero latency, plus tokens and calls per generation."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from core.config import ProviderConfig, Settings
from core.evaluation import load_cases
from core.pipeline import generate

EVAL_FILE = Path(__file__).resolve().parents[2] / "shared" / "eval" / "requirements.yaml"


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    from core.ledger import Ledger
    from core.patterns import PatternLibrary
    from tests.fakes.openai_server import FakeOpenAIServer, reply
    from tests.pipeline.test_llm_path import REQUIREMENT, _answers, agent_of

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), provider=ProviderConfig(kind="offline"))
        ledger = Ledger.open(settings)
        library = PatternLibrary.open(settings)
        library.sync()
        cases = load_cases(EVAL_FILE)
        generate(cases[0].requirement, settings=settings, ledger=ledger, library=library)  # warm up
        times = []
        for case in cases:
            started = time.perf_counter()
            generate(case.requirement, settings=settings, ledger=ledger, library=library, source="eval")
            times.append((time.perf_counter() - started) * 1000)
        print(f"   offline generation, {len(times)} eval requirements: p50 {_pct(times, 0.5):.0f} ms, "
              f"p95 {_pct(times, 0.95):.0f} ms (target p50 < 300 ms)")

        answers = _answers(REQUIREMENT)
        server_ms: list[float] = []

        def responder(body):
            started = time.perf_counter()
            answer = reply(answers[agent_of(body)], usage=(100, 40, 0))
            server_ms.append((time.perf_counter() - started) * 1000)
            return answer

        with FakeOpenAIServer() as server:
            server.set_responder(responder)
            llm = settings.with_provider(kind="openai", base_url=server.base_url, api_key="bench-key", model="test-model")
            generate(REQUIREMENT, settings=llm, ledger=ledger, library=library)  # warm up
            rounds, totals, offline, calls, tokens = 10, [], [], 0, 0
            for _ in range(rounds):
                started = time.perf_counter()
                generate(REQUIREMENT, settings=settings, ledger=ledger, library=library)
                offline.append((time.perf_counter() - started) * 1000)
                before = len(server.chat_requests)
                started = time.perf_counter()
                result = generate(REQUIREMENT, settings=llm, ledger=ledger, library=library)
                totals.append((time.perf_counter() - started) * 1000)
                calls, tokens = len(server.chat_requests) - before, result.usage.total_tokens
            server_total = statistics.median(server_ms) * calls
            whole = (statistics.median(totals) - server_total) / calls
            marginal = (statistics.median(totals) - statistics.median(offline) - server_total) / calls
            print(f"   scripted LLM generation: median {statistics.median(totals):.0f} ms for {calls} calls "
                  f"(the same requirement offline: {statistics.median(offline):.0f} ms)")
            print(f"   pipeline overhead per model call: {marginal:.1f} ms (target < 20 ms: SDK, HTTP, parsing, "
                  "ledger write of the call and its event)")
            print(f"   whole run minus server time, per call: {whole:.1f} ms (also counts retrieval, compile, "
                  "validation and the run's own ledger rows)")
            print(f"   tokens per generation {tokens}, calls per generation {calls}")
        ledger.close()
