"""Architecture agent: ``RequirementSpec`` + retrieved patterns -> ``Blueprint`` (steps and wiring).

The offline brain composes the workflow from the spec's capabilities in a fixed order (inputs,
files, fetches, retrieval, preparation, the core generation, checks, the end), the way the
library's patterns are built; the LLM brain is asked for the same structure.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from core.agents.brain import Brain
from core.agents.code_recipes import is_check, pick_recipe
from core.agents.models import Blueprint, BlueprintStep, Link, RequirementSpec, StageResult
from core.agents.rules import slug

AGENT = "architecture"
FINAL_ROLE = "final"
"""``focus`` marker of the LLM steps that write what the user gets (they carry the spec's constraints)."""


class PatternBrief(BaseModel):
    """What the architect sees of a retrieved pattern."""

    id: str
    name: str
    description: str = ""
    node_types: list[str] = Field(default_factory=list)
    score: float = 0.0


class ArchitectureInput(BaseModel):
    spec: RequirementSpec
    patterns: list[PatternBrief] = Field(default_factory=list)
    feedback: str | None = None
    previous: Blueprint | None = None


class _Draft:
    """Accumulates blueprint steps with unique ids."""

    def __init__(self) -> None:
        self.steps: list[BlueprintStep] = []

    def add(self, type_: str, name: str, purpose: str, *, reads=(), after=(), parent=None, labels=(), focus=None,
            id_: str | None = None) -> str:
        base = id_ or slug(name)[:40]
        step_id, n = base, 2
        while any(s.id == step_id for s in self.steps) or step_id in ("sys", "conversation", "env"):
            step_id, n = f"{base}_{n}", n + 1
        links = [a if isinstance(a, Link) else Link(step=a) for a in after]
        self.steps.append(BlueprintStep(id=step_id, type=type_, name=name, purpose=purpose, reads=list(reads),
                                        after=links, parent=parent, labels=list(labels), focus=focus))
        return step_id


def _core_task(spec: RequirementSpec) -> str:
    """The requirement without the clauses that code steps take care of."""
    text = " ".join(spec.requirement.split())
    clauses = re.split(r"(?<=[.;])\s+|,?\s+then\s+", text)
    kept = [c for c in clauses if not any(step and step.lower() in c.lower() for step in spec.code_steps)
            and not re.search(r"\bcode (?:step|node|block)\b", c, re.I)]
    task = " ".join(kept).strip() or text
    return task[:1].upper() + task[1:]


def _noun(spec: RequirementSpec) -> str:
    text_inputs = [i for i in spec.inputs if i.type in ("paragraph", "text-input")]
    return text_inputs[0].label.lower() if text_inputs else "input"


def design(inp: ArchitectureInput) -> Blueprint:
    """The offline architect: a complete blueprint from the spec's capabilities."""
    spec = inp.spec
    chat = spec.app_mode == "advanced-chat"
    d = _Draft()
    d.add("start", "Start", "Collect the app's inputs", labels=[i.name for i in spec.inputs], id_="start")
    tail: list[Link] = [Link(step="start")]
    text_refs = [f"start.{i.name}" for i in spec.inputs if i.type in ("paragraph", "text-input", "number", "select")]
    main = "sys.query" if chat else (text_refs[0] if text_refs else None)
    context_refs: list[str] = [] if chat else list(text_refs)
    vision = None
    kb_context = None

    for cv in spec.conversation_vars:
        label = cv.name.replace("_", " ")
        pe = d.add("parameter-extractor", f"Capture {label}", f"Find the {label} in the user's message, if they gave it",
                   reads=[main or "sys.query"], after=tail, labels=[cv.name])
        check = d.add("if-else", f"Mentioned {label}?", f"Only remember the {label} when the user gave it",
                      reads=[f"{pe}.{cv.name}"], after=[pe], labels=["not empty"])
        remember = d.add("assigner", f"Remember {label}", f"Store the {label} in the conversation variable",
                         reads=[f"conversation.{cv.name}", f"{pe}.{cv.name}"], after=[Link(step=check, branch="not empty")])
        tail = [Link(step=remember), Link(step=check, branch="otherwise")]
        context_refs.append(f"conversation.{cv.name}")

    for var in spec.inputs:
        if var.type not in ("file", "file-list"):
            continue
        if "image" in var.file_types:
            vision = f"start.{var.name}"
            continue
        ex = d.add("document-extractor", f"Read {var.label.lower()}", f"Extract the text of the uploaded {var.label.lower()}",
                   reads=[f"start.{var.name}"], after=tail)
        tail = [Link(step=ex)]
        context_refs.insert(0, f"{ex}.text")
        main = main or f"{ex}.text"

    params = [f"start.{i.name}" for i in spec.inputs if i.type == "text-input" and i.name != "url"]
    for call in spec.http_calls:
        url = call.url or "{{start.url}}"
        h = d.add("http-request", "Call API" if call.url else "Fetch page", f"{call.method.upper()} {url}",
                  reads=params if call.url else ["start.url"], after=tail, labels=[url])
        tail = [Link(step=h)]
        context_refs = [r for r in context_refs if r != "start.url"] + [f"{h}.body"]

    if spec.tool and not spec.has("agent"):
        t = d.add("tool", "Web search", f"Search the web for: {spec.goal}", reads=[main or "sys.query"], after=tail,
                  labels=[spec.tool])
        tail = [Link(step=t)]
        context_refs.append(f"{t}.text")

    if spec.has("retrieval") and not spec.classes:
        kr = d.add("knowledge-retrieval", "Search knowledge base", "Find the passages of the knowledge base that answer the question",
                   reads=[main or "sys.query"], after=tail)
        tail = [Link(step=kr)]
        kb_context = f"{kr}.result"

    if spec.list_filter:
        recipe = pick_recipe("parse records")
        parse = d.add("code", recipe.title, "Parse the JSON list into records", reads=[main or "sys.query"], after=tail,
                      labels=[recipe.key])
        flt = spec.list_filter
        how = f"keep {flt.key} {flt.operator} {flt.value}" if flt.value else "keep every record"
        lo = d.add("list-operator", "Filter and sort", f"{how}; sort by {flt.sort_key or flt.key}",
                   reads=[f"{parse}.records"], after=[parse])
        tail = [Link(step=lo)]
        context_refs = [r for r in context_refs if r != main] + [f"{lo}.result"]

    post_checks = []
    for purpose in spec.code_steps:
        if is_check(purpose):
            post_checks.append(purpose)
            continue
        recipe = pick_recipe(purpose)
        c = d.add("code", recipe.title, purpose[:1].upper() + purpose[1:], reads=[main or "sys.query"], after=tail,
                  labels=[recipe.key])
        tail = [Link(step=c)]
        context_refs += [f"{c}.{name}" for name in recipe.outputs]

    results: list[tuple[str, str]] = []  # (output name, ref)
    if spec.extraction_fields:
        pe = d.add("parameter-extractor", "Extract fields", f"Extract {', '.join(spec.extraction_fields)} as structured fields",
                   reads=[main or "sys.query"], after=tail, labels=spec.extraction_fields)
        tail = [Link(step=pe)]
        fields = [(slug(f), f"{pe}.{slug(f)}") for f in spec.extraction_fields]
        context_refs += [ref for _, ref in fields]
        results += fields

    task = _core_task(spec)
    tail, generated = _core(d, spec, task, tail, main, context_refs, kb_context, vision, bool(results))
    results += generated
    if spec.has("translation") and len(spec.languages) == 1 and results:
        language = spec.languages[0]
        name, source = results[-1]
        tr = d.add("llm", f"Translate to {language}", f"Translate the text into {language}, keeping its formatting.",
                   reads=[source], after=tail, focus=language)
        tail, results[-1] = [Link(step=tr)], (name, f"{tr}.text")

    for purpose in post_checks:
        recipe = pick_recipe(purpose)
        source = results[-1][1] if results else (main or "sys.query")
        c = d.add("code", recipe.title, purpose[:1].upper() + purpose[1:], reads=[source], after=tail, labels=[recipe.key])
        tail = [Link(step=c)]
        results += [(name, f"{c}.{name}") for name in recipe.outputs]

    if chat:
        d.add("answer", "Answer", "Reply to the user", reads=[results[-1][1]] if results else [], after=tail)
    else:
        names = [name for name, _ in results]
        d.add("end", "End", "Return the results", reads=[ref for _, ref in results], after=tail, labels=names)
    used = _patterns_used(d.steps, inp.patterns)
    return Blueprint(app_mode=spec.app_mode, name=spec.name, steps=d.steps, patterns_used=used,
                     rationale=f"Composed from the capabilities {', '.join(spec.capabilities) or 'none (a single LLM step)'}.")


def _core(d: _Draft, spec: RequirementSpec, task: str, tail: list[Link], main: str | None, refs: list[str],
          kb: str | None, vision: str | None, have_results: bool) -> tuple[list[Link], list[tuple[str, str]]]:
    """The generation part: routing, branching, loops, iteration, parallel models, languages or one LLM."""
    chat = spec.app_mode == "advanced-chat"
    query = main or "sys.query"
    extra = [r for r in ([kb] if kb else []) + ([vision] if vision else [])]
    noun = _noun(spec)

    def merge(texts: list[str], after: list[Link]) -> tuple[list[Link], list[tuple[str, str]]]:
        agg = d.add("variable-aggregator", "Merge branches", "Pass on the reply of whichever branch ran", reads=texts, after=after)
        return [Link(step=agg)], [("result", f"{agg}.output")]

    if spec.classes:
        qc = d.add("question-classifier", "Classify", f"Classify the {noun} as one of: {', '.join(spec.classes)}",
                   reads=[query], after=tail, labels=spec.classes)
        texts, ends = [], []
        for name in spec.classes:
            link = Link(step=qc, branch=name)
            ctx = None
            if spec.has("retrieval"):
                ctx = d.add("knowledge-retrieval", f"{name} knowledge", f"Search the {name.lower()} knowledge base",
                            reads=[query], after=[link])
                link = Link(step=ctx)
            llm = d.add("llm", f"Reply: {name}", f"{task} This branch handles the category '{name}'.",
                        reads=refs + ([f"{ctx}.result"] if ctx else []) + ([query] if chat else []), after=[link], focus=FINAL_ROLE)
            texts.append(f"{llm}.text")
            ends.append(Link(step=llm))
        return merge(texts, ends)

    if spec.branches:
        conditions = [b for b in spec.branches if b.condition != "otherwise"]
        judge = d.add("llm", "Assess", f"Decide for the {noun}: " + "; ".join(
            f"answer {slug(b.condition).upper()} if {b.condition}" for b in conditions) + "; otherwise answer OTHER. "
            "Put the verdict on the first line, then one sentence of reasoning.",
            reads=refs + ([query] if chat else []) + extra, after=tail, labels=[b.condition for b in conditions])
        gate = d.add("if-else", "Route by verdict", "Take the branch the verdict names", reads=[f"{judge}.text"], after=[judge],
                     labels=[b.condition for b in conditions])
        texts, ends = [], []
        for rule in spec.branches:
            llm = d.add("llm", rule.action[:40].capitalize() or "Otherwise", f"{rule.action[:1].upper()}{rule.action[1:]}. "
                        f"(Overall task: {task})", reads=refs + [f"{judge}.text"] + ([query] if chat else []),
                        after=[Link(step=gate, branch=rule.condition)], focus=FINAL_ROLE)
            texts.append(f"{llm}.text")
            ends.append(Link(step=llm))
        return merge(texts, ends)

    if spec.loop:
        first = d.add("llm", "First draft", f"Write the first version. Task: {task}", reads=refs + extra, after=tail, focus=FINAL_ROLE)
        loop = d.add("loop", "Critique and improve", f"Repeat up to {spec.loop.max_iterations} times until "
                     f"{spec.loop.until or 'the critique is satisfied'}", reads=[f"{first}.text"], after=[first],
                     labels=["draft"])
        critique = d.add("llm", "Critique", f"Critique the current draft against the task ({task}). If it is good, "
                         "start with the word GOOD; otherwise list concrete improvements.",
                         reads=[f"{loop}.draft"], after=[Link(step=loop)], parent=loop)
        improve = d.add("llm", "Improve", f"Rewrite the draft applying the critique. Task: {task}",
                        reads=[f"{loop}.draft", f"{critique}.text"], after=[critique], parent=loop, focus=FINAL_ROLE)
        d.add("assigner", "Keep new draft", "Store the improved draft for the next round",
              reads=[f"{loop}.draft", f"{improve}.text"], after=[improve], parent=loop)
        return [Link(step=loop)], [("result", f"{loop}.draft")]

    if spec.iteration_target:
        target = spec.iteration_target
        split = d.add("code", "Split the list", f"Turn the {target}s into a list, one item per line", reads=[query],
                      after=tail, labels=["split_lines"])
        it = d.add("iteration", f"For each {target}", f"Process every {target}", reads=[f"{split}.items"], after=[split])
        llm = d.add("llm", f"Handle one {target}", f"{task} Do it for this one {target}.", reads=[f"{it}.item"],
                    after=[Link(step=it)], parent=it, focus=FINAL_ROLE)
        d.steps[-2].labels = [f"{llm}.text"]
        return [Link(step=it)], [("results", f"{it}.output")]

    if spec.parallel_models >= 2:
        texts = []
        for n in range(spec.parallel_models):
            llm = d.add("llm", f"Model {chr(65 + n)}", f"Answer independently and carefully. Task: {task}",
                        reads=refs + ([query] if chat else []) + extra, after=tail, focus=f"model-{n}")
            texts.append(f"{llm}.text")
        merged = d.add("llm", "Merge answers", f"Compare the {spec.parallel_models} answers and merge them into one best "
                       f"answer. Task: {task}", reads=([query] if chat else refs) + texts, after=[Link(step=t.split('.')[0]) for t in texts],
                       focus=FINAL_ROLE)
        return [Link(step=merged)], [("result", f"{merged}.text")]

    if spec.has("translation") and len(spec.languages) >= 2:
        outs, ends = [], []
        for language in spec.languages:
            llm = d.add("llm", f"Translate to {language}", f"Translate the text into {language}. (Overall task: {task})",
                        reads=refs + ([query] if chat else []), after=tail, focus=language)
            outs.append((slug(language), f"{llm}.text"))
            ends.append(Link(step=llm))
        if chat:
            tpl = d.add("template-transform", "Combine translations", "Put the translations together",
                        reads=[ref for _, ref in outs], after=ends, labels=spec.languages)
            return [Link(step=tpl)], [("result", f"{tpl}.output")]
        return ends, outs

    if spec.has("agent"):
        agent = d.add("agent", "Research agent", f"{task} Use the tools to look facts up before answering.",
                      reads=[query] + [r for r in refs if r != query], after=tail, labels=[spec.tool or "web search"], focus=FINAL_ROLE)
        return [Link(step=agent)], [("result", f"{agent}.text")]

    if spec.sections:
        keys = [slug(s) for s in spec.sections]
        llm = d.add("llm", "Draft sections", f"{task} Write the content of each section: {', '.join(spec.sections)}.",
                    reads=refs + ([query] if chat else []) + extra, after=tail, labels=keys, focus=FINAL_ROLE)
        tpl = d.add("template-transform", "Render report", "Render the sections as a markdown report",
                    reads=[f"{llm}.structured_output.{k}" for k in keys], after=[llm], labels=spec.sections)
        return [Link(step=tpl)], [("report", f"{tpl}.output")]

    if have_results and not re.search(r"\b(write|draft|summar\w*|explain|answer|generate|comment|describe|reply)\b", task, re.I):
        return tail, []
    llm = d.add("llm", "Write answer" if chat else "Generate", task, reads=refs + ([query] if chat else []) + extra,
                after=tail, focus=FINAL_ROLE)
    return [Link(step=llm)], [("result", f"{llm}.text")]


def _patterns_used(steps: list[BlueprintStep], patterns: list[PatternBrief]) -> list[str]:
    """A retrieved pattern counts as used when the blueprint has every node type it is built from."""
    have = {s.type for s in steps}
    plumbing = {"start", "end", "answer", "iteration-start", "loop-start", "loop-end"}
    used = []
    for p in patterns:
        core = set(p.node_types) - plumbing
        if core and core <= have:
            used.append(p.id)
    return used


def run(inp: ArchitectureInput, brain: Brain) -> StageResult[Blueprint]:
    """Plan the workflow's steps for ``inp.spec``."""
    data = {"spec": inp.spec, "patterns": [p.model_dump() for p in inp.patterns]}
    if inp.feedback:
        data["feedback"] = inp.feedback
    if inp.previous:
        data["previous_blueprint"] = inp.previous
    blueprint, calls = brain.think(AGENT, data=data, schema=Blueprint, offline=lambda: design(inp))
    return StageResult(stage=AGENT, output=blueprint, calls=calls)
