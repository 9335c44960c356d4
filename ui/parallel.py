"""Running several read-only ledger queries at once (DuckDB releases the GIL; the Ledger is thread-safe)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed

import pandas as pd

from core.ledger import Ledger
from core.ledger.analytics import Filters

WORKERS = 4
Query = Callable[[Ledger, Filters], pd.DataFrame]


def as_they_land(ledger: Ledger, queries: dict[str, Query], filters: Filters, *,
                 first: str | None = None) -> Iterator[tuple[str, pd.DataFrame]]:
    """Run each ``query(ledger, filters)`` concurrently and yield ``(name, frame)`` as each finishes.

    A page can draw each chart the moment its data is there instead of waiting for the slowest
    query (and the browser starts loading its charting code sooner).

    Args:
        ledger: the run ledger.
        queries: name -> query function (``core.ledger.analytics`` style).
        filters: the filters every query gets.
        first: a name to yield before any other, whenever it finishes (e.g. the headline figures).
    """
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="analytics") as pool:
        futures = {pool.submit(query, ledger, filters): name for name, query in queries.items()}
        if first is not None:
            future = next(f for f, name in futures.items() if name == first)
            yield first, future.result()
            del futures[future]
        for future in as_completed(futures):
            yield futures[future], future.result()
