"""Read-only analytics over the run ledger, as pandas DataFrames for the History and Analytics pages.

Every function takes a :class:`Filters` and applies it the same way: the filters pick runs, and
calls, events and patterns follow their runs. Costs stay NULL when unknown: sums add the known
costs and say next to them how many runs or calls had an unknown cost (never shown as $0).
Success rates count finished runs only (``running`` runs are left out) and carry ``n``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd

from core.ledger.store import Ledger

FINISHED = "('succeeded', 'failed', 'interrupted')"


@dataclass(frozen=True)
class Filters:
    """Which runs to look at; ``None`` means "any"."""

    start: date | datetime | None = None
    """Runs started on or after this day (or moment), UTC."""
    end: date | datetime | None = None
    """Runs started on or before this day (a date includes the whole day) or before this moment."""
    provider: str | None = None
    model: str | None = None
    mode: str | None = None
    status: str | None = None
    prompt_version: str | None = None
    source: str | None = None
    pattern_id: str | None = None
    """Runs that retrieved this pattern."""
    text: str | None = None
    """Case-insensitive search in the requirement, the app name and the run id."""

    def where(self, alias: str = "r") -> tuple[str, list[Any]]:
        """The SQL condition on ``runs`` (as ``alias``) and its parameters."""
        parts: list[str] = []
        params: list[Any] = []
        if self.start is not None:
            parts.append(f"{alias}.started_at >= ?")
            params.append(_moment(self.start))
        if self.end is not None:
            end = self.end if isinstance(self.end, datetime) else datetime.combine(self.end, time()) + timedelta(days=1)
            parts.append(f"{alias}.started_at < ?")
            params.append(end)
        for name in ("provider", "model", "mode", "status", "prompt_version", "source"):
            value = getattr(self, name)
            if value:
                parts.append(f"{alias}.{name} = ?")
                params.append(value)
        if self.pattern_id:
            parts.append(f"{alias}.id IN (SELECT run_id FROM pattern_usage WHERE pattern_id = ?)")
            params.append(self.pattern_id)
        if self.text:
            parts.append(f"({alias}.requirement ILIKE ? OR {alias}.app_name ILIKE ? OR {alias}.id = ?)")
            like = f"%{self.text}%"
            params += [like, like, self.text.strip()]
        return (" AND ".join(parts) or "TRUE"), params


def _moment(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def _with_runs(filters: Filters, *, status: str | None = None, tail: str = "", tail_params: tuple = ()) -> tuple[str, list[Any]]:
    """CTEs ``fr`` (filtered runs) and ``frt`` (those runs with totals derived from their calls).

    Args:
        filters: the user's filters.
        status: only runs with this status (narrows the work before totals are computed).
        tail: SQL after the WHERE of ``fr`` (e.g. ORDER BY ... LIMIT ? for a page of runs).
        tail_params: parameters of ``tail``.
    """
    where, params = filters.where("r")
    if status:
        where += " AND r.status = ?"
        params.append(status)
    # Restricting the calls to the runs first pays off only for a few runs (a page, the running
    # ones); for broad filters, summing every call and joining is faster (measured at 100k runs).
    few = bool(tail) or status == "running"
    calls = "llm_calls c SEMI JOIN fr ON c.run_id = fr.id" if few else "llm_calls c"
    sql = f"""
        WITH fr AS (SELECT r.* FROM runs r WHERE {where} {tail}),
        tot AS (
            SELECT c.run_id, count(*) AS calls,
                   sum(c.prompt_tokens::DOUBLE)::BIGINT AS prompt_tokens,  -- DOUBLE sums: exact to 2^53,
                   sum(c.completion_tokens::DOUBLE)::BIGINT AS completion_tokens,  -- far faster than
                   sum(c.cached_tokens::DOUBLE)::BIGINT AS cached_tokens,  -- DuckDB's 128-bit ones
                   count(*) FILTER (WHERE c.cost_usd IS NULL) AS unknown_cost_calls,
                   sum(c.cost_usd::DOUBLE) AS known_cost_usd
            FROM {calls}
            GROUP BY c.run_id
        ),
        frt AS (
            SELECT fr.*, coalesce(t.calls, 0) AS calls,
                   coalesce(t.prompt_tokens, 0) AS prompt_tokens, coalesce(t.completion_tokens, 0) AS completion_tokens,
                   coalesce(t.cached_tokens, 0) AS cached_tokens,
                   coalesce(t.prompt_tokens + t.completion_tokens, 0) AS total_tokens,
                   coalesce(t.unknown_cost_calls, 0) AS unknown_cost_calls,
                   coalesce(t.known_cost_usd, 0) AS known_cost_usd,
                   CASE WHEN coalesce(t.unknown_cost_calls, 0) > 0 THEN NULL
                        ELSE coalesce(t.known_cost_usd, 0) END AS cost_usd
            FROM fr LEFT JOIN tot t ON t.run_id = fr.id
        )
    """
    return sql, [*params, *tail_params]


def _of_runs(filters: Filters, alias: str) -> str:
    """``SEMI JOIN fr`` restricting ``alias`` to the filtered runs; nothing when no filter is set."""
    return f"SEMI JOIN fr ON {alias}.run_id = fr.id" if filters.where()[0] != "TRUE" else ""


def _df(led: Ledger, sql: str, params: list[Any]) -> pd.DataFrame:
    return led.query(sql, params)


# -- patterns -----------------------------------------------------------------------------------


def pattern_popularity(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """Per pattern: how often it was retrieved and how often the architecture used it.

    Columns: pattern_id, retrieved, used, use_rate, mean_score, mean_rank.
    """
    ctes, params = _with_runs(filters)
    return _df(led, ctes + f"""
        SELECT p.pattern_id, count(*) AS retrieved, count(*) FILTER (WHERE p.used) AS used,
               count(*) FILTER (WHERE p.used) / count(*) AS use_rate,
               avg(p.score) AS mean_score, avg(p.rank) AS mean_rank
        FROM pattern_usage p {_of_runs(filters, 'p')}
        GROUP BY p.pattern_id
        ORDER BY used DESC, retrieved DESC, p.pattern_id
    """, params)


# -- success rates ------------------------------------------------------------------------------

_GROUPS = {"mode": "coalesce(r.mode, '(unknown)')", "model": "r.model", "provider": "r.provider",
           "prompt_version": "r.prompt_version", "source": "r.source"}


def success_rate(led: Ledger, by: str, filters: Filters = Filters()) -> pd.DataFrame:
    """Success rate of finished runs grouped by ``mode``, ``model``, ``provider``, ``prompt_version``,
    ``source`` or ``pattern`` (runs that used the pattern).

    Columns: <by>, n, succeeded, failed, interrupted, success_rate (n shows how small a sample is).
    """
    ctes, params = _with_runs(filters)
    counts = """count(*) AS n,
                count(*) FILTER (WHERE r.status = 'succeeded') AS succeeded,
                count(*) FILTER (WHERE r.status = 'failed') AS failed,
                count(*) FILTER (WHERE r.status = 'interrupted') AS interrupted,
                count(*) FILTER (WHERE r.status = 'succeeded') / count(*) AS success_rate"""
    if by == "pattern":
        sql = f"""SELECT p.pattern_id, {counts}
                  FROM fr r JOIN (SELECT DISTINCT run_id, pattern_id FROM pattern_usage WHERE used) p
                       ON p.run_id = r.id
                  WHERE r.status IN {FINISHED}
                  GROUP BY p.pattern_id ORDER BY n DESC, p.pattern_id"""
    elif by in _GROUPS:
        sql = f"""SELECT {_GROUPS[by]} AS {by}, {counts}
                  FROM fr r WHERE r.status IN {FINISHED}
                  GROUP BY 1 ORDER BY n DESC, 1"""
    else:
        raise ValueError(f"success_rate groups by pattern or one of {sorted(_GROUPS)}, not {by!r}")
    return _df(led, ctes + sql, params)


def success_by_pattern(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """Success rate of finished runs per pattern they used (see :func:`success_rate`)."""
    return success_rate(led, "pattern", filters)


NO_PATTERN = "(no pattern)"
"""The group of runs that used no library pattern, in :func:`success_by_pattern_or_none`."""


def success_by_pattern_or_none(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """Like :func:`success_by_pattern`, plus one :data:`NO_PATTERN` row for the finished runs that
    used no pattern (built from scratch, or failed before the architecture chose one), so no
    finished run is missing from the chart. Same columns; the ``(no pattern)`` row comes last.
    """
    ctes, params = _with_runs(filters)
    return _df(led, ctes + f"""
        SELECT * FROM (
        SELECT coalesce(p.pattern_id, '{NO_PATTERN}') AS pattern_id, count(*) AS n,
               count(*) FILTER (WHERE r.status = 'succeeded') AS succeeded,
               count(*) FILTER (WHERE r.status = 'failed') AS failed,
               count(*) FILTER (WHERE r.status = 'interrupted') AS interrupted,
               count(*) FILTER (WHERE r.status = 'succeeded') / count(*) AS success_rate
        FROM fr r LEFT JOIN (SELECT DISTINCT run_id, pattern_id FROM pattern_usage WHERE used) p ON p.run_id = r.id
        WHERE r.status IN {FINISHED}
        GROUP BY 1) ORDER BY pattern_id = '{NO_PATTERN}', n DESC, pattern_id
    """, params)


def resolve_run_id(led: Ledger, text: str | None) -> str | None:
    """The full id of the one run whose id starts with ``text`` (e.g. the 8 characters the app shows).

    Returns None when ``text`` is shorter than 4 characters, is not an id prefix, or fits several runs.
    """
    prefix = (text or "").strip().lower()
    if len(prefix) < 4 or any(ch not in "0123456789abcdef-" for ch in prefix):
        return None
    ids = led.query("SELECT id FROM runs WHERE starts_with(id, ?) LIMIT 2", [prefix])["id"].tolist()
    return ids[0] if len(ids) == 1 else None


def success_by_mode(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """Success rate of finished runs per app mode (see :func:`success_rate`)."""
    return success_rate(led, "mode", filters)


def success_by_model(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """Success rate of finished runs per model (see :func:`success_rate`)."""
    return success_rate(led, "model", filters)


def runs_in_engine(led: Ledger, by: str, filters: Filters = Filters()) -> pd.DataFrame:
    """Runs in Dify's engine beside validity: per ``pattern``, ``mode`` or ``prompt_version``, the
    share of finished runs whose final DSL validated and the share whose final test run (the last
    one recorded for the run) succeeded in graphon.

    Columns: <by>, n, tested, valid, runs_in_engine, valid_rate, engine_rate (rates over n; a run
    that was never test-run counts as not running in the engine).
    """
    if by not in ("pattern", "mode", "prompt_version"):
        raise ValueError(f"runs_in_engine groups by pattern, mode or prompt_version, not {by!r}")
    ctes, params = _with_runs(filters)
    final = """, last_tr AS (
            SELECT t.run_id, arg_max(t.status, t.id) AS status
            FROM test_runs t SEMI JOIN fr ON t.run_id = fr.id
            GROUP BY t.run_id
        ), last_wf AS (
            SELECT w.run_id, arg_max(w.valid, w.version) AS valid
            FROM workflows w SEMI JOIN fr ON w.run_id = fr.id
            GROUP BY w.run_id
        )"""
    counts = """count(*) AS n,
                count(tr.run_id) AS tested,
                count(*) FILTER (WHERE wf.valid) AS valid,
                count(*) FILTER (WHERE tr.status = 'succeeded') AS runs_in_engine"""
    rates = "valid / n AS valid_rate, runs_in_engine / n AS engine_rate"
    if by == "pattern":
        sql = f"""SELECT *, {rates} FROM (
                  SELECT p.pattern_id, {counts}
                  FROM fr r JOIN (SELECT DISTINCT run_id, pattern_id FROM pattern_usage WHERE used) p ON p.run_id = r.id
                  LEFT JOIN last_tr tr ON tr.run_id = r.id LEFT JOIN last_wf wf ON wf.run_id = r.id
                  WHERE r.status IN {FINISHED}
                  GROUP BY p.pattern_id) ORDER BY n DESC, pattern_id"""
    else:
        sql = f"""SELECT *, {rates} FROM (
                  SELECT {_GROUPS[by]} AS {by}, {counts}
                  FROM fr r LEFT JOIN last_tr tr ON tr.run_id = r.id LEFT JOIN last_wf wf ON wf.run_id = r.id
                  WHERE r.status IN {FINISHED}
                  GROUP BY 1) ORDER BY n DESC, {by}"""
    return _df(led, ctes + final + sql, params)


# -- costs and tokens ---------------------------------------------------------------------------


def cost_per_workflow(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """One row per succeeded run with its cost (NULL when any call's price is unknown).

    Columns: run_id, started_at, provider, model, mode, calls, total_tokens, cost_usd, unknown_cost_calls.
    """
    ctes, params = _with_runs(filters, status="succeeded")
    return _df(led, ctes + """
        SELECT id AS run_id, started_at, provider, model, mode, calls, total_tokens, cost_usd, unknown_cost_calls
        FROM frt ORDER BY started_at
    """, params)


def cost_by_pattern(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """Cost per workflow of succeeded runs, per pattern they used.

    Columns: pattern_id, n (runs), n_unknown_cost (runs left out of the figures), median_cost_usd,
    mean_cost_usd, p95_cost_usd.
    """
    ctes, params = _with_runs(filters, status="succeeded")
    return _df(led, ctes + """
        SELECT p.pattern_id, count(*) AS n, count(*) FILTER (WHERE t.cost_usd IS NULL) AS n_unknown_cost,
               median(t.cost_usd) AS median_cost_usd, avg(t.cost_usd) AS mean_cost_usd,
               quantile_cont(t.cost_usd, 0.95) AS p95_cost_usd
        FROM frt t JOIN (SELECT DISTINCT run_id, pattern_id FROM pattern_usage WHERE used) p ON p.run_id = t.id
        GROUP BY p.pattern_id ORDER BY n DESC, p.pattern_id
    """, params)


def _usage_by(led: Ledger, group_sql: str, names: str, filters: Filters) -> pd.DataFrame:
    ctes, params = _with_runs(filters)
    return _df(led, ctes + f"""
        SELECT {group_sql}, count(*) AS calls,
               sum(c.prompt_tokens::DOUBLE)::BIGINT AS prompt_tokens,
               sum(c.completion_tokens::DOUBLE)::BIGINT AS completion_tokens,
               sum(c.cached_tokens::DOUBLE)::BIGINT AS cached_tokens,
               sum((c.prompt_tokens + c.completion_tokens)::DOUBLE)::BIGINT AS total_tokens,
               coalesce(sum(c.cost_usd::DOUBLE), 0) AS known_cost_usd,
               count(*) FILTER (WHERE c.cost_usd IS NULL) AS unknown_cost_calls,
               count(*) FILTER (WHERE c.outcome = 'error') AS error_calls
        FROM llm_calls c {_of_runs(filters, 'c')}
        GROUP BY {names} ORDER BY total_tokens DESC, {names}
    """, params)


def usage_by_agent(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """Calls, tokens and cost per agent.

    Columns: agent, calls, prompt_tokens, completion_tokens, cached_tokens, total_tokens,
    known_cost_usd, unknown_cost_calls, error_calls.
    """
    return _usage_by(led, "c.agent", "c.agent", filters)


def usage_by_model(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """Calls, tokens and cost per provider and model of the calls (fallbacks count as their model).

    Columns: provider, model, then as :func:`usage_by_agent`.
    """
    return _usage_by(led, "c.provider, c.model", "c.provider, c.model", filters)


# -- latency and durations ----------------------------------------------------------------------


def latency_by_agent(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """Call latency percentiles per agent. Columns: agent, n, p50_ms, p95_ms, p99_ms, max_ms."""
    ctes, params = _with_runs(filters)
    return _df(led, ctes + f"""
        SELECT agent, n, q[1] AS p50_ms, q[2] AS p95_ms, q[3] AS p99_ms, max_ms FROM (
            SELECT c.agent, count(*) AS n, quantile_cont(c.latency_ms, [0.5, 0.95, 0.99]) AS q,
                   max(c.latency_ms) AS max_ms
            FROM llm_calls c {_of_runs(filters, 'c')}
            GROUP BY c.agent
        ) ORDER BY agent
    """, params)


def run_durations(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """Run duration percentiles per final status. Columns: status, n, p50_ms, p95_ms, p99_ms."""
    ctes, params = _with_runs(filters)
    return _df(led, ctes + f"""
        SELECT status, count(*) AS n,
               quantile_cont(duration_ms, 0.5) AS p50_ms, quantile_cont(duration_ms, 0.95) AS p95_ms,
               quantile_cont(duration_ms, 0.99) AS p99_ms
        FROM fr WHERE status IN {FINISHED}
        GROUP BY status ORDER BY status
    """, params)


# -- over time, in progress, headline -----------------------------------------------------------


def runs_over_time(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """Per UTC day. Columns: day, runs, succeeded, failed, interrupted, running, known_cost_usd,
    unknown_cost_runs."""
    ctes, params = _with_runs(filters)
    return _df(led, ctes + """
        SELECT started_at::DATE AS day, count(*) AS runs,
               count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               count(*) FILTER (WHERE status = 'interrupted') AS interrupted,
               count(*) FILTER (WHERE status = 'running') AS running,
               sum(known_cost_usd) AS known_cost_usd,
               count(*) FILTER (WHERE cost_usd IS NULL) AS unknown_cost_runs
        FROM frt GROUP BY day ORDER BY day
    """, params)


def in_progress(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """Runs still ``running``. Columns: run_id, started_at, requirement, provider, model, source,
    calls, total_tokens, last_event, last_event_at."""
    ctes, params = _with_runs(filters, status="running")
    return _df(led, ctes + """
        , last AS (
            SELECT e.run_id, arg_max(e.type, e.seq) AS last_event, max(e.occurred_at) AS last_event_at
            FROM events e SEMI JOIN fr ON e.run_id = fr.id
            GROUP BY e.run_id
        )
        SELECT t.id AS run_id, t.started_at, t.requirement, t.provider, t.model, t.source, t.calls,
               t.total_tokens, l.last_event, l.last_event_at
        FROM frt t LEFT JOIN last l ON l.run_id = t.id
        ORDER BY t.started_at DESC
    """, params)


def headline(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """One row of headline figures.

    Columns: runs, finished, succeeded, success_rate (of finished), running, known_cost_usd,
    unknown_cost_runs, median_cost_per_workflow (succeeded runs with a known cost), total_tokens,
    p50_duration_ms, p95_duration_ms (finished runs).
    """
    ctes, params = _with_runs(filters)
    return _df(led, ctes + f"""
        SELECT count(*) AS runs,
               count(*) FILTER (WHERE status IN {FINISHED}) AS finished,
               count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
               count(*) FILTER (WHERE status = 'succeeded') / nullif(count(*) FILTER (WHERE status IN {FINISHED}), 0)
                   AS success_rate,
               count(*) FILTER (WHERE status = 'running') AS running,
               coalesce(sum(known_cost_usd), 0) AS known_cost_usd,
               count(*) FILTER (WHERE cost_usd IS NULL) AS unknown_cost_runs,
               median(cost_usd) FILTER (WHERE status = 'succeeded') AS median_cost_per_workflow,
               coalesce(sum(total_tokens::DOUBLE), 0)::BIGINT AS total_tokens,
               quantile_cont(duration_ms, 0.5) FILTER (WHERE status IN {FINISHED}) AS p50_duration_ms,
               quantile_cont(duration_ms, 0.95) FILTER (WHERE status IN {FINISHED}) AS p95_duration_ms
        FROM frt
    """, params)


# -- prompt versions ----------------------------------------------------------------------------


def by_prompt_version(led: Ledger, filters: Filters = Filters()) -> pd.DataFrame:
    """Per prompt version, over every run (not only comparisons): pass rate, cost per workflow, latency.

    Columns: prompt_version, runs, finished, succeeded, pass_rate (succeeded of finished), scored,
    expectations_met (runs a comparison scored, and how many met every expectation),
    median_cost_per_workflow, mean_cost_per_workflow (succeeded runs with a known cost),
    unknown_cost_runs, mean_tokens, p50_duration_ms, p95_duration_ms (finished runs).
    """
    ctes, params = _with_runs(filters)
    return _df(led, ctes + f"""
        , scored AS (SELECT run_id, bool_and(passed) AS passed FROM comparison_runs
                     WHERE run_id IS NOT NULL GROUP BY run_id)
        SELECT t.prompt_version, count(*) AS runs,
               count(*) FILTER (WHERE t.status IN {FINISHED}) AS finished,
               count(*) FILTER (WHERE t.status = 'succeeded') AS succeeded,
               count(*) FILTER (WHERE t.status = 'succeeded')
                   / nullif(count(*) FILTER (WHERE t.status IN {FINISHED}), 0) AS pass_rate,
               count(s.run_id) AS scored, count(*) FILTER (WHERE s.passed) AS expectations_met,
               median(t.cost_usd) FILTER (WHERE t.status = 'succeeded') AS median_cost_per_workflow,
               avg(t.cost_usd) FILTER (WHERE t.status = 'succeeded') AS mean_cost_per_workflow,
               count(*) FILTER (WHERE t.cost_usd IS NULL) AS unknown_cost_runs,
               avg(t.total_tokens) AS mean_tokens,
               quantile_cont(t.duration_ms, 0.5) FILTER (WHERE t.status IN {FINISHED}) AS p50_duration_ms,
               quantile_cont(t.duration_ms, 0.95) FILTER (WHERE t.status IN {FINISHED}) AS p95_duration_ms
        FROM frt t LEFT JOIN scored s ON s.run_id = t.id
        GROUP BY t.prompt_version ORDER BY runs DESC, t.prompt_version
    """, params)


# -- history ------------------------------------------------------------------------------------


def run_list(led: Ledger, filters: Filters = Filters(), *, limit: int = 200, offset: int = 0) -> pd.DataFrame:
    """Runs for the History page, newest first, with totals and the patterns each used.

    Columns: run_id, started_at, finished_at, status, requirement, mode, provider, model, source,
    prompt_version, app_name, parent_run_id, error_category, quality_score, validation_errors,
    validation_warnings, duration_ms, calls, total_tokens, cost_usd, unknown_cost_calls, patterns_used.
    """
    ctes, params = _with_runs(filters, tail="ORDER BY r.started_at DESC, r.id LIMIT ? OFFSET ?",
                              tail_params=(int(limit), int(offset)))
    return _df(led, ctes + """
        , page AS (SELECT * FROM frt),
        used AS (
            SELECT p.run_id, string_agg(p.pattern_id, ', ' ORDER BY p.rank) AS patterns_used
            FROM pattern_usage p SEMI JOIN page ON p.run_id = page.id
            WHERE p.used GROUP BY p.run_id
        )
        SELECT page.id AS run_id, started_at, finished_at, status, requirement, mode, provider, model, source,
               prompt_version, app_name, parent_run_id, error_category, quality_score, validation_errors,
               validation_warnings, duration_ms, calls, total_tokens, cost_usd, unknown_cost_calls,
               coalesce(used.patterns_used, '') AS patterns_used
        FROM page LEFT JOIN used ON used.run_id = page.id
        ORDER BY started_at DESC, page.id
    """, params)


@dataclass
class RunTrace:
    """Everything recorded about one run."""

    run: dict[str, Any]
    """The run row with its derived totals."""
    calls: pd.DataFrame = field(repr=False)
    events: pd.DataFrame = field(repr=False)
    workflows: pd.DataFrame = field(repr=False)
    patterns: pd.DataFrame = field(repr=False)
    children: list[str] = field(default_factory=list)
    """Runs that refine this one."""
    test_runs: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    """Its test runs in Dify's engine, oldest first (node traces: ``Ledger.test_run_nodes``)."""


def run_trace(led: Ledger, run_id: str) -> RunTrace:
    """A run's full trace: its row, calls, events, workflow versions, patterns and refinements.

    Raises:
        RunNotFound: no such run.
    """
    run = led.get_run(run_id)
    q = led.query
    return RunTrace(
        run=run,
        calls=q("SELECT * FROM llm_calls WHERE run_id = ? ORDER BY id", [run_id]),
        events=q("SELECT * FROM events WHERE run_id = ? ORDER BY seq", [run_id]),
        workflows=q("SELECT * FROM workflows WHERE run_id = ? ORDER BY version", [run_id]),
        patterns=q("SELECT * FROM pattern_usage WHERE run_id = ? ORDER BY rank", [run_id]),
        children=q("SELECT id FROM runs WHERE parent_run_id = ? ORDER BY started_at", [run_id])["id"].tolist(),
        test_runs=led.test_runs(run_id),
    )


QUERIES = {
    "headline": headline,
    "pattern_popularity": pattern_popularity,
    "success_by_pattern": success_by_pattern,
    "success_by_mode": success_by_mode,
    "success_by_model": success_by_model,
    "cost_per_workflow": cost_per_workflow,
    "cost_by_pattern": cost_by_pattern,
    "usage_by_agent": usage_by_agent,
    "usage_by_model": usage_by_model,
    "latency_by_agent": latency_by_agent,
    "run_durations": run_durations,
    "runs_over_time": runs_over_time,
    "in_progress": in_progress,
    "run_list": run_list,
    "by_prompt_version": by_prompt_version,
    "runs_in_engine_by_pattern": lambda led, filters=Filters(): runs_in_engine(led, "pattern", filters),
    "runs_in_engine_by_mode": lambda led, filters=Filters(): runs_in_engine(led, "mode", filters),
    "runs_in_engine_by_prompt_version": lambda led, filters=Filters(): runs_in_engine(led, "prompt_version", filters),
}
"""Every filterable analytics query by name (the benchmark times each)."""
