"""A scripted "model" for the fake OpenAI server whose answers depend on the prompt version.

It answers each agent from the request alone (the fake server hands the responder the request
body): the agent comes from the structured-output schema name, the inputs from the tags of the
user message. A requirements prompt that contains ``THOROUGH_MARKER`` gets a faithful spec (the
offline rules' reading of the requirement); any other requirements prompt gets a lazy one (a single
LLM step), so a version that adds the marker really produces better workflows, and spends more
tokens doing it. The pipeline holds a model's spec to the text's own names and structure, but keeps
its goal: the architect designs from a lazy goal a lazy workflow (one LLM step). The other agents
answer faithfully from the spec they are given.
"""

from __future__ import annotations

import json
import re

from core.agents.architecture import ArchitectureInput, PatternBrief, design
from core.agents.configuration import ConfigurationInput, configure
from core.agents.models import Blueprint, QualityReview, RequirementSpec
from core.agents.rules import analyse
from tests.fakes.openai_server import reply

THOROUGH_MARKER = "Name every class, file, URL and list the user mentions, and keep each as a step."
LAZY_READING = "Answer the user's text in one short paragraph."
SCHEMA_AGENTS = {"RequirementSpec": "requirements", "Blueprint": "architecture", "WorkflowPlan": "configuration",
                 "QualityReview": "quality"}
USAGE = {"thorough": (300, 120, 0), "lazy": (120, 40, 0), "other": (100, 40, 0)}
_TAG = re.compile(r"<(\w+)>\n(.*?)\n</\1>", re.DOTALL)


def _tags(body: dict) -> dict[str, str]:
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return dict(_TAG.findall(user))


def _system(body: dict) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "system")


def agent_of(body: dict) -> str:
    name = (((body.get("response_format") or {}).get("json_schema")) or {}).get("name")
    return SCHEMA_AGENTS[name]


def answer(body: dict):
    """The fake server's responder: a ``Reply`` for any agent request."""
    agent, tags = agent_of(body), _tags(body)
    if agent == "requirements":
        requirement = tags["requirement"]
        if THOROUGH_MARKER in _system(body):
            return reply(analyse(requirement).model_dump_json(), usage=USAGE["thorough"])
        lazy = analyse(LAZY_READING).model_copy(update={"requirement": requirement})
        return reply(lazy.model_dump_json(), usage=USAGE["lazy"])
    spec = RequirementSpec.model_validate_json(tags["spec"])
    lazy = analyse(LAZY_READING)
    if agent == "architecture" and spec.goal == lazy.goal:  # the lazy reading's goal (the pipeline keeps the model's
        spec = lazy.model_copy(update={"requirement": spec.requirement, "inputs": spec.inputs,  # words) makes a lazy
                                       "outputs": spec.outputs})  # design: one LLM step on the named inputs
    if agent == "architecture":
        patterns = [PatternBrief.model_validate(p) for p in json.loads(tags.get("patterns", "[]"))]
        content = design(ArchitectureInput(spec=spec, patterns=patterns)).model_dump_json()
    elif agent == "configuration" and "blueprint" not in tags:  # a repair round sends the previous plan alone
        content = tags["previous_plan"]  # (it has every step): this model keeps it
    elif agent == "configuration":
        blueprint = Blueprint.model_validate_json(tags["blueprint"])
        content = configure(ConfigurationInput(spec=spec, blueprint=blueprint)).model_dump_json()
    else:
        content = QualityReview(score=90).model_dump_json()
    return reply(content, usage=USAGE["other"])


def thorough_prompt(base: str) -> str:
    """``base`` (a requirements prompt) with the marker the scripted model rewards."""
    return f"{base.rstrip()}\n- {THOROUGH_MARKER}\n"
