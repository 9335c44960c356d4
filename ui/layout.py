"""Page chrome: the shared sidebar (provider and health) and ``page_setup`` that every page calls first."""

from __future__ import annotations

import runpy
from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from core.config import Settings
from core.errors import PatternError
from ui.resources import get_library, ledger_status
from ui.session import session_settings

APP = Path(__file__).resolve().parents[1] / "app.py"
_SHELL = "difyforge.shell"
"""Set by ``render_sidebar`` (app.py) in each script run, taken by ``page_setup``: was the shell drawn?"""


def page_setup(title: str, caption: str | None = None) -> Settings:
    """Title the page and return the session's settings.

    Args:
        title: the page heading.
        caption: one line under the heading saying what the page is for.
    """
    if not st.session_state.pop(_SHELL, False):
        _run_through_app()
    st.title(title)
    if caption:
        st.caption(caption)
    return session_settings()


def _run_through_app() -> None:
    """Run app.py (the router and the shell) in place of a page file Streamlit ran on its own.

    Streamlit treats a folder named ``pages/`` as a legacy multipage app until the first
    ``st.navigation`` call of the process (AppTest: of every run), and runs ``pages/<name>.py`` for
    ``/<name>`` directly: no sidebar, no wide layout. Nothing of the page is drawn yet, so app.py
    runs now in this same script run (widget values and clicks are kept), opens this page through
    its router (a page is identified by its URL path) inside the shell, and the direct run stops.
    """
    runpy.run_path(str(APP), run_name="__main__")
    st.stop()


def render_sidebar(settings: Settings, pages: Sequence = ()) -> None:
    """The sidebar every page shares: the menu of ``pages``, which brain runs, and whether the ledger
    and index are healthy.

    Args:
        settings: the session's settings.
        pages: the ``st.Page`` objects of app.py's ``st.navigation``, listed as the menu.
    """
    st.session_state[_SHELL] = True
    with st.sidebar:
        for page in pages:
            st.page_link(page)
        if pages:
            st.divider()
        provider = settings.provider
        if provider.kind == "offline":
            st.markdown("**Provider:** offline brain  \nNo API key needed; deterministic.")
        else:
            where = provider.base_url or "api.openai.com"
            st.markdown(f"**Provider:** OpenAI-compatible  \n**Model:** `{provider.model}`  \n**Endpoint:** {where}")
        status = ledger_status(settings)
        if status.ledger is None:
            st.error(f"Ledger unavailable: {status.problem.message if status.problem else 'unknown reason'}",
                     icon=":material/database:")
            if status.problem is not None and status.problem.hint:
                st.caption(status.problem.hint)  # what to do (e.g. move a damaged file aside)
        else:
            st.caption(":material/database: Ledger ready")
        try:
            count = len(get_library(settings).list())
            st.caption(f":material/library_books: {count} patterns indexed")
        except PatternError as exc:
            st.error(f"Pattern index unavailable: {exc.message}", icon=":material/library_books:")
