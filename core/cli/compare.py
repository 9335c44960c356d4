"""``python -m core compare --a V1 --b V2 EVAL_FILE``: two prompt versions on an eval set, side by side."""

from __future__ import annotations

import argparse
import json

from core.cli.generate import _provider_args, settings_from_args
from core.errors import InputError


def register(subparsers) -> None:
    """Add the ``compare`` command."""
    cmd = subparsers.add_parser(
        "compare", help="run an eval set with two prompt versions and compare them",
        description="Generate every case of an eval file with prompt version A and with B (real runs, grouped "
                    "by a comparison id) and compare what passes, what it costs and how long it takes.")
    cmd.add_argument("file", nargs="?", help="an eval file like shared/eval/requirements.yaml")
    cmd.add_argument("--a", dest="version_a", help="the baseline prompt version, e.g. v1")
    cmd.add_argument("--b", dest="version_b", help="the candidate prompt version")
    _provider_args(cmd)
    cmd.add_argument("--concurrency", type=int, default=2, help="runs at once within each version (default 2)")
    cmd.add_argument("--show", metavar="ID", help="print a recorded comparison instead of running one")
    cmd.add_argument("--list", action="store_true", help="list recorded comparisons")
    cmd.add_argument("--format", choices=("text", "json"), default="text")
    cmd.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    """Run (or show) a comparison; exit 0 when it completed, 1 when cases are missing or the model failed."""
    from core.comparison import list_comparisons, load_comparison, run_comparison
    from core.ledger import Ledger

    settings = settings_from_args(args)
    ledger = Ledger.open(settings)
    if args.list:
        frame = list_comparisons(ledger)
        if args.format == "json":
            print(frame.to_json(orient="records", date_format="iso"))
        else:
            for row in frame.itertuples():
                print(f"{row.id}  {row.started_at:%Y-%m-%d %H:%M}  {row.version_a} vs {row.version_b}  "
                      f"{row.eval_name}  {row.model}  {row.status}  {row.recorded}/{2 * row.cases} runs")
        return 0
    if args.show:
        return _print(load_comparison(ledger, args.show), args)
    if not (args.file and args.version_a and args.version_b):
        raise InputError("compare needs --a VERSION, --b VERSION and an eval file.",
                         hint="e.g. python -m core compare --a v1 --b v2 ../shared/eval/requirements.yaml")

    def progress(done) -> None:
        if args.format == "text":
            mark = "PASS" if done.passed else "FAIL"
            detail = f" — {done.message}" if done.message else ""
            print(f"[{done.done}/{done.total}] {done.arm} {done.version:<12} {mark} {done.case_id} "
                  f"({done.seconds:.1f} s){detail}", flush=True)

    started: list[str] = []
    try:
        comparison_id = run_comparison(args.version_a, args.version_b, args.file, settings=settings, ledger=ledger,
                                       concurrency=args.concurrency, on_case=progress, on_start=started.append)
    except KeyboardInterrupt:
        if started:
            print(f"\ninterrupted: comparison {started[0]} keeps the runs it made "
                  f"(`python -m core compare --show {started[0]}`)")
        raise
    return _print(load_comparison(ledger, comparison_id), args)


def _print(comparison, args: argparse.Namespace) -> int:
    if args.format == "json":
        print(json.dumps(comparison.to_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        _print_text(comparison)
    return 0 if comparison.status == "completed" and not comparison.missing and not comparison.model_problems() else 1


def _fmt_cost(value) -> str:
    return "unknown" if value is None else f"${float(value):.6f}"


def _fmt_s(value) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _print_text(c) -> None:
    a, b = c.arms["A"], c.arms["B"]
    print(f"\ncomparison {c.id} · {c.eval_name} · {c.provider}:{c.model} · {c.status}")
    rows = [
        ("version", a.version, b.version),
        ("meet every expectation", f"{a.passed}/{a.cases}", f"{b.passed}/{b.cases}"),
        ("valid", f"{a.valid}/{a.cases}", f"{b.valid}/{b.cases}"),
        ("test runs succeeded", f"{a.test_runs_ok}/{a.test_runs}", f"{b.test_runs_ok}/{b.test_runs}"),
        ("mean quality score", *("—" if s.quality_mean is None else f"{s.quality_mean:.1f}" for s in (a, b))),
        ("tokens", f"{a.tokens:,}", f"{b.tokens:,}"),
        ("cost", _fmt_cost(a.cost_usd), _fmt_cost(b.cost_usd)),
        ("p50 latency", _fmt_s(a.p50_s), _fmt_s(b.p50_s)),
        ("p95 latency", _fmt_s(a.p95_s), _fmt_s(b.p95_s)),
        ("failures", *(", ".join(f"{k} {v}" for k, v in s.failures.items()) or "none" for s in (a, b))),
    ]
    for label, left, right in rows:
        print(f"  {label:<24} A {left:<24} B {right}")
    print()
    for row in c.cases:
        only_a, only_b = row.node_diff()
        nodes = f" nodes only in A: {only_a}" if only_a else ""
        nodes += f" nodes only in B: {only_b}" if only_b else ""
        print(f"  {row.winner:<8} {row.case_id}{nodes}")
        for arm, result in (("A", row.a), ("B", row.b)):
            if result is None:
                print(f"           {arm}: not run")
            elif not result["passed"]:
                print(f"           {arm}: {'; '.join(result['failed']) or result.get('message') or result['status']}"
                      f" (run {result['run_id']})")
    for problem in c.model_problems():
        print(f"\n{problem}")
    if c.missing:
        print(f"\nmissing: {', '.join(f'{arm} {case}' for arm, case in c.missing)}")
    print(f"\n{c.summary_line()}")
