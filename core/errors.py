"""The project's error model: what a user is shown, and what went wrong with a model call."""

from __future__ import annotations


class DifyForgeError(Exception):
    """Base class of every error DifyForge raises on purpose."""


class UserFacingError(DifyForgeError):
    """Something the user can fix; pages show it with ``st.error`` and the CLI prints it.

    Args:
        message: what was wrong, in plain words.
        hint: what to do about it.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class InputError(UserFacingError):
    """Bad input: an empty requirement, a file that is not YAML, a CSV without the needed column."""


class LedgerUnavailable(UserFacingError):
    """The run ledger cannot be opened or written (locked, unreadable, not DuckDB, disk full)."""


class PatternError(UserFacingError):
    """A pattern file or the pattern index has a problem; carries validator findings when it has any."""

    def __init__(self, message: str, *, hint: str | None = None, findings: list | None = None) -> None:
        super().__init__(message, hint=hint)
        self.findings = findings or []


# Error categories recorded in the ledger for model/network failures (DESIGN.md, "Model calls").
ERROR_CATEGORIES = (
    "rate_limit",
    "timeout",
    "connection",
    "server",
    "auth",
    "bad_request",
    "invalid_output",
    "budget",
)


class ProviderError(DifyForgeError):
    """A model call failed after retries and fallback.

    Args:
        message: what happened.
        category: one of ``ERROR_CATEGORIES``.
        status_code: the HTTP status when there was one.
    """

    def __init__(self, message: str, *, category: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.category = category
        self.status_code = status_code


class BudgetExceeded(ProviderError):
    """A run reached its token or cost limit (or the day's spend limit)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, category="budget")


class UnparseableModelOutput(ProviderError):
    """The model's answer was not valid JSON for the expected schema, even after one repair ask."""

    def __init__(self, message: str) -> None:
        super().__init__(message, category="invalid_output")
