"""Long-lived resources shared across reruns and sessions (st.cache_resource): the ledger and the library.

The pattern index is synced once per process when the library is first opened: fast when nothing
changed. A ledger that cannot be opened is not fatal: callers get ``None`` and show why.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.config import Settings
from core.errors import LedgerUnavailable
from core.ledger import Ledger
from core.patterns import PatternLibrary, SyncReport


@dataclass(frozen=True)
class LedgerStatus:
    """The ledger when it opened, otherwise the reason it did not."""

    ledger: Ledger | None
    problem: LedgerUnavailable | None = None


@st.cache_resource(show_spinner=False)
def _open_ledger(path: str, log_content: bool, _settings: Settings) -> Ledger:
    return Ledger.open(_settings)


def ledger_status(settings: Settings) -> LedgerStatus:
    """The run ledger for these settings (one per data folder and content-logging choice)."""
    try:
        return LedgerStatus(_open_ledger(str(settings.ledger_path), settings.log_content, settings))
    except LedgerUnavailable as exc:
        return LedgerStatus(None, exc)


def get_ledger(settings: Settings) -> Ledger | None:
    """The run ledger, or ``None`` when it is unavailable (the sidebar says why)."""
    return ledger_status(settings).ledger


@st.cache_resource(show_spinner="Indexing the pattern library…")
def _open_library(data_dir: str, chroma_url: str | None, _settings: Settings) -> tuple[PatternLibrary, SyncReport]:
    library = PatternLibrary.open(_settings)
    return library, library.sync()


def get_library(settings: Settings) -> PatternLibrary:
    """The pattern library, its index synced once per process.

    Raises:
        PatternError: the index cannot be opened or synced.
    """
    return _open_library(str(settings.data_dir), settings.chroma_url, settings)[0]


def library_sync_report(settings: Settings) -> SyncReport:
    """What the start-up sync did (loaded, updated, removed, unchanged, failed)."""
    return _open_library(str(settings.data_dir), settings.chroma_url, settings)[1]

