"""Batch generation: read a CSV or YAML list of requirements, generate each with a concurrency limit, zip results.

One bad row never stops the batch: an empty requirement, a provider failure or a bug in one row is
recorded against that row and the others go on. Results come back to the caller's thread as each row
finishes, so a UI can update a progress bar without touching worker threads.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from core.config import PROJECT_ROOT
from core.errors import InputError, ProviderError, UserFacingError

log = logging.getLogger(__name__)

MAX_BATCH_ROWS = 500
MAX_BATCH_BYTES = 2 * 1024 * 1024
MAX_CONCURRENCY = 8
REQUIREMENT_COLUMN = "requirement"
EVAL_FILE = PROJECT_ROOT.parent / "shared" / "eval" / "requirements.yaml"
"""The evaluation set beside the project (the demo set of the Analytics and Batch pages)."""
FALLBACK_EXAMPLES = (
    "Summarize an uploaded PDF report into an executive summary of at most 200 words.",
    "Classify incoming customer emails as complaint, refund request, or general inquiry and write a "
    "suitable reply draft for each category.",
    "A customer support chatbot that answers questions using our product manual knowledge base and "
    "remembers the conversation.",
    "Fetch the content of a web page from a given URL with an HTTP request and produce a three-bullet digest.",
    "For each product name in a list, generate a catchy marketing slogan, and return the list of slogans.",
)
"""Example requirements when the evaluation set is not beside the project."""


@dataclass(frozen=True)
class BatchItem:
    """One requirement to generate: its 1-based row in the source and an optional id."""

    row: int
    requirement: str
    id: str | None = None


@dataclass(frozen=True)
class BatchRowResult:
    """What happened to one row of a batch."""

    row: int
    id: str | None
    requirement: str
    status: str
    """``succeeded`` or ``failed`` (the pipeline ran and reported failure, or the row could not run)."""
    run_id: str | None = None
    app_name: str | None = None
    valid: bool | None = None
    errors: int | None = None
    warnings: int | None = None
    cost_usd: Decimal | None = None
    """None when unknown (an unpriced model, or no run)."""
    tokens: int = 0
    duration_s: float = 0.0
    message: str | None = None
    yaml_text: str = ""

    def as_row(self) -> dict[str, Any]:
        """The result as a flat table row (no YAML text)."""
        return {"row": self.row, "id": self.id or "", "requirement": self.requirement, "status": self.status,
                "valid": self.valid, "errors": self.errors, "warnings": self.warnings,
                "cost_usd": float(self.cost_usd) if self.cost_usd is not None else None,
                "tokens": self.tokens, "duration_s": round(self.duration_s, 3), "run_id": self.run_id or "",
                "message": self.message or ""}


def _decode(content: bytes | str, name: str) -> str:
    if isinstance(content, str):
        return content
    if len(content) > MAX_BATCH_BYTES:
        raise InputError(f"{name} is {len(content) / 1024 / 1024:.1f} MB; a batch file may be at most "
                         f"{MAX_BATCH_BYTES // 1024 // 1024} MB.", hint="Split it into several batches.")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name} is not UTF-8 text.", hint="Save it as UTF-8 CSV or YAML.") from exc


def _from_csv(text: str, name: str) -> list[BatchItem]:
    try:
        reader = csv.DictReader(io.StringIO(text))
        columns = {c.strip().lower(): c for c in reader.fieldnames or [] if c}
        if REQUIREMENT_COLUMN not in columns:
            found = ", ".join(repr(c) for c in reader.fieldnames or []) or "none"
            raise InputError(f"{name} has no '{REQUIREMENT_COLUMN}' column (columns found: {found}).",
                             hint="Add a header row with a 'requirement' column (and optionally 'id').")
        req_col, id_col = columns[REQUIREMENT_COLUMN], columns.get("id")
        return [BatchItem(i, (rec.get(req_col) or "").strip(), (rec.get(id_col) or "").strip() or None if id_col else None)
                for i, rec in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise InputError(f"{name} is not a readable CSV file: {exc}.", hint="Check its quoting.") from exc


def _yaml_entry(index: int, entry: object) -> BatchItem:
    if isinstance(entry, str):
        return BatchItem(index, entry.strip())
    if isinstance(entry, dict):
        text = entry.get(REQUIREMENT_COLUMN)
        ident = entry.get("id")
        return BatchItem(index, str(text).strip() if text is not None else "",
                         str(ident) if ident is not None else None)
    return BatchItem(index, "")


def _from_yaml(text: str, name: str) -> list[BatchItem]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{name} is not valid YAML.", hint="Fix its syntax, or upload a CSV instead.") from exc
    if isinstance(data, dict):
        data = data.get("cases", data.get("requirements"))
    if not isinstance(data, list):
        raise InputError(f"{name} holds no list of requirements.",
                         hint="Use a list of strings, a list of {id, requirement} mappings, or 'cases:' "
                              "as in the evaluation set.")
    return [_yaml_entry(i, entry) for i, entry in enumerate(data, start=1)]


def parse_requirements(name: str, content: bytes | str) -> list[BatchItem]:
    """Read a batch file: CSV with a ``requirement`` column, or YAML (list, or ``cases:`` like the eval set).

    Rows with an empty requirement are kept (they fail on their own when the batch runs).

    Args:
        name: the file name; ``.csv`` is read as CSV, anything else as YAML.
        content: the file's bytes or text.

    Returns:
        The items in file order.

    Raises:
        InputError: not UTF-8, too big, no requirement column, not a list, no rows, or too many rows.
    """
    text = _decode(content, name)
    items = _from_csv(text, name) if name.lower().endswith(".csv") else _from_yaml(text, name)
    if not items:
        raise InputError(f"{name} has no requirements in it.", hint="Add at least one row.")
    if len(items) > MAX_BATCH_ROWS:
        raise InputError(f"{name} has {len(items)} requirements; a batch may have at most {MAX_BATCH_ROWS}.",
                         hint="Split it into several batches.")
    return items


def load_requirements_file(path: Path) -> list[BatchItem]:
    """Read a batch file from disk (e.g. the evaluation set). Raises InputError like ``parse_requirements``."""
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror}.", hint="Check the path.") from exc
    return parse_requirements(Path(path).name, content)


def demo_items(path: Path = EVAL_FILE) -> list[BatchItem]:
    """The evaluation set's requirements, or the built-in examples when the file is not there.

    Raises:
        InputError: the file is there but unreadable or malformed.
    """
    if not Path(path).exists():
        return [BatchItem(i, text, f"example-{i}") for i, text in enumerate(FALLBACK_EXAMPLES, start=1)]
    return load_requirements_file(path)


def example_requirements(limit: int = 12, path: Path = EVAL_FILE) -> list[str]:
    """A handful of example requirements to pick from (the first ``limit`` of the demo set)."""
    try:
        return [item.requirement for item in demo_items(path) if item.requirement][:limit]
    except InputError:
        return list(FALLBACK_EXAMPLES)[:limit]


def _failed(item: BatchItem, message: str, started: float) -> BatchRowResult:
    return BatchRowResult(item.row, item.id, item.requirement, "failed", message=message,
                          duration_s=time.perf_counter() - started)


def _run_one(item: BatchItem, generate_one: Callable[[str], Any]) -> BatchRowResult:
    started = time.perf_counter()
    if not item.requirement:
        return _failed(item, "Empty requirement: nothing to generate.", started)
    try:
        result = generate_one(item.requirement)
    except (UserFacingError, ProviderError) as exc:
        return _failed(item, str(exc), started)
    except Exception as exc:  # noqa: BLE001 - one row's bug must not stop the batch; it is logged in full
        log.exception("batch row %s failed unexpectedly", item.row)
        return _failed(item, f"Unexpected error ({type(exc).__name__}): {exc}", started)
    report = result.report
    app = ((result.dsl or {}).get("app") or {}) if isinstance(result.dsl, dict) else {}
    return BatchRowResult(
        item.row, item.id, item.requirement, result.status, run_id=result.run_id,
        app_name=app.get("name") or None, valid=report.valid if report is not None else None,
        errors=len(report.errors) if report is not None else None,
        warnings=len(report.warnings) if report is not None else None,
        cost_usd=result.usage.cost_usd, tokens=result.usage.total_tokens,
        duration_s=time.perf_counter() - started, message=result.error_message, yaml_text=result.yaml_text or "",
    )


def run_batch(
    items: Iterable[BatchItem],
    generate_one: Callable[[str], Any],
    *,
    concurrency: int = 2,
    on_result: Callable[[BatchRowResult], None] | None = None,
) -> list[BatchRowResult]:
    """Generate every item, at most ``concurrency`` at a time; one bad row never stops the others.

    Args:
        items: the requirements.
        generate_one: generates one requirement and returns a ``core.pipeline.GenerationResult``
            (typically ``functools.partial(core.pipeline.generate, settings=..., ledger=..., source="batch")``).
        concurrency: rows in flight at once (1 to ``MAX_CONCURRENCY``).
        on_result: called in the caller's thread as each row finishes, in completion order.

    Returns:
        The results in row order.

    Raises:
        InputError: concurrency out of range.
    """
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InputError(f"Concurrency must be between 1 and {MAX_CONCURRENCY}, not {concurrency}.")
    results: list[BatchRowResult] = []
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="batch") as pool:
        futures = [pool.submit(_run_one, item, generate_one) for item in items]
        try:
            for future in as_completed(futures):
                result = future.result()
                results.append(result)
                if on_result is not None:
                    on_result(result)
        except BaseException:  # stopped (Ctrl-C, a stopped page): rows not started yet are not started
            for future in futures:
                future.cancel()
            raise
    return sorted(results, key=lambda r: r.row)


def _slug(text: str) -> str:
    slug = re.sub(r"[^\w\-]+", "-", text, flags=re.UNICODE).strip("-_").lower()
    return slug[:60] or "workflow"


def workflow_filename(app_name: str | None, fallback: str = "workflow") -> str:
    """A safe ``.yml`` file name from a workflow's app name."""
    return f"{_slug(app_name or fallback)}.yml"


def workflows_zip(results: Iterable[BatchRowResult]) -> bytes:
    """A ZIP of every row's workflow YAML (``NNN-<app name>.yml``) plus ``results.csv`` for all rows."""
    rows = list(results)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for r in rows:
            if r.yaml_text:
                archive.writestr(f"{r.row:03d}-{workflow_filename(r.app_name, r.id or 'workflow')}", r.yaml_text)
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=list(BatchRowResult(0, None, "", "").as_row()))
        writer.writeheader()
        writer.writerows(r.as_row() for r in rows)
        archive.writestr("results.csv", table.getvalue())
    return buffer.getvalue()


__all__ = ["BatchItem", "BatchRowResult", "EVAL_FILE", "MAX_CONCURRENCY", "demo_items", "example_requirements",
           "load_requirements_file", "parse_requirements", "run_batch", "workflow_filename", "workflows_zip"]
