"""Repair rounds that change something: feedback that names what to change, and escalation when the
model hands back the same plan.

The quality report says *what* is wrong (error findings, spec items the workflow does not cover); this
module turns it into feedback that also says *where*: the step of the previous plan to change (or the
step to add), so a model cannot answer a round with the plan it already gave. When it does anyway
(the plan is unchanged, or the same problems remain), the pipeline escalates: first more specific
feedback, then the offline brain's structure for the spec as a draft for the model to correct, then it
stops instead of spending rounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.agents.models import QualityReport, WorkflowPlan
from core.agents.quality import NODE_NEEDS

LEVELS = ("feedback", "specific", "draft", "stop")
"""Escalation levels, in order: plain feedback, more specific feedback, the offline draft, stop."""

_WHERE = {
    # coverage item kind -> (node types holding it, what to change there)
    "class": (("question-classifier",), "add it to the `classes` of"),
    "language": (("llm",), "name it in the system prompt of"),
    "field": (("parameter-extractor", "code", "llm"), "add it to the `parameters` (or outputs) of"),
    "section": (("template-transform", "llm"), "add it to the template of"),
    "url": (("http-request",), "set it as the `url` of"),
    "limit": (("llm",), "state it in the system prompt of"),
    "input": (("start",), "declare it in `start_vars`"),
    "output": (("end", "answer"), "return it from"),
}


@dataclass(frozen=True)
class Problems:
    """What keeps one attempt from being done: error-level issues and uncovered spec items."""

    errors: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def all(self) -> frozenset[str]:
        return frozenset(self.errors) | frozenset(self.missing)

    def __bool__(self) -> bool:
        return bool(self.errors or self.missing)


def problems(report: QualityReport) -> Problems:
    """The error-level issues and the uncovered spec items (``quality.coverage`` keys) of ``report``."""
    errors = tuple(dict.fromkeys(i.message for i in report.issues if i.severity == "error"))
    missing = tuple(item for item, ok in report.coverage.items() if not ok)
    return Problems(errors, missing)


def same_plan(before: WorkflowPlan | None, after: WorkflowPlan) -> bool:
    """Whether the model gave back the plan it was asked to change (field by field)."""
    return before is not None and before.model_dump(mode="json") == after.model_dump(mode="json")


def _steps_of(plan: WorkflowPlan, types: tuple[str, ...]) -> list[str]:
    return [f"`{s.id}` ({s.type})" for s in plan.steps if s.type in types]


def _where(item: str, plan: WorkflowPlan) -> str:
    """For one uncovered item (``"class refund"``, ``"capability iteration"``): what to change where."""
    kind, _, value = item.partition(" ")
    if kind == "mode":
        return f"set `app_mode` to {value!r} (the plan has {plan.app_mode!r})"
    if kind == "capability":
        types = NODE_NEEDS.get(value, ())
        if value == "image_input":
            return "enable `vision` on the LLM step that reads the image"
        return f"add a step of type {' or '.join(types) or value} for {value} (the plan has none)"
    if kind == "conversation":  # "conversation variable <name>"
        name = value.removeprefix("variable ").strip()
        return f"declare {name!r} in `conversation_vars` and write it with an assigner step"
    types, how = _WHERE.get(kind, ((), "add it where it belongs in"))
    targets = _steps_of(plan, types)
    if kind == "input":
        return f"{how} ({', '.join(v.name for v in plan.start_vars) or 'none declared'} so far)"
    if targets:
        return f"{how} {' or '.join(targets[:3])}"
    return f"{how} a new {' or '.join(types) or 'suitable'} step"


def _step_of_node(node_id: str | None, node_ids: dict[str, str]) -> str | None:
    if not node_id:
        return None
    return next((step for step, node in node_ids.items() if node == node_id), node_id)


def feedback(report: QualityReport, plan: WorkflowPlan, *, node_ids: dict[str, str] | None = None,
             level: str = "feedback") -> str:
    """The repair request for the next round: each problem, the part of ``plan`` to change, and (from
    level ``specific`` on) the reminder that the last answer changed nothing.

    Args:
        report: the verdict on the attempt made from ``plan``.
        plan: the plan the model gave (what it must change).
        node_ids: plan step id -> Dify node id (to name the step a validator finding is about).
        level: one of ``LEVELS``.
    """
    node_ids = node_ids or {}
    lines = []
    if level == "specific":
        lines.append("Your last answer did not fix these problems (the plan came back unchanged or with the same "
                     "problems). Change exactly the steps named below; keep everything else.")
    if level == "draft":
        lines.append("The previous plan is replaced by a draft built by rules for this requirement: correct it where "
                     "it does not do what the requirement asks, keep what is right, and return the whole plan.")
    for issue in report.issues:
        if issue.severity != "error":
            continue
        step = _step_of_node(issue.node_id, node_ids)
        lines.append(f"- fix step `{step}`: {issue.message}" if step else f"- fix: {issue.message}")
    for item in problems(report).missing:
        lines.append(f"- missing {item}: {_where(item, plan)}")
    return "\n".join(lines)


def next_level(level: str) -> str:
    """The escalation level after ``level`` (``stop`` stays)."""
    return LEVELS[min(LEVELS.index(level) + 1, len(LEVELS) - 1)]
