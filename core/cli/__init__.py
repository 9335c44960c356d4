"""The command line: one sub-command module per area, each exposing ``register(subparsers)``.

A command handler returns the process exit status: 0 fine, 1 the checked thing failed (an
invalid workflow, a failed run), 2 a usage or I/O problem.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from core.errors import UserFacingError

# core/cli/<name>.py, each with register(subparsers) adding its commands with set_defaults(func=...).
COMMAND_MODULES = ("validate", "patterns", "runs", "generate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="DifyForge, headless.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"core.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserFacingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
