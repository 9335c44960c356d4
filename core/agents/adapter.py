"""Pattern adapter: does a retrieved pattern's structure fit the spec, and the blueprint derived from it.

A pattern's *control shape* is read from its Dify graph: the app mode and the top-level constructs
that decide how data flows (a classifier, an if-else gate, an iteration, a loop, a parallel fan-out,
knowledge retrieval, an HTTP call, an agent). When the best-ranked pattern's shape is the one of the
spec's steps as composed (a classifier's class count may differ), ``derive`` builds the blueprint from
the pattern's graph:

- its steps are walked in topological order and each is bound to a spec-bound step of the same type
  and role from the composed blueprint (the pool: the steps the spec needs, with their inputs,
  purposes and titles in the requirement's language). A role is where a step sits: before the
  branching step, on the branch of one class, after the branches join, inside an iteration or loop
  (and for a tool, what it does: a search binds to a search);
- the branching step's lanes are bound to the spec's classes (or conditions): when the spec has more
  classes than the pattern, the pattern's last per-class sub-graph is replicated for the extra ones;
  when it has fewer, the surplus branches are trimmed;
- the wiring is the pattern's (its order, fan-outs, joins and branch handles). Pattern steps the spec
  does not need are dropped and their neighbours joined up; spec steps the pattern lacks are inserted
  where the composed blueprint had them. Where the pattern joins its branches with an aggregator into
  one end and the pool ends every branch on its own (with the same output), the branches are joined
  the pattern's way. The pattern's order is tried first; when the spec's data flow forbids it (a step
  would read one that runs later), the pool's order is kept and only the pattern's wiring around it.

The result names the pattern in ``patterns_used`` and its rationale says what was kept, renamed,
replicated, trimmed, dropped and added (``adaptation`` returns that note; the Generate page and the
CLI show it). A derivation that keeps too little of the pattern (fewer than two of its steps, or fewer
kept than dropped), loses a spec item (named inputs, outputs, classes, a path for every branch), has a
step read a step that does not run before it, or does not compile to a valid DSL is discarded: the
composed blueprint is returned naming no pattern (derived or nothing).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from core.agents import lexicon as lx
from core.agents.models import Blueprint, BlueprintStep, Link, RequirementSpec
from core.agents.outputs import SEARCH_TOOLS, dedupe_links

log = logging.getLogger(__name__)

CONTROL = ("question-classifier", "if-else", "iteration", "loop", "parallel", "knowledge-retrieval", "http-request",
           "agent")
"""The constructs a shape is made of (``parallel`` is a fan-out of one output to several steps)."""
PLUMBING = {"start", "end", "answer", "iteration-start", "loop-start", "loop-end"}
BRANCHING = ("question-classifier", "if-else")
TERMINALS = ("end", "answer")
FREE_REFS = {"sys", "conversation", "env"}
"""Reference heads that are not steps (always readable)."""
DERIVED = "Derived from pattern"
"""How the rationale's derivation note starts (``adaptation`` finds it there)."""


class PatternStep(BaseModel):
    """One node of a pattern's graph, as the architect sees it."""

    id: str
    type: str
    title: str = ""
    after: list[str] = Field(default_factory=list, description="steps with an edge into this one ('id' or 'id:handle')")
    parent: str | None = None
    classes: list[str] = Field(default_factory=list, description="class names of a question classifier")
    handles: list[str] = Field(default_factory=list, description="outgoing branch handles in order: a classifier's "
                               "class ids, an if-else's case ids then 'false' (its else)")
    tool: str = Field(default="", description="a tool step's 'provider/tool'")


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
                                 classes=[str(c.get("name", "")) for c in data.get("classes") or [] if isinstance(c, dict)],
                                 handles=_handles(data),
                                 tool=f"{data.get('provider_id', '')}/{data.get('tool_name', '')}" if data.get("type") == "tool" else ""))
    return steps


def _handles(data: dict) -> list[str]:
    if data.get("type") == "question-classifier":
        return [str(c.get("id", "")) for c in data.get("classes") or [] if isinstance(c, dict)]
    if data.get("type") == "if-else":
        cases = [str(c.get("case_id") or c.get("id") or "") for c in data.get("cases") or [] if isinstance(c, dict)]
        return (cases or ["true"]) + ["false"]
    return []


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
    """The shape the spec's wording asks for (the adapter compares patterns with the composed blueprint's
    shape, the structure of the spec's steps as bound; this one is for reports and tests)."""
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


# ------------------------------------------------------------------------------------- derivation


@dataclass
class _Graph:
    """A graph under derivation: steps in topological order with their types, parents and incoming
    ``(step, handle)`` links, the top-level branching step, its lanes (handles or labels, in order) and
    each step's zone: ``("pre",)``, ``("branch",)``, ``("lane", k)`` or ``("post",)``."""

    order: list[str]
    type: dict[str, str]
    parent: dict[str, str | None]
    after: dict[str, list[tuple[str, str | None]]]
    kind: dict[str, str] = field(default_factory=dict)
    """what a step is, for binding: its type, and for a tool what the tool does (``tool:search``)"""
    branch: str | None = None
    lanes: list[str] = field(default_factory=list)
    zone: dict[str, tuple] = field(default_factory=dict)


def _topological(ids: list[str], after: dict[str, list[tuple[str, str | None]]],
                 rank: dict[str, float] | None = None) -> list[str] | None:
    """``ids`` in an order where every step follows its predecessors (ties by ``rank``, else as given);
    None when the links make a cycle."""
    rank = rank or {s: i for i, s in enumerate(ids)}
    known = set(ids)
    waiting = {s: {p for p, _ in after.get(s, []) if p in known and p != s} for s in ids}
    order: list[str] = []
    while waiting:
        ready = [s for s, preds in waiting.items() if not preds]
        if not ready:
            return None
        step = min(ready, key=lambda s: rank[s])
        order.append(step)
        del waiting[step]
        for preds in waiting.values():
            preds.discard(step)
    return order


def _zones(g: _Graph, branch_type: str | None) -> None:
    """Find the top-level branching step of ``branch_type`` and the zone of every step relative to it."""
    g.branch = next((s for s in g.order if g.type[s] == branch_type and g.parent[s] is None), None) if branch_type else None

    def top(s: str) -> str:
        while g.parent.get(s):
            s = g.parent[s]  # type: ignore[assignment]
        return s

    for s in g.order:
        if g.parent[s] is not None:
            continue
        if s == g.branch:
            g.zone[s] = ("branch",)
            continue
        zones = set()
        for p, handle in g.after[s]:
            if p == g.branch:
                zones.add(("lane", g.lanes.index(handle)) if handle in g.lanes else ("post",))
            else:
                zones.add(g.zone.get(top(p), ("pre",)))
        if not zones or zones == {("pre",)}:
            g.zone[s] = ("pre",)
        elif len(zones) == 1 and next(iter(zones))[0] == "lane":
            g.zone[s] = next(iter(zones))
        else:
            g.zone[s] = ("post",)
    for s in g.order:
        if g.parent[s] is not None:
            g.zone[s] = g.zone.get(top(s), ("pre",))


def _pattern_graph(steps: list[PatternStep]) -> tuple[_Graph, dict[str, PatternStep]] | None:
    """The pattern's graph with its start-of-container nodes folded into the container (as blueprints have it)."""
    starts = {s.id: s.parent for s in steps if s.type in ("iteration-start", "loop-start") and s.parent}
    nodes = {s.id: s for s in steps if s.id not in starts}
    after: dict[str, list[tuple[str, str | None]]] = {}
    for s in nodes.values():
        links = []
        for a in s.after:
            source, _, handle = a.partition(":")
            if source in starts:
                links.append((str(starts[source]), None))
            elif source in nodes:
                links.append((source, handle or None))
        after[s.id] = links
    order = _topological(list(nodes), after)
    if order is None:
        return None
    g = _Graph(order=order, type={s: nodes[s].type for s in order}, parent={s: nodes[s].parent for s in order}, after=after,
               kind={s: _kind(nodes[s].type, nodes[s].tool) for s in order})
    first = next((s for s in order if g.type[s] in BRANCHING and g.parent[s] is None), None)
    g.lanes = list(nodes[first].handles) if first else []
    _zones(g, g.type[first] if first else None)
    return g, nodes


def _blueprint_graph(steps: list[BlueprintStep], branch_type: str | None) -> _Graph | None:
    after = {s.id: [(a.step, a.branch) for a in s.after] for s in steps}
    order = _topological([s.id for s in steps], after)
    if order is None:
        return None
    by_id = {s.id: s for s in steps}
    g = _Graph(order=order, type={s: by_id[s].type for s in order}, parent={s: by_id[s].parent for s in order}, after=after,
               kind={s: _kind(by_id[s].type, (by_id[s].labels or [""])[0]) for s in order})
    first = next((s for s in order if g.type[s] == branch_type and g.parent[s] is None), None) if branch_type else None
    g.lanes = _lanes_of(by_id[first]) if first else []
    _zones(g, branch_type if first else None)
    return g


def _kind(type_: str, tool: str) -> str:
    """A step's kind for binding: tools bind only to tools that do the same (a search to a search)."""
    if type_ != "tool":
        return type_
    tool = tool.lower()
    return "tool:search" if "search" in tool or any(t in tool for t in SEARCH_TOOLS) else f"tool:{tool.split('/')[-1]}"


def _lanes_of(step: BlueprintStep) -> list[str]:
    """A blueprint branching step's outgoing branches, in order (an if-else's last one is ``otherwise``)."""
    return list(step.labels) + (["otherwise"] if step.type == "if-else" else [])


def _template(kind: str, pattern_lanes: int, lanes: list[str]) -> list[int]:
    """For each of a step's lanes, the pattern lane whose sub-graph it takes: in order, the pattern's
    last class for the extra classes; an if-else's ``otherwise`` takes the pattern's else."""
    if pattern_lanes <= 0:
        return [-1] * len(lanes)
    if kind == "if-else":
        cases = max(1, pattern_lanes - 1)
        return [pattern_lanes - 1 if label == "otherwise" else min(j, cases - 1) for j, label in enumerate(lanes)]
    return [min(j, pattern_lanes - 1) for j in range(len(lanes))]


def _ancestors(after: dict[str, list[Link]], parent: dict[str, str | None], step: str) -> set[str]:
    """Every step that runs before ``step`` (along its links, and its containers with theirs)."""
    seen: set[str] = set()
    todo = [a.step for a in after.get(step, [])] + ([parent[step]] if parent.get(step) else [])
    while todo:
        s = todo.pop()
        if s in seen or s not in after:
            continue
        seen.add(s)
        todo += [a.step for a in after[s]] + ([parent[s]] if parent.get(s) else [])  # type: ignore[list-item]
    return seen


def _join_ends(pattern: _Graph, pool: list[BlueprintStep], lang: str) -> tuple[list[BlueprintStep], str]:
    """The pool with its per-branch ends joined by an aggregator into one end, when the pattern joins its
    branches that way and the pool ends every branch on its own with the same single output."""
    joins = [s for s in pattern.order if pattern.type[s] == "variable-aggregator" and pattern.zone[s] == ("post",)
             and len({pattern.zone.get(p) for p, _ in pattern.after[s]}) >= 2]
    ends = [s for s in pattern.order if pattern.type[s] in TERMINALS]
    pool_ends = [s for s in pool if s.type in TERMINALS]
    if not joins or len(ends) != 1 or len(pool_ends) < 2:
        return pool, ""
    first = pool_ends[0]
    if any(len(e.reads) != 1 or e.labels != first.labels or e.parent for e in pool_ends):
        return pool, ""
    ids = {s.id for s in pool}
    agg_id, n = "join_branches", 2
    while agg_id in ids:
        agg_id, n = f"join_branches_{n}", n + 1
    agg = BlueprintStep(id=agg_id, type="variable-aggregator", name=lx.say(lang, "merge"),
                        purpose="Pass on the result of whichever branch ran", reads=[e.reads[0] for e in pool_ends],
                        after=[a for e in pool_ends for a in e.after])
    end = first.model_copy(update={"after": [Link(step=agg_id)], "reads": [f"{agg_id}.output"]})
    rest = [s for s in pool if s.type not in TERMINALS]
    return rest + [agg, end], f"joined the {len(pool_ends)} branch ends with an aggregator into one end"


def _align(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """The longest common subsequence of two type sequences, as index pairs."""
    n, m = len(a), len(b)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best[i][j] = best[i + 1][j + 1] + 1 if a[i] == b[j] else max(best[i + 1][j], best[i][j + 1])
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if a[i] == b[j]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _bind(pg: _Graph, cg: _Graph, tmpl: list[int], ordered: bool) -> dict[tuple[str, int | None], str]:
    """Pattern step (and lane copy) -> the pool step of the same type and role it is bound to.

    A role is the zone (on the same lane copy) and the container (the one the pattern's container is
    bound to). ``ordered=False`` takes the pattern's order (each step the first free pool step of its
    type); ``ordered=True`` keeps the pool's order (the longest common run of types), for when the
    spec's data flow does not allow the pattern's order."""
    image: dict[tuple[str, int | None], str] = {}
    slots: dict[tuple, list[tuple[str, int | None]]] = {}
    for p in pg.order:
        zone = pg.zone[p]
        copies: list[int | None] = [j for j, t in enumerate(tmpl) if t == zone[1]] if zone[0] == "lane" else [None]
        for j in copies:
            slots.setdefault((("lane", j) if j is not None else zone, pg.parent[p]), []).append((p, j))
    for (zone, container), group in slots.items():  # containers come before their children
        j = group[0][1]
        parent = image.get((container, j)) if container else None
        if container and parent is None:
            continue  # its container was dropped
        pool = [c for c in cg.order if cg.zone[c] == zone and cg.parent[c] == parent and c not in image.values()]
        if ordered:
            for i, k in _align([pg.kind[p] for p, _ in group], [cg.kind[c] for c in pool]):
                image[group[i]] = pool[k]
            continue
        for slot in group:
            found = next((c for c in pool if cg.kind[c] == pg.kind[slot[0]]), None)
            if found:
                image[slot] = found
                pool.remove(found)
    return image


@dataclass
class _Derivation:
    """One pattern graph (``pg``, its steps ``nodes``) bound to one pool of spec steps (``cg``, ``by_id``):
    ``lanes[j]`` is the pattern lane the pool's lane ``j`` takes; ``image`` maps (pattern step, lane copy)
    to the pool step bound to it."""

    pg: _Graph
    nodes: dict[str, PatternStep]
    cg: _Graph
    by_id: dict[str, BlueprintStep]
    lanes: list[int]
    image: dict[tuple[str, int | None], str]

    def branches(self, q: str, h: str, img: str, j: int | None) -> list[str]:
        """The blueprint branches of pattern handle ``h`` of step ``q`` (bound to ``img``), on lane copy ``j``."""
        pg = self.pg
        if pg.type[q] not in BRANCHING or self.cg.type[img] != pg.type[q] or h not in self.nodes[q].handles:
            return []
        if q == pg.branch and j is not None:
            return [self.cg.lanes[j]]
        lanes = _lanes_of(self.by_id[img])
        wanted = self.nodes[q].handles.index(h)
        return [lanes[k] for k, t in enumerate(_template(pg.type[q], len(self.nodes[q].handles), lanes)) if t == wanted]

    def resolve(self, q: str, h: str | None, j: int | None, depth: int = 0) -> list[Link]:
        """The links into a step of lane copy ``j`` that the pattern's link from ``q`` becomes
        (through ``q``'s own predecessors when ``q`` was dropped)."""
        zone = self.pg.zone.get(q, ("pre",))
        copies = ([j] if j is not None else [k for k, t in enumerate(self.lanes) if t == zone[1]]) if zone[0] == "lane" else [None]
        links: list[Link] = []
        for k in copies:
            img = self.image.get((q, k))
            if img is None:
                if depth < len(self.pg.order):
                    for q2, h2 in self.pg.after[q]:
                        links += self.resolve(q2, h2, k, depth + 1)
            elif h is None or h == "source":
                links.append(Link(step=img))
            else:
                links += [Link(step=img, branch=b) for b in self.branches(q, h, img, k if k is not None else j)]
        return links

    def wire(self) -> tuple[dict[str, list[Link]], dict[str, float]]:
        """Every pool step's incoming links: the pattern's for the bound steps, then the pool's own for the
        steps the pattern lacks, spliced in where the composed blueprint had them; and a rank for ordering."""
        after: dict[str, list[Link]] = {}
        rank: dict[str, float] = {img: n for n, img in enumerate(self.image.values())}
        for (p, j), img in self.image.items():
            links = dedupe_links([link for q, h in self.pg.after[p] for link in self.resolve(q, h, j)])
            after[img] = links if links or self.pg.type[p] == "start" else list(self.by_id[img].after)
        parent = {s: b.parent for s, b in self.by_id.items()}
        composed_after = {s: list(b.after) for s, b in self.by_id.items()}
        for x in self.inserted():
            after[x] = list(composed_after[x])
            rank[x] = max((rank.get(a.step, -1) for a in composed_after[x]), default=-1) + 0.5
        for x in self.inserted():
            before_x = _ancestors(composed_after, parent, x)
            for succ in [s for s in self.cg.order if any(a.step == x for a in composed_after[s])]:
                if x in _ancestors(after, parent, succ):
                    continue  # already runs after it
                kept = [a for a in after[succ] if not any(a.step == b.step and a.branch == b.branch for b in composed_after[x])
                        and not (a.branch is None and a.step in before_x)]
                after[succ] = dedupe_links(kept + [a for a in composed_after[succ] if a.step == x])
        return after, rank

    def inserted(self) -> list[str]:
        """The pool steps no pattern step is bound to (the spec needs them; the pattern lacks them)."""
        used = set(self.image.values())
        return [c for c in self.cg.order if c not in used]

    def notes(self, spec: RequirementSpec, joined: str) -> tuple[list[str], bool]:
        """What was done to the pattern, in true statements; and whether enough of it is left to call the
        result derived from it (two of its steps at least, as many kept as dropped)."""
        pg, cg, image = self.pg, self.cg, self.image
        titles = {s: self.nodes[s].title or pg.type[s] for s in pg.order}
        work = [p for p in pg.order if pg.type[p] not in PLUMBING]
        kept = [p for p in work if any(q == p for q, _ in image)]
        trimmed_lanes = [t for t in range(len(pg.lanes)) if t not in self.lanes]
        trimmed = [p for p in work if pg.zone[p][0] == "lane" and pg.zone[p][1] in trimmed_lanes]
        dropped = [p for p in work if p not in kept and p not in trimmed]
        bound = {p: self.by_id[img].name for (p, _), img in reversed(list(image.items()))}  # the first copy's name
        notes = [f"kept {len(kept)} of its {len(work)} steps besides start and end"
                 + (" (" + ", ".join(f"{titles[p]} as {bound[p]}" for p in kept) + ")" if kept else "")]
        if pg.branch and pg.type[pg.branch] == "question-classifier":
            names = [c.split(":")[0].strip() for c in self.nodes[pg.branch].classes]  # "Shipping: costs, ..." -> "Shipping"
            renamed = [f"{names[t]} -> {cg.lanes[j]}" for j, t in enumerate(self.lanes)
                       if j == t and t < len(names) and names[t] != cg.lanes[j]]
            if renamed:
                notes.append("classes renamed: " + ", ".join(renamed))
            extra = [j for j, t in enumerate(self.lanes) if j != t]
            copied = [cg.lanes[j] for j in extra if any(k[1] == j for k in image)]
            own = [cg.lanes[j] for j in extra if not any(k[1] == j for k in image)]
            if copied and names:
                notes.append(f"branch of {names[-1]} replicated for {', '.join(copied)}")
            if own:
                notes.append(f"branch for {', '.join(own)} from the spec alone (no step of the pattern's branch applies)")
            if trimmed_lanes:
                notes.append("branches trimmed: " + ", ".join(names[t] for t in trimmed_lanes if t < len(names)))
        if joined:
            notes.append(joined)
        if dropped:
            notes.append("dropped: " + ", ".join(f"{titles[p]} ({pg.type[p]})" for p in dropped))
        added = [x for x in self.inserted() if self.by_id[x].type not in PLUMBING]
        if added:
            notes.append("added: " + ", ".join(f"{self.by_id[x].name} ({self.by_id[x].type})" for x in added))
        if spec.inputs:
            notes.append("inputs bound: " + ", ".join(i.name for i in spec.inputs))
        if outputs := [o.name for o in spec.outputs if o.explicit]:
            notes.append("outputs bound: " + ", ".join(outputs))
        return notes, len(kept) >= max(min(2, len(work)), len(dropped), 1)


def _build(spec: RequirementSpec, brief, composed: Blueprint, ordered: bool = False) -> tuple[Blueprint, list[str]] | None:
    """The blueprint built from ``brief``'s graph with the composed steps bound into it, and what was
    done to the pattern; None when the pattern's graph cannot be walked, the steps cannot be placed, or
    too little of the pattern is left to call the result derived from it."""
    walked = _pattern_graph(brief.steps)
    if walked is None:
        return None
    pg, pattern_nodes = walked
    branch_type = pg.type[pg.branch] if pg.branch else None
    pool, joined = _join_ends(pg, list(composed.steps), spec.language)
    cg = _blueprint_graph(pool, branch_type)
    if cg is None or (branch_type and cg.branch is None):
        return None
    lanes = _template(branch_type or "", len(pg.lanes), cg.lanes)
    d = _Derivation(pg=pg, nodes=pattern_nodes, cg=cg, by_id={s.id: s for s in pool}, lanes=lanes,
                    image=_bind(pg, cg, lanes, ordered))
    after, rank = d.wire()
    order = _topological(list(after), {s: [(a.step, a.branch) for a in ls] for s, ls in after.items()}, rank)
    if order is None:
        return None
    tops = [s for s in order if d.by_id[s].parent is None]  # each container's steps right after it
    grouped = [c for top in tops for c in [top] + [s for s in order if d.by_id[s].parent == top]]
    if len(grouped) != len(order):
        return None
    notes, enough = d.notes(spec, joined)
    if not enough:
        return None
    return composed.model_copy(update={"steps": [d.by_id[s].model_copy(update={"after": after[s]}) for s in grouped]}), notes


def _sound(derived: Blueprint, composed: Blueprint) -> bool:
    """Nothing of the spec is lost (inputs, classes, outputs, a path for every branch), an aggregator waits
    only on the steps whose values it joins, and every step reads only steps that run before it (unless
    the composed blueprint already read that step so)."""
    def items(bp: Blueprint) -> tuple:
        start = sorted(label for s in bp.steps if s.type == "start" for label in s.labels)
        classes = sorted(label for s in bp.steps if s.type == "question-classifier" for label in s.labels)
        outputs = sorted({label for s in bp.steps if s.type in TERMINALS for label in s.labels})
        return start, classes, outputs

    if items(derived) != items(composed):
        return False

    def branches(bp: Blueprint) -> set[tuple[str, str]]:
        return {(a.step, a.branch) for s in bp.steps for a in s.after if a.branch is not None}

    if not branches(composed) <= branches(derived):
        return False  # a branch the spec's steps take would lead nowhere
    composed_after = {s.id: {a.step for a in s.after} for s in composed.steps}
    for s in derived.steps:  # a join waits only on what it joins: no other lane may flow into its output
        if s.type in ("variable-aggregator", "variable-assigner"):
            joined = {ref.split(".")[0] for ref in s.reads} | composed_after.get(s.id, set())
            if any(a.step not in joined for a in s.after):
                return False
    ids = {s.id for s in derived.steps}
    if any(a.step not in ids for s in derived.steps for a in s.after) or any(not s.after for s in derived.steps if s.type != "start"):
        return False
    graphs = []
    for bp in (derived, composed):
        after = {s.id: list(s.after) for s in bp.steps}
        parent = {s.id: s.parent for s in bp.steps}
        graphs.append((after, parent))
    for s in derived.steps:
        before = _ancestors(*graphs[0], s.id) | {s.parent or ""}
        for ref in s.reads:
            head = ref.split(".")[0]
            if head in FREE_REFS or head in before or head not in ids:
                continue
            if head in _ancestors(*graphs[1], s.id):
                return False
    return True


def _compiles(spec: RequirementSpec, blueprint: Blueprint) -> bool:
    """Whether the blueprint, configured offline, compiles to a DSL that validates."""
    from core.agents.compile import compile_plan  # the configuration agent imports the architecture's module
    from core.agents.configuration import ConfigurationInput, configure
    from core.dsl import validate

    try:
        compiled = compile_plan(configure(ConfigurationInput(spec=spec, blueprint=blueprint)))
    except Exception:  # noqa: BLE001 - a derivation the configurator cannot handle is discarded, not raised
        return False
    return not any(i.severity == "error" for i in compiled.issues) and validate(compiled.dsl).valid


def adapt(spec: RequirementSpec, brief, composed: Blueprint) -> Blueprint | None:
    """The blueprint derived from the pattern ``brief`` (a ``PatternBrief``), or None when the pattern
    does not fit the spec or the derivation is not a sound, valid workflow (then nothing was derived).

    The pattern fits when its shape (mode and constructs; a classifier's class count may differ) is the
    composed blueprint's: the structure of the spec's steps as bound."""
    pg, built_shape = shape_of_pattern(brief.mode, brief.steps), shape_of_blueprint(composed)
    if not brief.steps or pg.key()[:2] != built_shape.key()[:2] or bool(pg.classes) != bool(built_shape.classes):
        return None  # the spec's steps (as composed) do not have the pattern's structure
    if not pg.constructs:  # a straight-line pattern fits only when the spec needs the same kinds of work steps
        work = {s.type for s in brief.steps} - PLUMBING - {"llm"}
        if not (work and work <= {s.type for s in composed.steps}):
            return None
    for ordered in (False, True):  # the pattern's order first; the pool's where the data flow needs it
        built = _build(spec, brief, composed, ordered)
        if built is not None and _sound(built[0], composed):
            break
    else:
        return None
    derived, notes = built
    if not _compiles(spec, derived):
        return None
    note = f"{DERIVED} {brief.id}: " + "; ".join(notes) + "."
    rationale = " ".join(n for n in [composed.rationale, note] if n)
    return derived.model_copy(update={"patterns_used": [brief.id], "rationale": rationale})


def derive(spec: RequirementSpec, patterns: list, composed: Blueprint) -> Blueprint:
    """The blueprint derived from the best-ranked pattern when it fits the spec, else ``composed``
    with no pattern named (``patterns`` are ``PatternBrief``s)."""
    best = max(patterns, key=lambda p: p.score, default=None)
    try:
        derived = adapt(spec, best, composed) if best is not None else None
    except Exception:  # noqa: BLE001 - a pattern file is data: one the adapter cannot walk leaves the composed blueprint
        log.warning("pattern %s could not be adapted", getattr(best, "id", "?"), exc_info=True)
        derived = None
    return derived or composed.model_copy(update={"patterns_used": []})


def adaptation(blueprint: Blueprint | None, *, brief: bool = False) -> str:
    """What the blueprint took from its pattern and how it was adapted (the rationale's derivation note), or
    ''; ``brief``: only what was adapted (kept, renamed, replicated, dropped, added), without the pattern."""
    text = (blueprint.rationale or "") if blueprint is not None else ""
    at = text.find(DERIVED)
    if at < 0 or not blueprint.patterns_used:
        return ""
    note = text[at:]
    return note.split(": ", 1)[1].strip() if brief and ": " in note else note
