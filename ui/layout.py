"""Page chrome: the shared sidebar (provider and health) and ``page_setup`` that every page calls first."""

from __future__ import annotations

import streamlit as st

from core.config import Settings
from core.errors import PatternError
from ui.resources import get_library, ledger_status
from ui.session import session_settings


def page_setup(title: str, caption: str | None = None) -> Settings:
    """Title the page and return the session's settings.

    Args:
        title: the page heading.
        caption: one line under the heading saying what the page is for.
    """
    st.title(title)
    if caption:
        st.caption(caption)
    return session_settings()


def render_sidebar(settings: Settings) -> None:
    """The sidebar every page shares: which brain runs, and whether the ledger and index are healthy."""
    with st.sidebar:
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
        else:
            st.caption(":material/database: Ledger ready")
        try:
            count = len(get_library(settings).list())
            st.caption(f":material/library_books: {count} patterns indexed")
        except PatternError as exc:
            st.error(f"Pattern index unavailable: {exc.message}", icon=":material/library_books:")
