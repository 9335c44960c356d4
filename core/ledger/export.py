"""Export the ledger's tables to CSV or Parquet files, one file per table (for a shared warehouse).

API keys never reach the ledger (its API takes none, and key-like text is scrubbed on the way
in), so the exported files cannot hold one.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from core.errors import InputError
from core.ledger.connection import unavailable
from core.ledger.store import Ledger

TABLES = ("runs", "llm_calls", "events", "pattern_usage", "workflows", "run_totals")
FORMATS = {"csv": "(FORMAT csv, HEADER true)", "parquet": "(FORMAT parquet, COMPRESSION zstd)"}


def export_tables(led: Ledger, out_dir: str | Path, fmt: str = "parquet") -> list[Path]:
    """Write each ledger table (and the derived ``run_totals``) to ``out_dir/<table>.<fmt>``.

    Args:
        led: the ledger.
        out_dir: the folder (created when missing).
        fmt: ``csv`` or ``parquet``.

    Returns:
        The files written, in table order.

    Raises:
        InputError: unknown format, or the folder cannot be created.
        LedgerUnavailable: the ledger cannot be read.
    """
    if fmt not in FORMATS:
        raise InputError(f"Unknown export format {fmt!r}.", hint=f"Use one of: {', '.join(FORMATS)}.")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"Cannot create the export folder {out}: {exc.strerror}.", hint="Pick another -o folder.") from exc
    files = [out / f"{table}.{fmt}" for table in TABLES]

    def copy_all(db: duckdb.DuckDBPyConnection) -> None:
        for table, target in zip(TABLES, files, strict=True):
            quoted = str(target.resolve()).replace("'", "''")
            db.execute(f"COPY (SELECT * FROM {table}) TO '{quoted}' {FORMATS[fmt]}")

    try:
        led.read(copy_all)
    except duckdb.IOException as exc:
        raise unavailable(led.path, exc) from exc
    return files
