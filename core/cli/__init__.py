"""The command line: one sub-command module per area, each exposing ``register(subparsers)``.

A command handler returns the process exit status: 0 fine, 1 the checked thing failed (an
invalid workflow, a failed run), 2 a usage or I/O problem.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from core.errors import UserFacingError

# command -> core/cli/<module>.py, whose register(subparsers) adds it with set_defaults(func=...).
COMMANDS = {"validate": "validate", "patterns": "patterns", "runs": "runs", "generate": "generate", "eval": "generate",
            "run": "run", "prompts": "prompts", "compare": "compare"}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser for every command, or only for ``command`` (so its run imports nothing else)."""
    parser = argparse.ArgumentParser(prog="python -m core", description="DifyForge, headless.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(f"core.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command (``argv`` defaults to ``sys.argv[1:]``) and return its exit status."""
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserFacingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
