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


def _per_call_overhead(settings, ledger, server, server_ms: list[float], n: int = 60) -> float:
    """Median time of one structured model call through the real client into the real ledger, minus the
    fake server's own time for that request (the server answers at once)."""
    from core.agents.brain import LLMBrain
    from core.agents.models import RequirementSpec
    from tests.fakes.openai_server import reply
    from tests.pipeline.test_llm_path import REQUIREMENT, _answers

    run_id = ledger.start_run(requirement="overhead benchmark", provider="openai", model="test-model", source="cli")
    spec = _answers(REQUIREMENT)["requirements"]
    server.set_responder(lambda body: _timed(server_ms, lambda: reply(spec, usage=(100, 40, 0))))
    brain = LLMBrain(settings, lambda call: ledger.record_call(run_id, call))
    samples = []
    for _ in range(n):
        before = len(server_ms)
        started = time.perf_counter()
        brain.think("requirements", data={"requirement": REQUIREMENT}, schema=RequirementSpec, offline=None)
        samples.append((time.perf_counter() - started) * 1000 - sum(server_ms[before:]))
    ledger.finish_run(run_id, status="succeeded")
    return statistics.median(samples)


def _timed(log: list[float], fn):
    started = time.perf_counter()
    value = fn()
    log.append((time.perf_counter() - started) * 1000)
    return value


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
            print(f"   scripted LLM generation: median {statistics.median(totals):.0f} ms for {calls} calls "
                  f"(the same requirement offline: {statistics.median(offline):.0f} ms); whole run minus server "
                  f"time, per call: {whole:.1f} ms (counts retrieval, compile, validation and the run's ledger rows)")
            print(f"   tokens per generation {tokens}, calls per generation {calls}")
            print(f"   pipeline overhead per model call: {_per_call_overhead(llm, ledger, server, server_ms):.1f} ms "
                  "median (target < 20 ms: prompt, SDK, HTTP, JSON parsing and validation, ledger write of the "
                  "call and its event)")
        ledger.close()
