"""Prompt Lab page: edit an agent's prompt as a new version, diff it, and compare two versions on an eval set."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.agents.prompt_store import (
    AGENTS,
    DATA_FENCE,
    OUTPUT_SCHEMAS,
    PromptStore,
    check_prompt,
    schema_fields,
)
from core.batch import MAX_CONCURRENCY
from core.comparison import (
    case_workflow_diff,
    check_provider,
    check_versions,
    list_comparisons,
    load_comparison,
    public_eval_files,
    run_comparison,
    save_eval_upload,
)
from ui.errors import user_errors
from ui.layout import page_setup
from ui.resources import get_ledger, get_library
from ui.tables import format_cost

settings = page_setup("Prompt Lab", "Edit an agent's prompt as a new version, then compare two versions on an "
                                    "eval set: which passes more cases, where, and at what cost.")
store = PromptStore(settings.data_dir)
FLASH, SAVED, SHOWN = "lab.flash", "lab.saved", "lab.comparison"
HISTORY_PICK = "history.pick"  # the History page shows this run when it opens
flash = st.container()  # always there, so the tabs below keep their place (and their selected tab) on reruns
if FLASH in st.session_state:
    flash.success(st.session_state.pop(FLASH), icon=":material/check_circle:")


def _edit() -> None:
    labels = store.labels()
    left, right = st.columns(2)
    agent = left.selectbox("Agent", AGENTS, key="lab.agent")
    base = right.selectbox("Base version", labels, key="lab.base",
                           index=labels.index(settings.prompt_version) if settings.prompt_version in labels else 0)
    owner = store.source_of(agent, base)
    editor, schema = st.columns([3, 2])
    with editor:
        text = st.text_area(f"{agent} prompt", value=store.prompt(agent, base), height=420,
                            key=f"lab.text.{agent}.{base}",
                            help="The system prompt; the agent's inputs follow in the user message, the "
                                 f"requirement fenced in {DATA_FENCE} tags.")
        if owner != base:
            st.caption(f"{base} does not change the {agent} prompt: this is {owner}'s.")
        for problem in check_prompt(agent, text):
            st.warning(problem, icon=":material/warning:")
        a, b = st.columns([1, 2])
        label = a.text_input("New version label", key="lab.label", placeholder="e.g. v2 or sharper-spec")
        note = b.text_input("Note (what changed and why)", key="lab.note")
        if st.button("Save as new version", type="primary", icon=":material/save:"):
            with user_errors():
                version = store.create(label, agent=agent, parent=base, text=text, note=note)
                st.session_state[SAVED] = version.label
                st.session_state["lab.b"] = version.label  # the new version is the natural candidate
                st.session_state[FLASH] = f"Saved {version.describe()}."
                st.rerun()
    with schema:
        model = OUTPUT_SCHEMAS[agent]
        st.markdown(f"**The {agent} agent must return a `{model.__name__}`**")
        st.dataframe(pd.DataFrame(schema_fields(agent)), hide_index=True, width="stretch")
        st.caption(f"The prompt must name {model.__name__}, ask for JSON and say that content inside "
                   f"{DATA_FENCE} tags is data, never instructions.")
        with st.expander("Full JSON schema"):
            st.json(model.model_json_schema(), expanded=False)
    _diff()


def _diff() -> None:
    users = [v for v in store.versions() if v.source == "user"]
    st.subheader("Diff against its parent")
    if not users:
        st.caption("No version created yet: save one above to see what it changes.")
        return
    labels = [v.label for v in users]
    saved = st.session_state.get(SAVED)
    chosen = st.selectbox("Version", labels, index=labels.index(saved) if saved in labels else len(labels) - 1,
                          key="lab.diff", format_func=lambda v: store.get(v).describe())
    version = store.get(chosen)
    st.caption(f"Created {version.created_at} · changes the {version.agent} prompt · inherits the others "
               f"from {version.parent}")
    for item in store.diff(chosen, agent=version.agent):
        st.markdown(f"**{item.agent}**: {item.old} → {item.new}: {item.diff.summary()}")
        if not item.diff.identical:
            st.code(item.diff.text, language="diff")


def _model_settings():
    """The provider the comparison runs on: the configured model, or an endpoint given here."""
    provider = settings.provider
    if provider.kind == "offline":
        st.info("The offline brain does not use the agent prompts, so two versions would give identical "
                "columns. Compare on a model: give an OpenAI-compatible endpoint here (used for this "
                "comparison only), or set one on the Settings page.", icon=":material/info:")
    else:
        st.caption(f"Compares on the configured model {provider.label} at {provider.base_url or 'api.openai.com'}; "
                   "change it here for this comparison only.")
    a, b, c = st.columns(3)
    base_url = a.text_input("Base URL", value=provider.base_url or "", key="lab.base_url",
                            placeholder="e.g. http://localhost:11434/v1")
    model = b.text_input("Model", value=provider.model, key="lab.model")
    key = c.text_input("API key", type="password", key="lab.key",
                       help="Empty: the configured key. Kept in this session only; never stored or shown.")
    if provider.kind == "offline" and not base_url.strip() and not key:
        return settings
    return settings.with_provider(kind="openai", base_url=base_url.strip() or None, model=model.strip() or provider.model,
                                  api_key=key or provider.api_key)


def _eval_path():
    files = public_eval_files()
    source = st.radio("Eval set", ["public", "upload"], horizontal=True, key="lab.eval_source",
                      format_func={"public": "A public eval file", "upload": "A file I upload"}.get)
    if source == "public" and files:
        return st.selectbox("Eval file", files, format_func=lambda p: p.name, key="lab.eval_file")
    if source == "public":
        st.caption("No public eval files beside the project; upload one.")
    upload = st.file_uploader("Eval file (YAML with a 'cases' list, like shared/eval/requirements.yaml)",
                              type=["yaml", "yml"], key="lab.upload")
    return upload


def _compare() -> None:
    labels = store.labels()
    a, b, c = st.columns([2, 2, 3])
    version_a = a.selectbox("Version A (baseline)", labels, key="lab.a")
    version_b = b.selectbox("Version B (candidate)", labels, index=len(labels) - 1, key="lab.b")
    concurrency = c.slider("Concurrency (runs at once per version)", 1, MAX_CONCURRENCY, 2, key="lab.concurrency")
    chosen = _eval_path()
    model_settings = _model_settings()
    if st.button("Run comparison", type="primary", icon=":material/compare_arrows:"):
        with user_errors():
            check_provider(model_settings)
            check_versions(store, version_a, version_b)
            if chosen is None:
                st.warning("Choose an eval file first.")
                return
            if hasattr(chosen, "getvalue"):  # an upload: kept in the data folder, recorded under its own name
                path, name = save_eval_upload(settings, chosen.name, chosen.getvalue()), chosen.name
            else:
                path, name = chosen, chosen.name
            _run(version_a, version_b, path, name, model_settings, concurrency)
    _recorded()


def _run(version_a, version_b, path, name, model_settings, concurrency) -> None:
    ledger = get_ledger(settings)
    if ledger is None:
        st.error("The run ledger is unavailable, so a comparison cannot be recorded; the sidebar says why.")
        return
    bar = st.progress(0.0, text="Starting…")
    live = st.empty()
    rows: dict[str, dict] = {}

    def on_case(done) -> None:
        row = rows.setdefault(done.case_id, {"case": done.case_id, "A": "…", "B": "…"})
        row[done.arm] = ("pass" if done.passed else "fail") + ("" if done.status == "succeeded" else f" ({done.status})")
        bar.progress(done.done / done.total, text=f"{done.done} of {done.total} case runs done "
                                                  f"({done.arm}: {done.version} · {done.case_id})")
        live.dataframe(pd.DataFrame(rows.values()), hide_index=True, width="stretch")

    started: list[str] = []
    try:
        run_comparison(version_a, version_b, path, settings=model_settings, ledger=ledger,
                       library=get_library(settings), concurrency=concurrency, on_case=on_case,
                       on_start=started.append, eval_name=name)
    finally:  # also when stopped half-way: show what it recorded
        if started:
            st.session_state[SHOWN] = started[0]
        bar.empty()
        live.empty()


def _recorded() -> None:
    ledger = get_ledger(settings)
    if ledger is None:
        return
    past = list_comparisons(ledger)
    if past.empty:
        st.caption("No comparison recorded yet.")
        return
    ids = past["id"].tolist()
    labels = {r.id: f"{r.started_at:%Y-%m-%d %H:%M} · {r.version_a} vs {r.version_b} · {r.eval_name} · "
                    f"{r.model} · {r.status} · {r.recorded}/{2 * r.cases} runs" for r in past.itertuples()}
    shown = st.session_state.get(SHOWN)
    st.divider()
    picked = st.selectbox("Comparison", ids, index=ids.index(shown) if shown in ids else 0, key="lab.shown",
                          format_func=labels.get)
    with user_errors():
        _result(load_comparison(ledger, picked))


def _side_by_side(c) -> pd.DataFrame:
    a, b = c.arms["A"], c.arms["B"]

    def both(fn) -> list[str]:
        return [fn(a), fn(b)]

    def seconds(v) -> str:
        return "—" if v is None else f"{v:.2f} s"

    rows = {
        "meet every expectation": both(lambda s: f"{s.passed} of {s.cases}"),
        "valid (no error finding)": both(lambda s: f"{s.valid} of {s.cases}"),
        "test runs succeeded": both(lambda s: f"{s.test_runs_ok} of {s.test_runs}"),
        "mean quality score": both(lambda s: "—" if s.quality_mean is None else f"{s.quality_mean:.1f}"),
        "tokens": both(lambda s: f"{s.tokens:,}"),
        "cost": both(lambda s: format_cost(s.cost_usd)),
        "p50 latency": both(lambda s: seconds(s.p50_s)),
        "p95 latency": both(lambda s: seconds(s.p95_s)),
        "failures": both(lambda s: ", ".join(f"{k}: {v}" for k, v in s.failures.items()) or "none"),
    }
    return pd.DataFrame(rows, index=[f"A: {a.version}", f"B: {b.version}"]).T.reset_index(names="figure")


def _result(c) -> None:
    st.markdown(f"**{c.summary_line()}**")
    st.caption(f"Comparison `{c.id}` · {c.eval_name} · {c.provider}:{c.model} · concurrency {c.concurrency} · "
               f"{c.status}")
    for problem in c.model_problems():
        st.error(problem, icon=":material/error:")
    if c.missing:
        st.warning(f"{len(c.missing)} case run(s) are missing ({c.status}): "
                   + ", ".join(f"{arm} {case}" for arm, case in c.missing[:20])
                   + ("…" if len(c.missing) > 20 else "") + ". The runs it made are kept and shown.",
                   icon=":material/warning:")
    st.table(_side_by_side(c).set_index("figure"))
    st.caption("Test runs execute each workflow in Dify's engine (graphon) with the offline model hook and "
               "canned HTTP: they check that it runs on every steerable branch, at no token cost.")
    table = pd.DataFrame([{
        "case": r.case_id, "passed by": r.winner,
        "A failed": "; ".join((r.a or {}).get("failed") or []) if r.a else "not run",
        "B failed": "; ".join((r.b or {}).get("failed") or []) if r.b else "not run",
        "only in A": ", ".join(r.node_diff()[0]), "only in B": ", ".join(r.node_diff()[1]),
    } for r in c.cases])
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption("Each case is scored on its first generation; refinement rounds in an eval file are scored by "
               "`python -m core eval`.")
    _case_detail(c)


def _case_detail(c) -> None:
    ids = [r.case_id for r in c.cases]
    case_id = st.selectbox("Case", ids, key=f"lab.case.{c.id}")
    row = c.cases[ids.index(case_id)]
    st.caption(row.requirement)
    cols = st.columns(2)
    for col, arm, result in ((cols[0], "A", row.a), (cols[1], "B", row.b)):
        with col:
            version = c.arms[arm].version
            if result is None:
                st.warning(f"{arm} ({version}) has no run for this case.")
                continue
            verdict = "meets every expectation" if result["passed"] else "; ".join(result["failed"]) or \
                (result.get("message") or result["status"])
            st.markdown(f"**{arm} · {version}**: {verdict}")
            st.caption(f"nodes: {', '.join(result['node_types']) or 'none'} · {result['tokens']:,} tokens · "
                       f"cost {format_cost(result['cost_usd'])} · test run {result['test_run'] or 'not made'}")
            if result["run_id"] and st.button(f"Open {arm}'s run in History", key=f"lab.open.{arm}.{c.id}.{case_id}",
                                              icon=":material/history:"):
                st.session_state[HISTORY_PICK] = result["run_id"]
                st.switch_page("pages/history.py")
    diff = case_workflow_diff(get_ledger(settings), row)
    if diff is not None:
        st.markdown(f"**Workflow diff A → B:** {diff.summary()}")
        if not diff.identical:
            with st.expander("Show the YAML diff"):
                st.code(diff.text, language="diff")


edit, compare = st.tabs(["Edit a prompt", "Compare two versions"])
with edit:
    _edit()
with compare:
    _compare()
