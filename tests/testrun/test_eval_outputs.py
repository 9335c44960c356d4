"""Every workflow the offline generator makes for both public eval files runs in Dify's engine."""

from __future__ import annotations

import pytest

from core.evaluation import PUBLIC_FILES, run_eval

pytestmark = pytest.mark.slow


def test_every_generated_eval_workflow_test_runs_on_every_covered_branch(offline_settings, ledger, library):
    report = run_eval(PUBLIC_FILES, offline_settings, ledger=ledger, library=library)
    failed = [c.case_id for c in report.cases if c.test_run not in (None, "succeeded")]
    assert report.test_runs is not None
    passed, tried = report.test_runs
    assert failed == [] and passed == tried >= 100
    # the pipeline recorded a test run for every run it finished with a valid workflow
    recorded = ledger.query("""SELECT count(DISTINCT t.run_id) AS n FROM test_runs t JOIN runs r ON r.id = t.run_id
                               WHERE r.status = 'succeeded'""")["n"][0]
    assert recorded == ledger.query("SELECT count(*) AS n FROM runs WHERE status = 'succeeded'")["n"][0]
