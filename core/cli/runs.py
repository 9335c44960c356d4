"""``python -m core runs``: list, show, export the run ledger and re-price its calls."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from core.config import load_settings
from core.errors import InputError
from core.ledger import Ledger
from core.ledger.analytics import Filters, run_list, run_trace
from core.ledger.export import FORMATS, export_tables

STATUSES = ("running", "succeeded", "failed", "interrupted")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``runs list|show|export|delete|recompute-costs``."""
    runs = subparsers.add_parser("runs", help="the run ledger: list, show, export, recompute costs")
    sub = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")

    p = sub.add_parser("list", help="recent runs, newest first")
    p.add_argument("--status", choices=STATUSES)
    p.add_argument("--provider")
    p.add_argument("--model")
    p.add_argument("--mode")
    p.add_argument("--search", help="text in the requirement or app name, or a run id")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="one run's full trace")
    p.add_argument("run_id")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("export", help="write every ledger table to CSV or Parquet (one file per table)")
    p.add_argument("--format", choices=tuple(FORMATS), default="parquet")
    p.add_argument("-o", "--output", default="ledger-export", help="folder for the files (default ./ledger-export)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("delete", help="delete a run and everything recorded for it")
    p.add_argument("run_id")
    p.add_argument("--yes", action="store_true", help="confirm the deletion (it cannot be undone)")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("recompute-costs", help="re-price every stored call from its stored tokens")
    p.set_defaults(func=cmd_recompute)


def _ledger() -> Ledger:
    try:
        settings = load_settings()
    except ValueError as exc:
        raise InputError(str(exc), hint="Fix the setting in the environment or .streamlit/secrets.toml.") from exc
    return Ledger.open(settings)


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.to_json(orient="records", date_format="iso"))


def _money(value) -> str:
    return "unknown" if value is None or pd.isna(value) else f"${value:.6f}"


def _ms(value) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.0f} ms"


def cmd_list(args: argparse.Namespace) -> int:
    """Print recent runs."""
    if args.limit < 1:
        raise InputError(f"--limit must be at least 1, not {args.limit}.")
    filters = Filters(status=args.status, provider=args.provider, model=args.model, mode=args.mode, text=args.search)
    df = run_list(_ledger(), filters, limit=args.limit)
    if args.format == "json":
        print(json.dumps(_records(df), indent=2))
        return 0
    if df.empty:
        print("No runs recorded yet.")
        return 0
    for row in df.itertuples():
        requirement = (row.requirement or "").replace("\n", " ")
        requirement = requirement if len(requirement) <= 60 else requirement[:57] + "..."
        print(f"{row.run_id}  {row.started_at:%Y-%m-%d %H:%M}  {row.status:<11} {row.model:<18} "
              f"{row.calls:>3} calls {row.total_tokens:>7} tok {_money(row.cost_usd):>10}  {requirement}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print one run's trace."""
    trace = run_trace(_ledger(), args.run_id)
    if args.format == "json":
        doc = {
            "run": json.loads(json.dumps(trace.run, default=str)),
            "calls": _records(trace.calls),
            "events": _records(trace.events),
            "workflows": _records(trace.workflows),
            "patterns": _records(trace.patterns),
            "children": trace.children,
        }
        print(json.dumps(doc, indent=2))
        return 0
    run = trace.run
    print(f"Run {run['id']}  [{run['status']}]  {run['provider']}:{run['model']}  source={run['source']}")
    print(f"  requirement: {run['requirement']}")
    print(f"  started {run['started_at']}, finished {run['finished_at'] or '-'}, duration {_ms(run['duration_ms'])}")
    if run["error_category"] or run["error_message"]:
        print(f"  error: {run['error_category']}: {run['error_message']}")
    print(f"  {run['calls']} calls, {run['total_tokens']} tokens ({run['cached_tokens']} cached), "
          f"cost {_money(run['cost_usd'])}"
          + (f" ({run['unknown_cost_calls']} call(s) with unknown price)" if run["unknown_cost_calls"] else ""))
    for call in trace.calls.itertuples():
        print(f"  call {call.agent:<14} #{call.attempt} {call.model:<18} {call.outcome:<5} "
              f"{call.prompt_tokens}+{call.completion_tokens} tok {_money(call.cost_usd):>10} {call.latency_ms:.0f} ms")
    for event in trace.events.itertuples():
        print(f"  event {event.occurred_at:%H:%M:%S.%f} {event.type}")
    for wf in trace.workflows.itertuples():
        print(f"  workflow v{wf.version} {wf.app_mode} valid={wf.valid} errors={wf.errors} warnings={wf.warnings}")
    for pat in trace.patterns.itertuples():
        print(f"  pattern #{pat.rank} {pat.pattern_id} score={pat.score} used={pat.used}")
    return 1 if run["status"] == "failed" else 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export every table."""
    files = export_tables(_ledger(), Path(args.output), args.format)
    for path in files:
        print(path)
    return 0


def cmd_recompute(args: argparse.Namespace) -> int:
    """Re-price stored calls."""
    changed = _ledger().recompute_costs()
    print(f"Re-priced the stored calls: {changed} call(s) changed.")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete one run (calls, events, patterns, workflow versions), after confirmation."""
    ledger = _ledger()
    run = ledger.get_run(args.run_id)
    if not args.yes:
        raise InputError(f"Not deleted: run {args.run_id} ({run['status']}, {run['requirement'][:60]!r}).",
                         hint="Add --yes to delete it and everything recorded for it; this cannot be undone.")
    ledger.delete_run(args.run_id)
    print(f"Deleted run {args.run_id} and everything recorded for it.")
    return 0
