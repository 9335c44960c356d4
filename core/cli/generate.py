"""``python -m core generate|refine|batch|eval``: the generator, headless."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from core.config import Settings, load_settings
from core.errors import InputError


def register(subparsers) -> None:
    """Add the ``generate``, ``refine``, ``batch`` and ``eval`` commands."""
    gen = subparsers.add_parser("generate", help="generate a Dify workflow from a requirement",
                                description="Generate a Dify workflow (DSL YAML) from a plain-language requirement.")
    gen.add_argument("requirement", help="what the workflow should do (quote it)")
    _provider_args(gen)
    _output_args(gen)
    gen.set_defaults(func=cmd_generate)

    ref = subparsers.add_parser("refine", help="continue a run with an instruction (recorded as a child run)",
                                description="Refine a generated workflow: the parent run's requirement plus your "
                                            "instruction, e.g. 'add a step that translates the answer to French'.")
    ref.add_argument("run_id", help="the run to continue (see `python -m core runs list`)")
    ref.add_argument("instruction", help="what to change (quote it)")
    _provider_args(ref)
    _output_args(ref)
    ref.set_defaults(func=cmd_refine)

    bat = subparsers.add_parser("batch", help="generate every requirement of a CSV or YAML file",
                                description="Generate a workflow per row of a CSV ('requirement' column, optional "
                                            "'id') or YAML file; one bad row never stops the rest.")
    bat.add_argument("file", help="CSV or YAML file of requirements")
    _provider_args(bat)
    bat.add_argument("--concurrency", type=int, default=2, help="rows generated at once (default 2)")
    bat.add_argument("-o", "--output", default="difyforge-batch.zip", help="ZIP of the workflows and results.csv")
    bat.add_argument("--format", choices=("text", "json"), default="text")
    bat.set_defaults(func=cmd_batch)

    ev = subparsers.add_parser("eval", help="score the generator on eval files (default: both public ones)",
                               description="Generate every case of the eval files, refine it through its rounds, "
                                           "and score it against its expectations, key by key.")
    ev.add_argument("file", nargs="*", help="YAML files like shared/eval/requirements_v2.yaml "
                                            "(default: shared/eval/requirements.yaml and requirements_v2.yaml)")
    _provider_args(ev)
    ev.add_argument("--no-test-run", action="store_true", help="do not test-run the workflows in Dify's engine")
    ev.add_argument("--format", choices=("text", "json"), default="text")
    ev.set_defaults(func=cmd_eval)


def _provider_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", choices=("offline", "openai"), help="offline rules or an OpenAI-compatible model")
    parser.add_argument("--model", help="model name (openai provider)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint URL")
    parser.add_argument("--api-key-env", metavar="VAR", help="read the API key from this environment variable")


def _output_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", help="write the DSL YAML here (default: stdout in text format)")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by the command's provider flags.

    Raises:
        InputError: a flag combination that cannot work (e.g. the key variable is not set).
    """
    try:
        settings = load_settings()
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    changes: dict = {}
    if args.api_key_env:
        key = os.environ.get(args.api_key_env)
        if not key:
            raise InputError(f"The environment variable {args.api_key_env} is not set or empty.",
                             hint="Export the API key in that variable; keys are never passed as flag values.")
        changes["api_key"] = key
    if args.provider:
        changes["kind"] = args.provider
    if args.model:
        changes["model"] = args.model
    if args.base_url:
        changes["base_url"] = args.base_url
    settings = settings.with_provider(**changes) if changes else settings
    if settings.provider.kind == "openai" and not settings.provider.api_key and not settings.provider.base_url:
        raise InputError("The openai provider needs an API key.",
                         hint="Set OPENAI_API_KEY (or use --api-key-env VAR), or use --provider offline.")
    return settings


def cmd_generate(args: argparse.Namespace) -> int:
    """Generate one workflow and report it (exit 1 when the run failed)."""
    from core.pipeline import generate

    return _report(args, generate(args.requirement, settings=settings_from_args(args), source="cli"))


def cmd_refine(args: argparse.Namespace) -> int:
    """Refine a recorded run with an instruction and report the child run (exit 1 when it failed)."""
    from core.pipeline import refine

    return _report(args, refine(args.run_id, args.instruction, settings=settings_from_args(args), source="cli"))


def cmd_batch(args: argparse.Namespace) -> int:
    """Generate every row of a batch file into a ZIP (exit 1 when any row failed)."""
    from functools import partial

    from core.batch import load_requirements_file, run_batch, workflows_zip
    from core.pipeline import generate

    settings = settings_from_args(args)
    items = load_requirements_file(Path(args.file))

    def progress(row) -> None:
        if args.format == "text":
            detail = f" — {row.message}" if row.message else ""
            print(f"{row.status.upper():9} row {row.row} ({row.duration_s:.1f} s, valid={row.valid}){detail}", flush=True)

    one = partial(generate, settings=settings, source="batch")
    results = run_batch(items, one, concurrency=args.concurrency, on_result=progress)
    Path(args.output).write_bytes(workflows_zip(results))
    ok = sum(r.status == "succeeded" for r in results)
    if args.format == "json":
        print(json.dumps({"output": args.output, "rows": [r.as_row() for r in results]}, ensure_ascii=False,
                         indent=2, default=str))
    else:
        print(f"\n{ok}/{len(results)} succeeded; wrote {args.output}")
    return 0 if ok == len(results) else 1


def _report(args: argparse.Namespace, result) -> int:
    """Write the YAML where asked and print the run's summary (text or JSON); the exit status."""
    from core.agents.adapter import adaptation

    if args.output and result.yaml_text:
        Path(args.output).write_text(result.yaml_text, encoding="utf-8")
    report = result.report
    findings = [f.to_dict() for f in (report.findings if report else [])]
    summary = {
        "run_id": result.run_id,
        "status": result.status,
        "recorded": result.recorded,
        "ledger_problem": getattr(result, "ledger_problem", None),
        "app_mode": result.app_mode,
        "valid": result.valid,
        "quality_score": result.quality.score if result.quality else None,
        "issues": [i.model_dump() for i in result.quality.issues] if result.quality else [],
        "findings": findings,
        "tokens": result.usage.total_tokens,
        "calls": result.usage.calls,
        "cost_usd": float(result.usage.cost_usd) if result.usage.cost_usd is not None else None,
        "patterns": [{"id": r.pattern.id, "score": round(r.score, 4), "used": bool(result.blueprint and r.pattern.id in result.blueprint.patterns_used)}
                     for r in result.patterns],
        "adapted": adaptation(result.blueprint),
        "error_category": result.error_category,
        "error_message": result.error_message,
        "missing": list(getattr(result, "missing", [])),
        "output": args.output,
    }
    if args.format == "json":
        if not args.output:
            summary["yaml"] = result.yaml_text
        print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    else:
        if not args.output and result.yaml_text:
            sys.stdout.write(result.yaml_text)
        _print_summary(summary, result)
    return 0 if result.status == "succeeded" else 1


def _print_summary(summary: dict, result) -> None:
    err = sys.stderr
    print(f"run {summary['run_id'] or '(not recorded)'}: {summary['status']} · {summary['app_mode']} · "
          f"valid={summary['valid']} · score={summary['quality_score']} · {summary['calls']} call(s), "
          f"{summary['tokens']} tokens, cost {summary['cost_usd']}", file=err)
    if result.error_message:
        print(f"error ({result.error_category}): {result.error_message}", file=err)
    if summary["ledger_problem"]:
        print(f"warning: {summary['ledger_problem']} The workflow itself is complete"
              f"{' and written below' if not summary['output'] else ''}.", file=err)
    for issue in summary["issues"]:
        if issue["severity"] != "info" or issue["stage"] == "requirements":
            print(f"  {issue['severity']}: {issue['message']}", file=err)
    if summary["adapted"]:
        print(f"pattern: {summary['adapted']}", file=err)
    if summary["output"]:
        print(f"wrote {summary['output']}", file=err)


def cmd_eval(args: argparse.Namespace) -> int:
    """Run and score eval files (exit 1 when any case misses an expectation)."""
    from core.evaluation import PUBLIC_FILES, load_cases, run_eval

    settings = settings_from_args(args)
    files = args.file or [str(p) for p in PUBLIC_FILES]
    for path in files:
        load_cases(path)  # fail fast on a bad file, before any run

    def progress(score) -> None:
        if args.format == "text":
            mark = "PASS" if score.passed else "FAIL"
            rounds = f", {score.rounds} round(s)" if score.rounds else ""
            ran = f", test run {score.test_run}" if score.test_run else ""
            print(f"{mark} {score.case_id} ({score.seconds * 1000:.0f} ms, valid={score.valid}{rounds}{ran})", flush=True)
            for finding in score.findings:  # a failed test run is one of them: ``[test run] ...``
                print(f"     {finding}", flush=True)

    report = run_eval(files, settings, on_case=progress, test_runs=not args.no_test_run)
    if args.format == "json":
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str))
        return 0 if report.passed == report.total else 1
    print()
    for source, row in report.by_source().items():
        print(f"{source}: {row['valid']}/{row['total']} valid, {row['passed']}/{row['total']} meet every expectation")
    print("failed cases per key:")
    for key, row in report.key_summary().items():
        print(f"  {key:<18} {row['failed']:>3} of {row['checked']:>3} cases")
    runs = report.test_runs
    test_runs = f", {runs[0]}/{runs[1]} test-run without error (core.testrun)" if runs else ", no test runs"
    print(f"total: {report.valid}/{report.total} valid (no error-level finding), "
          f"{report.passed}/{report.total} meet every expectation{test_runs}")
    return 0 if report.passed == report.total else 1
