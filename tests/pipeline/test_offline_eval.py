"""The offline brain on the shared eval set, and on phrasings of our own."""

from __future__ import annotations

import pytest

from core.evaluation import EvalCase, load_cases, run_eval, score_case
from core.pipeline import generate
from tests.conftest import EVAL_FILE


def test_offline_eval_meets_the_bar(offline_settings, ledger, library):
    report = run_eval(EVAL_FILE, offline_settings, ledger=ledger, library=library)
    for case in report.cases:
        print(("PASS" if case.passed else "FAIL"), case.case_id, f"valid={case.valid}", "; ".join(case.failed))
    print(f"{report.valid}/{report.total} valid, {report.passed}/{report.total} meet every expectation")
    assert report.total == 24
    assert report.valid == 24
    assert report.passed >= 22
    runs = ledger.query("SELECT source, status, calls FROM runs_v")
    assert len(runs) == 24 and set(runs["source"]) == {"eval"} and set(runs["status"]) == {"succeeded"}
    assert (runs["calls"] >= 4).all()  # every agent step is recorded as an offline call


OWN_PHRASINGS = [
    # (requirement, expectations) -- different wording than the eval set
    ("Sort incoming support tickets into billing, technical problem and account access, then answer each one.",
     {"mode": "workflow", "nodes_all": ["question-classifier", "llm"], "classes": 3,
      "mentions": ["billing", "technical problem", "account access"]}),
    ("Build a chatbot that answers HR policy questions from our employee handbook and keeps the conversation context.",
     {"mode": "advanced-chat", "nodes_all": ["knowledge-retrieval", "llm", "answer"]}),
    ("Take a blog post and translate it into French and Spanish.",
     {"nodes_all": ["llm", "end"], "mentions": ["French", "Spanish"], "min_count": {"llm": 2}}),
    ("Pull the customer name, order id and delivery address out of a shipping email.",
     {"nodes_all": ["llm"]}),
    ("Extract the patient name, date of birth, and diagnosis from a clinical note.",
     {"nodes_any": [["parameter-extractor"]], "mentions": ["patient name", "date of birth", "diagnosis"]}),
    ("Given an uploaded contract PDF, list the key obligations in at most 10 bullet points.",
     {"nodes_all": ["document-extractor", "llm"], "mentions": ["10 bullet"], "start_vars": 1}),
    ("Query the stock price API at https://api.stocks.example.org/quote for the ticker symbol the user enters and comment on it.",
     {"nodes_all": ["http-request", "llm"], "mentions": ["api.stocks.example.org", "ticker"]}),
    ("For every city in a list, write a two-sentence travel tip.",
     {"nodes_all": ["iteration", "llm"], "mentions_any": [["two", "2"]]}),
    ("Write a haiku and keep rewriting it, at most 4 rounds, until a reviewer is happy.",
     {"nodes_any": [["loop"]], "mentions_any": [["4"]]}),
    ("If the message is urgent, notify the on-call engineer with a short summary; otherwise file it for later.",
     {"nodes_any": [["if-else", "question-classifier"]], "min_count": {"llm": 2}, "mentions": ["urgent"]}),
]


@pytest.mark.parametrize(("requirement", "expect"), OWN_PHRASINGS, ids=[r[:40] for r, _ in OWN_PHRASINGS])
def test_offline_rules_generalise(requirement, expect, offline_settings, ledger, library):
    result = generate(requirement, settings=offline_settings, ledger=ledger, library=library)
    score = score_case(EvalCase("own", requirement, expect), result.dsl, valid=result.valid)
    assert result.status == "succeeded", result.error_message
    assert score.passed, score.failed


def test_load_cases_reads_the_shared_file():
    cases = load_cases(EVAL_FILE)
    assert len(cases) == 24 and all(c.requirement and c.expect for c in cases)


def test_every_stage_is_timed_and_listed_in_order(offline_settings, ledger, library):
    result = generate("Summarise the text (variable text) in three bullet points; output summary.",
                      settings=offline_settings, ledger=ledger, library=library)
    assert [s.stage for s in result.stages][:4] == ["requirements", "architecture", "configuration", "quality"]
    assert all(s.duration_ms > 0 for s in result.stages)  # measured, not left at the default
