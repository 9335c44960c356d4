"""In a real browser: generate offline, open the Test run tab, run the workflow in Dify's engine and see
the per-node trace and the path on the graph."""

from __future__ import annotations

import pytest

from tests.e2e.harness import shot, wait_idle

pytestmark = pytest.mark.e2e


def test_test_run_from_the_generate_page_shows_the_trace(app_server, page):
    page.goto(app_server.url)
    page.get_by_label("Requirement").fill(
        "Sort incoming customer emails into billing, delivery and other, and draft a reply for each kind.")
    page.get_by_role("button", name="Generate workflow").click()
    page.get_by_role("tab", name="Test run").wait_for()
    wait_idle(page)
    page.get_by_role("tab", name="Test run").click()
    panel = page.get_by_role("tabpanel", name="Test run")
    panel.locator("strong", has_text="Test run succeeded").first.wait_for()  # the pipeline's own test run
    panel.get_by_text("The test run made while generating").wait_for()
    panel.get_by_role("button", name="Run in Dify's engine").click()
    wait_idle(page)
    panel.get_by_text("Your run, with the inputs above.").wait_for()  # the click ran it again
    panel.locator("strong", has_text="Test run succeeded").first.wait_for()
    panel.locator("[data-testid='stDataFrame']").first.wait_for()
    panel.locator(".js-plotly-plot").first.wait_for()
    assert panel.get_by_text("Branch run").count() >= 1
    shot(page, "testrun-generate")
