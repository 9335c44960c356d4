"""The graph preview and the analytics figures, built without streamlit."""

from __future__ import annotations

from pathlib import Path

import yaml

from core.charts import HIGHLIGHT_COLOUR, fig_workflow_graph, layout_workflow
from tests.conftest import CORPUS_DIR


def _load(name: str) -> dict:
    return yaml.safe_load((CORPUS_DIR / name).read_text(encoding="utf-8"))


def test_every_corpus_file_gets_a_graph_with_all_its_nodes(corpus_files):
    for path in corpus_files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        nodes, edges = layout_workflow(doc)
        raw = [n for n in doc["workflow"]["graph"]["nodes"]
               if (n.get("data") or {}).get("type") not in ("iteration-start", "loop-start")  # editor plumbing
               and n.get("type") != "custom-note"]  # sticky notes: comments, not steps
        assert len(nodes) == len(raw), path.name
        fig = fig_workflow_graph(doc)
        plotted = sum(len(t.x) for t in fig.data if t.mode == "markers+text")
        assert plotted == len(raw), path.name


def test_layout_runs_left_to_right_along_edges():
    doc = _load("Claude3 Code Translation.yml")
    nodes, edges = layout_workflow(doc)
    x = {n.id: n.x for n in nodes}
    start = next(n for n in nodes if n.type == "start")
    assert x[start.id] == 0
    assert all(x[e.target] > x[e.source] for e in edges)


def test_classifier_edges_carry_class_names_and_if_else_edges_their_branch():
    nodes, edges = layout_workflow(_load("根据用户的意图进行回复.yml"))
    labels = {e.label for e in edges if e.label}
    assert {"健康咨询", "使用帮助"} <= labels
    _, edges = layout_workflow(_load("translation_workflow.yml"))
    assert {"IF", "ELSE"} <= {e.label for e in edges if e.label}


def test_nodes_with_findings_are_ringed_and_the_legend_names_types():
    doc = _load("SEO Slug Generator.yml")
    nodes, _ = layout_workflow(doc)
    target = nodes[1]
    fig = fig_workflow_graph(doc, {target.id})
    trace = next(t for t in fig.data if t.name == target.type)
    index = [c[0] for c in trace.customdata].index(target.id)
    assert trace.marker.line.width[index] > 0 and trace.marker.line.color == HIGHLIGHT_COLOUR
    others = [t for t in fig.data if t.mode == "markers+text" and t.name != target.type]
    assert all(max(t.marker.line.width) == 0 for t in others)
    assert {t.name for t in fig.data if t.mode == "markers+text"} == {n.type for n in nodes}
    assert any(t.name == "has findings" for t in fig.data)


def test_a_document_without_a_graph_gives_a_note_not_an_error():
    fig = fig_workflow_graph({"app": {"mode": "workflow"}})
    assert fig.layout.annotations[0].text == "This document has no workflow graph."
    assert fig_workflow_graph({"workflow": {"graph": {"nodes": "junk", "edges": None}}}).data == ()


def test_dangling_edges_and_cycles_do_not_break_the_layout():
    doc = {"workflow": {"graph": {
        "nodes": [{"id": "a", "data": {"type": "start", "title": "A"}},
                  {"id": "b", "data": {"type": "llm", "title": "B"}},
                  {"id": "c", "data": {"type": "llm", "title": "C"}}],
        "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"},
                  {"source": "c", "target": "b"}, {"source": "a", "target": "ghost"}]}}}
    nodes, edges = layout_workflow(doc)
    assert len(nodes) == 3 and len(edges) == 3
    fig_workflow_graph(doc)


# -- analytics figures over a real ledger ------------------------------------------------------------

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from core import charts  # noqa: E402
from core.ledger import Ledger, PatternHit, analytics  # noqa: E402
from core.usage import CallRecord  # noqa: E402


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    """A ledger with priced OpenAI runs, one unknown-priced run, a failure and offline runs."""
    led = Ledger.open(tmp_path / "ledger.duckdb")
    plan = [("openai", "gpt-4o-mini", "succeeded", "email-triage-classifier"),
            ("openai", "gpt-4o-mini", "failed", "email-triage-classifier"),
            ("openai", "my-local-model", "succeeded", "document-summary"),
            ("offline", "offline-rules", "succeeded", "document-summary")]
    for provider, model, status, pattern in plan:
        run = led.start_run(requirement=f"req {pattern}", provider=provider, model=model, mode="workflow")
        for agent in ("requirements", "architecture", "configuration", "quality"):
            led.record_call(run, CallRecord(agent=agent, provider=provider, model=model, prompt_tokens=1200,
                                            completion_tokens=300, latency_ms=250.0))
        led.record_patterns(run, [PatternHit(pattern, 1, 0.8, True), PatternHit("web-page-digest", 2, 0.3)])
        led.finish_run(run, status=status, error_category=None if status == "succeeded" else "invalid_output")
    return led


def test_analytics_figures_plot_the_ledger_figures(ledger):
    popularity = analytics.pattern_popularity(ledger)
    fig = charts.fig_pattern_popularity(popularity)
    retrieved = dict(zip(fig.data[0].x, fig.data[0].y, strict=True))
    used = dict(zip(fig.data[1].x, fig.data[1].y, strict=True))
    assert retrieved["web-page-digest"] == 4 and used["web-page-digest"] == 0
    assert used["email-triage-classifier"] == 2

    success = charts.fig_success_rate(analytics.success_by_pattern(ledger), "pattern_id", title="s")
    rates = dict(zip(success.data[0].x, success.data[0].y, strict=True))
    assert rates["email-triage-classifier"] == pytest.approx(50.0)
    assert "n=2" in success.data[0].text

    agents = charts.fig_usage(analytics.usage_by_agent(ledger), "agent", title="a")
    assert set(agents.data[0].x) == {"requirements", "architecture", "configuration", "quality"}
    assert list(agents.data[0].y) == [4 * 1200] * 4
    models = charts.fig_usage(analytics.usage_by_model(ledger), "model", title="m")
    assert "openai:gpt-4o-mini" in list(models.data[0].x)

    latency = charts.fig_latency_by_agent(analytics.latency_by_agent(ledger))
    assert list(latency.data[0].y) == [250.0] * 4
    over_time = charts.fig_runs_over_time(analytics.runs_over_time(ledger))
    assert sum(over_time.data[0].y) == 3 and sum(over_time.data[1].y) == 1


def test_unknown_costs_are_left_out_and_said_so_never_plotted_as_zero(ledger):
    per_workflow = analytics.cost_per_workflow(ledger)
    fig = charts.fig_cost_distribution(per_workflow)
    assert "unknown cost not shown" in fig.layout.title.text
    known = per_workflow["cost_usd"].dropna()
    assert 0 < len(known) < len(per_workflow)
    assert sum(fig.data[0].y) == len(known)
    charts.fig_cost_by_pattern(analytics.cost_by_pattern(ledger))


def test_empty_ledger_gives_empty_figures_with_a_note(tmp_path):
    led = Ledger.open(tmp_path / "empty.duckdb")
    for fig in (charts.fig_pattern_popularity(analytics.pattern_popularity(led)),
                charts.fig_cost_distribution(analytics.cost_per_workflow(led)),
                charts.fig_cost_by_pattern(analytics.cost_by_pattern(led)),
                charts.fig_usage(analytics.usage_by_agent(led), "agent", title="a"),
                charts.fig_runs_over_time(analytics.runs_over_time(led)),
                charts.fig_latency_by_agent(analytics.latency_by_agent(led))):
        assert fig.layout.annotations[0].text == "No data for these filters."


def test_cost_histogram_of_a_single_value_is_one_labelled_bar():
    import pandas as pd

    fig = charts.fig_cost_distribution(pd.DataFrame({"cost_usd": [0.0, 0.0, 0.0]}))
    assert list(fig.data[0].x) == ["$0"] and list(fig.data[0].y) == [3]


def test_runs_over_time_on_a_few_days_labels_each_day_and_hides_empty_outcomes():
    df = pd.DataFrame({"day": pd.to_datetime(["2026-11-20", "2026-11-21"]), "runs": [3, 2], "succeeded": [3, 1],
                       "failed": [0, 1], "interrupted": [0, 0], "running": [0, 0], "known_cost_usd": [0.0, 0.01]})
    fig = charts.fig_runs_over_time(df)
    assert fig.layout.xaxis.type == "category"
    assert list(fig.data[0].x) == ["2026-11-20", "2026-11-21"]
    assert [t.name for t in fig.data] == ["succeeded", "failed", "known cost (USD)"]
    assert fig.layout.legend.y > 1 and fig.layout.title.yref == "container"  # legend under the title, not on it
    assert fig.layout.yaxis.rangemode == "tozero"


def test_a_single_cost_value_is_one_category_bar():
    fig = charts.fig_cost_distribution(pd.DataFrame({"cost_usd": [0.0, 0.0, 0.0]}))
    assert fig.layout.xaxis.type == "category" and list(fig.data[0].x) == ["$0"]


def test_long_node_titles_are_shortened_with_an_ellipsis_and_shown_whole_on_hover():
    from core.dsl.builder import StartVar, WorkflowBuilder

    b = WorkflowBuilder(mode="workflow", name="Long titles")
    start = b.start([StartVar("q", "Question")])
    llm = b.llm("Hand the conversation over to a human colleague", system="s", user=str(start.out("q")))
    b.chain(start, llm, b.end({"a": llm.out("text")}))
    fig = fig_workflow_graph(b.build())
    trace = next(t for t in fig.data if t.name == "llm")
    assert trace.text[0] == "Hand the conversation o…"
    assert trace.customdata[0][2] == "Hand the conversation over to a human colleague"


def test_container_start_nodes_are_not_drawn_and_the_body_hangs_off_the_container():
    from core.charts import layout_workflow
    from core.dsl import load_dsl

    root = Path(__file__).resolve().parents[2]
    pattern = load_dsl((root / "patterns" / "batch-list-generator.yaml").read_text("utf-8"))
    nodes, edges = layout_workflow(pattern["dsl"])
    assert not [n for n in nodes if n.type in ("iteration-start", "loop-start")]
    container = next(n for n in nodes if n.type == "iteration")
    body = [e for e in edges if e.source == container.id and e.label == "each item"]
    assert len(body) == 1
    first_child = next(n for n in nodes if n.id == body[0].target)
    assert first_child.x > container.x


def test_sticky_notes_are_left_out_not_drawn_as_unknown_nodes():
    doc = _load("Claude3 Code Translation.yml")
    notes = [n for n in doc["workflow"]["graph"]["nodes"] if n.get("type") == "custom-note"]
    assert notes
    nodes, _ = layout_workflow(doc)
    assert not {n.id for n in nodes} & {str(n["id"]) for n in notes}
    assert "unknown" not in {n.type for n in nodes}
    assert "unknown" not in {t.name for t in fig_workflow_graph(doc).data}


def test_a_node_type_has_one_colour_in_every_graph_and_none_looks_like_the_findings_ring(corpus_files):
    from core.charts import NODE_COLOURS, OTHER_NODE_COLOUR

    seen: dict[str, set[str]] = {}
    for path in corpus_files:
        for trace in fig_workflow_graph(yaml.safe_load(path.read_text(encoding="utf-8"))).data:
            if trace.mode == "markers+text":
                seen.setdefault(trace.name, set()).add(trace.marker.color)
    assert all(len(colours) == 1 for colours in seen.values()), seen
    assert seen["llm"] == {NODE_COLOURS["llm"]} and seen["start"] == {NODE_COLOURS["start"]}

    def rgb(hex_colour: str) -> tuple[int, ...]:
        return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))

    ring = rgb(HIGHLIGHT_COLOUR)
    for colour in [*NODE_COLOURS.values(), OTHER_NODE_COLOUR]:
        assert sum((a - b) ** 2 for a, b in zip(rgb(colour), ring, strict=True)) ** 0.5 > 90, colour


@pytest.fixture
def offline_ledger(tmp_path) -> Ledger:
    """Offline runs only: no tokens, $0; one of them used no pattern."""
    led = Ledger.open(tmp_path / "offline.duckdb")
    for pattern in ("document-summary", "document-summary", None):
        run = led.start_run(requirement=f"req {pattern}", provider="offline", model="offline-rules", mode="workflow")
        for agent in ("requirements", "architecture", "configuration", "quality"):
            led.record_call(run, CallRecord(agent=agent, provider="offline", model="offline-rules", prompt_tokens=0,
                                            completion_tokens=0, latency_ms=2.0))
        if pattern:
            led.record_patterns(run, [PatternHit(pattern, 1, 0.8, True)])
        led.finish_run(run, status="succeeded")
    return led


def test_runs_that_used_no_pattern_get_their_own_bar(offline_ledger):
    frame = analytics.success_by_pattern_or_none(offline_ledger)
    assert frame["pattern_id"].tolist() == ["document-summary", analytics.NO_PATTERN]
    assert frame["n"].tolist() == [2, 1]
    fig = charts.fig_success_rate(frame, "pattern_id", title="s")
    assert list(fig.data[0].x) == ["document-summary", "(no pattern)"]
    assert analytics.success_by_pattern(offline_ledger)["pattern_id"].tolist() == ["document-summary"]


def test_offline_runs_say_why_there_is_no_token_or_cost_chart(offline_ledger, ledger):
    assert charts.why_blank_usage(analytics.usage_by_agent(offline_ledger)).startswith("Offline runs use no tokens")
    assert charts.why_blank_usage(analytics.usage_by_model(offline_ledger)).startswith("Offline runs use no tokens")
    assert charts.why_blank_cost(analytics.cost_per_workflow(offline_ledger)).startswith("Every workflow here cost $0")
    assert charts.why_blank_cost(analytics.cost_by_pattern(offline_ledger), "median_cost_usd").startswith(
        "Every workflow here cost $0")
    assert charts.why_blank_rows(analytics.runs_over_time(offline_ledger)) is None
    # runs with priced calls are charted
    assert charts.why_blank_usage(analytics.usage_by_agent(ledger)) is None
    assert charts.why_blank_cost(analytics.cost_per_workflow(ledger)) is None


def test_no_zero_cost_series_on_an_axis_of_its_own(offline_ledger, ledger):
    over_time = charts.fig_runs_over_time(analytics.runs_over_time(offline_ledger))
    assert [t.name for t in over_time.data] == ["succeeded"] and "yaxis2" not in over_time.layout.to_plotly_json()
    assert "no known cost" in over_time.layout.title.text
    priced = charts.fig_runs_over_time(analytics.runs_over_time(ledger))
    assert "known cost (USD)" in [t.name for t in priced.data]
    usage = charts.fig_usage(analytics.usage_by_agent(offline_ledger), "agent", title="a")
    assert [t.name for t in usage.data] == ["prompt", "completion"]


def test_the_8_character_id_finds_its_run(ledger):
    run_id = analytics.run_list(ledger)["run_id"].iloc[0]
    assert analytics.resolve_run_id(ledger, run_id[:8]) == run_id
    assert analytics.resolve_run_id(ledger, run_id[:8].upper()) == run_id
    assert analytics.resolve_run_id(ledger, "summary") is None and analytics.resolve_run_id(ledger, "ab") is None
