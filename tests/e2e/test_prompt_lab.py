"""Prompt Lab in a real browser: save a new prompt version, then compare it with v1 on a two-case eval file
through the scripted fault-injecting model server; the page's figures equal the ledger's."""

from __future__ import annotations

import pytest
import yaml

from core.agents.prompt_store import PromptStore
from core.ledger import Ledger
from tests.e2e.harness import own_app, shot, wait_idle
from tests.fakes.openai_server import FakeOpenAIServer
from tests.prompts.conftest import CASES
from tests.prompts.scripted_model import THOROUGH_MARKER, answer, thorough_prompt

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lab_server(browser, tmp_path_factory):
    """An app of its own: the comparison writes token-bearing runs (and may still be writing them after
    the test ends), which the other browser tests' offline-only screens must not see."""
    with own_app(tmp_path_factory.mktemp("prompt-lab"), "prompt-lab") as server:
        yield server


@pytest.fixture
def model_server():
    with FakeOpenAIServer() as server:
        server.set_responder(answer)
        yield server


def test_save_a_version_and_compare_it_on_two_cases(lab_server, page, model_server, tmp_path):
    store = PromptStore(lab_server.data_dir)
    label = "thorough-e2e"
    page.goto(f"{lab_server.url}/prompt_lab")
    page.get_by_text("must return a RequirementSpec").first.wait_for()
    wait_idle(page)
    page.get_by_role("textbox", name="requirements prompt").fill(thorough_prompt(store.prompt("requirements")))
    page.get_by_label("New version label").fill(label)
    page.get_by_label("Note (what changed and why)").fill("name every class and file")
    page.get_by_role("button", name="Save as new version").click()
    page.get_by_text(f"Saved {label} (requirements prompt, from v1)").wait_for()
    page.get_by_text(f"+- {THOROUGH_MARKER}").first.wait_for(state="attached")  # the diff against v1
    wait_idle(page)
    assert store.get(label).parent == "v1" and THOROUGH_MARKER in store.prompt("requirements", label)
    shot(page, "prompt-lab-01-saved")

    cases = tmp_path / "two-cases.yaml"
    cases.write_text(yaml.safe_dump({"cases": CASES[:2]}), encoding="utf-8")
    page.get_by_role("tab", name="Compare two versions").click()
    page.get_by_text("The offline brain does not use the agent prompts").wait_for()
    page.get_by_text("A file I upload").click()
    wait_idle(page)
    page.locator("input[type=file]").first.set_input_files(str(cases))
    page.get_by_text("two-cases.yaml").first.wait_for()
    page.get_by_role("textbox", name="Base URL").fill(model_server.base_url)
    page.get_by_role("textbox", name="Model", exact=True).fill("gpt-4o-mini")
    wait_idle(page)
    page.get_by_role("button", name="Run comparison").click()
    summary = page.get_by_text(f"B ({label}) passes 1 more case than A (v1) (2 vs 1 of 2)")
    summary.wait_for(timeout=180_000)
    wait_idle(page, timeout_ms=60_000)
    shot(page, "prompt-lab-02-compared")

    ledger = Ledger.open(lab_server.data_dir / "ledger.duckdb")
    try:
        figures = ledger.query("""
            SELECT cr.arm, sum(r.total_tokens) AS tokens, count(*) AS runs, list(DISTINCT r.prompt_version) AS v
            FROM comparison_runs cr JOIN runs_v r ON r.id = cr.run_id GROUP BY cr.arm ORDER BY cr.arm""")
    finally:
        ledger.close()
    assert figures["runs"].tolist() == [2, 2]
    assert [list(v) for v in figures["v"]] == [["v1"], [label]]
    side_by_side = page.locator("[data-testid='stTable']").first.inner_text()
    assert "meet every expectation" in side_by_side
    for tokens in figures["tokens"]:
        assert f"{int(tokens):,}" in side_by_side
    assert "1 of 2" in side_by_side and "2 of 2" in side_by_side
