"""The run ledger (DuckDB): every run, model call, event, pattern hit and workflow version.

Write through :class:`Ledger`; read aggregates through :mod:`core.ledger.analytics`.
"""

from core.ledger.migrations import MIGRATIONS, migrate
from core.ledger.store import Ledger, PatternHit, RunNotFound, ledger_health

__all__ = ["Ledger", "PatternHit", "RunNotFound", "ledger_health", "MIGRATIONS", "migrate"]
