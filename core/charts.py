"""Plotly figure builders for the app: a workflow graph preview and the analytics charts.

Pure functions from data (a DSL dict, pandas DataFrames) to ``plotly.graph_objects.Figure``; no
streamlit, so they are tested on their own. Colours come from plotly's qualitative palette and a
neutral grey that reads on light and dark backgrounds; the page theme supplies the rest.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

PALETTE = px.colors.qualitative.Plotly + px.colors.qualitative.Safe
EDGE_COLOUR = "rgba(140, 140, 140, 0.7)"
HIGHLIGHT_COLOUR = "#e5484d"
"""The ring around nodes that have findings: red, a hue no node type uses."""
NODE_COLOURS = {  # one colour per Dify node type in every graph; related types share a hue family, none is red
    "start": "#2f9e44", "end": "#4dabf7", "answer": "#1c7ed6",
    "llm": "#845ef7", "agent": "#9c36b5", "parameter-extractor": "#be4bdb",
    "question-classifier": "#fcc419", "if-else": "#f08c00",
    "knowledge-retrieval": "#a07e00", "document-extractor": "#8f6a00",
    "code": "#495057", "template-transform": "#868e96",
    "http-request": "#15aabf", "tool": "#0ca678",
    "variable-aggregator": "#74b816", "variable-assigner": "#5c940d", "assigner": "#5c940d",
    "list-operator": "#66d9e8",
    "iteration": "#364fc7", "loop": "#4c6ef5", "loop-end": "#748ffc",
}
OTHER_NODE_COLOUR = "#adb5bd"
"""Any node type not listed above (a newer Dify type, or a typo the validator reports)."""
NOTE_TYPE = "custom-note"
"""Dify's sticky notes on the canvas: comments, not steps; left out of the preview."""
X_GAP, Y_GAP = 1.0, 1.0


@dataclass(frozen=True)
class GraphNode:
    """One node of the preview: its id, title, Dify type and laid-out position."""

    id: str
    title: str
    type: str
    x: float
    y: float


@dataclass(frozen=True)
class GraphEdge:
    """One edge of the preview, with the branch label of its source handle (if it is a branch)."""

    source: str
    target: str
    label: str | None


def _graph(doc: dict) -> tuple[list[dict], list[dict]]:
    graph = ((doc or {}).get("workflow") or {}).get("graph") or {}
    nodes = [n for n in graph.get("nodes") or [] if isinstance(n, dict) and n.get("id") is not None]
    edges = [e for e in graph.get("edges") or [] if isinstance(e, dict)]
    return nodes, edges


def _branch_labels(node: dict) -> dict[str, str]:
    """Source handle -> human label for branching nodes (if-else cases, classifier classes)."""
    data = node.get("data") or {}
    kind = data.get("type")
    labels: dict[str, str] = {}
    if kind == "if-else":
        for i, case in enumerate(data.get("cases") or []):
            if isinstance(case, dict) and case.get("case_id") is not None:
                labels[str(case["case_id"])] = "IF" if i == 0 else f"ELIF {i}"
        labels.setdefault("true", "IF")
        labels["false"] = "ELSE"
    elif kind == "question-classifier":
        for cls in data.get("classes") or []:
            if isinstance(cls, dict) and cls.get("id") is not None:
                labels[str(cls["id"])] = str(cls.get("name") or cls["id"])[:30]
    elif kind in ("http-request", "code", "llm", "tool", "agent"):
        labels["fail-branch"] = "on failure"
    if kind in ("iteration", "loop"):
        labels["body"] = "each item" if kind == "iteration" else "each round"
    return labels


CONTAINER_STARTS = ("iteration-start", "loop-start")


def _layers(node_ids: list[str], edges: list[tuple[str, str]], parents: dict[str, str]) -> dict[str, int]:
    """Longest-path layering (left to right); nodes caught in a cycle go one layer past the rest."""
    succ: dict[str, list[str]] = defaultdict(list)
    indeg = dict.fromkeys(node_ids, 0)
    for s, t in edges:
        if s in indeg and t in indeg and s != t:
            succ[s].append(t)
            indeg[t] += 1
    layer = dict.fromkeys(node_ids, 0)
    for nid, parent in parents.items():  # children of an iteration/loop start right of their container
        if indeg.get(nid) == 0 and parent in layer:
            layer[nid] = 1
    queue = deque(n for n in node_ids if indeg[n] == 0)
    seen: set[str] = set()
    while queue:
        current = queue.popleft()
        seen.add(current)
        parent = parents.get(current)
        if parent in layer and indeg.get(current) == 0:
            layer[current] = max(layer[current], layer[parent] + 1)
        for nxt in succ[current]:
            layer[nxt] = max(layer[nxt], layer[current] + 1)
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                queue.append(nxt)
    last = max(layer.values(), default=0)
    for nid in node_ids:
        if nid not in seen:
            layer[nid] = last + 1
    return layer


def layout_workflow(doc: dict) -> tuple[list[GraphNode], list[GraphEdge]]:
    """Lay out a Dify workflow graph left to right.

    Args:
        doc: a parsed Dify DSL document (``workflow.graph.nodes`` / ``edges``).

    Returns:
        The nodes with positions (x = layer, y = order within the layer) and the edges with branch
        labels. Edges whose ends are missing are dropped (the validator reports them).
    """
    raw_nodes, raw_edges = _graph(doc)
    by_id = {str(n["id"]): n for n in raw_nodes if n.get("type") != NOTE_TYPE}
    parents = {nid: str(n.get("parentId")) for nid, n in by_id.items() if n.get("parentId")}
    # The `*-start` child of an iteration or loop is editor plumbing: draw its edges from the container.
    plumbing = {nid: parents.get(nid, nid) for nid, n in by_id.items()
                if (n.get("data") or {}).get("type") in CONTAINER_STARTS}
    raw_edges = [{**e, "source": plumbing.get(str(e.get("source")), e.get("source")),
                  "sourceHandle": "body" if str(e.get("source")) in plumbing else e.get("sourceHandle")}
                 for e in raw_edges if str(e.get("target")) not in plumbing]
    by_id = {nid: n for nid, n in by_id.items() if nid not in plumbing}
    ids = list(by_id)
    pairs = [(str(e.get("source")), str(e.get("target"))) for e in raw_edges]
    layer = _layers(ids, pairs, parents)
    rows: dict[int, int] = defaultdict(int)
    nodes = []
    for nid in sorted(ids, key=lambda i: (layer[i], (by_id[i].get("position") or {}).get("y", 0) or 0)):
        data = by_id[nid].get("data") or {}
        row = rows[layer[nid]]
        rows[layer[nid]] += 1
        nodes.append(GraphNode(nid, str(data.get("title") or nid), str(data.get("type") or "unknown"),
                               layer[nid] * X_GAP, -row * Y_GAP))
    edges = []
    for e in raw_edges:
        s, t = str(e.get("source")), str(e.get("target"))
        if s in by_id and t in by_id:
            edges.append(GraphEdge(s, t, _branch_labels(by_id[s]).get(str(e.get("sourceHandle")))))
    return nodes, edges


def node_colour(node_type: str) -> str:
    """The colour of a node type, the same in every graph."""
    return NODE_COLOURS.get(node_type, OTHER_NODE_COLOUR)


def _type_colours(types: list[str]) -> dict[str, str]:
    return {t: node_colour(t) for t in sorted(set(types))}


def _short(title: str, limit: int = 24) -> str:
    """A node label that fits under its marker; the hover shows the whole title."""
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def fig_workflow_graph(doc: dict, highlight: set[str] | frozenset[str] | tuple = ()) -> go.Figure:
    """A graph preview of a workflow: nodes coloured by type, edges with branch labels.

    Args:
        doc: the parsed DSL document.
        highlight: node ids to ring in red (e.g. the nodes that have validation findings).

    Returns:
        A plotly figure; one legend entry per node type. An empty graph gives an empty figure
        with a note.
    """
    nodes, edges = layout_workflow(doc)
    fig = go.Figure()
    if not nodes:
        fig.add_annotation(text="This document has no workflow graph.", showarrow=False)
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return fig
    pos = {n.id: (n.x, n.y) for n in nodes}
    xs: list[float | None] = []
    ys: list[float | None] = []
    for e in edges:
        (x0, y0), (x1, y1) = pos[e.source], pos[e.target]
        xs += [x0, x1, None]
        ys += [y0, y1, None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": EDGE_COLOUR, "width": 1.5},
                             hoverinfo="skip", showlegend=False, name="edges"))
    annotations: list[dict] = []
    for e in edges:
        (x0, y0), (x1, y1) = pos[e.source], pos[e.target]
        annotations.append({"x": x1, "y": y1, "ax": x0, "ay": y0, "xref": "x", "yref": "y", "axref": "x",
                            "ayref": "y", "showarrow": True, "arrowhead": 2, "arrowsize": 1.2,
                            "arrowcolor": EDGE_COLOUR, "standoff": 14, "text": ""})
        if e.label:
            annotations.append({"x": (x0 + x1) / 2, "y": (y0 + y1) / 2, "text": e.label, "showarrow": False,
                                "font": {"size": 10}, "bgcolor": "rgba(127,127,127,0.15)"})
    colours = _type_colours([n.type for n in nodes])
    marked = {str(h) for h in highlight}
    for kind, colour in colours.items():
        group = [n for n in nodes if n.type == kind]
        fig.add_trace(go.Scatter(
            x=[n.x for n in group], y=[n.y for n in group], mode="markers+text", name=kind,
            text=[_short(n.title) for n in group], textposition="bottom center",
            customdata=[[n.id, n.type, n.title] for n in group],
            hovertemplate="%{customdata[2]}<br>type: %{customdata[1]}<br>id: %{customdata[0]}<extra></extra>",
            marker={"size": [22 if n.id in marked else 16 for n in group], "color": colour,
                    "line": {"width": [4 if n.id in marked else 0 for n in group],
                             "color": HIGHLIGHT_COLOUR}},
        ))
    if marked & set(pos):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="has findings",
                                 marker={"size": 14, "color": "rgba(0,0,0,0)",
                                         "line": {"width": 3, "color": HIGHLIGHT_COLOUR}}))
    depth = max(n.x for n in nodes) + 1
    rows = max(-n.y for n in nodes) + 1
    fig.update_xaxes(visible=False, range=[-0.5, depth - 0.5])
    fig.update_yaxes(visible=False, range=[-rows + 0.4, 0.6])
    fig.update_layout(annotations=annotations, height=max(320, min(900, 110 * rows + 120)), margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      legend={"title": "node type", "orientation": "h", "y": 1.08}, hovermode="closest")
    return fig


TEST_RUN_COLOURS = {"succeeded": "#30a46c", "exception": "#f76b15", "failed": HIGHLIGHT_COLOUR,
                    "running": "#8e4ec6", "not reached": "rgba(160, 160, 160, 0.55)"}


def fig_test_run_path(doc: dict, node_status: dict[str, str]) -> go.Figure:
    """The graph preview of a test run: each node coloured by how it ran (succeeded, failed, not reached).

    Args:
        doc: the parsed DSL document.
        node_status: node id -> status in the test run (``TestRunReport.node_status()`` or one branch run's).
    """
    fig = fig_workflow_graph(doc)
    nodes, _ = layout_workflow(doc)
    if not nodes:
        return fig
    fig.data = tuple(t for t in fig.data if t.name == "edges")
    for status, colour in TEST_RUN_COLOURS.items():
        group = [n for n in nodes if node_status.get(n.id, "not reached") == status]
        if not group:
            continue
        fig.add_trace(go.Scatter(
            x=[n.x for n in group], y=[n.y for n in group], mode="markers+text", name=status,
            text=[_short(n.title) for n in group], textposition="bottom center",
            customdata=[[n.id, n.type, n.title, status] for n in group],
            hovertemplate="%{customdata[2]}<br>type: %{customdata[1]}<br>%{customdata[3]}<extra></extra>",
            marker={"size": 18, "color": colour},
        ))
    fig.update_layout(legend={"title": "test run", "orientation": "h", "y": 1.08})
    return fig


def fig_counts(counts: dict[str, int], *, title: str, label: str = "count") -> go.Figure:
    """A horizontal bar chart of named counts, largest on top (e.g. patterns by node type).

    Args:
        counts: name -> count.
        title: the chart title.
        label: what the numbers count, for the axis.
    """
    items = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]))
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h",
                           marker={"color": PALETTE[0]}, hovertemplate="%{y}: %{x}<extra></extra>"))
    fig.update_layout(title=title, height=max(220, 26 * len(items) + 90), xaxis_title=label,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


# -- analytics (DataFrames from core.ledger.analytics) -------------------------------------------------


def _empty(title: str, note: str = "No data for these filters.") -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=note, showarrow=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, height=280)
    return fig


OFFLINE_NO_TOKENS = ("Offline runs use no tokens and cost nothing, so there are no tokens or costs to chart. "
                     "Runs through a model provider (Settings) fill this chart.")
ALL_FREE = ("Every workflow here cost $0: offline runs use no model, so there is no cost to chart. "
            "Runs through a priced model provider fill this chart.")
ALL_UNKNOWN = "Every workflow here has an unknown price (a model without a known price), so no cost is charted."


def _total(df: pd.DataFrame, column: str) -> float:
    return float(pd.to_numeric(df[column], errors="coerce").fillna(0).sum()) if column in df else 0.0


def why_blank_usage(df: pd.DataFrame) -> str | None:
    """Why a tokens-and-cost chart (``usage_by_agent`` / ``usage_by_model``) has nothing to draw, or None."""
    if df.empty:
        return "No calls match these filters."
    if not _total(df, "total_tokens") and not _total(df, "known_cost_usd") and not _total(df, "unknown_cost_calls"):
        return OFFLINE_NO_TOKENS
    return None


def why_blank_cost(df: pd.DataFrame, column: str = "cost_usd") -> str | None:
    """Why a cost chart (``cost_per_workflow``: ``cost_usd``; ``cost_by_pattern``: ``median_cost_usd``) has
    nothing to draw, or None."""
    if df.empty:
        return "No succeeded workflow matches these filters."
    costs = pd.to_numeric(df[column], errors="coerce")
    if costs.isna().all():
        return ALL_UNKNOWN
    if not costs.fillna(0).any():
        return ALL_FREE
    return None


def why_blank_rows(df: pd.DataFrame) -> str | None:
    """``No run matches these filters.`` for an empty frame, else None."""
    return "No run matches these filters." if df.empty else None


def _frame(fig: go.Figure, title: str, height: int = 380, **layout) -> go.Figure:
    """Common layout: the title at the top left, the legend in its own band under it (never over it),
    and quantities (runs, tokens, USD, ms) on axes that start at zero."""
    fig.update_layout(title={"text": title, "x": 0, "xanchor": "left", "y": 0.98, "yref": "container",
                             "yanchor": "top"},
                      height=height, margin={"l": 10, "r": 10, "t": 95, "b": 10},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
                      **layout)
    fig.update_yaxes(rangemode="tozero")
    return fig


def fig_pattern_popularity(df: pd.DataFrame) -> go.Figure:
    """Per pattern: times retrieved vs times used (``pattern_popularity`` columns)."""
    title = "Pattern popularity: retrieved vs used"
    if df.empty:
        return _empty(title)
    fig = go.Figure([
        go.Bar(name="retrieved", x=df["pattern_id"], y=df["retrieved"], marker={"color": PALETTE[0]}),
        go.Bar(name="used", x=df["pattern_id"], y=df["used"], marker={"color": PALETTE[2]}),
    ])
    return _frame(fig, title, barmode="group", yaxis_title="runs")


def fig_success_rate(df: pd.DataFrame, by: str, *, title: str) -> go.Figure:
    """Success rate per group with the number of finished runs on each bar (``success_rate`` columns)."""
    if df.empty:
        return _empty(title)
    fig = go.Figure(go.Bar(
        x=df[by].astype(str), y=df["success_rate"].astype(float) * 100, marker={"color": PALETTE[2]},
        text=[f"n={n}" for n in df["n"]], textposition="outside",
        customdata=df[["succeeded", "n"]].to_numpy(),
        hovertemplate="%{x}: %{y:.0f}% (%{customdata[0]} of %{customdata[1]})<extra></extra>",
    ))
    return _frame(fig, title, yaxis={"title": "success %", "range": [0, 110]})


def fig_cost_distribution(df: pd.DataFrame, bins: int = 40) -> go.Figure:
    """Histogram of the cost per succeeded workflow (``cost_per_workflow``); unknown costs counted apart.

    Binned here (numpy) so a large ledger sends ``bins`` bars to the browser, not every run.
    """
    title = "Cost per workflow"
    if df.empty:
        return _empty(title)
    known = df["cost_usd"].dropna().astype(float).to_numpy()
    unknown = int(df["cost_usd"].isna().sum())
    note = f" ({unknown} with unknown cost not shown)" if unknown else ""
    if known.size == 0:
        return _empty(title + note, "Every workflow here has an unknown cost.")
    if known.min() == known.max():  # one value (e.g. every run offline, $0): one labelled bar
        fig = go.Figure(go.Bar(x=[f"${known[0]:.6f}".rstrip("0").rstrip(".")], y=[known.size],
                               marker={"color": PALETTE[0]}, width=[0.3],
                               hovertemplate="%{x}: %{y} workflows<extra></extra>"))
        return _frame(fig, title + note, xaxis={"title": "USD per workflow", "type": "category"},
                      yaxis_title="workflows")
    counts, edges = np.histogram(known, bins=bins)
    fig = go.Figure(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges),
                           marker={"color": PALETTE[0]},
                           customdata=np.stack([edges[:-1], edges[1:]], axis=1),
                           hovertemplate="$%{customdata[0]:.6f} to $%{customdata[1]:.6f}: %{y} workflows"
                                         "<extra></extra>"))
    return _frame(fig, title + note, xaxis_title="USD per workflow", yaxis_title="workflows", bargap=0.05)


def fig_cost_by_pattern(df: pd.DataFrame) -> go.Figure:
    """Median and p95 cost per workflow for each pattern used (``cost_by_pattern``)."""
    title = "Cost per workflow by pattern"
    if df.empty or df["median_cost_usd"].isna().all():
        return _empty(title)
    fig = go.Figure([
        go.Bar(name="median", x=df["pattern_id"], y=df["median_cost_usd"].astype(float), marker={"color": PALETTE[0]},
               text=[f"n={n}" for n in df["n"]], textposition="outside"),
        go.Bar(name="p95", x=df["pattern_id"], y=df["p95_cost_usd"].astype(float), marker={"color": PALETTE[1]}),
    ])
    return _frame(fig, title, barmode="group", yaxis_title="USD")


def fig_usage(df: pd.DataFrame, by: str, *, title: str) -> go.Figure:
    """Prompt and completion tokens (bars) and known cost (markers, right axis) per ``by`` group.

    ``by="model"`` labels each bar ``provider:model`` (``usage_by_model`` columns).
    """
    if df.empty:
        return _empty(title)
    labels = df[by].astype(str)
    if by == "model" and "provider" in df:
        labels = df["provider"].astype(str) + ":" + labels
    fig = go.Figure([
        go.Bar(name="prompt", x=labels, y=df["prompt_tokens"], marker={"color": PALETTE[0]}),
        go.Bar(name="completion", x=labels, y=df["completion_tokens"], marker={"color": PALETTE[4]}),
    ])
    if not _total(df, "known_cost_usd"):  # no known cost at all: no $0 series on an axis of its own
        return _frame(fig, title + " (no known cost)", barmode="stack", yaxis_title="tokens")
    fig.add_trace(go.Scatter(name="cost (USD)", x=labels, y=df["known_cost_usd"].astype(float), yaxis="y2",
                             mode="markers", marker={"size": 12, "color": PALETTE[1], "symbol": "diamond"}))
    return _frame(fig, title, barmode="stack", yaxis_title="tokens",
                  yaxis2={"title": "USD", "overlaying": "y", "side": "right", "rangemode": "tozero"})


def fig_runs_over_time(df: pd.DataFrame) -> go.Figure:
    """Runs per day by outcome (stacked bars) and the day's known cost (line, right axis)."""
    title = "Runs and cost over time"  # "Runs over time (no known cost)" when nothing had a price
    if df.empty:
        return _empty(title)
    statuses = [("succeeded", PALETTE[2]), ("failed", PALETTE[1]), ("interrupted", PALETTE[9]),
                ("running", PALETTE[0])]
    few = len(df) <= 31  # a handful of days: one labelled bar per day, not a time axis in hours
    days = pd.to_datetime(df["day"]).dt.strftime("%Y-%m-%d") if few else df["day"]
    fig = go.Figure([go.Bar(name=s, x=days, y=df[s], marker={"color": c})
                     for s, c in statuses if s in df and df[s].fillna(0).astype(float).sum() > 0])
    axis = {"xaxis": {"type": "category"} if few else {"tickformat": "%b %d"}}
    if not _total(df, "known_cost_usd"):  # offline only (or unpriced): runs alone, no $0 line on its own axis
        return _frame(fig, title.replace(" and cost", "") + " (no known cost)", barmode="stack", yaxis_title="runs",
                      **axis)
    fig.add_trace(go.Scatter(name="known cost (USD)", x=days, y=df["known_cost_usd"].astype(float),
                             yaxis="y2", mode="lines+markers", line={"color": PALETTE[3]}))
    return _frame(fig, title, barmode="stack", yaxis_title="runs", **axis,
                  yaxis2={"title": "USD", "overlaying": "y", "side": "right", "rangemode": "tozero"})


def fig_latency_by_agent(df: pd.DataFrame) -> go.Figure:
    """p50 and p95 call latency per agent (``latency_by_agent``)."""
    title = "Latency by agent"
    if df.empty:
        return _empty(title)
    fig = go.Figure([
        go.Bar(name="p50", x=df["agent"], y=df["p50_ms"].astype(float), marker={"color": PALETTE[0]}),
        go.Bar(name="p95", x=df["agent"], y=df["p95_ms"].astype(float), marker={"color": PALETTE[1]}),
    ])
    return _frame(fig, title, barmode="group", yaxis_title="ms")


# -- a run's timeline (the ledger's events of one run) --------------------------------------------------

STAGE_NAMES = {"requirements": "Requirements", "architecture": "Architecture", "configuration": "Configuration",
               "quality": "Quality"}


def _payload(value) -> dict:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value) if isinstance(value, str) and value else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def run_timeline(events: pd.DataFrame) -> pd.DataFrame:
    """The stages, model calls (or offline steps) and repair rounds of one run, timed from its start.

    Args:
        events: the run's rows of the ledger's ``events`` table (``type``, ``occurred_at``, ``payload``).

    Returns:
        One row per item in the order they happened. Columns: kind (``stage``, ``call``, ``repair``),
        row (the lane it is drawn in, e.g. ``Configuration (round 2)``), label, start_s, duration_s,
        detail. A stage still open at the end (a crash, a run in progress) lasts until the last event.
    """
    columns = ["kind", "row", "label", "start_s", "duration_s", "detail"]
    if events.empty:
        return pd.DataFrame(columns=columns)
    ordered = events.sort_values("seq") if "seq" in events else events
    at = pd.to_datetime(ordered["occurred_at"])
    t0, last = at.iloc[0], (at.iloc[-1] - at.iloc[0]).total_seconds()
    rows: list[dict] = []
    open_stages: dict[str, dict] = {}
    rounds: dict[str, int] = defaultdict(int)
    for when, kind, raw in zip(at, ordered["type"], ordered["payload"], strict=True):
        payload, offset = _payload(raw), (when - t0).total_seconds()
        stage = str(payload.get("stage") or payload.get("agent") or "")
        name = STAGE_NAMES.get(stage, stage)
        if kind == "stage.started":
            rounds[stage] += 1
            lane = name if rounds[stage] == 1 else f"{name} (round {rounds[stage]})"
            open_stages[stage] = {"kind": "stage", "row": lane, "label": name, "start_s": offset,
                                  "duration_s": 0.0, "detail": ""}
            rows.append(open_stages[stage])
        elif kind == "stage.completed" and stage in open_stages:
            item = open_stages.pop(stage)
            item["duration_s"] = max(0.0, offset - item["start_s"])
            item["detail"] = str(payload.get("summary") or "")
        elif kind == "llm.call":
            latency = float(payload.get("latency_ms") or 0) / 1000
            lane = open_stages[stage]["row"] if stage in open_stages else name
            outcome = payload.get("outcome") or "ok"
            tokens = int(payload.get("prompt_tokens") or 0) + int(payload.get("completion_tokens") or 0)
            rows.append({"kind": "call", "row": lane, "label": f"{name} attempt {payload.get('attempt', 1)}",
                         "start_s": max(0.0, offset - latency), "duration_s": latency,
                         "detail": f"{payload.get('model') or ''} · {tokens:,} tokens · {outcome}"
                                   + (f" ({payload.get('error_category')})" if outcome != "ok" else "")})
        elif kind == "repair.round":
            rows.append({"kind": "repair", "row": "", "label": f"Repair round {payload.get('round', '')}",
                         "start_s": offset, "duration_s": 0.0, "detail": str(payload.get("feedback") or "")[:300]})
    for item in open_stages.values():
        item["duration_s"] = max(0.0, last - item["start_s"])
        item["detail"] = item["detail"] or "did not finish"
    return pd.DataFrame(rows, columns=columns)


def fig_run_timeline(timeline: pd.DataFrame) -> go.Figure:
    """A run's timeline (``run_timeline``): one lane per stage in order, its model calls (or offline
    steps) as thin bars inside it, repair rounds as dashed lines."""
    title = "Timeline"
    if timeline.empty or not (timeline["kind"] == "stage").any():
        return _empty(title, "No stages were recorded for this run.")
    stages = timeline[timeline["kind"] == "stage"]
    calls = timeline[timeline["kind"] == "call"]
    lanes = list(dict.fromkeys(stages["row"]))
    fig = go.Figure([
        go.Bar(name="stage", y=stages["row"].tolist(), x=stages["duration_s"].tolist(),
               base=stages["start_s"].tolist(), orientation="h",
               marker={"color": [node_colour({"Requirements": "start", "Architecture": "llm",
                                              "Configuration": "code", "Quality": "answer"}.get(lbl, ""))
                                 for lbl in stages["label"]]}, opacity=0.45, width=0.7,
               customdata=stages[["detail"]].to_numpy(),
               hovertemplate="%{y}: %{x:.3f} s<br>%{customdata[0]}<extra></extra>"),
        go.Bar(name="call / step", y=calls["row"].tolist(), x=calls["duration_s"].tolist(),
               base=calls["start_s"].tolist(), orientation="h",
               marker={"color": EDGE_COLOUR.replace("0.7", "1")}, width=0.25,
               customdata=calls[["label", "detail"]].to_numpy(),
               hovertemplate="%{customdata[0]}: %{x:.3f} s<br>%{customdata[1]}<extra></extra>"),
    ])
    for repair in timeline[timeline["kind"] == "repair"].itertuples():
        fig.add_vline(x=repair.start_s, line={"dash": "dash", "color": HIGHLIGHT_COLOUR, "width": 1.5},
                      annotation_text=repair.label, annotation_position="top")
    fig.update_yaxes(categoryorder="array", categoryarray=lanes, autorange="reversed")
    end = float((timeline["start_s"] + timeline["duration_s"]).max()) or 1.0
    return _frame(fig, title, height=max(240, 48 * len(lanes) + 140), barmode="overlay",
                  xaxis={"title": "seconds since the run started", "range": [0, end * 1.05]})
