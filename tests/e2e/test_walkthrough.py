"""A new user's walk through the app in a real browser (issue 12): the first load and deep links of a
fresh server, then each screen that was fixed, in light and dark, with screenshots in test-artifacts/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import CORPUS_DIR
from tests.e2e.harness import own_app, shot, wait_idle

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app_server(browser, tmp_path_factory):
    """An app of this module's own: its screens assume the runs they make themselves (the session's app has
    the other browser tests' runs and their batch and ledger activity; after them the Batch step timed out)."""
    with own_app(tmp_path_factory.mktemp("walkthrough"), "walkthrough") as server:
        yield server

RAW_NAMES = ["app", "analytics", "batch", "generate", "history", "patterns", "settings", "validate"]
MENU = ["Generate", "Validate", "Patterns", "History", "Analytics", "Batch", "Prompt Lab", "Settings"]
WATCH_RAW_NAVIGATION = """
window.__rawNavigation = [];
const RAW = RAW_NAMES;
new MutationObserver(() => {
  if (document.querySelector('[data-testid="stSidebarNav"]')) window.__rawNavigation.push('stSidebarNav');
  for (const a of document.querySelectorAll('[data-testid="stSidebar"] a')) {
    const text = a.textContent.trim();
    if (RAW.includes(text)) window.__rawNavigation.push(text);
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
""".replace("RAW_NAMES", json.dumps(RAW_NAMES))
"""Records, from the very first DOM change, any sign of Streamlit's file-name menu of pages/."""


def _context(browser, scheme: str = "light", **options):
    context = browser.new_context(color_scheme=scheme, viewport=options.pop("viewport", {"width": 1400, "height": 1000}),
                                  accept_downloads=True, **options)
    page = context.new_page()
    page.set_default_timeout(60_000)
    return context, page


def _assert_shell(page, title: str) -> None:
    """The app shell: the sidebar menu of app.py's pages, provider and ledger status, the wide layout."""
    page.get_by_role("heading", name=title, exact=True).wait_for()
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Ledger ready").wait_for()
    wait_idle(page)
    menu = sidebar.locator('[data-testid="stPageLink-NavLink"]')
    menu.nth(len(MENU) - 1).wait_for()
    links = [t.strip() for t in menu.all_inner_texts()]
    assert [link.split("\n")[-1].strip() for link in links] == MENU, links
    assert "offline brain" in sidebar.inner_text()
    width = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()["width"]
    assert width > 900, f"narrow layout ({width:.0f} px): the page ran without app.py's set_page_config"


@pytest.mark.parametrize("path, title", [("", "Generate"), ("analytics", "Analytics")])
def test_a_fresh_server_never_lists_page_files_and_every_url_gets_the_shell(browser, tmp_path, path, title):
    """The first request of a fresh server, at the home page or straight at a page's URL."""
    with own_app(tmp_path, f"fresh-{path or 'home'}") as server:
        for scheme in ("light", "dark"):
            context, page = _context(browser, scheme)
            try:
                page.add_init_script(WATCH_RAW_NAVIGATION)
                page.goto(f"{server.url}/{path}")
                _assert_shell(page, title)
                assert page.url.rstrip("/") == f"{server.url}/{path}".rstrip("/")
                assert page.evaluate("window.__rawNavigation") == []
                _shot(page, f"12-01-{scheme}-first-load-{path or 'home'}")
            finally:
                context.close()


def _shot(page, name: str) -> None:
    """A screenshot of a screen that has drawn without an exception."""
    assert page.locator('[data-testid="stException"]').count() == 0, name
    shot(page, name)


def _generate(page, url: str, requirement: str) -> None:
    page.goto(url)
    page.get_by_label("Requirement").fill(requirement)
    page.get_by_role("button", name="Generate workflow").click()
    page.get_by_role("tab", name="YAML").wait_for()
    wait_idle(page)


def _upload(page, path: Path) -> None:
    page.locator("input[type=file]").first.set_input_files(str(path))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_fixed_screens_in_light_and_dark(app_server, browser, tmp_path, scheme):
    context, page = _context(browser, scheme, viewport={"width": 1400, "height": 2400})  # whole pages in a shot
    try:
        # Generate, then refine: the child run and what changed stay on screen; the derived-from pattern,
        # the record of the stages and "steps" for an offline run.
        _generate(page, app_server.url, "Summarize an uploaded PDF report into an executive summary.")
        page.get_by_label("Refine this workflow").fill("also translate the summary into French")
        page.get_by_role("button", name="Refine").click()
        page.get_by_text("Refined run").wait_for()
        wait_idle(page)
        page.get_by_text("Added: ").first.wait_for()
        page.get_by_text("Derived from the pattern").wait_for()
        page.get_by_text("How it was made: 4 stages").wait_for()
        _shot(page, f"12-02-{scheme}-generate-refined")

        # Validate: a file with sticky notes and a broken edge; notes are not drawn, the edge finding names
        # its nodes, hints are not cut off.
        doc = yaml.safe_load((CORPUS_DIR / "Claude3 Code Translation.yml").read_text(encoding="utf-8"))
        doc["workflow"]["graph"]["edges"][0]["target"] = "no-such-node"
        broken = tmp_path / "notes-and-a-broken-edge.yml"
        broken.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        page.goto(f"{app_server.url}/validate")
        _upload(page, broken)
        page.get_by_text("(unknown node 'no-such-node')").first.wait_for()
        page.locator(".js-plotly-plot .legend").first.wait_for()
        wait_idle(page)
        legend = page.locator(".js-plotly-plot .legend").first.text_content()
        assert "unknown" not in legend and "custom-note" not in legend, legend
        hint = page.get_by_text("Connect the edge to an existing node or remove it.").first
        assert hint.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), "the hint is cut off"
        _shot(page, f"12-03-{scheme}-validate")

        # History: the refined run's timeline and its version diff by node.
        page.goto(f"{app_server.url}/history")
        page.get_by_role("tab", name="Timeline").wait_for()
        page.locator(".js-plotly-plot").first.wait_for()
        wait_idle(page)
        _shot(page, f"12-04-{scheme}-history-timeline")
        page.get_by_role("tab", name="Workflow versions").click()
        # the diff's list item (the raw events, in a closed expander earlier on the page, hold the same words)
        page.get_by_role("listitem").filter(has_text="Added: Translate").first.wait_for()
        _shot(page, f"12-05-{scheme}-history-versions")

        # Analytics after offline runs: reasons in words, no empty axes.
        page.goto(f"{app_server.url}/analytics")
        page.get_by_text("Offline runs use no tokens").first.wait_for()
        page.get_by_text("Every workflow here cost $0").first.wait_for()
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8")
        page.get_by_text("By prompt version").wait_for()
        wait_idle(page)
        assert page.locator(".js-plotly-plot").count() == 4  # the other four say why in words
        _shot(page, f"12-06-{scheme}-analytics")

        # Patterns: a plain Dify export asks for its name, description and tags.
        page.goto(f"{app_server.url}/patterns")
        page.get_by_role("tab", name="Add a pattern").click()
        _upload(page, CORPUS_DIR / "SEO Slug Generator.yml")
        page.get_by_text("is a Dify export (workflow)").wait_for()
        page.get_by_label("What it does").wait_for()
        wait_idle(page)
        _shot(page, f"12-07-{scheme}-patterns-add-export")

        # Batch: a failed row's reason is on screen, next to its status.
        rows = tmp_path / "rows.csv"
        rows.write_text("id,requirement\nsum,Summarize an uploaded PDF report into an executive summary.\n"
                        "empty,\n", encoding="utf-8")
        page.goto(f"{app_server.url}/batch")
        _upload(page, rows)
        page.get_by_role("button", name="Run batch").click()
        page.get_by_text("2 rows:").wait_for()
        wait_idle(page)
        reason = page.get_by_text("Row 2 (empty): Empty requirement: nothing to generate.")
        reason.wait_for()
        box = reason.bounding_box()
        assert 0 <= box["x"] and box["x"] + box["width"] <= 1400, box  # on screen, not off to the right
        page.locator('[data-testid="stDataFrame"]').last.wait_for()
        _shot(page, f"12-08-{scheme}-batch")
    finally:
        context.close()


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2,
         "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                       "Gecko) Version/17.0 Mobile/15E148 Safari/604.1"}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_on_a_phone_the_filters_are_a_collapsed_section(app_server, browser, scheme):
    desk, desktop = _context(browser, scheme)
    try:  # a run, so that History and Analytics have filters to show
        _generate(desktop, app_server.url, "Translate a customer message into English and reply politely.")
    finally:
        desk.close()
    context, page = _context(browser, scheme, **PHONE)
    try:
        for name, drawn in (("history", "Requirement:"), ("analytics", "p95 duration")):
            page.goto(f"{app_server.url}/{name}")
            page.locator("h1").first.wait_for()
            section = page.locator('[data-testid="stExpander"]').filter(has_text="Filters").first
            section.wait_for()
            page.get_by_text(drawn).first.wait_for()
            wait_idle(page)
            assert not section.locator("details").first.evaluate("d => d.open"), "filters open on a phone"
            assert not page.get_by_label("Provider").first.is_visible()
            _shot(page, f"12-09-{scheme}-phone-{name}")
            section.locator("summary").first.click()
            page.get_by_text("Started between").first.wait_for()
        _shot(page, f"12-10-{scheme}-phone-analytics-filters-open")
    finally:
        context.close()

