"""``python -m core run FILE.yml``: test-run a workflow in Dify's own engine and print the trace."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` command to the CLI."""
    from core.cli.generate import _provider_args

    parser = subparsers.add_parser(
        "run",
        help="test-run a workflow in Dify's own engine (graphon)",
        description="Run a Dify DSL file in graphon with offline stand-ins (or a model endpoint). "
                    "Exit status: 0 the test run succeeded, 1 it failed, 2 bad input.",
    )
    parser.add_argument("path", metavar="FILE", help="a Dify DSL file (.yml / .yaml) or a pattern file")
    parser.add_argument("--inputs", metavar="JSON|@FILE", help='start inputs as a JSON object, e.g. \'{"text": "hi"}\'')
    _provider_args(parser)
    parser.add_argument("--live-http", action="store_true", help="send HTTP nodes' requests for real")
    parser.add_argument("--no-branches", action="store_true", help="run once; do not cover every branch")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=run)


def format_text(path: str, report) -> str:
    """The summary, each branch run's node trace, then the findings."""
    lines = [f"{path}: {report.summary()} [{report.engine}, {report.elapsed_ms:.0f} ms]"]
    if report.synthesized:
        lines.append(f"  synthesized inputs: {', '.join(report.synthesized)}")
    for run in report.runs:
        lines.append(f"  run '{run.label}': {run.status}" + (f" ({run.error})" if run.error else ""))
        for node in run.nodes:
            mark = " [stub]" if node.stub else ""
            where = f" in {node.parent_id}" if node.parent_id else ""
            lines.append(f"    {node.status:9s} {node.node_type:20s} {node.title}{where}{mark}"
                         + (f": {node.error}" if node.error else ""))
    if report.uncovered:
        lines.append(f"  not covered (cannot be steered offline): {', '.join(report.uncovered)}")
    for f in sorted(report.findings, key=lambda f: f.severity):
        lines.append(f"  {f.severity:7s} {f.code} {f.message}")
        if f.hint:
            lines.append(f"          fix: {f.hint}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Test-run one file; 0 succeeded, 1 failed, 2 bad input."""
    from core.testrun.inputs import parse_inputs_arg

    path = Path(args.path)
    if not path.is_file():
        raise InputError(f"{args.path}: no such file.", hint="Give the path of a Dify DSL export.")
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{args.path}: cannot be read ({exc.strerror or exc}).") from exc
    inputs = parse_inputs_arg(args.inputs) if args.inputs else None
    complete, provider = None, "offline"
    if args.provider == "openai" or args.model or args.base_url:
        from core.cli.generate import settings_from_args
        from core.testrun.model import provider_completer

        settings = settings_from_args(args)
        if settings.provider.kind != "offline":
            complete, provider = provider_completer(settings.provider), settings.provider.kind
    from core.testrun import test_run

    report = test_run(text, inputs, model=complete, live_http=args.live_http, cover_branches=not args.no_branches,
                      provider=provider)
    if args.format == "json":
        sys.stdout.write(report.to_json() + "\n")
    else:
        print(format_text(args.path, report))
    return 0 if report.succeeded else 1
