"""How runs read on the History page: a short label, the run table, and a refinement's own instruction."""

from __future__ import annotations

import re

import pandas as pd

SHORT_ID = 8
"""Characters of a run id the app shows (searchable in History)."""
RUN_COLUMNS = ["run", "requirement", "status", "app_name", "patterns_used", "mode", "provider", "model",
               "quality_score", "duration_ms", "calls", "total_tokens", "cost_usd", "validation_errors",
               "validation_warnings", "error_category", "source", "prompt_version", "started_at", "finished_at",
               "parent_run_id", "unknown_cost_calls", "run_id"]
"""The run table's columns in reading order: who/what first, the full ids last."""
_ALSO = re.compile(r"^[\s.;:,]*(also\s*:\s*)?", re.IGNORECASE)


def short_id(run_id: str) -> str:
    """The first characters of a run id, as the app shows it."""
    return str(run_id)[:SHORT_ID]


def refinement_instruction(requirement: str, parent_requirement: str | None) -> str | None:
    """What a refinement asked for: its requirement minus the parent's, without the joining ``Also:``.

    Returns None when the run's requirement does not start with its parent's (then show it whole).
    """
    if not parent_requirement:
        return None
    base = str(parent_requirement).strip().rstrip(".").strip()
    text = str(requirement or "").strip()
    if not base or not text.startswith(base) or len(text) == len(base):
        return None
    rest = _ALSO.sub("", text[len(base):], count=1).strip()
    return rest or None


def requirement_text(row: dict | pd.Series, parent_requirement: str | None) -> str:
    """The requirement as a person reads it: a refinement shows as ``Refines <id>: <instruction>``."""
    instruction = refinement_instruction(row["requirement"], parent_requirement) if row.get("parent_run_id") else None
    if instruction:
        return f"Refines {short_id(row['parent_run_id'])}: {instruction}"
    return str(row["requirement"])


def run_label(row: dict | pd.Series, parent_requirement: str | None = None, limit: int = 70) -> str:
    """``2026-12-01 15:28 · succeeded · Summarise a report… · 1a2b3c4d`` (the id part is searchable)."""
    text = requirement_text(row, parent_requirement)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"{row['started_at']:%Y-%m-%d %H:%M} · {row['status']} · {text} · {short_id(row['run_id'])}"


def runs_frame(runs: pd.DataFrame, parents: dict[str, str] | None = None) -> pd.DataFrame:
    """The run table in reading order: a short ``run`` label (time and short id) and the requirement
    first, the full ids last; refinements read ``Refines <id>: <instruction>``.

    Args:
        runs: ``analytics.run_list`` rows.
        parents: parent run id -> its requirement (parents outside ``runs`` included).
    """
    known = dict(zip(runs["run_id"], runs["requirement"], strict=True)) | dict(parents or {})
    frame = runs.copy()
    frame["requirement"] = [requirement_text(row, known.get(row["parent_run_id"]) if row["parent_run_id"] else None)
                            for row in runs.to_dict("records")]
    frame["run"] = [f"{row['started_at']:%m-%d %H:%M} · {short_id(row['run_id'])}" for row in runs.to_dict("records")]
    return frame[[c for c in RUN_COLUMNS if c in frame] + [c for c in frame if c not in RUN_COLUMNS]]
