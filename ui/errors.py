"""Showing DifyForge's deliberate errors in the page: a message and a hint, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core.errors import ProviderError, UserFacingError


def show_error(exc: UserFacingError | ProviderError) -> None:
    """Render one error with ``st.error`` and its hint underneath."""
    if isinstance(exc, UserFacingError):
        st.error(exc.message, icon=":material/error:")
        if exc.hint:
            st.caption(exc.hint)
    else:
        st.error(f"The model call failed ({exc.category}): {exc}", icon=":material/error:")
        st.caption("Check the provider on the Settings page, or switch to the offline brain.")


@contextmanager
def user_errors() -> Iterator[None]:
    """Run a block; a ``UserFacingError`` or ``ProviderError`` inside it is shown instead of raised."""
    try:
        yield
    except (UserFacingError, ProviderError) as exc:
        show_error(exc)
