"""Architecture agent: ``RequirementSpec`` + retrieved patterns -> ``Blueprint`` (steps and wiring).

The offline brain composes the workflow from the spec's capabilities in a fixed order (inputs,
files, fetches, retrieval, preparation, the core generation, checks, the end), the way the
library's patterns are built; the LLM brain is asked for the same structure.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from core.agents import calc, chat_state
from core.agents import lexicon as lx
from core.agents.adapter import PatternStep, derive
from core.agents.brain import Brain
from core.agents.code_recipes import (
    FILTER_PREFIX,
    RECIPES,
    is_check,
    payload_keys,
    payload_recipe,
    pick_recipe,
)
from core.agents.conditions import CLAUSE_END, contains_test, quoted
from core.agents.lexicon import say
from core.agents.models import Blueprint, BlueprintStep, HttpCall, Link, RequirementSpec, StageResult
from core.agents.outputs import SEARCH_TOOLS, localize
from core.agents.outputs import contract as _contract
from core.agents.outputs import each_file as _each_file
from core.agents.outputs import facets as _facets
from core.agents.outputs import gate as _gate
from core.agents.outputs import plain as _plain
from core.agents.outputs import search as _search
from core.agents.outputs import without_model as _without_model
from core.agents.rules import class_clause, numeric_condition, slug, verdict
from core.testrun.inputs import is_url_name

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
    mode: str = "workflow"
    steps: list[PatternStep] = Field(default_factory=list, description="the pattern's graph: step types and wiring")


class ArchitectureInput(BaseModel):
    spec: RequirementSpec
    patterns: list[PatternBrief] = Field(default_factory=list)
    feedback: str | None = None
    previous: Blueprint | None = None


class _Draft:
    """Accumulates blueprint steps with unique ids."""

    def __init__(self, lang: str = "en") -> None:
        self.steps: list[BlueprintStep] = []
        self.lang = lang  # the language of the titles it writes

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


VERBS = (r"write|draft|summari[sz]e|score|rate|rank|explain|produce|generate|comment|describe|return|extract|translate|"
         r"fetch|call|post|send|create|answer|list|suggest|keep|sort|classify|check|review|have|compose|analy[sz]e|turn|"
         r"find|give|recommend|compare|merge|critique|improve|search|look|reply|respond|notify|identify|convert|rewrite|"
         r"make|pull|screen|propose|outline|plan|tell|enrich|file|flag|block|approve|escalate|route|decide|assess")
CLAUSE_SPLIT = re.compile(
    rf"\s*;\s*|\.\s+|,?\s*(?:and\s+)?then\s+|,?\s+and\s+(?=if\b)|,\s*(?=if\b)|,\s*(?=(?:otherwise|else)\b)|,\s+(?=(?:and\s+)?(?:{VERBS})\b)|"
    rf"\s+and\s+(?=(?:{VERBS})\b(?!\s+(?:note|notes|message|messages)\b))",
    re.I,
)


def _clauses(text: str) -> list[str]:
    return [c.strip(" ,.;") for c in CLAUSE_SPLIT.split(" ".join(text.split())) if c and c.strip(" ,.;")]


def _handled(clause: str, spec: RequirementSpec) -> bool:
    """Whether another step (HTTP, code, classifier, branch, extractor, filter, review, end) already does ``clause``."""
    c = clause.lower()
    checks = (
        bool(re.search(r"https?://", c)),
        bool(spec.http_calls) and bool(re.search(r"\b(fetch|call(?:ing)?|download|retrieve|request|enrich|query)\w*\b.*"
                                                  r"\b(https?|api|url|web ?page|readme|endpoint|website|via)\b", c)),
        any(step and step.lower() in c for step in spec.code_steps) or bool(re.search(r"\bcode (?:step|node|block)\b", c)),
        bool(spec.classes) and bool(re.search(r"\b(classif|categori[sz]|triage|route|sort\w*\s.*\binto)\w*", c)),
        bool(spec.branches) and bool(re.match(r"(?:if|otherwise|else|when)\b", c)),
        bool(spec.classes) and any(re.match(rf"for\s+(?:the\s+|all\s+)?{re.escape(k.lower())}", c) for k in spec.classes),
        bool(spec.extraction_fields) and bool(re.search(r"\bextract\w*\b", c)),
        bool(spec.list_filter) and bool(re.search(r"\b(keep only|filter\w*|sort\w* (?:them |it |the \w+ )?by)\b", c)),
        bool(spec.review) and spec.review.lower() in c,
        bool(re.match(r"(?:and\s+)?return\b", c)),
    )
    return any(checks)


def _task(spec: RequirementSpec, text: str | None = None) -> str:
    """What the generating LLM step must do: the clauses of ``text`` (default: the requirement) no other step does.

    Clauses that only introduce the input ("Given a repo URL", "For each product") are left out when
    an action clause remains; when nothing is left the whole text is the task.
    """
    text = text if text is not None else spec.requirement
    text = re.sub(r"\s*https?://[^\s，。；）)]+", "", text)  # an address is the HTTP step's, never a sentence of a prompt
    clauses = _clauses(text)
    kept, skip_next = [], False
    for clause in clauses:
        if skip_next:  # the action of an "if ..." clause belongs to its branch
            skip_next = False
            continue
        if _handled(clause, spec):
            skip_next = bool(spec.branches) and bool(re.match(r"(?:if|when)\b", clause, re.I)) and "," not in clause
            continue
        kept.append(clause)
    actions = [c for c in kept if re.match(rf"(?:and\s+|also\s+|please\s+)?(?:{VERBS})(?:s|es|d|ed|ing)?\b", c, re.I)]
    chosen = actions or kept or [" ".join(text.split()).strip(" .")]
    app = re.match(r"(?:a|an|the)\s+[\w' -]*?(?:chat ?bot|assistant|agent|app)\s+(?:that|which|who)\s+(.+)", chosen[0], re.I)
    if not actions and app:  # "A chatbot that answers ..." -> "Answer ..."
        chosen = [re.sub(rf"(^|\band\s+)({VERBS}|remember|use|help|handle|support)(?:s|es)\b", r"\1\2", app.group(1),
                          flags=re.I)]
    sentences = [re.sub(r"^(?:and|also|please)\s+", "", c, flags=re.I) for c in chosen]
    sentences = [re.sub(r"\s+(?:with|using|via)\s+(?:an?\s+)?(?:llm|model|ai)\b", "", c, flags=re.I) for c in sentences]
    noun = _noun(spec)
    sentences = [re.sub(r"^(\w+)\s+(?:it|them)\b", rf"\1 the {noun}", c, count=1) if noun != "input" else c for c in sentences]
    return " ".join(c[:1].upper() + c[1:] + ("" if c.endswith((".", "?", "!")) else ".") for c in sentences)


def _noun(spec: RequirementSpec) -> str:
    if spec.app_mode == "advanced-chat":
        return "user's message"
    text_inputs = [i for i in spec.inputs if i.type in ("paragraph", "text-input")]
    return text_inputs[0].label.lower() if text_inputs else "input"


def design(inp: ArchitectureInput) -> Blueprint:
    """The offline architect: a complete blueprint from the spec's capabilities."""
    spec = inp.spec
    chat = spec.app_mode == "advanced-chat"
    d = _Draft(spec.language)
    d.add("start", say(spec.language, "start"), "Collect the app's inputs", labels=[i.name for i in spec.inputs], id_="start")
    tail: list[Link] = [Link(step="start")]
    text_refs = [f"start.{i.name}" for i in spec.inputs if i.type in ("paragraph", "text-input", "number", "select")]
    main = "sys.query" if chat else (text_refs[0] if text_refs else None)
    context_refs: list[str] = [] if chat else list(text_refs)
    vision = None
    kb_context = None

    if chat:  # the conversation state of the turn: limit, reset, counting, capture (core/agents/chat_state.py)
        tail, remembered = chat_state.turn(d, spec, tail)
        context_refs += remembered

    for var in spec.inputs:
        if var.type not in ("file", "file-list"):
            continue
        if var.type == "file-list" and not spec.iteration_target:
            tail, out = _each_file(d, spec, var, tail)
            context_refs.insert(0, out)
            main = main or out
            continue
        if "image" in var.file_types:
            vision = f"start.{var.name}"
            continue
        ex = d.add("document-extractor", say(spec.language, "read_file", var.label.lower()),
                   f"Extract the text of the uploaded {var.label.lower()}", reads=[f"start.{var.name}"], after=tail)
        tail = [Link(step=ex)]
        context_refs.insert(0, f"{ex}.text")
        main = main or f"{ex}.text"

    params = [f"start.{i.name}" for i in spec.inputs if i.type == "text-input" and i.name != "url"]
    retry = _retry(spec)
    if retry == "json":  # the loop's code step checks the JSON
        spec = spec.model_copy(update={"code_steps": []})
    for call in [c for c in spec.http_calls if not c.when and not _delivers(c) and retry != "http"]:
        url = call.url or "{{start.url}}"
        h = d.add("http-request", _http_title(call), call.purpose or f"{call.method.upper()} {url}",
                  reads=params if call.url else ["start.url"], after=tail, labels=[url])
        tail = [Link(step=h)]
        context_refs = [r for r in context_refs if r != "start.url"] + [f"{h}.body"]

    searches = [t for t in spec.tools if t in SEARCH_TOOLS]
    if searches and not spec.has("agent"):
        tail, found = _search(d, spec, searches, tail, main)
        context_refs += found
    elif spec.tool and not spec.has("agent"):
        t = d.add("tool", say(spec.language, "search"), f"Search the web for: {spec.goal}", reads=[main or "sys.query"], after=tail,
                  labels=[spec.tool])
        tail = [Link(step=t)]
        context_refs.append(f"{t}.text")

    if spec.has("retrieval") and not spec.classes:
        kr = d.add("knowledge-retrieval", "Search knowledge base", "Find the passages of the knowledge base that answer the question",
                   reads=[main or "sys.query"], after=tail)
        tail = [Link(step=kr)]
        kb_context = f"{kr}.result"

    filtered = None
    if spec.list_filter:
        # Records are objects, and Dify's list operator refuses array[object] (test-run rule DSL704):
        # one code step parses, filters, sorts and limits them.
        flt = spec.list_filter
        how = f"keep {flt.key} {flt.operator} {flt.value}" if flt.value else "keep every record"
        lo = d.add("code", say(spec.language, "title_filter"), f"Parse the JSON list; {how}; sort by {flt.sort_key or flt.key}",
                   reads=[main or "sys.query"], after=tail, labels=[FILTER_PREFIX + flt.model_dump_json()])
        tail = [Link(step=lo)]
        context_refs = [r for r in context_refs if r != main] + [f"{lo}.result"]
        if spec.no_model:  # "without a model, sort … and keep the top 3": the filtered records are the result
            filtered = f"{lo}.result"
            spec = spec.model_copy(update={"code_steps": [p for p in spec.code_steps if is_check(p)]})

    post_checks = []
    computed = calc.plan(spec) if not (spec.classes or spec.loop or spec.iteration_target or spec.facets) else None
    computed = computed if computed and (spec.no_model or spec.gate or computed.kind != "number"
                                         or lx.has(spec.requirement, "code")) else None
    value_ref, value_gate = None, bool(computed and spec.gate and not spec.no_model and not computed.condition)
    if computed:  # the asked calculation is the code step (thresholds in the code, outputs named as asked)
        c = d.add("code", say(spec.language, "compute", ", ".join(calc.outputs(computed)))[:40], spec.goal,
                  reads=[f"start.{n}" for n in computed.inputs], after=tail, labels=[calc.label(computed)])
        tail, value_ref = [Link(step=c)], f"{c}.{computed.value_name}"
        computed_results = [(name, f"{c}.{name}") for name in calc.outputs(computed)]
        if spec.no_model or not spec.gate:  # the computed values are the results (a model writes only if asked)
            results_first = computed_results
        context_refs += [ref for _, ref in computed_results]
        spec = spec.model_copy(update={"code_steps": [p for p in spec.code_steps if is_check(p)]})
    for purpose in spec.code_steps:
        if is_check(purpose):
            post_checks.append(purpose)
            continue
        recipe = pick_recipe(purpose)
        c = d.add("code", recipe.title, purpose[:1].upper() + purpose[1:], reads=[main or "sys.query"], after=tail,
                  labels=[recipe.key])
        tail = [Link(step=c)]
        context_refs += [f"{c}.{name}" for name in recipe.outputs]

    results: list[tuple[str, str]] = list(results_first) if computed and not value_gate else []  # (output name, ref)
    if filtered:
        results.append((next((o.name for o in spec.outputs if o.explicit), "result"), filtered))
    if spec.extraction_fields and not spec.iteration_target:
        pe = d.add("parameter-extractor", "Extract fields", f"Extract {', '.join(spec.extraction_fields)} as structured fields",
                   reads=[main or "sys.query"], after=tail, labels=spec.extraction_fields)
        tail = [Link(step=pe)]
        fields = [(slug(f), f"{pe}.{slug(f)}") for f in spec.extraction_fields]
        context_refs += [ref for _, ref in fields]
        results += fields

    gated = None
    if any(b.condition.startswith("file:") for b in spec.branches):
        tail, gated, joined = _file_router(d, spec, tail, context_refs)
        results.append((next((o.name for o in spec.outputs if o.name not in gated[0]), "result"), joined))
        spec = spec.model_copy(update={"outputs": [o for o in spec.outputs if o.name not in gated[0]], "branches": [],
                                       "capabilities": [c for c in spec.capabilities if c != "branching"]})
        value_ref = value_ref or joined  # the paths did the work: no main step after them
    if computed and (spec.no_model or computed.condition):  # the code applies the threshold itself
        spec = spec.model_copy(update={"gate": None})
    otherwise = None
    if spec.gate is not None and not spec.classes:
        tail, gated, otherwise = _gate_paths(d, spec, tail, main, value_ref, context_refs)
        if gated[0] and all(o.name in gated[0] for o in spec.outputs if o.explicit):
            gated = ([], *gated[1:])  # both paths give the same named output(s): joined below
        if otherwise:  # the other cases end with the fixed text the user gave: no main work
            results.append((next((o.name for o in spec.outputs if o.name not in gated[0]), "result"), otherwise))
        spec = spec.model_copy(update={"outputs": [o for o in spec.outputs if o.name not in gated[0]], "branches": [],
                                       "capabilities": [c for c in spec.capabilities if c != "branching"]})
    task = _task(spec)
    if computed and spec.no_model or gated is not None and (value_ref or otherwise) and results or filtered:
        generated = []  # the code computed every output / the other cases end with their fixed text
    elif spec.facets and not (spec.classes or spec.branches or spec.loop or spec.list_step):
        tail, generated = _facets(d, spec, tail, context_refs + ([main] if chat and main else []))
    elif _plain(spec) and not results and (spec.no_model and not spec.code_steps or lx.has(spec.requirement, "code_step")
                                           and not lx.has(spec.requirement, "model_word") and any(o.explicit for o in spec.outputs)):
        tail, generated = _without_model(d, spec, tail)
    elif _plain(spec) and any(o.explicit for o in spec.outputs):
        generated = []
    else:
        tail, generated = _core(d, spec, task, tail, main, context_refs, kb_context, vision, bool(results))
    results += generated
    if spec.review and results:
        name, source = results[-1]
        sources = [r for r in context_refs if r.startswith("start.")][:1] + [source]
        rv = d.add("llm", "Review and fix", f"{spec.review[:1].upper()}{spec.review[1:]}: compare the draft with the "
                   "source, correct every mistake and keep what is right.", reads=sources, after=tail, focus=FINAL_ROLE)
        tail, results[-1] = [Link(step=rv)], (name, f"{rv}.text")
    if spec.has("translation") and len(spec.languages) == 1 and results and not re.match(r"translat", task, re.I) and not spec.list_step:
        language = spec.languages[0]
        name, source = results[-1]
        tr = d.add("llm", f"Translate to {language}", f"Translate the text into {language}, keeping its formatting.",
                   reads=[source], after=tail, focus=language)
        tail, results[-1] = [Link(step=tr)], (name, f"{tr}.text")

    for call in [c for c in spec.http_calls if not c.when and _delivers(c)]:
        sources = [results[-1][1]] if results else [main or "sys.query"]
        tail = [Link(step=_deliver(d, call, sources, tail))]

    for purpose in post_checks:
        recipe = pick_recipe(purpose)
        source = results[-1][1] if results else (main or "sys.query")
        c = d.add("code", recipe.title, purpose[:1].upper() + purpose[1:], reads=[source], after=tail, labels=[recipe.key])
        tail = [Link(step=c)]
        results += [(name, f"{c}.{name}") for name in recipe.outputs]

    joined = False
    named = [o for o in spec.outputs if o.explicit]
    if gated is not None and not gated[0] and not results and named and not named[0].source.startswith(("tool:", "translate:", "code")):
        # the main result is written on the other cases' path first, so that it can be joined below
        tail, results = _contract(d, spec.model_copy(update={"outputs": named[:1], "tools": []}), tail, results, context_refs)
    if gated is not None and not gated[0] and results:
        # the gate's case and the other cases give the same result: join them before the named outputs
        # are bound, so an output made from the result (a subject line, hashtags) is made on every path
        _, ref, link = gated
        agg = d.add("variable-aggregator", say(spec.language, "merge"), "Pass on the result of whichever path ran",
                    reads=[ref, results[-1][1]], after=[link, *tail])
        results[-1], tail, joined = (results[-1][0], f"{agg}.output"), [Link(step=agg)], True
    names = {o.name for o in named}
    if not (computed and names and names <= {name for name, _ in results}):
        tail, results = _contract(d, spec, tail, results, context_refs)
    else:
        results = [(name, ref) for name, ref in results if name in names]
    if gated is not None and not joined:
        names, ref, link = gated
        if names:
            d.add("end", say(spec.language, "end_named", ", ".join(names))[:40], "Return this case's results",
                  reads=[ref] * len(names), after=[link], labels=names)
        elif results:
            agg = d.add("variable-aggregator", say(spec.language, "merge"), "Pass on the result of whichever path ran",
                        reads=[ref, results[0][1]], after=[link, *tail])
            results[0], tail = (results[0][0], f"{agg}.output"), [Link(step=agg)]
    if chat:
        _answers(d, spec, tail, results)
    else:
        names = [name for name, _ in results]
        d.add("end", say(spec.language, "end"), "Return the results", reads=[ref for _, ref in results], after=tail,
              labels=names)
    localize(d.steps, spec)
    composed = Blueprint(app_mode=spec.app_mode, name=spec.name, steps=d.steps,
                         rationale=f"Composed from the capabilities {', '.join(spec.capabilities) or 'none (a single LLM step)'}.")
    blueprint = derive(inp.spec, inp.patterns, composed)
    if chat:
        _split_answers(blueprint, spec)
    return blueprint


def _answers(d: _Draft, spec: RequirementSpec, tail: list[Link], results: list[tuple[str, str]]) -> None:
    """The chat's reply, with the line a counter asks every reply to carry."""
    line = chat_state.reply_line(spec)
    d.add("answer", say(spec.language, "answer"), "Reply to the user", reads=[results[-1][1]] if results else [], after=tail,
          labels=[f"text:{line}"] if line else [])


def _split_answers(blueprint: Blueprint, spec: RequirementSpec) -> None:
    """One answer per branch where a chat's branches were only merged to be answered (a chat streams each branch's
    reply itself); a branch whose reply is a fixed text answers it as written, without a model or template."""
    d = _Draft(spec.language)
    d.steps = blueprint.steps
    answers = [s for s in d.steps if s.type == "answer" and s.parent is None]
    by_id = {s.id: s for s in d.steps}
    merged = by_id.get(answers[0].reads[0].split(".")[0]) if len(answers) == 1 and len(answers[0].reads) == 1 else None
    if merged is None or merged.type != "variable-aggregator" or len(merged.reads) != len(merged.after) or any(
            r.startswith(f"{merged.id}.") for s in d.steps if s is not answers[0] for r in s.reads):
        return
    answer = answers[0]
    d.steps.remove(answer)
    d.steps.remove(merged)
    for ref, link in zip(merged.reads, merged.after, strict=True):
        fixed = _fixed_reply(d, spec, link.step)
        if fixed is not None:
            step, text = fixed
            d.steps.remove(step)
            after = step.after
            feeder = next((s for s in d.steps if len(after) == 1 and s.id == after[0].step), None)
            if feeder is not None and feeder.type == "knowledge-retrieval" and not any(
                    r.startswith(f"{feeder.id}.") for s in d.steps for r in s.reads):
                d.steps.remove(feeder)  # the branch's knowledge search fed only that model
                after = feeder.after
            d.add("answer", lx.say(spec.language, "fixed_reply"), step.purpose, after=after, labels=[f"fixed:{text}"])
            continue
        d.add("answer", answer.name, answer.purpose, reads=[ref], after=[link], labels=answer.labels)


def _fixed_reply(d: _Draft, spec: RequirementSpec, step_id: str):
    """(the LLM step, the text) when a branch's model would only send a fixed text ("reply with the fixed text "...",
    "skip the AI and send our fixed message with the code STAY20"), else None."""
    step = next((s for s in d.steps if s.id == step_id), None)
    if step is None or step.type not in ("llm", "template-transform") or not step.labels:
        return None
    if step.type == "template-transform":  # a fixed-text template stays (its text corrected to the asked reply)
        if step.labels[0].startswith("fixed:") and not step.reads and step.after:
            action = next((b.action for b in spec.branches if b.condition == step.after[0].branch), "")
            text = chat_state.fixed_text(action, spec.requirement, spec.language, tuple(spec.classes)) if action else None
            step.labels[0] = f"fixed:{text}" if text else step.labels[0]
        return None
    action = next((b.action for b in spec.branches if b.condition == step.labels[0]), "")
    text = chat_state.fixed_text(action, spec.requirement, spec.language, tuple(spec.classes)) if action else None
    return (step, text) if text else None


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

    if spec.classes and not spec.iteration_target:  # (with an iteration, each item is classified inside it)
        qc = d.add("question-classifier", say(spec.language, "classify"), f"Classify the {noun} as one of: {', '.join(spec.classes)}",
                   reads=[query], after=tail, labels=spec.classes)
        actions = {b.condition: b.action for b in spec.branches}
        texts, ends = [], []
        for name in spec.classes:
            link = Link(step=qc, branch=name)
            calls = [c for c in spec.http_calls if c.when == name]
            if calls:
                for call in calls:
                    link = Link(step=_deliver(d, call, [query], [link]))
                texts.append(f"{link.step}.body")
                ends.append(link)
                continue
            own = class_clause(spec.requirement, name, spec.classes)
            fixed = [q for q in quoted(own, 200) if q not in spec.classes and len(q) >= 2]
            if not fixed and lx.no_model(own):  # "skip the AI, send our fixed message with the code STAY20": a text to edit
                codes = chat_state.CODE_TOKEN.findall(own)
                fixed = [lx.say(spec.language, "fixed_placeholder", " ".join(codes)).strip()]
            action = next((b.action for b in spec.branches if b.condition == name), "")
            said = chat_state.fixed_text(action, spec.requirement, spec.language, tuple(spec.classes)) if action else None
            if said and not (fixed and (lx.no_model(own) or lx.has(own, "fixed_word"))):
                own, fixed = action, [said]  # 'return "removed" as status': the branch only says this text
            if fixed and (lx.no_model(own) or lx.has(own, "fixed_word") or said):  # the fixed text: no model, no search
                tpl = d.add("template-transform", say(spec.language, "fixed", fixed[0])[:40], own, after=[link],
                            labels=[f"fixed:{fixed[0]}"])
                texts.append(f"{tpl}.output")
                ends.append(Link(step=tpl))
                continue
            ctx = None
            if spec.has("retrieval"):
                ctx = d.add("knowledge-retrieval", f"{name} knowledge" if spec.language == "en" else say(spec.language, "knowledge", name),
                            f"Search the {name.lower()} knowledge base",
                            reads=[query], after=[link])
                link = Link(step=ctx)
            action = _task(spec, actions.get(name) or "answer it")
            purpose = f"{lx.say(spec.language, 'class_case', name)} {action if spec.language == 'en' else own}".strip()
            title = ((f"{name}: {action.split()[0].lower()}" if action else f"Reply: {name}") if spec.language == "en"
                     else name if lx.detect(name) == spec.language else say(spec.language, "generate", name))
            llm = d.add("llm", title, purpose,
                        reads=refs + ([f"{ctx}.result"] if ctx else []) + ([query] if chat else []), after=[link],
                        focus=FINAL_ROLE, labels=[name])
            texts.append(f"{llm}.text")
            ends.append(Link(step=llm))
        return merge(texts, ends)

    if kind := _retry(spec):
        return _retry_loop(d, spec, task, tail, refs + extra, kind)

    if spec.classes and spec.iteration_target and not spec.list_step:  # each item gets one of the classes
        return _iteration(d, spec, tail, query)

    if spec.branches and _contains_rule(spec):
        return _contains_paths(d, spec, tail, query, refs + extra, merge)

    if spec.branches:
        conditions = [b for b in spec.branches if b.condition != "otherwise"]
        numeric = [numeric_condition(b.condition) for b in conditions]
        if all(numeric) and len(numeric) == 1:
            return _numeric_branches(d, spec, task, tail, refs + ([query] if chat else []) + extra, noun)
        judge = d.add("llm", say(spec.language, "title_assess"), f"{task} Then decide which case applies to the {noun}: " + "; ".join(
            f"{verdict(b.condition)} if {b.condition}" for b in conditions) + "; OTHER if none applies. "
            "Put the verdict on the first line, then one sentence of reasoning.",
            reads=refs + ([query] if chat else []) + extra, after=tail, labels=[b.condition for b in conditions])
        gate = d.add("if-else", say(spec.language, "title_route"), "Take the branch the verdict names", reads=[f"{judge}.text"], after=[judge],
                     labels=[b.condition for b in conditions])
        texts, ends = [], []
        for rule in spec.branches:
            link = Link(step=gate, branch=rule.condition)
            calls = [c for c in spec.http_calls if c.when == rule.condition]
            if calls:
                for call in calls:
                    link = Link(step=_deliver(d, call, [query, f"{judge}.text"], [link]))
                texts.append(f"{link.step}.body")
                ends.append(link)
                continue
            case = say(spec.language, "other_case") if rule.condition == "otherwise" else say(spec.language, "branch_case", rule.condition)
            llm = d.add("llm", rule.action[:40].capitalize() or "Otherwise", f"{case} {_task(spec, rule.action)}",
                        reads=refs + [f"{judge}.text"] + ([query] if chat else []) + ([kb] if kb else []),
                        after=[link], focus=FINAL_ROLE, labels=[rule.condition])
            texts.append(f"{llm}.text")
            ends.append(Link(step=llm))
        return merge(texts, ends)

    if spec.loop:
        return _loop(d, spec, task, tail, refs + extra)

    if spec.iteration_target and spec.list_step:
        return _made_list(d, spec, tail, query, refs + extra)
    if spec.iteration_target:
        return _iteration(d, spec, tail, query)

    if spec.parallel_models >= 2:
        texts = []
        for n in range(spec.parallel_models):
            llm = d.add("llm", say(spec.language, "title_models", chr(65 + n)), f"Answer independently and carefully. Task: {task}",
                        reads=refs + ([query] if chat else []) + extra, after=tail, focus=f"model-{n}")
            texts.append(f"{llm}.text")
        merged = d.add("llm", say(spec.language, "title_merge_answers"), f"Compare the {spec.parallel_models} answers and merge them into one best "
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
        keys = [slug(s) if slug(s) != "input" else f"section_{i + 1}" for i, s in enumerate(spec.sections)]  # CJK headings
        llm = d.add("llm", "Draft sections", f"{task} Write the content of each section: {', '.join(spec.sections)}.",
                    reads=refs + ([query] if chat else []) + extra, after=tail, labels=keys, focus=FINAL_ROLE)
        tpl = d.add("template-transform", "Render report", "Render the sections as a markdown report",
                    reads=[f"{llm}.structured_output.{k}" for k in keys], after=[llm], labels=spec.sections)
        return [Link(step=tpl)], [("report", f"{tpl}.output")]

    if have_results and not re.search(r"\b(write|draft|summar\w*|explain|answer|generate|comment|describe|reply)\b", task, re.I):
        return tail, []
    llm = d.add("llm", "Write answer" if chat else _short_title(task), task, reads=refs + ([query] if chat else []) + extra,
                after=tail, focus=FINAL_ROLE)
    return [Link(step=llm)], [("result", f"{llm}.text")]


def _retry(spec: RequirementSpec) -> str | None:
    """What a retry loop's body does after the model's attempt, when the loop is one: ``http`` (send the
    attempt to the asked URL; the response's error goes back to the model) or ``json`` (check the model's
    JSON in code: it parses and has the asked keys). None: a review-and-revise loop."""
    if not spec.loop:
        return None
    if any(c.url for c in spec.http_calls):
        return "http"
    if lx.has(spec.requirement, "json_word") and (lx.has(spec.requirement, "code") or lx.has(spec.requirement, "code_step")):
        return "json"
    return None


def _retry_loop(d: _Draft, spec: RequirementSpec, task: str, tail: list[Link], reads: list[str],
                kind: str) -> tuple[list[Link], list[tuple[str, str]]]:
    """The model tries, the asked step checks the attempt (an HTTP call, a JSON check in code), and the
    problem goes back to the model in the next round; the loop breaks on the asked success condition."""
    lang, rule = spec.language, spec.loop
    goal = task if lang == "en" else spec.goal
    loop = d.add("loop", lx.say(lang, "retry_loop"), rule.until or goal, reads=[], after=tail, labels=["feedback", "attempt"])
    attempt = d.add("llm", lx.say(lang, "generate", lx.say(lang, "result")), f"{goal} " + lx.say(lang, "retry_task"),
                    reads=reads + [f"{loop}.feedback"], after=[Link(step=loop)], parent=loop, focus=FINAL_ROLE)
    if kind == "http":
        call = next(c for c in spec.http_calls if c.url)
        keys = calc.body_keys(spec.requirement) or payload_keys(call.purpose)
        recipe = payload_recipe(keys, 1)
        build = d.add("code", say(lang, "title_body"), f"Put {' and '.join(keys)} into the JSON body of the request",
                      reads=[f"{attempt}.text"], after=[Link(step=attempt)], parent=loop, labels=[recipe.key])
        check = d.add("http-request", _http_title(call, lang), call.purpose or f"{call.method.upper()} {call.url}",
                      reads=[f"{build}.payload"], after=[Link(step=build)], parent=loop,
                      labels=[call.url, f"break:body|not contains|{calc.error_marker(spec.requirement)}"])
        problem = f"{check}.body"
    else:
        keys = calc.json_keys(spec.requirement)
        check = d.add("code", lx.say(lang, "check", "JSON"), f"Check the JSON parses and has {', '.join(keys) or 'the keys'}",
                      reads=[f"{attempt}.text"], after=[Link(step=attempt)], parent=loop,
                      labels=[calc.JSON_CHECK_PREFIX + ",".join(keys), "break:ok|=|1"])
        problem = f"{check}.error"
    d.add("assigner", lx.say(lang, "keep"), "Keep the attempt and the problem for the next round",
          reads=[f"{loop}.feedback", problem, f"{loop}.attempt", f"{attempt}.text"], after=[Link(step=check)], parent=loop)
    return [Link(step=loop)], [("result", f"{loop}.attempt")] + ([("response", f"{loop}.feedback")] if kind == "http" else [])


def _loop(d: _Draft, spec: RequirementSpec, task: str, tail: list[Link], reads: list[str]) -> tuple[list[Link], list[tuple[str, str]]]:
    """Draft, then review and revise inside a loop until the asked stop condition (a word the review
    contains, or a score read by code) or the round limit (a retry loop is ``_retry_loop``)."""
    lang, rule = spec.language, spec.loop
    goal = task if lang == "en" else spec.goal
    first = d.add("llm", lx.say(lang, "generate", lx.say(lang, "result")), lx.say(lang, "write_output", goal), reads=reads,
                  after=tail, focus=FINAL_ROLE)
    loop = d.add("loop", lx.say(lang, "loop"), rule.until or goal, reads=[f"{first}.text"], after=[first], labels=["draft"])
    word = rule.stop_word or ("" if rule.stop_operator else "GOOD")
    verdict_rule = (lx.say(lang, "verdict_first", rule.until or goal, word) if word else
                    f"{rule.until or goal}. " + lx.say(lang, "write_output", "score: <number>"))
    critique = d.add("llm", lx.say(lang, "critique"), verdict_rule, reads=[f"{loop}.draft"], after=[Link(step=loop)],
                     parent=loop, labels=[f"stop:{word}"] if word else [])
    after = critique
    if rule.stop_operator or lx.has(spec.requirement, "code"):
        recipe = "read_score" if rule.stop_operator else pick_recipe(rule.until or spec.requirement).key
        after = d.add("code", lx.say(lang, "compute", ""), rule.until or goal, reads=[f"{critique}.text"], after=[critique],
                      parent=loop, labels=[recipe])
        if rule.stop_operator:
            d.steps[-1].labels = [recipe, f"stop:{rule.stop_operator} {rule.stop_value}"]
    improve = d.add("llm", lx.say(lang, "improve"), lx.say(lang, "write_output", goal),
                    reads=[f"{loop}.draft", f"{critique}.text"], after=[after], parent=loop, focus=FINAL_ROLE)
    d.add("assigner", lx.say(lang, "keep"), "Store the improved draft for the next round",
          reads=[f"{loop}.draft", f"{improve}.text"], after=[improve], parent=loop)
    return [Link(step=loop)], [("result", f"{loop}.draft")]


def _file_router(d: _Draft, spec: RequirementSpec, tail: list[Link], refs: list[str]):
    """Branch on the uploaded file's type: each kind its own work (an image to a vision step, a document read
    then handled), joined by an aggregator; the other kinds end on their own with the output their clause names.

    Returns (the joined paths' tail, (other-kinds outputs, their ref, their link), the joined result ref)."""
    lang = spec.language
    upload = next(i for i in spec.inputs if i.type == "file")
    ref = f"start.{upload.name}"
    kinds = [b for b in spec.branches if b.condition.startswith("file:")]
    gate = d.add("if-else", lx.say(lang, "check", lx.say(lang, "file_type")), f"{ref}.type",
                 reads=[ref], after=tail, labels=[b.condition for b in kinds])
    texts, ends = [], []
    others = [r for r in refs if r != ref]
    for rule in kinds:
        link, kind = Link(step=gate, branch=rule.condition), rule.condition.removeprefix("file:")
        reads = [ref]
        if kind != "image":
            ex = d.add("document-extractor", say(lang, "read_file", upload.label.lower()), f"Extract the text of the {kind}",
                       reads=[ref], after=[link])
            link, reads = Link(step=ex), [f"{ex}.text"]
        llm = d.add("llm", rule.action[:40].capitalize() if lang == "en" else lx.say(lang, "generate", lx.say(lang, f"kind_{kind}")),
                    _task(spec, rule.action) if lang == "en" else rule.action, reads=reads + others, after=[link],
                    focus=FINAL_ROLE, labels=[rule.condition])
        texts.append(f"{llm}.text")
        ends.append(Link(step=llm))
    agg = d.add("variable-aggregator", say(lang, "merge"), "Pass on the result of whichever file type ran", reads=texts, after=ends)
    rest = next((b for b in spec.branches if b.condition == "otherwise"), None)
    clause = rest.action if rest else ""
    names = [o.name for o in spec.outputs if o.explicit and re.search(rf"(?<![A-Za-z0-9_]){re.escape(o.name)}(?![A-Za-z0-9_])", clause)]
    fixed = next(iter(q for q in quoted(clause, 200) if q not in names), "") or lx.say(lang, "unsupported_file")
    tpl = d.add("template-transform", lx.say(lang, "fixed", fixed)[:40], clause or fixed,
                after=[Link(step=gate, branch="otherwise")], labels=[f"fixed:{fixed}"])
    return [Link(step=agg)], (names or ["error"], f"{tpl}.output", Link(step=tpl)), f"{agg}.output"


def _contains_rule(spec: RequirementSpec):
    """The one contains test of the spec's branches (``('literal', word)`` / ``('pattern', regex)``), or None."""
    conditions = [b for b in spec.branches if b.condition != "otherwise"]
    return contains_test(conditions[0].condition) if len(conditions) == 1 else None


def _contains_paths(d: _Draft, spec: RequirementSpec, tail: list[Link], query: str, refs: list[str], merge):
    """Whether the text contains the asked word (if-else ``contains``) or something shaped like the asked
    example (code finds the pattern, if-else on its number): each path does its own work (a model step, or the
    fixed text it quotes), and an aggregator joins them into the one result."""
    lang = spec.language
    kind, value = _contains_rule(spec)
    subject, after = query, tail
    if kind == "pattern":
        find = d.add("code", lx.say(lang, "check", ""), f"Find text shaped like {value}", reads=[query], after=tail,
                     labels=[calc.MATCH_PREFIX + value])
        subject, after, label = f"{find}.found", [Link(step=find)], "= 1"
    else:
        label = f"contains:{value}"
    gate = d.add("if-else", lx.say(lang, "check", value if kind == "literal" else "")[:40], f"{subject} {label}",
                 reads=[subject], after=after, labels=[label])
    texts, ends = [], []
    for rule in spec.branches:
        link = Link(step=gate, branch="otherwise" if rule.condition == "otherwise" else label)
        fixed = [q for q in quoted(rule.action, 200) if len(q) >= 2 and q != value]
        if fixed and (lx.has(rule.action, "fixed_word") or lx.no_model(rule.action)):
            step = d.add("template-transform", lx.say(lang, "fixed", fixed[0])[:40], rule.action, after=[link],
                         labels=[f"fixed:{fixed[0]}"])
            texts.append(f"{step}.output")
        else:
            title = rule.action[:40].capitalize() if lang == "en" else lx.say(lang, "generate", lx.say(lang, "result"))
            step = d.add("llm", title, _task(spec, rule.action) if lang == "en" else rule.action, reads=refs or [query],
                         after=[link], focus=FINAL_ROLE, labels=[rule.condition])
            texts.append(f"{step}.text")
        ends.append(Link(step=step))
    return merge(texts, ends)


def _gate_paths(d: _Draft, spec: RequirementSpec, tail: list[Link], main: str | None, value_ref: str | None, refs: list[str]):
    """The asked comparison (on a value the code computed, typed as a number, when there is one): the
    then-path writes (or returns its fixed text); the other cases get the fixed text their clause quotes,
    else the main work.

    Returns (the tail, (then-path outputs, its result ref, its last link), the other cases' fixed-text ref or None)."""
    tail, gated = _gate(d, spec, tail, None if value_ref else main, refs, subject_ref=value_ref)
    other, lang = tail[0], spec.language
    fixed = _else_fixed(spec.requirement, spec.gate.then_text)
    if fixed:
        tpl = d.add("template-transform", lx.say(lang, "fixed", fixed)[:40], fixed, after=[other], labels=[f"fixed:{fixed}"])
        return [Link(step=tpl)], gated, f"{tpl}.output"
    return tail, gated, None


def _else_fixed(text: str, then_text: str) -> str:
    """The fixed text the other cases return (``否则输出固定文本“一切正常”``, ``otherwise reply 'All good'``)."""
    text = " ".join(text.split())
    start = text.find(then_text) + len(then_text) if then_text and then_text in text else 0
    other = lx.find(text[start:], "else_word")
    if not other:
        return ""
    rest = text[start + other.end():]
    end = CLAUSE_END.search(rest)
    clause = rest[:end.start()] if end else rest
    found = [q for q in quoted(clause, 200) if len(q) >= 2]
    return found[0] if found and (lx.has(clause, "fixed_word") or lx.no_model(clause) or len(found) == 1) else ""


def _delivers(call: HttpCall) -> bool:
    """A call that sends results somewhere (POST/PUT... to a webhook or API) rather than fetching data."""
    return call.method != "get" and not re.search(r"\b(fetch|retrieve|get|look\w* up|enrich|query|download)\w*\b",
                                                  call.purpose, re.I)


def _http_title(call: HttpCall, lang: str = "en") -> str:
    host = re.sub(r"^https?://", "", call.url).split("/")[0]
    if not host:
        what = re.search(r"\b(?:fetch|get|download|retrieve|read)\w*\s+(?:the\s+|its\s+|their\s+|a\s+)?([A-Za-z][\w-]*)",
                         call.purpose, re.I)
        if lang != "en" or not what or what.group(1).lower() in ("content", "data", "it"):
            return say(lang, "title_fetch")
        return f"Fetch {what.group(1)}"
    return f"{call.method.upper()} {host}"[:40]


def _deliver(d: _Draft, call: HttpCall, sources: list[str], after: list[Link]) -> str:
    """A JSON body built by code (so quotes and newlines are escaped) and the request that sends it."""
    keys = payload_keys(call.purpose) + [f"{k}={v}" for k, v in call.body.items()]
    recipe = payload_recipe(keys, len(sources))
    build = d.add("code", say(d.lang, "title_body"), f"Put {' and '.join(keys)} into the JSON body of the request",
                  reads=sources, after=after, labels=[recipe.key])
    return d.add("http-request", _http_title(call, d.lang), call.purpose or f"{call.method.upper()} {call.url}",
                 reads=[f"{build}.payload"], after=[Link(step=build)], labels=[call.url])


def _numeric_branches(d: _Draft, spec: RequirementSpec, task: str, tail: list[Link], reads: list[str],
                      noun: str) -> tuple[list[Link], list[tuple[str, str]]]:
    """Score with an LLM, read the number with code, compare it in an if-else (``if the score is above 7``)."""
    rule = next(b for b in spec.branches if b.condition != "otherwise")
    subject, operator, value = numeric_condition(rule.condition) or ("score", ">", "0")
    label = subject.replace("_", " ")
    judge = d.add("llm", say(spec.language, "title_rate", noun if spec.language == "en" else say(spec.language, "result"))[:40], f"{task} Put the {label} as a plain number on the first line, then "
                  "explain it in one or two sentences.", reads=reads, after=tail, focus=FINAL_ROLE)
    read = d.add("code", RECIPES["read_score"].title, f"Read the {label} from the rating", reads=[f"{judge}.text"],
                 after=[judge], labels=["read_score"])
    gate = d.add("if-else", f"{label.capitalize()} {operator} {value}?", f"Check whether {rule.condition}",
                 reads=[f"{read}.score"], after=[read], labels=[rule.condition])
    ends: list[Link] = []
    for branch in spec.branches:
        link = Link(step=gate, branch=branch.condition)
        calls = [c for c in spec.http_calls if c.when == branch.condition]
        for call in calls:
            link = Link(step=_deliver(d, call, [reads[0], f"{judge}.text"], [link]))
        if not calls and not re.match(r"stop|do nothing|nothing|ignore", branch.action, re.I):
            link = Link(step=d.add("llm", branch.action[:40].capitalize(), _task(spec, branch.action),
                                   reads=reads + [f"{judge}.text"], after=[link], focus=FINAL_ROLE, labels=[branch.condition]))
        ends.append(link)
    return ends, [("result", f"{judge}.text"), (subject, f"{read}.score")]


def _made_list(d: _Draft, spec: RequirementSpec, tail: list[Link], query: str,
               refs: list[str]) -> tuple[list[Link], list[tuple[str, str]]]:
    """A list the workflow makes itself (a model lists n items, or code splits the text into paragraphs,
    lines, sentences), an iteration whose inner step does the per-item work on the item, and the results
    collected (joined back into one text when asked)."""
    how, _, arg = spec.list_step.partition(":")
    lang = spec.language
    target = lx.say(lang, f"unit_{arg}") if how == "split" else spec.iteration_target or lx.say(lang, "item")
    if how == "model":
        lister = d.add("llm", lx.say(lang, "list_title", arg, target)[:40], lx.say(lang, "list_task", arg, target),
                       reads=refs or [query], after=tail, focus="list")
        split = d.add("code", lx.say(lang, "split"), f"Turn the {target} list into an array, one item per line",
                      reads=[f"{lister}.text"], after=[Link(step=lister)], labels=["split_lines"])
    else:
        split = d.add("code", lx.say(lang, "split"), f"Split the text into {target}s", reads=[query], after=tail,
                      labels=[calc.SPLIT_PREFIX + arg])
    it = d.add("iteration", lx.say(lang, "each", target)[:40], f"Process every {target}", reads=[f"{split}.items"],
               after=[Link(step=split)])
    clause = _each_clause(spec, split=how == "split")
    purpose = (f"{_task(spec, clause)} Do it for this one {target}." if lang == "en" else lx.say(lang, "per_item", clause))
    context = [r for r in refs if r.startswith("start.")][:1] if how == "model" else []
    language = spec.languages[0] if len(spec.languages) == 1 and lx.has(clause, "translate") else None
    if language:  # a per-item translation: the target language is the task
        purpose = lx.say(lang, "translate_task", target, language)
    llm = d.add("llm", lx.say(lang, "handle_one", target)[:40], purpose, reads=[f"{it}.item"] + context,
                after=[Link(step=it)], parent=it, focus=language or FINAL_ROLE)
    d.steps[next(i for i, s in enumerate(d.steps) if s.id == it)].labels = [f"{llm}.text"]
    if spec.join_results:
        join = d.add("template-transform", lx.say(lang, "combine"), "Join the results in their original order",
                     reads=[f"{it}.output"], after=[Link(step=it)], labels=['format:{{ output | join("\n\n") }}'])
        return [Link(step=join)], [("result", f"{join}.output")]
    return [Link(step=it)], [("results", f"{it}.output")]


def _each_clause(spec: RequirementSpec, split: bool = False) -> str:
    """The clause that says what to do with each item (after the each cue), without the cue itself; for a
    split text, the clause after the split one that does not join the results back."""
    text = " ".join(spec.requirement.split())
    if split:
        clauses = [c for part in _clauses(text) for c in re.split(r"[，、]", part) if c.strip()]
        at = next((i for i, c in enumerate(clauses) if lx.has(c, "split_word")), None)
        rest = [c for c in clauses[at + 1:] if not lx.has(c, "join_word")] if at is not None else []
        if rest:
            return re.sub(r"^(?:\w+\s+by\s+\w+|逐段|每段|逐行|逐句)\s*", "", rest[0].strip())
    for sentence in re.split(r"(?<=[.!?。！？；;])\s*", text):
        m = lx.find(sentence, "each") or re.search(r"\b(\w+) by \1\b", sentence)
        if m and not lx.has(sentence[:m.start()], "split_word"):
            return re.sub(r"^[\s,，、]+", "", sentence[m.end():]).strip() or sentence
    return spec.goal


def _iteration(d: _Draft, spec: RequirementSpec, tail: list[Link], query: str) -> tuple[list[Link], list[tuple[str, str]]]:
    """Split the list, handle each item inside an iteration, then do what the requirement asks of all results."""
    target = spec.iteration_target or "item"
    text = " ".join(spec.requirement.split())
    each = re.search(r"\b(?:for|with) (?:each|every)\b", text, re.I)
    then = re.search(r",?\s+(?:and\s+)?then\s+", text[each.end():], re.I) if each else None
    per_item = text[: each.end() + then.start()] if then else text
    after_all = text[each.end() + then.end():] if then else ""
    csv = any("csv" in i.label.lower() for i in spec.inputs)
    lang = spec.language
    split = d.add("code", "Read the CSV rows" if csv and lang == "en" else lx.say(lang, "split"), f"Turn the {target}s into a list, one item per "
                  f"{'row' if csv else 'line'}", reads=[query], after=tail, labels=["csv_rows" if csv else "split_lines"])
    it = d.add("iteration", lx.say(lang, "each", target)[:40], f"Process every {target}", reads=[f"{split}.items"], after=[split])
    if spec.classes:  # tag each item with exactly one of the classes: a classifier per item, the item with its tag
        qc = d.add("question-classifier", say(spec.language, "classify"), f"Give this {target} exactly one of the classes: "
                   f"{', '.join(spec.classes)}", reads=[f"{it}.item"], after=[Link(step=it)], parent=it, labels=spec.classes)
        row = d.add("template-transform", say(spec.language, "assemble"), f"The {target} with its class",
                    reads=[f"{it}.item", f"{qc}.class_name"], after=[Link(step=qc, branch=c) for c in spec.classes], parent=it,
                    labels=["format:{{ item }} → {{ class_name }}"])
        output = f"{row}.output"
    elif spec.extraction_fields:
        fields = [slug(f) for f in spec.extraction_fields]
        pe = d.add("parameter-extractor", "Extract fields", f"Extract {', '.join(spec.extraction_fields)} from this {target}",
                   reads=[f"{it}.item"], after=[Link(step=it)], parent=it, labels=spec.extraction_fields)
        row = d.add("template-transform", f"Format one {target}"[:40], f"One line per {target} with its fields",
                    reads=[f"{it}.item"] + [f"{pe}.{f}" for f in fields], after=[pe], parent=it,
                    labels=[target.capitalize()] + [f[:1].upper() + f[1:] for f in spec.extraction_fields])
        output = f"{row}.output"
    else:
        item, first = f"{it}.item", Link(step=it)
        if _items_are_urls(spec, text):  # a list of addresses: fetch each one first
            fetch = d.add("http-request", say(spec.language, "read_file", "URL"), "Fetch this page", reads=[],
                          after=[first], parent=it, labels=[f"{{{{{item}}}}}"])
            item, first = f"{fetch}.body", Link(step=fetch)
        purpose = (f"{_task(spec, per_item)} Do it for this one {target}." if spec.language == "en"
                   else lx.say(spec.language, "per_item", _per_item_clause(spec)))
        llm = d.add("llm", lx.say(lang, "handle_one", target)[:40], purpose, reads=[item], after=[first], parent=it, focus=FINAL_ROLE)
        output = f"{llm}.text"
    d.steps[next(i for i, s in enumerate(d.steps) if s.id == it)].labels = [output]
    rest = _task(spec, after_all) if after_all else ""
    if rest:
        final = d.add("llm", rest.split(".")[0][:40], f"{rest} Work from the results for all {target}s.",
                      reads=[f"{it}.output"], after=[Link(step=it)], focus=FINAL_ROLE)
        return [Link(step=final)], [("result", f"{final}.text"), ("items", f"{it}.output")]
    return [Link(step=it)], [("results", f"{it}.output")]


def _items_are_urls(spec: RequirementSpec, text: str) -> bool:
    """Whether the list's items are web addresses, so that each is fetched: its input is named as URLs, or
    the text says so where it introduces the list (a URL word before the first "each" cue, or right
    after it: "URLs, one per line", "for each URL"). "Look up each company's website URL" is a list of
    names: fetching them would pretend."""
    if any(is_url_name(f"{i.name} {i.label}") for i in spec.inputs if i.type in ("paragraph", "text-input")):
        return True
    url = lx.find(text, "url_word")
    each = lx.find(text, "each")
    if url is None or each is None or url.start() < each.start():
        return url is not None
    return bool(lx.category("url_word").match(text[each.end():].lstrip()))



def _short_title(task: str) -> str:
    """A node title from the task: its first words (``Comment on readability``), else ``Generate``."""
    task = re.sub(r"^(?:have|let|ask|use)\s+(?:an?|the|another)\s+(?:llm|model|ai)\s+(?:to\s+)?", "", task, flags=re.I)
    words = re.sub(r"[.;:,].*$", "", task).split()[:4]
    return (" ".join(words)[:40][:1].upper() + " ".join(words)[:40][1:]) if words else "Generate"


def _per_item_clause(spec: RequirementSpec) -> str:
    """The clause of a non-English requirement that says what to do with each item."""
    for clause in re.split(r"[。；;！？]\s*", spec.requirement):
        if lx.has(clause, "each"):
            return clause.strip()
    return spec.goal


def run(inp: ArchitectureInput, brain: Brain) -> StageResult[Blueprint]:
    """Plan the workflow's steps for ``inp.spec``."""
    data: dict = {"spec": inp.spec, "patterns": [p.model_dump() for p in inp.patterns]}
    if inp.feedback:
        data["feedback"] = inp.feedback
    if inp.previous:
        data["previous_blueprint"] = inp.previous
    elif brain.kind != "offline":  # a model corrects the rule design of this spec rather than starting from nothing
        data["draft_blueprint"] = design(inp).model_dump(mode="json", exclude_defaults=True, exclude={"rationale"})
    blueprint, calls = brain.think(AGENT, data=data, schema=Blueprint, offline=lambda: design(inp))
    return StageResult(stage=AGENT, output=blueprint, calls=calls)
