"""Every workflow the offline generator makes for both public eval files is test-run in Dify's engine;
a generation succeeds only when its test run does."""

from __future__ import annotations

import pytest

from core.evaluation import PUBLIC_FILES, run_eval

pytestmark = pytest.mark.slow


def test_every_generated_eval_workflow_is_test_run_and_decides_success(offline_settings, ledger, library):
    report = run_eval(PUBLIC_FILES, offline_settings, ledger=ledger, library=library)
    produced = [c for c in report.cases if c.node_types]
    assert report.test_runs is not None
    succeeded, tried = report.test_runs
    assert tried == len(produced) >= 100
    failed = [(c.case_id, c.test_run_detail) for c in produced if c.test_run != "succeeded"]
    print("test runs that did not succeed:", failed)
    # A generator defect the engine shows is a failed generation, never a "succeeded" one.
    for case in produced:  # (a case's status is its first generation's; a round's failure is the round's)
        if case.test_run != "succeeded" and not case.test_run_detail.startswith("round "):
            assert case.status != "succeeded", case.case_id
    assert succeeded >= 0.95 * tried, failed
    recorded = ledger.query("""SELECT count(DISTINCT t.run_id) AS n FROM test_runs t JOIN runs r ON r.id = t.run_id
                               WHERE r.status = 'succeeded'""")["n"][0]
    assert recorded == ledger.query("SELECT count(*) AS n FROM runs WHERE status = 'succeeded'")["n"][0]
