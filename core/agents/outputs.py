"""Architecture helpers driven by the requirement model's contract: named outputs and what produces
each, tools, parallel facets, file lists, and titles in the requirement's language.

``d`` is the architect's step accumulator (``architecture._Draft``): ``d.add(type, name, purpose, ...)``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

from core.agents import lexicon as lx
from core.agents.code_recipes import RECIPES, pick_recipe, place_tokens
from core.agents.models import BlueprintStep, Link, OutputVar, RequirementSpec
from core.agents.rules import slug

SEARCH_TOOLS = ("tavily", "duckduckgo", "jina", "wikipedia", "yahoo")
"""Tools that fetch material before the main step (the others act on its result)."""
TITLE_KEYS = {"start": "start", "end": "end", "answer": "answer", "question-classifier": "classify",
              "variable-aggregator": "merge", "parameter-extractor": "extract", "loop": "loop",
              "template-transform": "assemble", "knowledge-retrieval": "knowledge", "document-extractor": "read_file",
              "http-request": "http"}


@cache
def catalogue() -> dict[str, dict]:
    """The tool catalogue (``core/agents/tools.yaml``): key -> provider, tool, param, output, plugin."""
    return yaml.safe_load((Path(__file__).parent / "tools.yaml").read_text(encoding="utf-8"))


def plain(spec: RequirementSpec) -> bool:
    """No control structure: the named outputs can each be produced by their own step."""
    return not (spec.classes or spec.branches or spec.loop or spec.iteration_target or spec.parallel_models >= 2
                or spec.sections or spec.has("agent") or spec.facets or spec.list_filter or spec.extraction_fields
                or spec.app_mode == "advanced-chat")


def _tool(d, spec: RequirementSpec, key: str, source: str, after: list[Link], title: str | None = None) -> str:
    tool = catalogue()[key]
    return d.add("tool", title or tool["label"], f"{tool['label']} on {source}", reads=[source], after=after, labels=[key])


def search(d, spec: RequirementSpec, keys: list[str], tail: list[Link], main: str | None) -> tuple[list[Link], list[str]]:
    """The named search/reading tools: one per facet when the facets are searches, else one per tool."""
    source = next((f"start.{i.name}" for i in spec.inputs if i.name == "url"), main or "sys.query")
    refs, ends = [], []
    topics = spec.facets if spec.facets and len(keys) == 1 else [""]
    for key in keys:
        for topic in topics:
            t = _tool(d, spec, key, source, tail, f"{catalogue()[key]['label']}: {topic}"[:40] if topic else None)
            d.steps[-1].focus = topic or None
            refs.append(f"{t}.{catalogue()[key]['output']}")
            ends.append(Link(step=t))
    if topics != [""]:
        spec.facets = []  # the facets were searches; one step writes from all of them
    return ends, refs


def facets(d, spec: RequirementSpec, tail: list[Link], refs: list[str]) -> tuple[list[Link], list[tuple[str, str]]]:
    """One step per independent facet, side by side, then one step (or a template) that joins them."""
    lang = spec.language
    texts, ends = [], []
    for facet in spec.facets:
        step = d.add("llm", facet[:40], lx.say(lang, "facet_task", facet), reads=refs, after=tail, focus=facet)
        texts.append(f"{step}.text")
        ends.append(Link(step=step))
    if spec.no_model or lx.has(spec.requirement, "template"):
        join = d.add("template-transform", lx.say(lang, "assemble"), lx.say(lang, "combine"), reads=texts, after=ends,
                     labels=spec.facets)
        return [Link(step=join)], [("result", f"{join}.output")]
    goal = _after_parallel(spec)
    join = d.add("llm", lx.say(lang, "combine"), lx.say(lang, "combine_task", goal), reads=refs + texts, after=ends,
                 focus="final")
    return [Link(step=join)], [("result", f"{join}.text")]


def _after_parallel(spec: RequirementSpec) -> str:
    """What the joining step must do: the sentence after the parallel part (``then combine ... into ...``)."""
    text = " ".join(spec.requirement.split())
    m = lx.find(text, "then")
    tail = text[m.end():] if m else ""
    return tail.strip(" ,.;:，。") or spec.goal


def each_file(d, spec: RequirementSpec, var, tail: list[Link]) -> tuple[list[Link], str]:
    """An iteration over a file list: read each file, handle it with the per-item ask, collect the results."""
    lang = spec.language
    it = d.add("iteration", lx.say(lang, "each", var.name), f"Process every file of {var.name}", reads=[f"start.{var.name}"],
               after=tail)
    per = _per_item(spec)
    if "image" in var.file_types:  # each image goes to a vision-enabled step
        reads, first = [f"{it}.item"], Link(step=it)
    else:
        ex = d.add("document-extractor", lx.say(lang, "read_file", var.name), "Extract the text of this file",
                   reads=[f"{it}.item"], after=[Link(step=it)], parent=it)
        reads, first = [f"{ex}.text"], Link(step=ex)
    llm = d.add("llm", lx.say(lang, "handle_one", lx.say(lang, "item")), lx.say(lang, "per_item", per),
                reads=reads, after=[first], parent=it, focus="final")
    d.steps[next(i for i, s in enumerate(d.steps) if s.id == it)].labels = [f"{llm}.text"]
    return [Link(step=it)], f"{it}.output"


def _per_item(spec: RequirementSpec) -> str:
    """The clause that says what to do with each item (the one holding an 'each' cue)."""
    for clause in re.split(r"[。；;.!?，,]\s*", spec.requirement):
        if lx.has(clause, "each"):
            return clause.strip()
    return spec.goal


def contract(d, spec: RequirementSpec, tail: list[Link], results: list[tuple[str, str]],
             refs: list[str]) -> tuple[list[Link], list[tuple[str, str]]]:
    """Bind the named outputs: the main result to the first one, a producing step to each other one;
    then the tools that act on the result. Returns the new tail and the End's (name, ref) pairs."""
    named = [o for o in spec.outputs if o.explicit]
    produced: dict[str, str] = {}
    main = results[-1][1] if results else None
    tail, refs = computed(d, spec, tail, refs, produced)
    if any(not o.intermediate for o in named):
        named = [o for o in named if not o.intermediate]
    ends = list(tail)
    given = dict(results)  # a step already made under the output's own name (the filtered records as top5)
    for o in named:
        if o.name in given and o.name not in produced:
            produced[o.name] = given[o.name]
        if o.name in produced:
            continue
        if not o.source.startswith(("tool:", "translate:", "code")) and main and not produced:
            produced[o.name] = main
            continue
        ref, link = _produce(d, spec, o, produced, main, refs, tail)
        produced[o.name] = ref
        if link is not None:
            ends.append(link)
        main = main or ref
    if named:
        pairs = [(o.name, produced[o.name]) for o in named]
    else:
        pairs = list(results)
    bound = {o.source for o in named}
    last = pairs[-1][1] if pairs else main
    for key in spec.tools:
        if key in SEARCH_TOOLS or f"tool:{key}" in bound or not last:
            continue
        t = _tool(d, spec, key, last, ends)
        ends = [Link(step=t)]
        pairs.append((slug(key.split("_")[-1]) if not named else f"{key.split('_')[-1]}_file", f"{t}.files"))
    return dedupe_links(ends), pairs


def computed(d, spec: RequirementSpec, tail: list[Link], refs: list[str],
             produced: dict[str, str]) -> tuple[list[Link], list[str]]:
    """The values the workflow works out and names itself (``算出…天数 days``): a code step each, reading the
    start inputs, returning the value under its name; the later steps read it."""
    inputs = [f"start.{i.name}" for i in spec.inputs if i.type not in ("file", "file-list")]
    for o in (o for o in spec.outputs if o.intermediate):
        made = next((s for s in d.steps if s.type == "code" and any(f'"{o.name}"' in label for label in s.labels)), None)
        if made is not None:  # an earlier code step already computes it (an asked calculation): read that one
            produced[o.name] = f"{made.id}.{o.name}"
            refs = [*refs, produced[o.name]] if produced[o.name] not in refs else refs
            continue
        recipe = pick_recipe(o.description) if re.search(r"word|字数|文字数", o.name + o.description) else None
        if recipe is not None and o.name in recipe.outputs:
            step = d.add("code", lx.say(spec.language, "compute", o.name)[:40], o.description or o.name,
                         reads=(refs or inputs)[:1], after=tail, labels=[recipe.key])
        else:
            step = d.add("code", lx.say(spec.language, "compute", o.name)[:40], o.description or o.name,
                         reads=inputs or refs[:1], after=tail, labels=[f"skeleton:{o.name}"])
        produced[o.name] = f"{step}.{o.name}"
        tail, refs = [Link(step=step)], [*refs, f"{step}.{o.name}"]
    return tail, refs


def dedupe_links(links: list[Link]) -> list[Link]:
    """``links`` without repeats (the same step and branch), in order."""
    seen, out = set(), []
    for link in links:
        if (link.step, link.branch) not in seen:
            seen.add((link.step, link.branch))
            out.append(link)
    return out


def _produce(d, spec: RequirementSpec, o: OutputVar, produced: dict[str, str], main: str | None, refs: list[str],
             tail: list[Link]) -> tuple[str, Link | None]:
    """The step that yields output ``o`` (by its source), reading what it is made from."""
    lang = spec.language
    basis = _basis(o, produced, spec) or main
    after = [Link(step=basis.split(".")[0])] if basis and basis.split(".")[0] in {s.id for s in d.steps} else tail
    if o.source.startswith("tool:") and not produced and not (main and main.split(".")[-1] in ("text", "output")):
        # nothing written yet to export or speak: write it first from the inputs
        writer = d.add("llm", lx.say(lang, "generate", lx.say(lang, "result")), lx.say(lang, "write_output", o.description),
                       reads=refs, after=tail, focus="final")
        basis, after = f"{writer}.text", [Link(step=writer)]
    if o.source.startswith("tool:") and basis:
        key = o.source.removeprefix("tool:")
        step = _tool(d, spec, key, basis, after, lx.say(lang, "export", key.split("_")[-1].upper()) if "export" in key
                     else None)
        return f"{step}.{catalogue()[key]['output']}", Link(step=step)
    if o.source.startswith("translate:") and basis:
        target = lx.language_name(o.source.removeprefix("translate:"), lang)
        step = d.add("llm", lx.say(lang, "translate", target), lx.say(lang, "translate_task", _name_of(basis, produced), target),
                     reads=[basis], after=after, focus="final")
        return f"{step}.text", Link(step=step)
    if o.source == "code" and basis:
        recipe = pick_recipe(o.description) if not re.search(r"word", o.name) else RECIPES["text_stats"]
        step = d.add("code", lx.say(lang, "compute", o.name), o.description or o.name, reads=[basis], after=after,
                     labels=[recipe.key])
        field = next((k for k in recipe.outputs if k == o.name or k.split("_")[0] in o.name), next(iter(recipe.outputs)))
        return f"{step}.{field}", Link(step=step)
    reads = refs + ([basis] if basis and basis not in refs else [])
    recipe = pick_recipe(spec.requirement)
    covered = all(x in place_tokens(recipe.code, spec.requirement, spec.literals) for x in spec.literals)
    if spec.no_model and o.name in recipe.outputs and recipe.key != "clean_text" and covered:  # a recipe that makes exactly this
        step = d.add("code", recipe.title, o.description or o.name, reads=[f"start.{i.name}" for i in spec.inputs][:1] or reads[:1],
                     after=tail, labels=[recipe.key])
        return f"{step}.{o.name}", Link(step=step)
    if spec.no_model:  # a hard constraint: a typed code skeleton for the output, never a model call
        inputs = [f"start.{i.name}" for i in spec.inputs] or reads
        step = d.add("code", lx.say(lang, "compute", o.name)[:40], o.description or o.name, reads=inputs,
                     after=tail, labels=[f"skeleton:{o.name}"])
        return f"{step}.{o.name}", Link(step=step)
    computed_first = any(x.intermediate for x in spec.outputs)  # the computed values run last before this step
    step = d.add("llm", lx.say(lang, "generate", o.name), lx.say(lang, "write_output", o.description or o.name),
                 reads=reads, after=after if basis and not computed_first else tail, focus="final")
    return f"{step}.text", Link(step=step)


def _basis(o: OutputVar, produced: dict[str, str], spec: RequirementSpec) -> str | None:
    """The earlier output ``o`` is made from: one it names, else (for tools, translations, code) the last one."""
    for name, ref in produced.items():
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", o.description):
            return ref
    if o.source != "llm" and produced:
        return list(produced.values())[0]
    if o.source == "llm" and produced and lx.has(o.description, "then"):
        return list(produced.values())[-1]
    return None


def _name_of(ref: str, produced: dict[str, str]) -> str:
    return next((name for name, r in produced.items() if r == ref), lx.say("en", "result"))


def localize(steps: list[BlueprintStep], spec: RequirementSpec) -> None:
    """Titles in the requirement's language: an English title left by a generic rule gets the lexicon's one."""
    lang = spec.language
    if lang == "en":
        return
    for step in steps:
        if lx.detect(step.name) == lang and (lang not in ("zh", "ja", "ko") or lx.CJK.search(step.name)):
            continue
        key = TITLE_KEYS.get(step.type)
        if step.type == "llm":
            step.name = lx.say(lang, "generate", step.focus if step.focus and step.focus != "final" else "")[:40].strip()
        elif step.type == "if-else":
            step.name = lx.say(lang, "check", "")
        elif step.type == "code":
            step.name = lx.say(lang, "compute", "")
        elif step.type == "iteration":
            step.name = lx.say(lang, "each", "")
        elif step.type == "tool":
            key = (step.labels or [""])[0]
            step.name = (lx.say(lang, "search") if key in SEARCH_TOOLS else lx.say(lang, "tts") if key == "tts"
                         else lx.say(lang, "export", key.split("_")[-1].upper()) if key.startswith("md_exporter")
                         else step.name)
        elif step.type == "assigner":
            step.name = lx.say(lang, "keep")
        elif key:
            step.name = lx.say(lang, key, "").strip()
        if not step.name.strip():
            step.name = lx.say(lang, "result")


def gate(d, spec: RequirementSpec, tail: list[Link], main: str | None, refs: list[str], subject_ref: str | None = None):
    """The typed comparison of ``spec.gate`` as an if-else before the main work (on ``subject_ref`` when a step
    already computed the value compared).

    Returns the tail of the other cases (the if-else's ``otherwise`` path, where the main work goes on),
    and (then-path outputs, the then-path's result ref, its last link)."""
    g = spec.gate
    lang = spec.language
    subject_ref, tail = (subject_ref, tail) if subject_ref else _gate_subject(d, spec, tail, main)
    label = f"{g.operator} {g.value}"
    named = any(i.name == g.subject for i in spec.inputs)  # "scoreを判定": a variable's name reads in any language
    subject = "" if lx.has(g.subject, "cond_word") or lx.detect(g.subject) != lang and not named else g.subject  # not "如果"
    check = d.add("if-else", lx.say(lang, "check", subject)[:40], f"{g.subject} {label}", reads=[subject_ref],
                  after=tail, labels=[label])
    then = Link(step=check, branch=label)
    if g.no_model:
        text = g.fixed_text or g.then_text
        step = d.add("template-transform", lx.say(lang, "fixed", text)[:40], g.then_text, after=[then], labels=[f"fixed:{text}"])
        ref = f"{step}.output"
    else:
        names = ", ".join(g.then_outputs)
        step = d.add("llm", lx.say(lang, "generate", names or lx.say(lang, "result"))[:40], lx.say(lang, "write_output", g.then_text),
                     reads=refs, after=[then], focus="final")
        ref = f"{step}.text"
    return [Link(step=check, branch="otherwise")], (list(g.then_outputs), ref, Link(step=step))


def _gate_subject(d, spec: RequirementSpec, tail: list[Link], main: str | None) -> tuple[str, list[Link]]:
    """What the comparison reads: a number input it names (or the only one), a count made by code for
    lines/words, or a number a parameter extractor reads from the main text."""
    g = spec.gate
    words = set(re.findall(r"\w+", g.subject.lower()))
    numbers = [i for i in spec.inputs if i.type == "number"]
    named = [i for i in numbers if words & set(i.name.lower().split("_")) or i.label.lower() in g.subject.lower()]
    if named or len(numbers) == 1:
        return f"start.{(named or numbers)[0].name}", tail
    source = main or next((f"start.{i.name}" for i in spec.inputs if i.type in ("paragraph", "text-input")), "sys.query")
    if re.search(r"lines?|words?|characters?|行|字", g.subject):
        step = d.add("code", lx.say(spec.language, "compute", g.subject)[:40], f"Count the {g.subject}", reads=[source],
                     after=tail, labels=["text_stats"])
        field = "line_count" if re.search(r"line|行", g.subject) else ("character_count" if re.search(r"char|字", g.subject)
                                                                         else "word_count")
        return f"{step}.{field}", [Link(step=step)]
    param = slug(g.subject) if re.search(r"[A-Za-z]", g.subject) else "value"
    step = d.add("parameter-extractor", lx.say(spec.language, "extract"), f"Read the {g.subject} as a number", reads=[source],
                 after=tail, labels=[f"{param}:number"])
    return f"{step}.{param}", [Link(step=step)]


def without_model(d, spec: RequirementSpec, tail: list[Link]) -> tuple[list[Link], list[tuple[str, str]]]:
    """"No model": a template when the wording is fixed (the user's own format, placeholders bound to the
    inputs), else a code step that reads the typed inputs and returns the named outputs."""
    lang = spec.language
    if not spec.no_model and any(o.intermediate for o in spec.outputs):
        return tail, []  # "calculate x with code, then write y": code makes x (see ``computed``), a model writes y
    names = [o.name for o in spec.outputs if o.explicit] or ["result"]
    refs = [f"start.{i.name}" for i in spec.inputs]
    code = lx.has(spec.requirement, "code") or lx.has(spec.requirement, "code_step")
    if lx.has(spec.requirement, "template") and not lx.has(spec.requirement, "code_step") or not code:
        step = d.add("template-transform", lx.say(lang, "assemble"), lx.say(lang, "combine"), reads=refs, after=tail,
                     labels=[f"format:{_user_format(spec)}"])
        return [Link(step=step)], [(names[0], f"{step}.output")]
    recipe = pick_recipe(spec.requirement)
    if recipe.key == "mask_pii" and len(names) == 1:  # a recipe that does exactly this: use it
        step = d.add("code", recipe.title, spec.goal, reads=refs[:1], after=tail, labels=[recipe.key])
        return [Link(step=step)], [(names[0], f"{step}.clean_text")]
    step = d.add("code", lx.say(lang, "compute", ", ".join(names))[:40], spec.goal, reads=refs, after=tail,
                 labels=[f"skeleton:{','.join(names)}"])
    return [Link(step=step)], [(n, f"{step}.{n}") for n in names]


def _user_format(spec: RequirementSpec) -> str:
    """The fixed text the user gave (a quoted string with ``{name}`` placeholders), as a Jinja template."""
    names = {i.name for i in spec.inputs}
    for quoted in re.findall(r"[「“\"]([^」”\"]{8,400})[」”\"]", spec.requirement):
        if any("{" + n + "}" in quoted for n in names):
            return re.sub(r"\{(\w+)\}", lambda m: "{{ " + m.group(1) + " }}" if m.group(1) in names else m.group(0), quoted)
    return "\n".join(f"{i.label}: {{{{ {i.name} }}}}" for i in spec.inputs)
