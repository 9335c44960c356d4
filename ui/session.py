"""The browser session's settings: ``core.config.load_settings()`` plus the overrides made on Settings."""

from __future__ import annotations

import streamlit as st

from core.config import Settings, load_settings

_KEY = "difyforge.settings"


def session_settings() -> Settings:
    """The settings of this browser session, loaded from the environment on first use.

    Raises:
        ValueError: the environment holds a malformed setting (the message names it).
    """
    if _KEY not in st.session_state:
        st.session_state[_KEY] = load_settings()
    return st.session_state[_KEY]


def set_session_settings(settings: Settings) -> None:
    """Replace this session's settings (never written to disk: an API key stays in the session)."""
    st.session_state[_KEY] = settings


def reset_session_settings() -> Settings:
    """Drop the session's overrides and go back to the environment's settings."""
    st.session_state[_KEY] = load_settings()
    return st.session_state[_KEY]
