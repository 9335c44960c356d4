"""The ledger's schema as numbered, append-only migrations (the way simonw/llm does it).

Never edit a migration that has shipped: add a new one. ``migrate()`` applies the ones a
database has not seen yet and records their names in ``_migrations``. All timestamps are UTC
(``TIMESTAMP`` without a zone). Run token and cost totals are never stored: the ``run_totals``
view derives them from ``llm_calls``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import duckdb

Migration = Callable[[duckdb.DuckDBPyConnection], None]
MIGRATIONS: list[Migration] = []
migration = MIGRATIONS.append


@migration
def m001_runs(db: duckdb.DuckDBPyConnection) -> None:
    db.execute(
        """
        CREATE TABLE runs (
            id VARCHAR PRIMARY KEY,          -- also the correlation id in logs and events
            parent_run_id VARCHAR,           -- the run this one refines
            requirement VARCHAR NOT NULL,
            mode VARCHAR,                    -- workflow | advanced-chat
            provider VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            status VARCHAR NOT NULL,         -- running | succeeded | failed | interrupted
            error_category VARCHAR,
            error_message VARCHAR,
            quality_score DOUBLE,
            validation_errors INTEGER NOT NULL DEFAULT 0,
            validation_warnings INTEGER NOT NULL DEFAULT 0,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            duration_ms DOUBLE,
            prompt_version VARCHAR NOT NULL,
            source VARCHAR NOT NULL          -- app | cli | batch | eval
        )
        """
    )


@migration
def m002_llm_calls(db: duckdb.DuckDBPyConnection) -> None:
    db.execute("CREATE SEQUENCE llm_calls_id_seq START 1")
    db.execute(
        """
        CREATE TABLE llm_calls (
            id BIGINT PRIMARY KEY DEFAULT nextval('llm_calls_id_seq'),
            run_id VARCHAR NOT NULL,
            agent VARCHAR NOT NULL,
            attempt INTEGER NOT NULL,
            provider VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            prompt_tokens BIGINT NOT NULL,
            completion_tokens BIGINT NOT NULL,
            cached_tokens BIGINT NOT NULL,
            cost_usd DECIMAL(18, 10),        -- NULL: price unknown (never 0 for unknown)
            pricing_source VARCHAR NOT NULL, -- genai-prices:<provider>/<model> | offline | unknown
            latency_ms DOUBLE NOT NULL,
            outcome VARCHAR NOT NULL,        -- ok | error
            error_category VARCHAR,
            error_message VARCHAR,
            is_fallback BOOLEAN NOT NULL,
            prompt_text VARCHAR,             -- NULL when content logging is off
            response_text VARCHAR,
            called_at TIMESTAMP NOT NULL
        )
        """
    )


@migration
def m003_events(db: duckdb.DuckDBPyConnection) -> None:
    db.execute("CREATE SEQUENCE events_seq START 1")
    db.execute(
        """
        CREATE TABLE events (
            seq BIGINT PRIMARY KEY DEFAULT nextval('events_seq'),  -- increasing across the ledger
            run_id VARCHAR NOT NULL,
            type VARCHAR NOT NULL,
            occurred_at TIMESTAMP NOT NULL,
            payload JSON
        )
        """
    )


@migration
def m004_pattern_usage(db: duckdb.DuckDBPyConnection) -> None:
    db.execute(
        """
        CREATE TABLE pattern_usage (
            run_id VARCHAR NOT NULL,
            pattern_id VARCHAR NOT NULL,
            rank INTEGER NOT NULL,
            score DOUBLE,
            used BOOLEAN NOT NULL
        )
        """
    )


@migration
def m005_workflows(db: duckdb.DuckDBPyConnection) -> None:
    db.execute(
        """
        CREATE TABLE workflows (
            run_id VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            yaml_text VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            app_mode VARCHAR,
            valid BOOLEAN NOT NULL,
            errors INTEGER NOT NULL,
            warnings INTEGER NOT NULL,
            name VARCHAR,
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (run_id, version)
        )
        """
    )


@migration
def m006_runs_writer(db: duckdb.DuckDBPyConnection) -> None:
    """Who is writing a running run, so a later open can tell a live writer from a dead one."""
    db.execute("ALTER TABLE runs ADD COLUMN app_name VARCHAR")
    db.execute("ALTER TABLE runs ADD COLUMN writer_host VARCHAR")
    db.execute("ALTER TABLE runs ADD COLUMN writer_pid INTEGER")
    db.execute("ALTER TABLE runs ADD COLUMN writer_started VARCHAR")  # /proc/<pid>/stat start time


@migration
def m007_run_totals(db: duckdb.DuckDBPyConnection) -> None:
    """Totals per run, derived from its calls; cost is NULL when any call's price is unknown."""
    db.execute(
        """
        CREATE VIEW run_totals AS
        SELECT
            r.id AS run_id,
            count(c.id) AS calls,
            coalesce(sum(c.prompt_tokens), 0)::BIGINT AS prompt_tokens,
            coalesce(sum(c.completion_tokens), 0)::BIGINT AS completion_tokens,
            coalesce(sum(c.cached_tokens), 0)::BIGINT AS cached_tokens,
            coalesce(sum(c.prompt_tokens + c.completion_tokens), 0)::BIGINT AS total_tokens,
            count(c.id) FILTER (WHERE c.cost_usd IS NULL) AS unknown_cost_calls,
            coalesce(sum(c.cost_usd), 0) AS known_cost_usd,
            CASE WHEN count(c.id) FILTER (WHERE c.cost_usd IS NULL) > 0 THEN NULL
                 ELSE coalesce(sum(c.cost_usd), 0) END AS cost_usd
        FROM runs r LEFT JOIN llm_calls c ON c.run_id = r.id
        GROUP BY r.id
        """
    )
    db.execute(
        """
        CREATE VIEW runs_v AS
        SELECT r.*, t.* EXCLUDE (run_id)
        FROM runs r JOIN run_totals t ON t.run_id = r.id
        """
    )



@migration
def m008_comparisons(db: duckdb.DuckDBPyConnection) -> None:
    """Prompt-version comparisons: two batch runs of one eval set, grouped by a comparison id."""
    db.execute(
        """
        CREATE TABLE comparisons (
            id VARCHAR PRIMARY KEY,
            version_a VARCHAR NOT NULL,      -- prompt version labels
            version_b VARCHAR NOT NULL,
            eval_name VARCHAR NOT NULL,      -- the eval file's name
            eval_sha256 VARCHAR NOT NULL,
            cases JSON NOT NULL,             -- [{id, requirement}] in file order: what should have run
            provider VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            concurrency INTEGER NOT NULL,
            status VARCHAR NOT NULL,         -- running | completed | interrupted
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            writer_host VARCHAR,
            writer_pid INTEGER,
            writer_started VARCHAR
        )
        """
    )
    db.execute(
        """
        CREATE TABLE comparison_runs (
            comparison_id VARCHAR NOT NULL,
            arm VARCHAR NOT NULL,            -- A | B
            case_id VARCHAR NOT NULL,
            run_id VARCHAR,                  -- NULL when the case could not start a run
            passed BOOLEAN NOT NULL,         -- met every expectation, no error-level finding
            valid BOOLEAN NOT NULL,
            failed JSON NOT NULL,            -- the expectations it missed, as text
            node_types JSON NOT NULL,
            test_run VARCHAR,                -- succeeded | failed | error in Dify's engine; NULL: no workflow
            message VARCHAR,                 -- why the run failed, when it did
            recorded_at TIMESTAMP NOT NULL,
            PRIMARY KEY (comparison_id, arm, case_id)
        )
        """
    )


@migration
def m009_test_runs(db: duckdb.DuckDBPyConnection) -> None:
    """Test runs of DSL versions in Dify's own engine (graphon), with one row per executed node."""
    db.execute("CREATE SEQUENCE test_runs_id_seq START 1")
    db.execute(
        """
        CREATE TABLE test_runs (
            id BIGINT PRIMARY KEY DEFAULT nextval('test_runs_id_seq'),
            run_id VARCHAR,                  -- NULL for a test run outside a generation (Validate page, CLI)
            workflow_version INTEGER,        -- workflows.version of that run
            status VARCHAR NOT NULL,         -- succeeded | failed | error (could not run)
            engine VARCHAR NOT NULL,         -- graphon <version>
            provider VARCHAR NOT NULL,       -- offline | the model provider behind LLM nodes
            live_http BOOLEAN NOT NULL,
            branch_runs INTEGER NOT NULL,
            nodes_reached INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            warnings INTEGER NOT NULL,
            tokens BIGINT NOT NULL,
            duration_ms DOUBLE NOT NULL,
            inputs VARCHAR NOT NULL,         -- JSON: the inputs used (synthesized ones included)
            synthesized VARCHAR NOT NULL,    -- JSON list of input names that were made up
            stubbed VARCHAR NOT NULL,        -- JSON list of node ids that ran as stubs
            uncovered VARCHAR NOT NULL,      -- JSON list of branch outcomes no run could take
            findings VARCHAR NOT NULL,       -- JSON list of DSL7xx findings
            created_at TIMESTAMP NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE test_run_nodes (
            test_run_id BIGINT NOT NULL,
            branch INTEGER NOT NULL,         -- 0 = the default run, then one per steered branch
            seq INTEGER NOT NULL,            -- order of execution within the branch run
            branch_label VARCHAR NOT NULL,
            node_id VARCHAR NOT NULL,
            node_type VARCHAR NOT NULL,
            title VARCHAR,
            status VARCHAR NOT NULL,         -- succeeded | failed | exception | running
            stub BOOLEAN NOT NULL,
            parent_id VARCHAR,               -- the iteration or loop it ran in
            elapsed_ms DOUBLE NOT NULL,
            inputs VARCHAR,                  -- JSON, truncated
            outputs VARCHAR,                 -- JSON, truncated
            error VARCHAR,
            PRIMARY KEY (test_run_id, branch, seq)
        )
        """
    )


def _applied(db: duckdb.DuckDBPyConnection) -> set[str]:
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)")
    return {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}


def pending(db: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the migrations this database has not had yet (read-only check)."""
    tables = {row[0] for row in db.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    done = set()
    if "_migrations" in tables:
        done = {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}
    return [m.__name__ for m in MIGRATIONS if m.__name__ not in done]


def migrate(db: duckdb.DuckDBPyConnection, *, upto: str | None = None) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction.

    Args:
        db: a read-write connection.
        upto: stop after the migration with this name (tests use it to build an older ledger).

    Returns:
        The names of the migrations applied now.
    """
    done = _applied(db)
    applied: list[str] = []
    for step in MIGRATIONS:
        name = step.__name__
        if name not in done:
            db.begin()
            try:
                step(db)
                db.execute(
                    "INSERT INTO _migrations VALUES (?, ?)", [name, datetime.now(UTC).replace(tzinfo=None)]
                )
                db.commit()
            except BaseException:
                db.rollback()
                raise
            applied.append(name)
        if name == upto:
            break
    return applied
