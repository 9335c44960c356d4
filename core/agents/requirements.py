"""Requirements agent: requirement text -> ``RequirementSpec``."""

from __future__ import annotations

import re

from pydantic import BaseModel

from core.agents import lexicon as lx
from core.agents.brain import Brain
from core.agents.models import RequirementSpec, StageResult
from core.agents.rules import analyse

AGENT = "requirements"


class RequirementsInput(BaseModel):
    requirement: str


def run(inp: RequirementsInput, brain: Brain) -> StageResult[RequirementSpec]:
    """Understand the requirement; the verbatim text is always kept on the spec. A model is shown the rule
    reading as a draft to correct, and its answer is held to what the text itself says (``reconcile``)."""
    reading = analyse(inp.requirement) if brain.kind != "offline" else None
    data: dict = {"requirement": inp.requirement}
    if reading is not None:
        data["draft"] = reading.model_dump(mode="json", exclude_defaults=True, exclude={"requirement"})
    spec, calls = brain.think(AGENT, data=data, schema=RequirementSpec, offline=lambda: analyse(inp.requirement))
    if spec.requirement != inp.requirement.strip():
        spec = spec.model_copy(update={"requirement": inp.requirement.strip()})
    if reading is not None:
        spec = reconcile(spec, reading)
    return StageResult(stage=AGENT, output=spec, calls=calls)


SOFT = {"summarization", "translation", "structured_output", "extraction", "aggregation", "template"}
"""Capabilities a model may add to the rule reading: ways of writing. The structural ones (retrieval,
classification, loops, HTTP, files, tools ...) need the text's own evidence, which the reading has."""


def reconcile(spec: RequirementSpec, reading: RequirementSpec) -> RequirementSpec:
    """A model's spec held to the facts of the text, as the rule reading found them: the language and app
    mode; every name the user gave (start variables and End outputs, with the types the wording implies);
    the classes, gate, loop, facets, tools and calls the text states. What the model invents beyond them
    (an input or class the text never names, a capability with no evidence) is dropped; what it writes
    (the goal, descriptions, constraints) is kept."""
    text = spec.requirement

    def said(word: str) -> bool:
        return bool(word) and re.search(rf"(?<![A-Za-z0-9_]){re.escape(word)}(?![A-Za-z0-9_])", text, re.I) is not None

    update: dict = {"language": reading.language, "app_mode": reading.app_mode}
    explicit = [i for i in reading.inputs if i.explicit]
    own = {i.name for i in explicit}
    extra = [i for i in spec.inputs if i.name not in own and said(i.name) and not explicit]
    update["inputs"] = explicit + extra if explicit or extra else reading.inputs
    named_out = [o for o in reading.outputs if o.explicit]
    if named_out:
        update["outputs"] = named_out
    elif not any(said(o.name) for o in spec.outputs):
        update["outputs"] = reading.outputs
    if reading.classes or not all(said(c) for c in spec.classes):
        update["classes"], update["branches"] = reading.classes, reading.branches
    from core.agents.quality import NODE_NEEDS

    # a way of writing the model adds is kept; one that needs a node of its own (a template) needs the text's word
    caps = list(reading.capabilities) + [c for c in spec.capabilities if c in SOFT and c not in reading.capabilities
                                         and (c not in NODE_NEEDS or lx.has(text, c))]
    update["capabilities"] = caps
    grounded = {  # what the model may add where the reading found nothing: parts the text visibly holds
        "gate": lambda g: said(g.value),
        "http_calls": lambda calls: all(c.url and c.url in text for c in calls),
        "facets": lambda items: all(said(f) or f in text for f in items),
        "sections": lambda items: all(f in text for f in items),
        "extraction_fields": lambda items: all(said(f) for f in items),
        "code_steps": lambda steps: True, "review": lambda r: True, "decisions": lambda d: all(said(x) for x in d),
    }
    for key in ("gate", "loop", "list_filter", "iteration_target", "list_step", "join_results", "facets", "tools",
                "http_calls", "conversation_vars", "no_model", "literals", "sections", "extraction_fields", "parallel_models",
                "code_steps", "unsupported", "tool", "decisions", "review"):
        mine, model = getattr(reading, key), getattr(spec, key)
        keep_model = not mine and model and key in grounded and grounded[key](model)
        update[key] = model if keep_model else mine
    return spec.model_copy(update=update)


def run_given(spec: RequirementSpec, brain: Brain) -> StageResult[RequirementSpec]:
    """Record an already built requirement model (a refinement's changed spec) as this stage's output."""
    spec, calls = brain.think(AGENT, data={"requirement": spec.requirement}, schema=RequirementSpec, offline=lambda: spec)
    return StageResult(stage=AGENT, output=spec, calls=calls)
