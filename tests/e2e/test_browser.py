"""The app in a real browser (Debian chromium via Playwright) against `streamlit run app.py`, offline."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from core.dsl import validate
from tests.conftest import CORPUS_DIR
from tests.e2e.conftest import FIGURES
from tests.e2e.harness import shot, wait_idle

pytestmark = pytest.mark.e2e


def generate_in_browser(page, url: str, requirement: str) -> None:
    page.goto(url)
    box = page.get_by_label("Requirement")
    box.fill(requirement)
    page.get_by_role("button", name="Generate workflow").click()
    page.get_by_role("tab", name="YAML").wait_for()
    wait_idle(page)


def test_first_page_becomes_interactive(app_server, page):
    """The Generate page's box and button become usable (how fast is benchmarks/bench_app.py's figure)."""
    page.goto(app_server.url)
    page.get_by_label("Requirement").wait_for(state="visible")
    page.get_by_role("button", name="Generate workflow").wait_for(state="visible")
    wait_idle(page)
    elapsed = time.monotonic() - app_server.ready_at
    FIGURES.append(f"first page interactive {elapsed:.2f} s after /_stcore/health answered (target in benchmarks)")
    shot(page, "01-home")
    assert page.get_by_role("button", name="Generate workflow").is_enabled()


def test_generate_offline_and_download_a_valid_workflow(app_server, page, tmp_path):
    generate_in_browser(page, app_server.url, "Classify incoming customer emails as complaint, refund request, "
                                              "or general inquiry and write a reply draft for each category.")
    page.locator(".js-plotly-plot .main-svg").first.wait_for()
    shot(page, "02-generate-result")
    page.get_by_role("tab", name="YAML").click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download YAML").click()
    download = info.value
    assert download.suggested_filename.endswith(".yml")
    target = Path(tmp_path) / download.suggested_filename
    download.save_as(target)
    report = validate(target.read_bytes())
    assert report.valid, [f.message for f in report.errors]
    shot(page, "03-generate-yaml")


def test_validate_a_broken_upload_shows_its_findings(app_server, page, tmp_path):
    doc = yaml.safe_load((CORPUS_DIR / "SEO Slug Generator.yml").read_text(encoding="utf-8"))
    doc["workflow"]["graph"]["edges"][0]["target"] = "no-such-node"
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    page.goto(f"{app_server.url}/validate")
    page.locator("input[type=file]").first.set_input_files(str(broken))
    page.get_by_text("broken.yml").first.wait_for()
    page.get_by_text("not valid").first.wait_for()
    wait_idle(page)
    page.locator("[data-testid='stTable']").first.wait_for()  # findings wrap: no message or hint cut off
    page.get_by_text("Edge target 'no-such-node' is not a node.").first.wait_for(state="attached")
    page.locator(".js-plotly-plot").first.wait_for()
    assert page.locator(".js-plotly-plot").count() == 1
    shot(page, "04-validate-findings")


def test_analytics_after_a_few_runs_shows_every_chart(app_server, page):
    for requirement in ("Summarize an uploaded PDF report into an executive summary of at most 200 words.",
                        "Fetch a web page from a URL with an HTTP request and produce a three-bullet digest."):
        generate_in_browser(page, app_server.url, requirement)
    page.goto(f"{app_server.url}/analytics")
    page.get_by_text("Success rate").first.wait_for()
    # charts land one by one as their queries finish: wait for all four before counting (never a fixed sleep)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 4")
    page.get_by_text("Offline runs use no tokens").nth(1).wait_for()
    page.get_by_text("Every workflow here cost $0").nth(1).wait_for()
    wait_idle(page)
    # offline runs: 4 charts drawn; tokens and cost (by agent, by model, per workflow, by pattern) said in words
    assert page.locator(".js-plotly-plot").count() == 4
    assert page.get_by_text("Offline runs use no tokens").count() == 2
    assert page.get_by_text("Every workflow here cost $0").count() == 2
    shot(page, "05-analytics")


PAGES = {"": 0, "validate": 0, "patterns": 5, "history": 0, "analytics": 8, "batch": 0, "settings": 0}
"""Each page's path and how many charts it draws on load (the pattern graph and 4 statistics charts)."""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_renders_in_light_and_dark(app_server, browser, scheme):
    """After the runs above: each page in the browser's colour scheme, charts drawn, no exception."""
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1400, "height": 2400})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        for name, charts in PAGES.items():
            page.goto(f"{app_server.url}/{name}")
            page.locator("h1").first.wait_for()
            wait_idle(page)
            page.wait_for_function(f"() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= "
                                   f"{charts}")
            assert page.locator("[data-testid=stException]").count() == 0, name
            background = page.evaluate("() => getComputedStyle(document.querySelector('.stApp')).backgroundColor")
            dark = sum(int(v) for v in background[background.index("(") + 1:-1].split(",")[:3]) < 3 * 128
            assert dark == (scheme == "dark"), (name, background)
            shot(page, f"06-{scheme}-{name or 'generate'}")
    finally:
        context.close()
