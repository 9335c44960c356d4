"""DSL6xx: which nodes each app mode allows (workflow versus advanced-chat)."""

from __future__ import annotations

from collections.abc import Iterator

from core.dsl.models import TRIGGER_TYPES
from core.dsl.rules._context import Context
from core.dsl.rules._registry import Issue, rule


def _nodes(ctx: Context, types: frozenset[str]) -> Iterator[tuple[int, dict]]:
    return ((i, n) for i, n in ctx.graph.nodes if n["data"].get("type") in types)


@rule("DSL600", "error")
def end_in_advanced_chat(ctx: Context) -> Iterator[Issue]:
    """An `end` node in an advanced-chat app.

    What it does: flags End nodes in Chatflows.
    Why is this bad: the editor does not offer End in advanced-chat; the chat replies through Answer nodes,
    and the imported app cannot be edited the same way.
    Example: `mode: advanced-chat` with `data.type: end`.
    Fix: replace it with an `answer` node.
    """
    if ctx.mode == "advanced-chat":
        for index, node in _nodes(ctx, frozenset({"end"})):
            yield Issue(
                "End nodes belong to workflow apps; advanced-chat replies with Answer nodes.",
                f"$.workflow.graph.nodes[{index}].data.type",
                node["id"],
                hint="Replace it with an answer node.",
            )


@rule("DSL601", "error")
def answer_in_workflow(ctx: Context) -> Iterator[Issue]:
    """An `answer` node in a workflow app.

    What it does: flags Answer nodes in workflow mode.
    Why is this bad: the editor offers Answer only in advanced-chat; a workflow returns results through End.
    Example: `mode: workflow` with `data.type: answer`.
    Fix: replace it with an `end` node whose outputs carry the result.
    """
    if ctx.mode == "workflow":
        for index, node in _nodes(ctx, frozenset({"answer"})):
            yield Issue(
                "Answer nodes belong to advanced-chat apps; a workflow returns results through End.",
                f"$.workflow.graph.nodes[{index}].data.type",
                node["id"],
                hint="Replace it with an end node.",
            )


@rule("DSL602", "error")
def trigger_in_advanced_chat(ctx: Context) -> Iterator[Issue]:
    """A trigger node in an advanced-chat app.

    What it does: flags trigger-webhook, trigger-schedule and trigger-plugin outside workflow mode.
    Why is this bad: triggers start workflows only; a Chatflow starts from the user's message.
    Example: `mode: advanced-chat` with `data.type: trigger-schedule`.
    Fix: use a start node, or make the app a workflow.
    """
    if ctx.mode == "advanced-chat":
        for index, node in _nodes(ctx, TRIGGER_TYPES):
            yield Issue(
                "Trigger nodes exist only in workflow apps.",
                f"$.workflow.graph.nodes[{index}].data.type",
                node["id"],
                hint="Use a start node or switch the app to workflow.",
            )


@rule("DSL603", "error")
def answer_missing(ctx: Context) -> Iterator[Issue]:
    """An advanced-chat app has no `answer` node.

    What it does: requires at least one Answer node in Chatflows.
    Why is this bad: the editor's checklist says "need add Answer"; the chat never replies.
    Example: an advanced-chat graph `start -> llm`.
    Fix: add an answer node after the LLM: `answer: "{{#llm.text#}}"`.
    """
    if ctx.mode == "advanced-chat" and ctx.graph.nodes and not any(_nodes(ctx, frozenset({"answer"}))):
        yield Issue(
            "An advanced-chat app needs at least one Answer node.",
            "$.workflow.graph.nodes",
            hint="Add an answer node that replies with the result.",
        )
