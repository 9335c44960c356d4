"""Refinement as a change to the requirement model.

An instruction is read as edit operations on the parent's spec: **remove**, **rename**, **retype** or
**replace** an input, output, tool or step the parent has (targets are resolved against the parent's
own names, labels and titles; the cue words are the ``edit_*``/``type_*`` cues of the lexicons), or
else **add** what the instruction asks (it is read into a partial spec and merged in). What was there
stays unless the instruction changes it. The parent's requirement text is kept as it was; the
instructions go to ``spec.edits`` (the edit log), so prompts are never built from appended text. An
edit that names nothing the workflow has says so in ``spec.notes``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.agents import lexicon as lx
from core.agents.ir import output_source
from core.agents.models import OutputVar, RequirementSpec
from core.agents.outputs import catalogue
from core.agents.rules import analyse

LISTS = ("classes", "branches", "http_calls", "code_steps", "extraction_fields", "sections", "literals", "languages", "constraints",
         "conversation_vars", "tools", "facets", "unsupported")
NAMED_LISTS = ("classes", "sections", "facets", "extraction_fields", "languages")
"""Lists of the spec whose items are named steps or fields an instruction can remove or rename."""
TYPES = (("type_file_list", "file-list"), ("type_file", "file"), ("type_select", "select"), ("type_number", "number"),
         ("type_paragraph", "paragraph"), ("type_text", "text-input"))
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Target:
    """Something of the parent spec an instruction names: its kind (``input``, ``output``, ``tool`` or a
    list field), its key there, and where the instruction names it."""

    kind: str
    key: str
    start: int
    end: int


def _forms(kind: str, key: str, extra: str = "") -> list[str]:
    forms = {key, key.replace("_", " "), extra}
    if kind == "tool":
        entry = catalogue().get(key) or {}
        forms |= {entry.get("label", "")} | set(lx.cues(f"tool_{key}")) | set(lx.cues(f"tool_{key.split('_')[0]}"))
        if key.startswith("md_exporter"):
            forms |= set(lx.cues("tool_export"))
    if kind == "languages":
        forms |= {lx.language_name(key, lang) for lang in ("en", "zh", "ja")}
    return [f for f in forms if f and len(f) > 1]


def targets(text: str, spec: RequirementSpec) -> list[Target]:
    """What of ``spec`` the text names, longest mention first where mentions overlap ("text to speech"
    is the tool, not the input ``text``), in order of appearance."""
    found: list[Target] = []
    items = ([("input", i.name, i.label) for i in spec.inputs] + [("output", o.name, "") for o in spec.outputs]
             + [("tool", t, "") for t in spec.tools]
             + [(kind, str(x), "") for kind in NAMED_LISTS for x in getattr(spec, kind)])
    for kind, key, extra in items:
        for form in _forms(kind, key, extra):
            for m in re.finditer(lx.pattern_of(form), text, re.I):
                found.append(Target(kind, key, m.start(), m.end()))
    # Longest mention first; between equal ones ("the output plan" when plan is an input and an output)
    # the kind the text says.
    said = next((k for k, cue in (("output", "output_word"), ("input", "input_word")) if lx.has(text, cue)), None)
    found.sort(key=lambda t: (-(t.end - t.start), t.kind != said, t.start))
    kept: list[Target] = []
    for t in found:
        if not any(k.start < t.end and t.start < k.end for k in kept) and not any((k.kind, k.key) == (t.kind, t.key) for k in kept):
            kept.append(t)
    return sorted(kept, key=lambda t: t.start)


def _without(spec: RequirementSpec, gone: list[Target]) -> dict:
    """The spec fields with the ``gone`` targets removed (and the outputs a removed tool produced)."""
    keys = {(t.kind, t.key) for t in gone}
    tools = [t for t in spec.tools if ("tool", t) not in keys]
    update: dict = {
        "inputs": [i for i in spec.inputs if ("input", i.name) not in keys],
        "outputs": [o for o in spec.outputs if ("output", o.name) not in keys
                    and not (o.source.startswith("tool:") and o.source[5:] not in tools)],
        "tools": tools,
    }
    for kind in NAMED_LISTS:
        update[kind] = [x for x in getattr(spec, kind) if (kind, str(x)) not in keys]
    return update


def _new_name(text: str, after: int, taken: set[str]) -> str | None:
    """The identifier a rename gives: the first one after the old name that is not a link word."""
    links = {w.lower() for w in lx.cues("edit_link")}
    for m in IDENT.finditer(text, after):
        word = m.group(0)
        if word.lower() not in links and word not in taken:
            return word
    return None


def _strip_links(text: str) -> str:
    """``text`` without surrounding punctuation and link words (``to``, ``に``, ``を``...)."""
    links = sorted((w for w in lx.cues("edit_link") + lx.cues("edit_tail")), key=len, reverse=True)
    text, before = text.strip(" .,。、！!？?"), None
    while text != before:
        before = text
        for w in links:
            if text.lower().startswith(w.lower()) and (lx.CJK.search(w) or text[len(w):len(w) + 1] in ("", " ")):
                text = text[len(w):].strip(" .,。、")
            if text.lower().endswith(w.lower()) and (lx.CJK.search(w) or text[-len(w) - 1:-len(w)] in ("", " ")):
                text = text[:-len(w)].strip(" .,。、")
    return text


def _renamed(spec: RequirementSpec, target: Target, new: str) -> dict:
    if target.kind == "input":
        return {"inputs": [i.model_copy(update={"name": new, "label": new.replace("_", " "), "explicit": True})
                           if i.name == target.key else i for i in spec.inputs]}
    if target.kind == "output":
        return {"outputs": [o.model_copy(update={"name": new, "explicit": True}) if o.name == target.key else o
                            for o in spec.outputs]}
    if target.kind in NAMED_LISTS:
        return {target.kind: [new if str(x) == target.key else x for x in getattr(spec, target.kind)]}
    return {}


def _edit(parent: RequirementSpec, instruction: str) -> tuple[dict, list[str], list[str]] | None:
    """A remove / rename / retype / replace edit: (spec update, what changed, what could not be applied),
    or None when the instruction is not one of these (it adds)."""
    text = " ".join(instruction.split())
    named = targets(text, parent)
    if lx.has(text, "edit_rename"):
        if not named:
            return {}, [], [f"Could not rename: {text!r} names no input, output or step of the workflow."]
        old = named[0]
        taken = {i.name for i in parent.inputs} | {o.name for o in parent.outputs}
        new = _new_name(text, old.end, taken)
        if not new or old.kind == "tool":
            return {}, [], [f"Could not rename {old.key}: say the new name as a variable name (letters, digits, _)."]
        return _renamed(parent, old, new), [f"renamed {old.kind} {old.key} -> {new}"], []
    if lx.has(text, "edit_remove"):
        if not named:
            return {}, [], [f"Could not remove anything: {text!r} names no input, output, tool or step of the workflow "
                            f"(it has inputs {', '.join(i.name for i in parent.inputs) or 'none'}, outputs "
                            f"{', '.join(o.name for o in parent.outputs) or 'none'}, tools {', '.join(parent.tools) or 'none'})."]
        return _without(parent, named), [f"removed {t.kind} {t.key}" for t in named], []
    existing = {i.name for i in parent.inputs} | {o.name for o in parent.outputs}
    if any(v.explicit and v.name not in existing for v in analyse(text).inputs):
        return None  # "replace the text input with a file input called survey_file": a new variable, added
    new_type = next((kind for cue, kind in TYPES if lx.has(text, cue)), None)
    inputs = [t for t in named if t.kind == "input"]
    if new_type and inputs:
        keys = {t.key for t in inputs}
        return ({"inputs": [i.model_copy(update={"type": new_type}) if i.name in keys else i for i in parent.inputs]},
                [f"input {k} is now {new_type}" for k in keys], [])
    if lx.has(text, "replace") and named:  # without a target ("I'd rather give it a URL") it adds
        old = named[0]
        link = lx.find(text[old.end:], "edit_with")
        after = text[old.end + link.end():] if link else ""
        between = text[old.end:old.end + link.start()] if link else ""
        rest = _strip_links(after) if len(_strip_links(after)) > 1 else _strip_links(between)
        if not rest:
            return None
        delta = analyse(rest)
        update = _without(parent, [old])
        changed = [f"replaced {old.kind} {old.key}"]
        if old.kind == "output" and not any(o.explicit for o in delta.outputs):  # same result, another form
            was = next(o for o in parent.outputs if o.name == old.key)
            update["outputs"] = [was.model_copy(update={"description": rest}) if o.name == old.key else o
                                 for o in parent.outputs]
            update["constraints"] = [*parent.constraints, rest]
        else:
            for key in ("tools", "classes", "sections", "languages"):
                update[key] = list(dict.fromkeys([*update.get(key, getattr(parent, key)), *getattr(delta, key)]))
            update["outputs"] = update["outputs"] + [o for o in delta.outputs if o.explicit]
            update["inputs"] = update["inputs"] + [i for i in delta.inputs if i.explicit]
        return update, changed, []
    return None


def merge(parent: RequirementSpec, instruction: str) -> tuple[RequirementSpec, list[str]]:
    """The parent's spec changed by ``instruction``, and what changed (empty: nothing could be applied;
    then ``spec.notes`` says why when the instruction named something the workflow does not have)."""
    base = {"requirement": parent.requirement, "edits": [*parent.edits, instruction.strip()],
            "language": parent.language, "app_mode": parent.app_mode, "name": parent.name}
    edit = _edit(parent, instruction)
    if edit is not None:
        update, changed, refused = edit
        spec = parent.model_copy(update={**base, **update, "notes": [*parent.notes, *refused]})
        return spec, changed
    return _add(parent, instruction, base)


def _says_input(text: str) -> bool:
    """Whether ``text`` calls what it adds an input: an input cue other than the bare word "variable"
    (which names outputs as often: "also return a subject line (variable subject)")."""
    generic = {w.lower() for w in lx.cues("variable_cue")}
    pattern = lx.category("input_word")
    return bool(pattern) and any(m.group(0).lower() not in generic for m in pattern.finditer(text))


def _add(parent: RequirementSpec, instruction: str, base: dict) -> tuple[RequirementSpec, list[str]]:
    """What the instruction adds, merged into the parent's spec."""
    delta = analyse(instruction)
    changed: list[str] = []
    update: dict = dict(base)
    inputs = list(parent.inputs)
    said_input = _says_input(instruction) or lx.has(instruction, "select") or lx.has(instruction, "file")
    if lx.has(instruction, "replace") and said_input and any(i.explicit for i in delta.inputs):
        kinds = {i.type for i in delta.inputs if i.explicit}  # "count it rather than asking the model" replaces no input
        inputs = [i for i in inputs if i.explicit and i.type in kinds]
        changed.append("replaced inputs")
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
