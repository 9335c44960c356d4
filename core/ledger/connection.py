"""Sharing one DuckDB file between threads and processes without losing or blocking writes.

DuckDB lets one process at a time open a file for writing, and opening it costs ~15 ms. So each
process keeps one database handle per file, opened on demand and closed again as soon as it has
been idle for a moment (``idle_release_s``) or held for long enough (``max_hold_s``), so other
processes get their turn. Processes of DifyForge queue on an ``flock`` beside the file; any other
program holding DuckDB's own lock is waited for with jittered backoff (tenacity), up to
``lock_timeout_s``. Every write is its own committed transaction: it is in DuckDB's write-ahead
log on disk when ``write()`` returns. Within a process, writers take turns on a lock.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_delay, wait_random_exponential

from core.errors import LedgerUnavailable

T = TypeVar("T")

HINT_DATA_DIR = "or set DIFYFORGE_DATA_DIR to another folder."

CONNECT_CONFIG = {"threads": 1}
"""One thread per query: the ledger is small (100k runs query in ~0.1 s), and the app runs several
sessions' queries side by side; on a busy 2-core machine parallel plans were 2-3x slower."""


def is_lock_error(exc: BaseException) -> bool:
    """True for DuckDB's "another process has the file" family of errors."""
    text = str(exc)
    return isinstance(exc, duckdb.Error) and (
        "Could not set lock" in text or "Conflicting lock" in text or "database is locked" in text
    )


_STORAGE_SIGNS = ("Could not write", "Could not read", "No space left", "File too large", "Failed to commit",
                  "database has been invalidated", "Permission denied")
_DAMAGE_SIGNS = ("Corrupt database file", "checksum", "Could not read enough bytes", "block at location",
                 "INTERNAL Error", "Serialization Error", "Failed to deserialize", "is not a valid block")
"""What DuckDB says about a damaged file (half-truncated, a block overwritten) rather than a bad query."""


def is_damage_error(exc: BaseException) -> bool:
    """True when the file itself is damaged (truncated, a block fails its checksum)."""
    return isinstance(exc, duckdb.Error) and any(sign in str(exc) for sign in _DAMAGE_SIGNS) or isinstance(
        exc, duckdb.InternalException | duckdb.SerializationException)


def is_storage_error(exc: BaseException) -> bool:
    """True when a write failed because of the file or the disk (not because of the SQL)."""
    if isinstance(exc, (OSError, duckdb.IOException, duckdb.FatalException)) or is_damage_error(exc):
        return True
    return isinstance(exc, duckdb.Error) and any(sign in str(exc) for sign in _STORAGE_SIGNS)


def unavailable(path: Path, exc: BaseException) -> LedgerUnavailable:
    """Turn an error opening or writing the ledger into a message that names the file and a fix."""
    text = str(exc)
    if is_lock_error(exc):
        holder = text.split("Conflicting lock is held in", 1)[-1].split(". See also")[0].strip()
        return LedgerUnavailable(
            f"{path} is locked by another program ({holder}).",
            hint=f"Close that program and try again, {HINT_DATA_DIR}",
        )
    if is_damage_error(exc):
        first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return LedgerUnavailable(
            f"The run ledger {path} is damaged (half-truncated or a block overwritten) and cannot be read: "
            f"{first_line}",
            hint=f"Move it aside (e.g. `mv {path} {path}.broken`; keep it if you want to try a repair) and "
                 f"DifyForge starts a new, empty ledger, {HINT_DATA_DIR}",
        )
    if "not a valid DuckDB database" in text or "Unrecognized file format" in text:
        return LedgerUnavailable(
            f"{path} is not a DuckDB database.", hint=f"Move it away {HINT_DATA_DIR}"
        )
    if isinstance(exc, PermissionError) or "Permission denied" in text:
        return LedgerUnavailable(
            f"{path} cannot be read or written (permission denied).",
            hint=f"Fix the file's permissions {HINT_DATA_DIR}",
        )
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG) or (
        "No space left" in text or "File too large" in text
    ):
        return LedgerUnavailable(
            f"The disk holding {path} is full (or the file hit a size limit); the run ledger cannot be written.",
            hint=f"Free some space {HINT_DATA_DIR}",
        )
    first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return LedgerUnavailable(
        f"The run ledger {path} cannot be used: {first_line}",
        hint=f"Check the file and the folder {HINT_DATA_DIR}",
    )


class SharedDatabase:
    """One process's handle on one ledger file; use :func:`shared_database` to get it.

    Args:
        path: the DuckDB file.
        lock_timeout_s: how long to wait for another process before giving up.
        idle_release_s: close the file after this long without use.
        max_hold_s: close the file after holding it this long, so other processes get a turn.
    """

    def __init__(
        self, path: Path, *, lock_timeout_s: float = 10.0, idle_release_s: float = 0.2, max_hold_s: float = 0.5
    ) -> None:
        self.path = path
        self.lock_timeout_s = lock_timeout_s
        self.idle_release_s = idle_release_s
        self.max_hold_s = max_hold_s
        self._state = threading.Condition(threading.Lock())
        self._write_lock = threading.Lock()
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._flock_fd: int | None = None
        self._users = 0
        self._opened_at = 0.0
        self._last_used = 0.0
        self._release_requested = False
        self._cooldown_until = 0.0
        self._closer: threading.Timer | None = None
        self._broken = False

    # -- public ---------------------------------------------------------------------------------

    def write(
        self, fn: Callable[[duckdb.DuckDBPyConnection], T], *, transaction: bool = True, timeout_s: float | None = None
    ) -> T:
        """Run ``fn(cursor)`` in one committed transaction; writers in this process take turns.

        Args:
            fn: does the writing.
            transaction: False when ``fn`` manages its own transactions (migrations).
            timeout_s: how long to wait for another process (default: ``lock_timeout_s``).
        """
        with self._write_lock, self._cursor(timeout_s) as cur:
            try:
                if transaction:
                    cur.begin()
                result = fn(cur)
                if transaction:
                    cur.commit()
                return result
            except (duckdb.Error, OSError) as exc:
                _rollback_quietly(cur)
                if not is_storage_error(exc):
                    raise
                self._broken = True  # e.g. disk full: DuckDB invalidates the database; reopen next time
                raise unavailable(self.path, exc) from exc
            except BaseException:
                _rollback_quietly(cur)
                raise

    def read(self, fn: Callable[[duckdb.DuckDBPyConnection], T], *, timeout_s: float | None = None) -> T:
        """Run ``fn(cursor)`` against the current data.

        Raises:
            LedgerUnavailable: the file is damaged or cannot be read (SQL mistakes raise as they are).
        """
        with self._cursor(timeout_s) as cur:
            try:
                return fn(cur)
            except (duckdb.Error, OSError) as exc:
                if not is_storage_error(exc):
                    raise
                self._broken = True
                raise unavailable(self.path, exc) from exc

    def release(self) -> None:
        """Close the file now if no thread is using it (tests and shutdown)."""
        with self._state:
            if self._users == 0:
                self._close_locked()

    # -- connection lifetime --------------------------------------------------------------------

    @contextmanager
    def _cursor(self, timeout_s: float | None) -> Iterator[duckdb.DuckDBPyConnection]:
        conn = self._acquire(self.lock_timeout_s if timeout_s is None else timeout_s)
        cur = conn.cursor()
        try:
            yield cur
        finally:
            cur.close()
            self._done()

    def _acquire(self, timeout_s: float) -> duckdb.DuckDBPyConnection:
        with self._state:
            while self._release_requested and self._conn is not None:
                self._state.wait(0.05)
            if self._conn is None:
                pause = self._cooldown_until - time.monotonic()
                if pause > 0:  # we just let go after a long hold: give waiting processes a turn
                    time.sleep(pause)
                self._open_locked(timeout_s)
            self._users += 1
            return self._conn  # type: ignore[return-value]

    def _done(self) -> None:
        with self._state:
            self._users -= 1
            now = time.monotonic()
            self._last_used = now
            if self._users == 0 and (
                self._release_requested or self._broken or now - self._opened_at >= self.max_hold_s
            ):
                self._close_locked()
                self._cooldown_until = time.monotonic() + 0.03
            elif now - self._opened_at >= self.max_hold_s:
                self._release_requested = True
            else:
                self._schedule_idle_close()
            self._state.notify_all()

    def _schedule_idle_close(self) -> None:
        if self._closer is None:
            self._closer = threading.Timer(self.idle_release_s, self._idle_check)
            self._closer.daemon = True
            self._closer.start()

    def _idle_check(self) -> None:
        with self._state:
            self._closer = None
            if self._conn is None:
                return
            idle = time.monotonic() - self._last_used
            if self._users == 0 and idle >= self.idle_release_s:
                self._close_locked()
            else:
                self._schedule_idle_close()

    def _open_locked(self, timeout_s: float) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout_s
        self._flock_fd = self._take_flock(deadline, timeout_s)
        try:
            self._conn = self._connect(deadline)
        except BaseException:
            self._drop_flock()
            raise
        self._opened_at = time.monotonic()
        self._release_requested = False

    def _take_flock(self, deadline: float, timeout_s: float) -> int:
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise unavailable(self.path, exc) from exc
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LedgerUnavailable(
                        f"{self.path} stayed busy with another DifyForge process for {timeout_s:.0f} s.",
                        hint="Try again in a moment.",
                    ) from None
                time.sleep(random.uniform(0.002, 0.01))

    def _connect(self, deadline: float) -> duckdb.DuckDBPyConnection:
        if self.path.exists() and not os.access(self.path, os.R_OK | os.W_OK):
            raise unavailable(self.path, PermissionError(errno.EACCES, "Permission denied"))
        retry = Retrying(
            retry=retry_if_exception(is_lock_error),
            wait=wait_random_exponential(multiplier=0.01, max=0.25),
            stop=stop_after_delay(max(0.0, deadline - time.monotonic())),
            reraise=False,
        )
        try:
            return retry(duckdb.connect, str(self.path), config=CONNECT_CONFIG)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise unavailable(self.path, last) from last
        except (duckdb.Error, OSError) as exc:
            raise unavailable(self.path, exc) from exc

    def _close_locked(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except (duckdb.Error, OSError):
                pass  # an invalidated database (disk full) cannot checkpoint; its WAL stays for next open
            finally:
                self._conn = None
                self._drop_flock()
        self._release_requested = False
        self._broken = False

    def _drop_flock(self) -> None:
        if self._flock_fd is not None:
            os.close(self._flock_fd)  # closing the descriptor releases the flock
            self._flock_fd = None


def _rollback_quietly(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.rollback()
    except (duckdb.Error, OSError):
        pass  # no transaction was open (or the file is gone): nothing to undo


_registry: dict[Path, SharedDatabase] = {}
_registry_lock = threading.Lock()


@atexit.register
def _release_all() -> None:
    """Close open ledger files at exit, so the last writes are checkpointed cleanly."""
    for db in list(_registry.values()):
        db.release()


def shared_database(path: Path) -> SharedDatabase:
    """The process-wide handle for ``path`` (one per file, shared by every Ledger on it)."""
    key = Path(os.path.abspath(path))
    with _registry_lock:
        db = _registry.get(key)
        if db is None:
            db = _registry[key] = SharedDatabase(key)
        return db
