"""Refinement as a change to the requirement model: the instruction is read into a (partial) spec of
its own and merged into the parent's spec; what was there stays unless the instruction replaces it."""

from __future__ import annotations

from core.agents import lexicon as lx
from core.agents.ir import output_source
from core.agents.models import OutputVar, RequirementSpec
from core.agents.rules import analyse

LISTS = ("classes", "branches", "http_calls", "code_steps", "extraction_fields", "sections", "languages", "constraints",
         "conversation_vars", "tools", "facets", "unsupported")


def merge(parent: RequirementSpec, instruction: str) -> tuple[RequirementSpec, list[str]]:
    """The parent's spec changed by ``instruction``, and what changed (empty: nothing could be applied)."""
    delta = analyse(instruction)
    changed: list[str] = []
    update: dict = {"requirement": f"{parent.requirement.rstrip('.。')}. {instruction.strip()}",
                    "language": parent.language, "app_mode": parent.app_mode, "name": parent.name}
    inputs = list(parent.inputs)
    if lx.has(instruction, "replace") and any(i.explicit for i in delta.inputs):
        kinds = {i.type for i in delta.inputs if i.explicit}
        inputs = [i for i in inputs if i.explicit and i.type in kinds]
        changed.append("replaced inputs")
    said_input = lx.has(instruction, "input_word") or lx.has(instruction, "select") or lx.has(instruction, "file")
    new_outputs = [o for o in delta.outputs if o.explicit]
    for var in (i for i in delta.inputs if i.explicit):
        if not said_input and parent.app_mode == "workflow":  # "add word_count, the number of words": a result
            new_outputs.append(OutputVar(name=var.name, description=instruction, source=output_source(instruction, parent.language),
                                         explicit=True))
            continue
        inputs = [i for i in inputs if i.name != var.name] + [var]
        changed.append(f"input {var.name}")
    update["inputs"] = inputs
    outputs = [o for o in parent.outputs if o.explicit] or list(parent.outputs)
    for out in new_outputs:
        outputs = [o for o in outputs if o.name != out.name] + [out]
        changed.append(f"output {out.name}")
    update["outputs"] = outputs
    for key in LISTS:
        old, new = getattr(parent, key), getattr(delta, key)
        if key == "unsupported":
            new = [r for r in new if r not in old]
        added = [x for x in new if x not in old]
        if added:
            update[key] = list(old) + added
            changed.append(key)
    for key in ("loop", "iteration_target", "list_filter", "review", "tool", "gate"):
        if getattr(delta, key) and not getattr(parent, key):
            update[key] = getattr(delta, key)
            changed.append(key)
    if delta.no_model and not parent.no_model:
        update["no_model"] = True
    caps = list(dict.fromkeys([*parent.capabilities, *delta.capabilities]))
    if any(i.type in ("file", "file-list") for i in inputs) and "file_input" not in caps:
        caps.append("file_input")
    update["capabilities"] = [c for c in caps if c != "memory" or parent.app_mode == "advanced-chat"]
    if update["capabilities"] != parent.capabilities:
        changed.append("capabilities")
    return parent.model_copy(update=update), changed
