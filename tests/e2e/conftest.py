"""End-to-end fixtures: one `streamlit run app.py` per session (see harness.py) and Debian's chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.harness import AppServer, launch_browser, new_page, own_app, shot


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch_browser(p)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def app_server(browser, tmp_path_factory) -> Iterator[AppServer]:
    with own_app(tmp_path_factory.mktemp("e2e"), "session") as server:
        yield server


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()
FIGURES: list[str] = []
"""Figures the browser tests measured, printed at the end of the run (not hidden by output capture)."""


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("browser figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture
def page(browser, request):
    page = new_page(browser)
    yield page
    if request.node.stash.get(_FAILED, False):  # what the browser showed when the test failed
        shot(page, f"failed-{request.node.name}")
    page.context.close()
