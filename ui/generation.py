"""Showing a generation: live progress from pipeline events, and the result in tabs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.agents.adapter import adaptation
from core.batch import workflow_filename
from core.charts import fig_workflow_graph
from ui.findings import render_report
from ui.tables import format_cost
from ui.testrun import render_test_run

STAGE_TITLES = {"requirements": "Requirements agent", "architecture": "Architecture agent",
                "configuration": "Configuration agent", "quality": "Quality agent"}
"""The pipeline's agents in the order they run."""
AGENT_COLUMNS = {"agent": "Agent", "calls": "Calls", "prompt_tokens": "Prompt tokens",
                 "completion_tokens": "Completion tokens", "cached_tokens": "Cached tokens",
                 "total_tokens": "Total tokens", "cost": "Cost", "error_calls": "Failed calls"}


class ProgressView:
    """Writes pipeline events into an ``st.status`` box as they arrive: one line per stage and repair."""

    def __init__(self, status) -> None:
        self.status = status

    def __call__(self, event) -> None:
        stage = STAGE_TITLES.get(event.stage or "", event.stage or "")
        payload = event.payload or {}
        if event.type == "stage.started":
            self.status.update(label=f"{stage}…")
        elif event.type == "llm.call":
            tokens = payload.get("prompt_tokens", 0) + payload.get("completion_tokens", 0)
            outcome = "" if payload.get("outcome") == "ok" else f" · {payload.get('error_category') or 'error'}"
            self.status.caption(f"{payload.get('agent')} · {payload.get('model')} · attempt {payload.get('attempt')} · "
                                f"{tokens:,} tokens · {payload.get('latency_ms', 0):.0f} ms{outcome}")
        elif event.type == "stage.completed":
            calls = payload.get("calls")
            self.status.write(f":material/check: **{stage}** done"
                              + (f" ({calls} call{'' if calls == 1 else 's'})" if calls is not None else ""))
            if payload.get("summary"):
                self.status.caption(payload["summary"])
        elif event.type == "repair.round":
            detail = payload.get("feedback") or payload.get("reason") or ""
            self.status.write(f":material/build: Repair round {payload.get('round', '')}: {detail}"[:400])
        elif event.type == "run.failed":
            self.status.write(f":material/error: {payload.get('message') or payload.get('category') or 'failed'}")


def calls_frame(result) -> pd.DataFrame:
    """Every model call (or offline step) of a generation, in order."""
    rows = [{"agent": c.agent, "attempt": c.attempt, "provider": c.provider, "model": c.model,
             "prompt tokens": c.prompt_tokens, "completion tokens": c.completion_tokens,
             "cached tokens": c.cached_tokens, "latency ms": round(c.latency_ms, 1), "outcome": c.outcome,
             "error": c.error_category or ""}
            for stage in result.stages for c in stage.calls]
    return pd.DataFrame(rows)


def is_offline(result) -> bool:
    """Whether every call of the generation was an offline step (no model, no tokens)."""
    calls = [c for stage in result.stages for c in stage.calls]
    return bool(calls) and all(c.provider == "offline" for c in calls)


def agent_cost_table(per_agent: pd.DataFrame, *, offline: bool = False) -> pd.DataFrame:
    """``usage_by_agent`` rows as the page shows them: agents in pipeline order, readable column names,
    the cost as text ("unknown" when a call had no price), failed calls only when there were some."""
    order = {agent: i for i, agent in enumerate(STAGE_TITLES)}
    frame = per_agent.sort_values("agent", key=lambda s: s.map(lambda a: order.get(a, len(order))), kind="stable")
    frame = frame.assign(cost=[format_cost(None if unknown else cost) for cost, unknown
                               in zip(frame["known_cost_usd"], frame["unknown_cost_calls"], strict=True)],
                         agent=frame["agent"].map(lambda a: STAGE_TITLES.get(a, a)))
    columns = [c for c in AGENT_COLUMNS if c in frame and (c != "error_calls" or frame[c].sum() > 0)]
    names = {**AGENT_COLUMNS, "calls": "Steps" if offline else "Calls"}
    return frame[columns].rename(columns=names).reset_index(drop=True)


def derived_from(result) -> str:
    """Which library pattern(s) the workflow was derived from, by name, or that it was built without one."""
    used = list(result.blueprint.patterns_used) if result.blueprint is not None else []
    if not used:
        return "Not derived from a library pattern: built from the requirement alone."
    names = {r.pattern.id: r.pattern.name for r in result.patterns or []}
    shown = [f"**{names[p]}** (`{p}`)" if p in names else f"`{p}`" for p in used]
    return f"Derived from the pattern{'s' if len(shown) > 1 else ''} {', '.join(shown)}."


def adapted(result) -> str:
    """How the blueprint was adapted from its pattern (kept, renamed, replicated, dropped, added), or ''."""
    what = adaptation(result.blueprint, brief=True)
    return f"Adapted: {what}" if what else ""


STOOD_IN = {"requirements": "its reading of the requirement", "architecture": "its design",
            "workflow": "its workflow (it did not validate, did not run in Dify's engine, or did less of the ask)"}


def stood_in(result) -> str:
    """Where the offline brain's answer stood in for the model's (an answer that was not usable), or ''."""
    parts = [STOOD_IN.get(stage, stage) for stage in getattr(result, "drafts", None) or []]
    return f"The rules stood in for the model at {'; '.join(parts)}." if parts else ""


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"




def stage_record(result) -> list[str]:
    """One line per stage the run went through (repair rounds show as the stages run again)."""
    lines, seen = [], {}
    for stage in result.stages:
        seen[stage.stage] = seen.get(stage.stage, 0) + 1
        again = f" (round {seen[stage.stage]})" if seen[stage.stage] > 1 else ""
        steps = len(stage.calls)
        word = "step" if is_offline(result) else "call"
        summary = stage.output.summary() if hasattr(stage.output, "summary") else ""
        lines.append(f"**{STAGE_TITLES.get(stage.stage, stage.stage)}**{again} · {steps} {word}"
                     f"{'' if steps == 1 else 's'}" + (f" · {_duration(stage.duration_ms)}" if stage.duration_ms else "")
                     + (f": {summary}" if summary else ""))
    return lines


def _render_stage_record(result) -> None:
    lines = stage_record(result)
    if not lines:
        return
    rounds = max(0, sum(s.stage == "quality" for s in result.stages) - 1)
    total = sum(s.duration_ms for s in result.stages)  # 0 when the stages were not timed: then not shown
    label = (f"How it was made: {len(lines)} stages" + (f" in {_duration(total)}" if total else "")
             + (f", {rounds} repair round{'' if rounds == 1 else 's'}" if rounds else ""))
    with st.expander(label, icon=":material/checklist:"):
        for line in lines:
            st.markdown(line)


def _app_name(result) -> str | None:
    return ((result.dsl or {}).get("app") or {}).get("name") if isinstance(result.dsl, dict) else None


def render_result(result, *, agent_costs: pd.DataFrame | None, key: str) -> None:
    """The outcome line and the tabs: graph, YAML (+ download), validation, cost and tokens, trace."""
    name = _app_name(result) or "workflow"
    if result.status == "succeeded":
        kind = "a chatflow (advanced-chat)" if result.app_mode == "advanced-chat" else "a workflow"
        st.success(f"**{name}**: {kind} app. Run `{result.run_id}`.", icon=":material/check_circle:")
    else:
        st.error(f"The generation failed: {result.error_message or result.error_category or 'no reason given'}",
                 icon=":material/error:")
        if result.recorded:
            st.caption(f"Run `{result.run_id}` is recorded in the ledger with everything that happened.")
    if not result.recorded:  # the workflow is complete; only the bookkeeping failed
        st.warning(getattr(result, "ledger_problem", None) or "The run was not recorded in the ledger.",
                   icon=":material/warning:")
    for issue in (result.quality.issues if result.quality else []):
        if issue.severity == "warning" and issue.stage == "requirements":  # what the user asked vs what was built
            st.warning(issue.message, icon=":material/warning:")
    if result.blueprint is not None:
        st.markdown(derived_from(result))
        if how := adapted(result):
            st.caption(how)
    if note := stood_in(result):
        st.caption(note)
    _render_stage_record(result)
    graph, yaml_tab, checks, run_tab, cost, trace = st.tabs(
        ["Graph", "YAML", "Validation", "Test run", "Cost and tokens", "Trace"], key=f"{key}-tabs")
    with graph:
        if isinstance(result.dsl, dict):
            marked = {str(f.node_id) for f in (result.report.findings if result.report else []) if f.node_id}
            st.plotly_chart(fig_workflow_graph(result.dsl, marked), key=f"{key}-graph", width="stretch")
        else:
            st.info("No workflow was produced.")
    with yaml_tab:
        if result.yaml_text:
            st.download_button("Download YAML", result.yaml_text, file_name=workflow_filename(name),
                               mime="application/x-yaml", key=f"{key}-download", type="primary",
                               icon=":material/download:")
            st.code(result.yaml_text, language="yaml")
        else:
            st.info("No YAML was produced.")
    with checks:
        if result.report is not None:
            render_report(name, result.report, key=f"{key}-report")
        if result.quality is not None:
            st.metric("Quality score", f"{result.quality.score}/100")
            if result.quality.issues:
                st.dataframe(pd.DataFrame([i.model_dump() for i in result.quality.issues]), hide_index=True)
    with run_tab:
        render_test_run(result.dsl, key=f"{key}-testrun", initial=getattr(result, "test_run", None))
    with cost:
        usage = result.usage
        a, b, c = st.columns(3)
        a.metric("Cost", format_cost(usage.cost_usd))
        b.metric("Tokens", f"{usage.total_tokens:,}")
        offline = is_offline(result)
        if offline:
            c.metric("Steps", usage.calls, help="Offline runs make rule-based steps, not model calls: no tokens, no cost.")
        else:
            c.metric("Model calls", usage.calls)
        if agent_costs is not None and not agent_costs.empty:
            st.dataframe(agent_cost_table(agent_costs, offline=offline), hide_index=True, width="stretch")
    with trace:
        _render_trace(result)


def _render_trace(result) -> None:
    frame = calls_frame(result)
    if frame.empty:
        st.info("No calls were made.")
        return
    st.dataframe(frame, hide_index=True, width="stretch")
    for stage in result.stages:
        for call in stage.calls:
            label = f"{call.agent} · attempt {call.attempt} · {call.model} · {call.latency_ms:.0f} ms · {call.outcome}"
            with st.expander(label):
                st.markdown("**Prompt**")
                st.code(call.prompt_text or "(not recorded)", language=None, wrap_lines=True)
                st.markdown("**Response**")
                st.code(call.response_text or "(not recorded)", language=None, wrap_lines=True)
                if call.error_message:
                    st.error(call.error_message)
