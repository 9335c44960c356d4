"""Pattern adapter: does a retrieved pattern's structure fit the spec, and what the blueprint takes from it.

A pattern's *control shape* is read from its Dify graph: the app mode and the top-level constructs
that decide how data flows (a classifier and its number of classes, an if-else gate, an iteration,
a loop, a parallel fan-out, knowledge retrieval, an HTTP call, an agent). The spec asks for a shape
of its own. When the best-ranked pattern's shape is the spec's, the blueprint is derived from that
pattern: its skeleton is kept, its classes are renamed to the spec's, the spec's named inputs and
outputs are bound, and the steps the spec does not need are dropped (steps it needs are added). The
blueprint then names exactly that pattern in ``patterns_used``; a spec no pattern fits names none.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field

from core.agents.models import Blueprint, BlueprintStep, RequirementSpec

CONTROL = ("question-classifier", "if-else", "iteration", "loop", "parallel", "knowledge-retrieval", "http-request",
           "agent")
"""The constructs a shape is made of (``parallel`` is a fan-out of one output to several steps)."""
PLUMBING = {"start", "end", "answer", "iteration-start", "loop-start", "loop-end"}


class PatternStep(BaseModel):
    """One node of a pattern's graph, as the architect sees it."""

    id: str
    type: str
    title: str = ""
    after: list[str] = Field(default_factory=list, description="steps with an edge into this one ('id' or 'id:handle')")
    parent: str | None = None
    classes: list[str] = Field(default_factory=list, description="class names of a question classifier")


class Shape(BaseModel):
    """The control shape of a workflow: its mode, its constructs and the classifier's class count."""

    mode: str = "workflow"
    constructs: list[str] = Field(default_factory=list)
    classes: int = 0

    def key(self) -> tuple:
        return self.mode, tuple(sorted(set(self.constructs))), self.classes


def pattern_steps(dsl: dict) -> list[PatternStep]:
    """The steps (notes left out) of a pattern's DSL graph, in file order."""
    graph = ((dsl or {}).get("workflow") or {}).get("graph") or {}
    nodes = [n for n in graph.get("nodes") or [] if isinstance(n, dict) and n.get("type") != "custom-note"]
    incoming: dict[str, list[str]] = {}
    for e in graph.get("edges") or []:
        if isinstance(e, dict) and e.get("target"):
            handle = str(e.get("sourceHandle") or "source")
            source = str(e.get("source", ""))
            incoming.setdefault(str(e["target"]), []).append(source if handle == "source" else f"{source}:{handle}")
    steps = []
    for n in nodes:
        data = n.get("data") or {}
        steps.append(PatternStep(id=str(n.get("id", "")), type=str(data.get("type", "")), title=str(data.get("title", "")),
                                 after=incoming.get(str(n.get("id", "")), []), parent=n.get("parentId"),
                                 classes=[str(c.get("name", "")) for c in data.get("classes") or [] if isinstance(c, dict)]))
    return steps


def _shape(mode: str, rows: list[tuple[str, str | None, list[str], int, str]]) -> Shape:
    """Shape of (type, parent, incoming ids, class count, id) rows: top-level constructs only."""
    top = [r for r in rows if r[1] is None]
    fan_out = Counter(src for r in top for src in r[2])  # one output (id or id:handle) feeding several steps
    types = {r[0] for r in top}
    constructs = [t for t in CONTROL if t in types]
    if any(n > 1 for n in fan_out.values()):
        constructs.append("parallel")
    classes = max((r[3] for r in top if r[0] == "question-classifier"), default=0)
    return Shape(mode=mode, constructs=constructs, classes=classes)


def shape_of_pattern(mode: str, steps: list[PatternStep]) -> Shape:
    rows = [(s.type, s.parent, s.after, len(s.classes), s.id) for s in steps]
    return _shape(mode, rows)


def shape_of_blueprint(bp: Blueprint) -> Shape:
    rows = [(s.type, s.parent, [a.step if a.branch is None else f"{a.step}:{a.branch}" for a in s.after], len(s.labels),
             s.id) for s in bp.steps]
    return _shape(bp.app_mode, rows)


def shape_of_spec(spec: RequirementSpec) -> Shape:
    """The shape the spec asks for."""
    asked = {
        "question-classifier": bool(spec.classes),
        "if-else": bool(spec.branches or spec.gate) and not spec.classes,
        "iteration": bool(spec.iteration_target) or any(i.type == "file-list" for i in spec.inputs),
        "loop": spec.loop is not None,
        "knowledge-retrieval": spec.has("retrieval"),
        "http-request": bool(spec.http_calls),
        "agent": spec.has("agent"),
        "parallel": spec.parallel_models >= 2 or len(spec.facets) >= 2
        or (spec.has("translation") and len(spec.languages) >= 2),
    }
    return Shape(mode=spec.app_mode, constructs=[k for k in CONTROL if asked[k]], classes=len(spec.classes))


def fits(spec: RequirementSpec, mode: str, steps: list[PatternStep]) -> bool:
    """Whether a pattern's structure is the one the spec asks for (same mode, same constructs and class count)."""
    return bool(steps) and shape_of_pattern(mode, steps).key() == shape_of_spec(spec).key()


def adapt(spec: RequirementSpec, pattern_id: str, mode: str, steps: list[PatternStep], composed: Blueprint) -> Blueprint | None:
    """The blueprint derived from the pattern: its skeleton bound to the spec, or ``None`` when the
    spec-bound steps do not realise the pattern's control shape (then nothing was derived from it)."""
    shape = shape_of_pattern(mode, steps)
    if not fits(spec, mode, steps) or shape_of_blueprint(composed).key()[:2] != shape.key()[:2]:
        return None
    have = Counter(s.type for s in composed.steps)
    want = Counter(s.type for s in steps)
    work = set(want) - PLUMBING - {"llm"}
    if not shape.constructs and not (work and work <= set(have)):
        return None  # a straight-line pattern fits only when the spec needs the same kinds of work steps
    dropped = sorted(t for t in want if t not in have and t not in PLUMBING)
    added = sorted(t for t in have if t not in want and t not in PLUMBING)
    renamed = []
    pattern_classes = next((s.classes for s in steps if s.type == "question-classifier"), [])
    for old, new in zip(pattern_classes, spec.classes, strict=False):
        if old != new:
            renamed.append(f"{old} -> {new}")
    notes = [f"derived from pattern {pattern_id}"]
    if renamed:
        notes.append("classes renamed: " + ", ".join(renamed))
    bound = [i.name for i in spec.inputs] + [o.name for o in spec.outputs if o.explicit]
    if bound:
        notes.append("bound: " + ", ".join(bound))
    if dropped:
        notes.append("dropped: " + ", ".join(dropped))
    if added:
        notes.append("added: " + ", ".join(added))
    rationale = "; ".join(n for n in [composed.rationale, *notes] if n)
    return composed.model_copy(update={"patterns_used": [pattern_id], "rationale": rationale})


def derive(spec: RequirementSpec, patterns: list, composed: Blueprint) -> Blueprint:
    """The blueprint derived from the best-ranked pattern when it fits the spec, else ``composed``
    with no pattern named (``patterns`` are ``PatternBrief``s, best first)."""
    best = max(patterns, key=lambda p: p.score, default=None)
    derived = adapt(spec, best.id, best.mode, best.steps, composed) if best is not None else None
    return derived or composed.model_copy(update={"patterns_used": []})


def skeleton(steps: list[BlueprintStep]) -> list[str]:
    """The non-plumbing step types, in order (what tests and the Generate page compare)."""
    return [s.type for s in steps if s.type not in PLUMBING]
