"""Requirements agent: requirement text -> ``RequirementSpec``."""

from __future__ import annotations

from pydantic import BaseModel

from core.agents.brain import Brain
from core.agents.models import RequirementSpec, StageResult
from core.agents.rules import analyse

AGENT = "requirements"


class RequirementsInput(BaseModel):
    requirement: str


def run(inp: RequirementsInput, brain: Brain) -> StageResult[RequirementSpec]:
    """Understand the requirement; the verbatim text is always kept on the spec."""
    spec, calls = brain.think(AGENT, data={"requirement": inp.requirement}, schema=RequirementSpec,
                              offline=lambda: analyse(inp.requirement))
    if spec.requirement != inp.requirement.strip():
        spec = spec.model_copy(update={"requirement": inp.requirement.strip()})
    return StageResult(stage=AGENT, output=spec, calls=calls)


def run_given(spec: RequirementSpec, brain: Brain) -> StageResult[RequirementSpec]:
    """Record an already built requirement model (a refinement's changed spec) as this stage's output."""
    spec, calls = brain.think(AGENT, data={"requirement": spec.requirement}, schema=RequirementSpec, offline=lambda: spec)
    return StageResult(stage=AGENT, output=spec, calls=calls)
