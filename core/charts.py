"""Plotly figure builders for the app: a workflow graph preview and the analytics charts.

Pure functions from data (a DSL dict, pandas DataFrames) to ``plotly.graph_objects.Figure``; no
streamlit, so they are tested on their own. Colours come from plotly's qualitative palette and a
neutral grey that reads on light and dark backgrounds; the page theme supplies the rest.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

PALETTE = px.colors.qualitative.Plotly + px.colors.qualitative.Safe
EDGE_COLOUR = "rgba(140, 140, 140, 0.7)"
HIGHLIGHT_COLOUR = "#e5484d"
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
    by_id = {str(n["id"]): n for n in raw_nodes}
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


def _type_colours(types: list[str]) -> dict[str, str]:
    return {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(sorted(set(types)))}


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
        go.Scatter(name="cost (USD)", x=labels, y=df["known_cost_usd"].astype(float), yaxis="y2",
                   mode="markers", marker={"size": 12, "color": PALETTE[1], "symbol": "diamond"}),
    ])
    return _frame(fig, title, barmode="stack", yaxis_title="tokens",
                  yaxis2={"title": "USD", "overlaying": "y", "side": "right", "rangemode": "tozero"})


def fig_runs_over_time(df: pd.DataFrame) -> go.Figure:
    """Runs per day by outcome (stacked bars) and the day's known cost (line, right axis)."""
    title = "Runs and cost over time"
    if df.empty:
        return _empty(title)
    statuses = [("succeeded", PALETTE[2]), ("failed", PALETTE[1]), ("interrupted", PALETTE[9]),
                ("running", PALETTE[0])]
    few = len(df) <= 31  # a handful of days: one labelled bar per day, not a time axis in hours
    days = pd.to_datetime(df["day"]).dt.strftime("%Y-%m-%d") if few else df["day"]
    fig = go.Figure([go.Bar(name=s, x=days, y=df[s], marker={"color": c})
                     for s, c in statuses if s in df and df[s].fillna(0).astype(float).sum() > 0])
    fig.add_trace(go.Scatter(name="known cost (USD)", x=days, y=df["known_cost_usd"].astype(float),
                             yaxis="y2", mode="lines+markers", line={"color": PALETTE[3]}))
    return _frame(fig, title, barmode="stack", yaxis_title="runs",
                  xaxis={"type": "category"} if few else {"tickformat": "%b %d"},
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
