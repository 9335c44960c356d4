"""Comparing two prompt versions on an eval set through the real openai SDK against the scripted fake server.

The scripted model rewards the ``thorough`` requirements prompt, so B has a real win; every figure
the comparison shows must equal what the ledger recorded for its runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal

import pytest
import yaml

from core.comparison import (
    case_workflow_diff,
    check_versions,
    list_comparisons,
    load_comparison,
    run_comparison,
)
from core.errors import InputError
from core.ledger import Ledger
from tests.fakes.openai_server import status
from tests.prompts.conftest import CASES
from tests.prompts.scripted_model import THOROUGH_MARKER, answer


def _ledger_figures(ledger, comparison_id, arm):
    return ledger.query("""
        SELECT count(*) AS runs, sum(r.total_tokens) AS tokens, sum(r.cost_usd) AS cost,
               count(*) FILTER (WHERE r.cost_usd IS NULL) AS unknown,
               quantile_cont(r.duration_ms, 0.5) / 1000 AS p50, quantile_cont(r.duration_ms, 0.95) / 1000 AS p95,
               avg(r.quality_score) AS quality, list(DISTINCT r.prompt_version) AS versions,
               list(DISTINCT r.source) AS sources
        FROM comparison_runs cr JOIN runs_v r ON r.id = cr.run_id
        WHERE cr.comparison_id = ? AND cr.arm = ?""", [comparison_id, arm]).iloc[0]


def test_b_wins_and_every_figure_equals_the_ledgers(model_settings, thorough, eval_file, ledger, library, fake_openai):
    seen = []
    cid = run_comparison("v1", thorough, eval_file, settings=model_settings, ledger=ledger, library=library,
                         concurrency=2, on_case=seen.append)
    c = load_comparison(ledger, cid)
    assert c.status == "completed" and not c.missing and not c.model_problems()
    assert [d.done for d in seen] == list(range(1, 7)) and {d.arm for d in seen} == {"A", "B"}
    a, b = c.arms["A"], c.arms["B"]
    # the lazy reading's spec is held to the text (the PDF upload is a file input, so it is read), which
    # satisfies the plain and the PDF cases; the classifier case stays an honest incomplete
    assert (a.passed, b.passed, a.cases) == (2, 3, 3)
    by_case = {r.case_id: r for r in c.cases}
    assert by_case["email-triage"].winner == "B" and by_case["plain-answer"].winner == "both"
    # the lazy reading's workflow is held to the text's classes and names and so ends an honest incomplete
    assert by_case["email-triage"].a["error_category"] == "incomplete" and "missing" in by_case["email-triage"].a["message"]
    assert (a.test_runs, a.test_runs_ok, b.test_runs, b.test_runs_ok) == (3, 3, 3, 3)  # in Dify's engine
    tested = ledger.query("""
        SELECT cr.test_run, arg_max(t.status, t.id) AS ledger_status
        FROM comparison_runs cr JOIN test_runs t ON t.run_id = cr.run_id
        WHERE cr.comparison_id = ? GROUP BY cr.arm, cr.case_id, cr.test_run""", [cid])
    assert len(tested) == 6 and tested["test_run"].tolist() == tested["ledger_status"].tolist()  # the ledger's
    assert set(tested["test_run"]) == {"succeeded"}
    assert a.failures == {"incomplete": 1} and b.failures == {}
    for arm, summary, version in (("A", a, "v1"), ("B", b, thorough)):
        led = _ledger_figures(ledger, cid, arm)
        assert led.runs == 3 and list(led.versions) == [version] and list(led.sources) == ["compare"]
        assert summary.tokens == int(led.tokens)
        assert summary.cost_usd == Decimal(str(led.cost)) and summary.cost_usd > 0 and led.unknown == 0
        assert summary.p50_s == pytest.approx(float(led.p50)) and summary.p95_s == pytest.approx(float(led.p95))
        assert summary.quality_mean == pytest.approx(float(led.quality))
    assert b.tokens > a.tokens  # the thorough reading costs more tokens
    assert c.summary_line().startswith("B (thorough) passes 1 more case than A (v1) (3 vs 2 of 3), costs ")
    assert "% more" in c.summary_line() and " p50" in c.summary_line()
    # the model really got B's prompt for B's runs, and only for them
    systems = [next(m["content"] for m in r["messages"] if m["role"] == "system") for r in fake_openai.chat_requests
               if r["response_format"]["json_schema"]["name"] == "RequirementSpec"]
    assert sum(THOROUGH_MARKER in s for s in systems) == 3 and len(systems) == 6
    diff = case_workflow_diff(ledger, by_case["email-triage"])
    assert diff is not None and diff.added > 0


def test_an_unpriced_model_shows_cost_as_unknown(model_settings, thorough, eval_file, ledger, library):
    settings = model_settings.with_provider(model="house-model-7b")
    c = load_comparison(ledger, run_comparison("v1", thorough, eval_file, settings=settings, ledger=ledger,
                                               library=library))
    assert c.arms["A"].cost_usd is None and c.arms["A"].unknown_cost_runs == 3
    assert "cost unknown" in c.summary_line()


def test_refuses_what_cannot_be_compared(model_settings, thorough, eval_file, ledger, tmp_path):
    with pytest.raises(InputError, match="A and B are both v1"):
        run_comparison("v1", "v1", eval_file, settings=model_settings, ledger=ledger)
    with pytest.raises(InputError, match="offline brain does not use the agent prompts"):
        run_comparison("v1", thorough, eval_file, settings=model_settings.with_provider(kind="offline"), ledger=ledger)
    with pytest.raises(InputError, match="no prompt version 'v7'"):
        run_comparison("v1", "v7", eval_file, settings=model_settings, ledger=ledger)
    empty = tmp_path / "empty.yaml"
    empty.write_text("cases: []\n", encoding="utf-8")
    with pytest.raises(InputError, match="has no 'cases' list"):
        run_comparison("v1", thorough, empty, settings=model_settings, ledger=ledger)
    assert list_comparisons(ledger).empty  # nothing was started


def test_identical_prompt_sets_are_refused(model_settings, ledger, eval_file):
    from core.agents.prompt_store import PromptStore

    store = PromptStore(model_settings.data_dir)
    # a shipped v2 file identical to v1 gives every agent the same prompt as v1
    shipped = model_settings.data_dir.parent / "shipped"
    shipped.mkdir()
    for path in store.shipped_dir.glob("*.md"):
        (shipped / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (shipped / "quality.v2.md").write_text(store.prompt("quality"), encoding="utf-8")
    with pytest.raises(InputError, match="give every agent the same prompt"):
        check_versions(PromptStore(model_settings.data_dir, shipped_dir=shipped), "v1", "v2")


def test_a_model_that_fails_half_way_gets_a_clear_message(model_settings, thorough, eval_file, ledger, library,
                                                          fake_openai):
    seen_b = []

    def failing_after_a(body):  # the key is revoked once B's first run starts (its requirements prompt is B's own)
        if THOROUGH_MARKER in next(m["content"] for m in body["messages"] if m["role"] == "system"):
            seen_b.append(1)
        return status(401, message="Incorrect API key provided.") if seen_b else answer(body)

    fake_openai.set_responder(failing_after_a)
    settings = replace(model_settings, provider=replace(model_settings.provider, max_attempts=1))
    c = load_comparison(ledger, run_comparison("v1", thorough, eval_file, settings=settings, ledger=ledger,
                                               library=library, concurrency=1))
    assert c.status == "completed" and c.arms["A"].ran == 3 and "auth" not in c.arms["A"].failures
    assert c.arms["B"].failures == {"auth": 3} and c.arms["B"].passed == 0
    problems = c.model_problems()
    assert len(problems) == 1 and problems[0].startswith("The model failed on 3 of 3 B run(s) of thorough (auth)")
    assert "test-key" not in " ".join(problems)


def test_an_interrupted_comparison_keeps_its_runs_and_shows_what_is_missing(model_settings, thorough, eval_file,
                                                                             ledger, library):
    def stop(done):
        raise KeyboardInterrupt

    started = []
    with pytest.raises(KeyboardInterrupt):
        run_comparison("v1", thorough, eval_file, settings=model_settings, ledger=ledger, library=library,
                       concurrency=1, on_case=stop, on_start=started.append)
    c = load_comparison(ledger, started[0])
    assert c.status == "interrupted"
    assert len(c.missing) == 5 and ("B", "email-triage") in c.missing
    assert c.arms["A"].ran == 1 and c.arms["B"].ran == 0 and c.arms["B"].failures == {"not run": 3}
    kept = ledger.query("SELECT count(*) AS n FROM runs WHERE source = 'compare'").iloc[0].n
    assert 1 <= kept <= 2  # the recorded run is kept; rows not started yet were not started
    assert "missing" in c.summary_line()


def test_a_comparison_whose_process_died_reads_as_interrupted(model_settings, eval_file):
    script = (
        "import os, sys\n"
        "from core.ledger import Ledger\n"
        "led = Ledger.open(sys.argv[1])\n"
        "led.start_comparison(version_a='v1', version_b='thorough', eval_name='small-eval.yaml', eval_sha256='x',\n"
        "    cases=[{'id': 'c1', 'requirement': 'r'}], provider='openai', model='m', concurrency=1)\n"
        "os._exit(0)\n"
    )
    model_settings.data_dir.mkdir(parents=True, exist_ok=True)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([sys.executable, "-c", script, str(model_settings.ledger_path)], cwd=root, check=True, timeout=60)
    led = Ledger.open(model_settings)
    past = list_comparisons(led)
    assert past["status"].tolist() == ["interrupted"]
    c = load_comparison(led, past["id"].iloc[0])
    assert c.missing == [("A", "c1"), ("B", "c1")]


def test_an_uploaded_eval_file_is_kept_in_the_data_folder_and_checked(model_settings):
    from core.comparison import save_eval_upload

    path = save_eval_upload(model_settings, "mine.yaml", yaml.safe_dump({"cases": CASES[:2]}).encode())
    assert path.parent == model_settings.data_dir / "eval_uploads" and path.exists()
    with pytest.raises(InputError, match="mine-empty.yaml has no 'cases' list"):
        save_eval_upload(model_settings, "mine-empty.yaml", b"cases: []\n")
