"""The run filters shared by the History and Analytics pages, as widgets that yield ``analytics.Filters``."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import streamlit as st

from core.ledger import Ledger, analytics
from core.ledger.analytics import Filters


def _options(ledger: Ledger) -> dict[str, list[str]]:
    """The values present in the ledger for each filter (from unfiltered aggregates)."""
    models = analytics.usage_by_model(ledger)
    modes = analytics.success_rate(ledger, "mode")
    versions = analytics.success_rate(ledger, "prompt_version")
    return {
        "provider": sorted(models["provider"].dropna().unique().tolist()),
        "model": sorted(models["model"].dropna().unique().tolist()),
        "mode": sorted(m for m in modes["mode"].dropna().unique().tolist() if m != "(unknown)"),
        "prompt_version": sorted(versions["prompt_version"].dropna().unique().tolist()),
    }


def _pick(column, label: str, values: list[str], key: str) -> str | None:
    return column.selectbox(label, [None, *values], format_func=lambda v: v or "any", key=key)


def on_a_phone() -> bool:
    """Whether the browser is a phone's (its User-Agent says ``Mobile``, as phone browsers' do).

    The server never learns the screen width; this is the signal it has.
    """
    try:
        return "Mobile" in (st.context.headers.get("User-Agent") or "")
    except (AttributeError, RuntimeError):  # no browser (AppTest, bare mode)
        return False


def run_filters(ledger: Ledger, *, key: str, extra: bool = False) -> Filters:
    """Filter widgets (date range, provider, model, mode, prompt version; with ``extra`` also status,
    pattern and text search) and the ``Filters`` they describe.

    They sit in a "Filters" section, open on a wide screen and collapsed on a phone, where the
    stacked dropdowns would otherwise fill the first screen.
    """
    with st.expander("Filters", expanded=not on_a_phone(), icon=":material/filter_list:"):
        return _filter_widgets(ledger, key=key, extra=extra)


def _filter_widgets(ledger: Ledger, *, key: str, extra: bool) -> Filters:
    options = _options(ledger)
    c1, c2, c3, c4, c5 = st.columns([2, 1, 1, 1, 1])
    days = c1.date_input("Started between", value=(), key=f"{key}-dates", max_value=date.today(),
                         help="Pick a first and a last day; empty means any day.")
    start, end = (days[0], days[1]) if isinstance(days, tuple) and len(days) == 2 else (
        (days[0], None) if isinstance(days, tuple) and len(days) == 1 else (None, None))
    filters = Filters(
        start=start, end=end,
        provider=_pick(c2, "Provider", options["provider"], f"{key}-provider"),
        model=_pick(c3, "Model", options["model"], f"{key}-model"),
        mode=_pick(c4, "Mode", options["mode"], f"{key}-mode"),
        prompt_version=_pick(c5, "Prompt version", options["prompt_version"], f"{key}-prompt"),
    )
    if not extra:
        return filters
    d1, d2, d3 = st.columns([1, 1, 3])
    status = d1.selectbox("Status", [None, "succeeded", "failed", "interrupted", "running"],
                          format_func=lambda v: v or "any", key=f"{key}-status")
    patterns = analytics.pattern_popularity(ledger)["pattern_id"].tolist()
    pattern = _pick(d2, "Pattern", patterns, f"{key}-pattern")
    text = d3.text_input("Search requirement, app name or run id", key=f"{key}-text",
                         help="A run id may be the 8 characters shown in the run list, or the whole id.")
    text = text.strip()
    run_id = analytics.resolve_run_id(ledger, text) if any(c.isdigit() for c in text) else None  # not "cafe"
    return replace(filters, status=status, pattern_id=pattern, text=run_id or text or None)
