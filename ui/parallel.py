"""Running several read-only ledger queries at once (DuckDB releases the GIL; the Ledger is thread-safe)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from core.ledger import Ledger
from core.ledger.analytics import Filters

WORKERS = 4


def fetch_all(ledger: Ledger, queries: dict[str, Callable[[Ledger, Filters], pd.DataFrame]],
              filters: Filters) -> dict[str, pd.DataFrame]:
    """Run each ``query(ledger, filters)`` concurrently and return the frames by name."""
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="analytics") as pool:
        futures = {name: pool.submit(query, ledger, filters) for name, query in queries.items()}
        return {name: future.result() for name, future in futures.items()}
