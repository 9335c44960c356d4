"""Configuration agent: ``Blueprint`` -> ``WorkflowPlan`` (prompts, classes, conditions, code, HTTP...).

The offline brain writes each step's configuration from its purpose and the spec's specifics
(classes, languages, limits, URLs, fields); repair feedback is folded into the prompts.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from core.agents import calc, chat_state
from core.agents import lexicon as lx
from core.agents.architecture import FINAL_ROLE
from core.agents.brain import Brain
from core.agents.code_recipes import (
    FILTER_PREFIX,
    PAYLOAD_PREFIX,
    RECIPES,
    filter_recipe,
    payload_recipe,
    pick_recipe,
    place_tokens,
    skeleton,
)
from core.agents.ir import env_constants
from core.agents.models import (
    AssignSpec,
    Binding,
    Blueprint,
    BlueprintStep,
    CaseSpec,
    CodeOutput,
    ConditionSpec,
    LoopVarSpec,
    ParamSpec,
    PlanStep,
    RequirementSpec,
    StageResult,
    StartVarPlan,
    WorkflowPlan,
)
from core.agents.outputs import catalogue
from core.agents.rules import numeric_condition, slug, verdict

AGENT = "configuration"

ICONS = (("translation", "🌐"), ("retrieval", "📚"), ("classification", "🗂️"), ("http", "🔗"), ("code", "🧮"),
         ("image_input", "🖼️"), ("file_input", "📄"), ("extraction", "🧾"), ("loop", "🔁"), ("agent", "🕵️"))


class ConfigurationInput(BaseModel):
    spec: RequirementSpec
    blueprint: Blueprint
    feedback: str | None = None
    previous: WorkflowPlan | None = None


def _labels(spec: RequirementSpec, blueprint: Blueprint) -> dict[str, str]:
    # in another language than English a label that only spells the variable name is shown as the name itself
    names = {f"start.{i.name}": i.name if spec.language != "en" and i.label.lower() == i.name.replace("_", " ").lower()
             else i.label for i in spec.inputs}
    names["sys.query"] = "User message"
    for cv in spec.conversation_vars:
        names[f"conversation.{cv.name}"] = f"Remembered {cv.name.replace('_', ' ')}" if spec.language == "en" else cv.name
    return names | {s.id: s.name for s in blueprint.steps}


def _label(ref: str, labels: dict[str, str]) -> str:
    if ref in labels:
        return labels[ref]
    step, _, field = ref.partition(".")
    base = labels.get(step, step.replace("_", " "))
    field = field.split(".")[-1].replace("_", " ")
    return base if field in ("text", "output", "body", "result") else f"{base} ({field})"


def _user_prompt(reads: list[str], labels: dict[str, str]) -> str:
    return "\n\n".join(f"{_label(r, labels)}:\n{{{{{r}}}}}" for r in reads)


def _constraints(spec: RequirementSpec) -> str:
    lines = []
    if spec.constraints:
        lines.append("Respect these limits exactly: " + "; ".join(spec.constraints) + ".")
    if spec.languages and not spec.has("translation"):
        lines.append("Write the answer in " + " and ".join(spec.languages) + ".")
    return "\n".join(lines)


ROLES = (
    (r"\b(review|proofread|correct|fix)(?:ed|ing)?\b", "You are a meticulous editor who checks work and corrects its mistakes."),
    (r"\btranslat", "You are a professional translator who keeps meaning, tone and formatting."),
    (r"\b(score|rate|assess|decide|verdict|judge|screen|evaluat)\w*", "You are a careful, impartial evaluator."),
    (r"\b(hand\w* (?:the conversation )?over|escalat)\w*", "You are a polite support assistant who hands conversations "
     "over to a human colleague."),
    (r"\b(sql|database)\b", "You are an expert SQL developer."),
    (r"\b(merge|compare)\w*", "You are an expert reviewer who compares answers and combines the best of each."),
    (r"\b(repl\w*|respond|apolog\w*|thank)\b", "You are an experienced support agent who writes clear, friendly replies."),
    (r"\b(summar\w*|digest|briefing|report|complaints)\b", "You are an analyst who writes concise, accurate summaries."),
    (r"\b(answer)\w*", "You are a knowledgeable assistant who answers questions accurately."),
    (r"\b(describe|tags?|hashtags?|explain|comment)\w*", "You are a precise analyst who explains things plainly."),
    (r"\b(write|draft|generate|compose|create|slogan|tweet|quiz)\w*", "You are a skilled writer."),
)
OUTPUTS = (
    (r"first line", "Follow the format described in the task exactly; add nothing else."),
    (r"\b(review|proofread|correct|fix)(?:ed|ing)?\b", "Return only the corrected text."),
    (r"\btranslat", "Return only the translation, keeping the original formatting."),
    (r"\b(repl\w*|respond|apolog\w*|thank\w*)\b", "Return only the message, ready to send."),
)


def _role(purpose: str) -> str:
    return next((role for pattern, role in ROLES if re.search(pattern, purpose, re.I)), "You are a careful assistant.")


def _output_format(step: BlueprintStep, chat: bool) -> str:
    if step.name == "Draft sections" and step.labels:
        return "Return one field per section: " + ", ".join(step.labels) + "."
    found = next((text for pattern, text in OUTPUTS if re.search(pattern, step.purpose, re.I)), None)
    if found:
        return found
    return "Reply conversationally in plain text." if chat else "Return only the result, without preamble or closing remarks."


MANGLED = re.compile(r"\(\s*\)|（[^）]{0,3}）|「\s*」|\s[,.;:，。、）)]|^[\W_]|^[をにがはでとの]|\b(\w+)\s+\1\b"
                     r"|[\u3040-\u30ff\u4e00-\u9fff]\s+[\u3040-\u30ff\u4e00-\u9fff]", re.I)
"""Signs that a clause lost a name it referred to ("（变量 ）", "Output and.", "が 10 未満") or was doubled ("Write Write")."""


CLAUSE = re.compile(r"(\s*[.;!?。；！？，]\s*|,\s+)")
"""Where a purpose splits into clauses; a clause copied at length from the requirement is left out."""


def step_kind(step: BlueprintStep, spec: RequirementSpec, blueprint: Blueprint) -> str:
    """The part an LLM step plays in the plan: write, branch, critique, revise, merge, per_item or translate."""
    by_id = {s.id: s for s in blueprint.steps}
    parent = by_id.get(step.parent or "")
    llm_reads = [by_id[r.split(".")[0]] for r in step.reads if by_id.get(r.split(".")[0]) is not None
                 and by_id[r.split(".")[0]].type == "llm"]
    if parent is not None and parent.type == "loop":
        return "revise" if any(s.parent == step.parent for s in llm_reads) else "critique"
    if step.focus and (step.focus in spec.languages or step.focus.lower() in (lang.lower() for lang in spec.languages)):
        return "translate"
    if step.labels and step.labels[0] in spec.classes:
        return "branch"
    if len(llm_reads) >= 2:
        return "merge"
    if parent is not None and parent.type == "iteration":
        return "per_item"
    if step.labels and (step.labels[0] == "otherwise" or any(b.condition == step.labels[0] for b in spec.branches)):
        return "case"
    return "write"


def clean_action(purpose: str, spec: RequirementSpec) -> str | None:
    """The step's own action phrase when it is a clean sentence in the spec's language, written for the step
    (not a long span copied from the requirement, not a clause that lost its names), else None."""
    from core.evaluation import Requirement  # the eval's copied-span rule: one definition of "copied"

    text = " ".join(re.sub(r"https?://[^\s，。；）)]+", "", purpose or "").split())  # addresses belong to HTTP steps
    if len(text) < 3 or lx.detect(text) != spec.language:
        return None
    source, plain = Requirement(spec.requirement), Requirement()
    kept = [c for c in CLAUSE.split(text) if c and not CLAUSE.fullmatch(c)]
    kept = [re.sub(r"^(?:and|then|also|or)\s+", "", c.strip(), flags=re.I) for c in kept]
    kept = [c.strip() for c in kept if c.strip() and not MANGLED.search(c.strip())
            and source.strip_copies(c.strip()) == plain.strip_copies(c.strip())]
    if not kept:
        return None
    stop = "。" if spec.language in ("zh", "ja") else "."
    return " ".join(c[:1].upper() + c[1:].rstrip(".。") + stop for c in kept) if spec.language not in ("zh", "ja") \
        else "".join(c.rstrip(".。") + stop for c in kept)


def _output_names(step: BlueprintStep, blueprint: Blueprint) -> list[str]:
    """The End outputs this step's result becomes (through any aggregator/loop in between)."""
    names = []
    for end in (s for s in blueprint.steps if s.type in ("end",)):
        for name, ref in zip(end.labels, end.reads, strict=False):
            source = ref.split(".")[0]
            feeders = {source} | {r.split(".")[0] for s in blueprint.steps if s.id == source for r in s.reads}
            if step.id in feeders and name not in names:
                names.append(name)
    return names


def step_task(step: BlueprintStep, spec: RequirementSpec, blueprint: Blueprint, labels: dict[str, str],
              reads: list[str]) -> tuple[str, str, str]:
    """(role, task, output format) of an LLM step, written for its part in the plan from lexicon templates in the
    spec's language; the step's own action phrase is used only when it is clean (see ``clean_action``)."""
    lang, kind = spec.language, step_kind(step, spec, blueprint)
    action = clean_action(step.purpose, spec)
    outs = [n for n in _output_names(step, blueprint) if n != "result"]
    what = ", ".join(outs) or lx.say(lang, "result")
    source = _label(reads[0], labels) if reads else lx.say(lang, "item")
    if kind == "critique":
        word = next((label.removeprefix("stop:") for label in step.labels if label.startswith("stop:")), None)
        task = action or (lx.say(lang, "task_critique_word", word) if word else lx.say(lang, "task_critique_score"))
        if not word and "score" not in task:
            task += " " + lx.say(lang, "task_critique_score")
    elif kind == "revise":
        task = lx.say(lang, "task_revise")
    elif kind == "merge":
        task = lx.say(lang, "task_merge")
    elif kind == "translate":
        language = lx.language_name(step.focus, lang) if step.focus in lx.LANGUAGE_NAMES else (step.focus or "")
        task = action or lx.say(lang, "translate_task", source, language)
    elif kind == "branch":
        head = lx.say(lang, "class_case", step.labels[0])
        task = head + " " + (action_tail(step, head, spec) or lx.say(lang, "task_branch", what))
    elif kind == "case":
        head = (lx.say(lang, "other_case") if step.labels[0] == "otherwise" else lx.say(lang, "branch_case", step.labels[0]))
        task = head + " " + (action_tail(step, head, spec) or lx.say(lang, "task_branch", what))
    elif kind == "per_item":
        task = lx.say(lang, "per_item", action or lx.say(lang, "task_write", what))
    else:
        task = action or lx.say(lang, "task_write", what)
    out = {"critique": "out_critique", "revise": "out_revise", "translate": "out_translation",
           "branch": "out_message"}.get(kind)
    role = lx.phrase(lang, f"role_{kind}") or lx.say(lang, "role")
    return role, task.strip(), lx.say(lang, out) if out else ""


def action_tail(step: BlueprintStep, head: str, spec: RequirementSpec) -> str | None:
    """A branch's own action: its purpose after the sentence naming the case, when clean."""
    rest = step.purpose.removeprefix(head).strip() if step.purpose.startswith(head) else ""
    return clean_action(rest, spec) if rest else None


def _inputs_section(reads: list[str], labels: dict[str, str], blueprint: Blueprint, lang: str) -> str:
    """Each input by name and what it is (given by the user, or which step made it)."""
    names = {s.id: s.name for s in blueprint.steps}
    lines = []
    for ref in reads:
        head = ref.split(".")[0]
        what = (lx.say(lang, "input_user") if head in ("start", "sys", "conversation")
                else lx.say(lang, "input_step", names.get(head, head)))
        lines.append(f"- {_label(ref, labels)}: {what}")
    return "\n".join(lines)


def _llm(step: BlueprintStep, spec: RequirementSpec, blueprint: Blueprint, labels: dict[str, str], feedback: str | None,
         retrieval: set[str]) -> PlanStep:
    def is_context(ref: str) -> bool:
        return ref.split(".")[0] in retrieval

    reads = [r for r in step.reads if not is_context(r) and not _is_image(r, spec)]
    reads += [r for r in env_reads(step, spec) if r not in reads]
    context = next((r for r in step.reads if is_context(r)), None)
    vision = next((r for r in step.reads if _is_image(r, spec)), None)
    chat = spec.app_mode == "advanced-chat"
    lang = spec.language
    if lang != "en":
        return _llm_localized(step, spec, blueprint, labels, reads, context, vision)
    role, task, fmt = step_task(step, spec, blueprint, labels, reads)
    role = _role(task) if step_kind(step, spec, blueprint) == "write" and task == clean_action(step.purpose, spec) else role
    parts = [role, f"## Task\n{_escape(task)}"]
    if reads:
        parts.append(f"## Inputs\n{_inputs_section(reads, labels, blueprint, lang)}")
    rules = []
    if step.focus == FINAL_ROLE or (step.focus and step.focus in spec.languages):
        rules += [line for line in _constraints(spec).split("\n") if line]
        if feedback:
            rules.append(f"Make sure the result covers: {feedback}")
    terms = step_literals(step, spec, blueprint, task)
    if terms:
        rules.append(lx.say(lang, "literals_rule", ", ".join(quote(x, spec) for x in terms)))
    if reads:
        rules.append("Work only from the inputs in the user message (" + ", ".join(_label(r, labels) for r in reads) + ").")
    if context:
        rules.append("Ground your answer in the knowledge below; if it does not contain the answer, say so instead of guessing.")
    if vision:
        rules.append("Look carefully at the attached image.")
    if rules:
        parts.append("## Rules\n" + "\n".join(f"- {r}" for r in rules))
    if context:
        parts.append("## Knowledge\n{{#context#}}")
    parts.append(f"## Output\n{fmt or _output_format(step, chat)}")
    temperature = 0.2 if re.search(r"\b(extract|classif|decide|check|verdict|assess|translate|score|rate|review|fix)\w*",
                                   task, re.I) else 0.7
    return PlanStep(
        id=step.id, type="llm", title=step.name, after=step.after, parent=step.parent,
        system="\n\n".join(parts), user=_user_prompt(reads, labels) or ("{{sys.query}}" if chat else ""),
        temperature=temperature, context=context, vision=vision,
        memory_window=10 if chat and step.parent is None and step.focus == FINAL_ROLE else None,
        structured_fields=step.labels if step.name == "Draft sections" else [],
    )


def _llm_localized(step: BlueprintStep, spec: RequirementSpec, blueprint: Blueprint, labels: dict[str, str],
                   reads: list[str], context: str | None, vision: str | None) -> PlanStep:
    """An LLM step's prompt in the requirement's language: role, task, inputs by name, rules, output format."""
    lang, chat = spec.language, spec.app_mode == "advanced-chat"
    role, task, fmt = step_task(step, spec, blueprint, labels, reads)
    parts = [role, f"## {lx.say(lang, 'task')}\n{_escape(task)}"]
    if reads:
        parts.append(f"## {lx.say(lang, 'inputs')}\n{_inputs_section(reads, labels, blueprint, lang)}")
    rules = []
    if reads:
        rules.append(lx.say(lang, "use_inputs", "、".join(_label(r, labels) for r in reads) if lang in ("zh", "ja")
                            else ", ".join(_label(r, labels) for r in reads)))
    if step.focus == FINAL_ROLE and spec.constraints:
        rules.append(lx.say(lang, "limits_rule", "; ".join(spec.constraints)))
    terms = step_literals(step, spec, blueprint, task)
    if terms:
        rules.append(lx.say(lang, "literals_rule", ("、" if lang in ("zh", "ja") else ", ").join(quote(x, spec) for x in terms)))
    if context:
        rules.append(lx.say(lang, "grounded"))
    parts.append(f"## {lx.say(lang, 'rules')}\n" + "\n".join(f"- {r}" for r in rules)) if rules else None
    if context:
        parts.append(f"## {lx.say(lang, 'knowledge_head')}\n{{{{#context#}}}}")
    sections = any(r.startswith(f"{step.id}.structured_output.") for s in blueprint.steps for r in s.reads)
    if sections:  # which field holds which heading
        fmt = lx.say(lang, "sections_out", "、".join(f"{k}（{h}）" for k, h in zip(step.labels, spec.sections, strict=False)))
    parts.append(f"## {lx.say(lang, 'output')}\n{fmt or lx.say(lang, 'chat_reply' if chat else 'only_result')}")
    memory = 10 if chat and step.parent is None and step.focus == FINAL_ROLE else None
    user = _user_prompt(reads, labels) or ("{{sys.query}}" if chat and not memory else "")
    return PlanStep(id=step.id, type="llm", title=step.name, after=step.after, parent=step.parent,
                    system="\n\n".join(parts), user=user, temperature=0.3, context=context, vision=vision,
                    memory_window=memory, structured_fields=step.labels if sections else [])


LITERAL_KINDS = ("write", "per_item", "branch", "case", "merge", "critique")
"""The parts of a plan whose prompt must carry the user's literals (tags, tokens, fixed phrases, stop words)."""


def step_literals(step: BlueprintStep, spec: RequirementSpec, blueprint: Blueprint, prompt: str = "") -> list[str]:
    """The literals of the requirement this LLM step uses and its prompt does not spell yet: every literal for the
    step that writes a result (the final one, a per-item one, a branch's, a judge's), none for helpers
    (translations, revisions of a draft). Environment constants are read as references, not spelled."""
    if not spec.literals or step_kind(step, spec, blueprint) not in LITERAL_KINDS:
        return []
    if step.focus != FINAL_ROLE and step.parent is None and step_kind(step, spec, blueprint) == "write" and any(
            s.focus == FINAL_ROLE for s in blueprint.steps if s.type == "llm"):
        return []
    env = set(env_constants(spec.requirement))
    return [x for x in spec.literals if x not in env and x not in prompt]


def quote(literal: str, spec: RequirementSpec) -> str:
    """``literal`` in quote marks of the prompt's language that are not the ones around it in the requirement (the
    prompt spells the literal; it does not copy the requirement's sentence)."""
    marks = ("「」", "“”", '""') if spec.language in ("zh", "ja") else ("“”", '""', "「」")
    pair = next((m for m in marks if f"{m[0]}{literal}{m[1]}" not in spec.requirement), marks[0])
    return f"{pair[0]}{literal}{pair[1]}"


def env_reads(step: BlueprintStep, spec: RequirementSpec) -> list[str]:
    """``env.NAME`` for each environment constant the requirement names, read by the step that writes the result."""
    if step.focus != FINAL_ROLE and step.parent is None:
        return []
    used = {v for c in spec.http_calls for v in [*c.headers.values(), *c.params.values()]}
    return [f"env.{n}" for n in env_constants(spec.requirement) if not any(n in u for u in used)]


def _escape(text: str) -> str:
    """User text is data: Dify template syntax in it must not become a live reference."""
    return text.replace("{{", "{ {").replace("}}", "} }")


def _is_image(ref: str, spec: RequirementSpec) -> bool:
    """An image input, or the item of an iteration over a list of images."""
    if ref.endswith(".item") and any(i.type == "file-list" and "image" in i.file_types for i in spec.inputs):
        return True
    return any(ref == f"start.{i.name}" and "image" in i.file_types for i in spec.inputs)


def _configure_step(step: BlueprintStep, spec: RequirementSpec, blueprint: Blueprint, labels: dict[str, str],
                    feedback: str | None) -> PlanStep:
    base = {"id": step.id, "type": step.type, "title": step.name, "after": step.after, "parent": step.parent}
    query = step.reads[0] if step.reads else ("sys.query" if spec.app_mode == "advanced-chat" else None)
    match step.type:
        case "llm":
            retrieval = {s.id for s in blueprint.steps if s.type == "knowledge-retrieval"}
            return _llm(step, spec, blueprint, labels, feedback, retrieval)
        case "knowledge-retrieval":
            return PlanStep(**base, query=query, top_k=4)
        case "question-classifier":
            instruction = f"{step.purpose}. Pick the single best category for the {labels.get(query or '', 'input').lower()}."
            return PlanStep(**base, query=query, classes=step.labels, instruction=instruction)
        case "if-else":
            cases = []
            for label in step.labels:
                typed = re.fullmatch(r"(>|<|≥|≤|=|≠) (-?\d+(?:\.\d+)?)", label)
                if typed:
                    cases.append(CaseSpec(label=label, conditions=[ConditionSpec(ref=query or "", operator=typed.group(1),  # type: ignore[arg-type]
                                                                                 value=typed.group(2))]))
                elif label.startswith("file:"):  # the uploaded file's type (a file attribute)
                    cases.append(CaseSpec(label=label, conditions=[ConditionSpec(ref=f"{query}.type", operator="is",
                                                                                 value=label.removeprefix("file:"))]))
                elif label.startswith("contains:"):  # a word the input contains (a chat's reset word)
                    cases.append(CaseSpec(label=label, conditions=[ConditionSpec(ref=query or "", operator="contains",
                                                                                 value=label.removeprefix("contains:"))]))
                elif label == "not empty":
                    cases.append(CaseSpec(label=label, conditions=[ConditionSpec(ref=query or "", operator="not empty")]))
                elif numeric := numeric_condition(label):
                    cases.append(CaseSpec(label=label, conditions=[ConditionSpec(ref=query or "", operator=numeric[1],
                                                                                 value=numeric[2])]))
                else:
                    cases.append(CaseSpec(label=label, conditions=[ConditionSpec(ref=query or "", operator="contains",
                                                                                 value=verdict(label))]))
            return PlanStep(**base, cases=cases)
        case "code" if step.labels and step.labels[0].startswith("keep_known:"):
            names = step.labels[0].removeprefix("keep_known:").split(",")
            pairs = list(zip(step.reads[::2], step.reads[1::2], strict=False))
            bindings = [Binding(name=f"{age}_{n}", ref=ref) for n, pair in zip(names, pairs, strict=False)
                        for age, ref in zip(("new", "old"), pair, strict=True)]
            return PlanStep(**base, code=chat_state.keep_known_code(names), bindings=bindings,
                            code_outputs=[CodeOutput(name=n, type="string") for n in names])
        case "code" if step.labels and step.labels[0].startswith("skeleton:"):
            outs = step.labels[0].removeprefix("skeleton:").split(",")
            kinds = {i.name: i.type for i in spec.inputs}
            env = set(env_constants(spec.requirement))
            reads = list(step.reads) + [f"env.{n}" for n in sorted(env) if f"env.{n}" not in step.reads]
            names = {r.split(".")[-1].lower(): kinds.get(r.split(".")[-1], "text-input") for r in reads}
            terms = [x for x in spec.literals if x not in env]
            return PlanStep(**base, code=skeleton(names, outs, spec.goal, terms),
                            bindings=[Binding(name=r.split(".")[-1].lower(), ref=r) for r in reads],
                            code_outputs=[CodeOutput(name=o, type="string") for o in outs])
        case "template-transform" if step.labels and step.labels[0].startswith("format:"):
            return PlanStep(**base, template=step.labels[0].removeprefix("format:"),
                            bindings=[Binding(name=r.split(".")[-1], ref=r) for r in step.reads])
        case "code" if step.labels and step.labels[0].startswith(calc.CALC_PREFIX):
            recipe = calc.recipe(step.labels[0])
            return PlanStep(**base, code=recipe.code, bindings=[Binding(name=n, ref=r) for n, r in calc.bindings(step.labels[0])],
                            code_outputs=[CodeOutput(name=k, type=v) for k, v in recipe.outputs.items()])  # type: ignore[arg-type]
        case "code":
            key = next((label for label in step.labels if not label.startswith("stop:")), "")
            if key.startswith((calc.JSON_CHECK_PREFIX, calc.SPLIT_PREFIX, calc.MATCH_PREFIX)):
                recipe = (calc.json_check(key) if key.startswith(calc.JSON_CHECK_PREFIX) else calc.split_recipe(key)
                          if key.startswith(calc.SPLIT_PREFIX) else calc.match_recipe(key))
                bindings = [Binding(name=recipe.input, ref=query or "")]
            elif key.startswith(FILTER_PREFIX):
                recipe = filter_recipe(key)
                bindings = [Binding(name=recipe.input, ref=query or "")]
            elif key.startswith(PAYLOAD_PREFIX):
                recipe = payload_recipe(key.removeprefix(PAYLOAD_PREFIX).split(","), len(step.reads))
                bindings = [Binding(name=f"part_{i + 1}", ref=r) for i, r in enumerate(step.reads)]
            else:
                recipe = RECIPES.get(key) or pick_recipe(step.purpose)
                bindings = [Binding(name=recipe.input, ref=query or "")]
            return PlanStep(**base, code=place_tokens(recipe.code, spec.requirement, spec.literals), bindings=bindings,
                            code_outputs=[CodeOutput(name=k, type=v) for k, v in recipe.outputs.items()])  # type: ignore[arg-type]
        case "template-transform" if step.labels and step.labels[0].startswith("fixed:"):
            text = step.labels[0].removeprefix("fixed:")
            return PlanStep(**base, template=text.replace("{", "{{ '{' }}").replace("}", "{{ '}' }}") if "{" in text else text)
        case "template-transform":
            names = [slug(label) if slug(label) != "input" else f"section_{i + 1}" for i, label in enumerate(step.labels)] \
                or [f"part_{i + 1}" for i in range(len(step.reads))]  # a CJK heading has no ASCII slug
            if spec.sections and step.labels == spec.sections:
                body = f"# {spec.name}\n\n" + "\n\n".join(f"## {label}\n\n{{{{ {name} }}}}" for label, name in zip(step.labels, names, strict=False))
            else:
                body = "\n\n".join(f"**{label}**\n\n{{{{ {name} }}}}" for label, name in zip(step.labels or names, names, strict=False))
            return PlanStep(**base, template=body, bindings=[Binding(name=n, ref=r) for n, r in zip(names, step.reads, strict=False)])
        case "http-request":
            return _http(step, spec, base)
        case "tool":
            tool = catalogue().get(step.labels[0] if step.labels else "") or catalogue()["duckduckgo"]
            return PlanStep(**base, query=query, tool_provider=tool["provider"], tool_name=tool["tool"],
                            tool_label=tool["label"], tool_param=tool["param"], plugin=tool["plugin"])
        case "variable-aggregator":
            return PlanStep(**base, refs=step.reads)
        case "assigner":
            return PlanStep(**base, assignments=_assignments(step))
        case "parameter-extractor":
            if step.labels and all(":" in f for f in step.labels):
                # "name:type" or "name:type:description" (an optional parameter of a chat's capture step)
                parts = [f.split(":", 2) for f in step.labels]
                params = [ParamSpec(name=p[0], type=p[1], description=p[2] if len(p) > 2 else step.purpose,  # type: ignore[arg-type]
                                    required=len(p) < 3) for p in parts]
                return PlanStep(**base, query=query, parameters=params, instruction=step.purpose)
            params = [ParamSpec(name=slug(f), type="number" if re.search(r"\b(amount|total|price|count|number of|score)\b", f, re.I) else "string",
                                description=f"The {f.replace('_', ' ')}", required=len(step.labels) > 1) for f in step.labels]
            return PlanStep(**base, query=query, parameters=params, instruction=step.purpose)
        case "iteration":
            return PlanStep(**base, query=query, output=step.labels[0] if step.labels else None)
        case "loop":
            max_rounds = spec.loop.max_iterations if spec.loop else 3
            children = [s for s in blueprint.steps if s.parent == step.id]
            retry = any(label.startswith("break:") for child in children for label in child.labels)
            loop_vars = ([LoopVarSpec(name=label, initial="") for label in step.labels] if retry
                         else [LoopVarSpec(name=label, initial=query or "") for label in step.labels[:1]])
            stop = []
            for child in children:
                for label in child.labels:
                    if label.startswith("break:"):  # break:<field of this step>|<operator>|<value>
                        field, op, value = (label.removeprefix("break:").split("|") + ["", ""])[:3]
                        stop.append(ConditionSpec(ref=f"{child.id}.{field}", operator=op, value=value))  # type: ignore[arg-type]
                        continue
                    if not label.startswith("stop:"):
                        continue
                    typed = re.fullmatch(r"stop:(>|<|≥|≤|=) (\S+)", label)
                    if typed:
                        stop.append(ConditionSpec(ref=f"{child.id}.score", operator=typed.group(1), value=typed.group(2)))  # type: ignore[arg-type]
                    else:
                        stop.append(ConditionSpec(ref=f"{child.id}.text", operator="contains", value=label.removeprefix("stop:")))
            return PlanStep(**base, loop_count=max_rounds, loop_vars=loop_vars, break_conditions=stop,
                            instruction=f"Up to {max_rounds} rounds; stop when {spec.loop.until if spec.loop and spec.loop.until else 'the critique says GOOD'}.")
        case "document-extractor":
            return PlanStep(**base, query=query)
        case "list-operator":
            flt = spec.list_filter
            return PlanStep(**base, query=query, filter_key=flt.key if flt and flt.value else None,
                            filter_operator=flt.operator if flt else ">", filter_value=flt.value if flt else "",
                            order_key=flt.sort_key if flt else None, order_desc=flt.descending if flt else True,
                            limit=flt.limit if flt else None)
        case "agent":
            return PlanStep(**base, query=query, instruction=f"{step.purpose}\n\n{_constraints(spec)}".strip(),
                            tool_provider="duckduckgo", tool_name="ddgo_search", tool_label="DuckDuckGo Search")
        case "end":
            return PlanStep(**base, outputs=[Binding(name=n, ref=r) for n, r in zip(step.labels, step.reads, strict=False)])
        case "answer":
            fixed = [_escape(label.removeprefix("fixed:")) for label in step.labels if label.startswith("fixed:")]
            lines = [label.removeprefix("text:") for label in step.labels if label.startswith("text:")]
            text = "\n\n".join(fixed or [f"{{{{{r}}}}}" for r in step.reads] + lines)
            return PlanStep(**base, answer=text or "{{sys.query}}")
        case _:
            return PlanStep(**base)


def _assignments(step: BlueprintStep) -> list[AssignSpec]:
    """An assigner's writes. Without labels the reads are (target, value) pairs (over-write); with labels each label
    is one write's operation, ``op`` (its reads: target, value; ``clear``: target only) or ``op:constant``
    (``+=:1``; its reads: target only)."""
    if not step.labels:
        return [AssignSpec(target=t, value=v) for t, v in zip(step.reads[::2], step.reads[1::2], strict=False)]
    reads, out = iter(step.reads), []
    for label in step.labels:
        operation, _, constant = label.partition(":")
        target = next(reads, None)
        if target is None or operation not in AssignSpec.model_fields["operation"].annotation.__args__:  # type: ignore[union-attr]
            break
        value = constant if constant or operation == "clear" else next(reads, "")
        out.append(AssignSpec(target=target, operation=operation, value=value))  # type: ignore[arg-type]
    return out


def _http(step: BlueprintStep, spec: RequirementSpec, base: dict) -> PlanStep:
    """Method, URL (placeholder query parameters become bound params), headers and the JSON body of a request."""
    url = step.labels[0] if step.labels else "{{start.url}}"
    call = next((c for c in spec.http_calls if c.url and c.url == url), None)
    payload = next((r for r in step.reads if r.endswith(".payload")), None)
    params = [Binding(name=r.split(".")[-1], ref=r) for r in step.reads if r != "start.url" and r != payload]
    base_url, _, query = url.partition("?")
    if query and "{{" not in url:
        fixed = []
        for pair in query.split("&"):
            name, _, value = pair.partition("=")
            if value.strip(".<>{} ") or f"start.{slug(name)}" not in {p.ref for p in params}:
                fixed.append(pair)
            else:
                params = [p for p in params if p.ref != f"start.{slug(name)}"] + [Binding(name=name, ref=f"start.{slug(name)}")]
        url = base_url + ("?" + "&".join(fixed) if fixed else "")
    headers = [Binding(name="Accept", ref="application/json" if call else "text/html")]
    if payload:
        headers.append(Binding(name="Content-Type", ref="application/json"))
    if call:
        headers += [Binding(name=k, ref=v) for k, v in call.headers.items()]
        params += [Binding(name=k, ref=v) for k, v in call.params.items()]
    return PlanStep(**base, method=call.method if call else "get", url=url,
                    params=[p for p in params if not payload or "env." in p.ref],
                    headers=headers, body_json=f"{{{{{payload}}}}}" if payload else None)


def configure(inp: ConfigurationInput) -> WorkflowPlan:
    """The offline configurator: every blueprint step gets a complete configuration."""
    spec, blueprint = inp.spec, inp.blueprint
    labels = _labels(spec, blueprint)
    icon = next((emoji for cap, emoji in ICONS if spec.has(cap)), "🤖")
    return WorkflowPlan(
        app_mode=blueprint.app_mode,
        name=blueprint.name,
        description=spec.goal,
        icon=icon,
        start_title=next((s.name for s in blueprint.steps if s.type == "start"), "Start"),
        start_vars=[StartVarPlan(name=i.name, label=i.label, type=i.type, required=i.required, options=i.options,
                                 file_types=list(i.file_types)) for i in spec.inputs],
        conversation_vars=spec.conversation_vars,
        steps=[_configure_step(step, spec, blueprint, labels, inp.feedback) for step in blueprint.steps if step.type != "start"],
    )


def _holds(plan: WorkflowPlan, blueprint: Blueprint) -> bool:
    """Whether ``plan`` has each step of ``blueprint`` (start aside) with the same id and type."""
    steps = {s.id: s.type for s in plan.steps}
    return all(steps.get(b.id) == b.type for b in blueprint.steps if b.type != "start")


def run(inp: ConfigurationInput, brain: Brain) -> StageResult[WorkflowPlan]:
    """Configure every step of ``inp.blueprint``. A repair round whose previous plan already has every
    blueprint step (same id and type) sends the plan alone: the blueprint would repeat it, and a small
    model's context (8k tokens) does not hold both for a long workflow."""
    data: dict = {"spec": inp.spec}
    if inp.previous is None or not _holds(inp.previous, inp.blueprint):
        data["blueprint"] = inp.blueprint
    if inp.feedback:
        data["feedback"] = inp.feedback
    if inp.previous:
        data["previous_plan"] = inp.previous
    plan, calls = brain.think(AGENT, data=data, schema=WorkflowPlan, offline=lambda: configure(inp))
    return StageResult(stage=AGENT, output=plan, calls=calls)
