"""``python -m core prompts list|show|new|diff``: the prompt versions (shipped and user-created), headless."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.agents.prompt_store import AGENTS, PromptStore, as_dict
from core.errors import InputError


def register(subparsers) -> None:
    """Add the ``prompts`` command and its sub-commands."""
    cmd = subparsers.add_parser("prompts", help="list, show, create and diff agent prompt versions",
                                description="Prompt versions: the shipped ones (core/agents/prompts/) and those "
                                            "created by users (kept in the data folder).")
    sub = cmd.add_subparsers(dest="action", required=True, metavar="ACTION")

    ls = sub.add_parser("list", help="every version with what it changes")
    ls.add_argument("--format", choices=("text", "json"), default="text")
    ls.set_defaults(func=cmd_list)

    show = sub.add_parser("show", help="the prompt an agent uses at a version")
    show.add_argument("version")
    show.add_argument("--agent", choices=AGENTS, help="one agent (default: all four)")
    show.add_argument("--format", choices=("text", "json"), default="text")
    show.set_defaults(func=cmd_show)

    new = sub.add_parser("new", help="save a new version that changes one agent's prompt",
                         description="Save a new prompt version: one agent's prompt (from a file or stdin) on top "
                                     "of a parent version, whose other prompts it inherits.")
    new.add_argument("label", help="the new version's label, e.g. v2 or sharper-spec")
    new.add_argument("--agent", choices=AGENTS, required=True)
    new.add_argument("--from", dest="parent", default="v1", help="the parent version (default v1)")
    new.add_argument("--file", help="the prompt text file ('-' or absent: read stdin)")
    new.add_argument("--note", default="", help="what changed and why")
    new.set_defaults(func=cmd_new)

    diff = sub.add_parser("diff", help="how a version's prompts differ from its parent (or another version)")
    diff.add_argument("version")
    diff.add_argument("against", nargs="?", help="the version to diff against (default: the parent)")
    diff.add_argument("--agent", choices=AGENTS)
    diff.set_defaults(func=cmd_diff)


def _store() -> PromptStore:
    return PromptStore()  # the environment's data folder (DIFYFORGE_DATA_DIR)


def cmd_list(args: argparse.Namespace) -> int:
    """Print every version (exit 0)."""
    versions = _store().versions()
    if args.format == "json":
        print(json.dumps([as_dict(v) for v in versions], ensure_ascii=False, indent=2))
        return 0
    for v in versions:
        when = f"  {v.created_at}" if v.created_at else ""
        print(f"{v.describe()}{when}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print the prompt(s) of a version, with which version each is inherited from."""
    store = _store()
    agents = [args.agent] if args.agent else list(AGENTS)
    shown = {a: {"from": store.source_of(a, args.version), "prompt": store.prompt(a, args.version)} for a in agents}
    if args.format == "json":
        print(json.dumps({"version": as_dict(store.get(args.version)), "agents": shown}, ensure_ascii=False, indent=2))
        return 0
    for agent, item in shown.items():
        inherited = "" if item["from"] == args.version else f" (inherited from {item['from']})"
        print(f"## {agent} @ {args.version}{inherited}\n")
        print(item["prompt"].rstrip() + "\n")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    """Save a new version (exit 2 with the reason when the prompt breaks the contract)."""
    if args.file and args.file != "-":
        try:
            text = Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"Cannot read {args.file}: {exc}", hint="Give a UTF-8 text file.") from exc
    else:
        text = sys.stdin.read()
    version = _store().create(args.label, agent=args.agent, parent=args.parent, text=text, note=args.note)
    print(f"saved {version.describe()}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """Print a unified diff per agent (exit 0; 'identical' for agents that did not change)."""
    for item in _store().diff(args.version, args.against, agent=args.agent):
        print(f"## {item.agent}: {item.old} -> {item.new}: {item.diff.summary()}")
        if not item.diff.identical:
            print(item.diff.text)
    return 0
