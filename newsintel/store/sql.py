"""Ad-hoc read-only SQL for people: the CLI's ``newsintel sql`` and the app's SQL page.

Safety comes from DuckDB itself, not from pattern matching on the text: the database is
opened read-only with external access disabled (no files, no URLs, no ATTACH, COPY,
INSTALL or LOAD) and its configuration locked; on top, only one SELECT-like statement
is accepted, so a query cannot change settings.

Limits (:class:`SqlLimits`): every query runs in a child process of its own, against
the newest read snapshot (``store.snapshots``), so it never holds the file the
pipeline writes. There a timer interrupts it after ``timeout_s``; DuckDB's
``memory_limit`` and ``threads`` bound its operators (joins and sorts spill to
``<data folder>/.sql-spill``); and the process's data segment is capped
(``RLIMIT_DATA``) at the memory limit plus 1 GB, because DuckDB's limit does not cover
every allocation: ``SELECT repeat('a', 2000000000)`` takes 2 GB whatever it says.
Whatever a query does, the app and the machine keep their memory and the query ends.
"""

from __future__ import annotations

import os
import pickle
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from newsintel.errors import ConfigError, DatabaseLockedError, StoreError
from newsintel.store.connect import file_path, is_lock_error, require_existing
from newsintel.store.snapshots import reading

if TYPE_CHECKING:
    from newsintel.config import Settings

_ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}

# Settings applied before the configuration is locked.
_SAFE_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}
# Room for Python, DuckDB's code and the fetched rows on top of DuckDB's own limit.
_PROCESS_HEADROOM = 1 << 30
# The child gets this long after its own timer before it is killed: the interrupt is
# checked between vectors, so a well-behaved query stops within milliseconds.
_KILL_GRACE_S = 10.0
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}


class QueryRejected(StoreError):
    """A query that is not a single read-only statement, or that DuckDB refused."""


class QueryLimitError(QueryRejected):
    """A query stopped because it hit its time or memory limit."""


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of a read-only query (rows possibly truncated)."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    truncated: bool


@dataclass(frozen=True)
class SqlLimits:
    """What one ad-hoc query may take (settings sql_timeout, sql_memory_limit, sql_threads)."""

    timeout_s: float = 30.0
    memory_limit: str = "1GB"
    threads: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> SqlLimits:
        """The limits the settings give."""
        return cls(settings.sql_timeout, settings.sql_memory_limit, settings.sql_threads)

    def memory_bytes(self) -> int:
        """``memory_limit`` in bytes; ConfigError when it is not a size like '1GB'."""
        return parse_size(self.memory_limit)


def parse_size(text: str) -> int:
    """'1GB' -> 10**9, '512MiB' -> 512 * 2**20 (DuckDB's units)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ConfigError(f"sql_memory_limit must be a size such as 512MB or 1GB, got {text!r}")
    return int(float(match.group(1)) * _UNITS[unit])


def spill_dir(db: str) -> Path | None:
    """Where a query spills to disk: ``.sql-spill`` next to the database file."""
    path = file_path(db)
    return None if path is None else path.parent / ".sql-spill"


def open_readonly_sandbox(
    db: str, limits: SqlLimits | None = None, temp_dir: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """A read-only connection that cannot reach files, the network or its own settings."""
    require_existing(db)
    limits = limits or SqlLimits()
    config: dict[str, str | bool | int | float | list[str]] = dict(_SAFE_CONFIG)
    config |= {"memory_limit": limits.memory_limit, "threads": limits.threads}
    if temp_dir is not None:
        config["temp_directory"] = str(temp_dir)
    try:
        con = duckdb.connect(db, read_only=True, config=config)
    except duckdb.Error as exc:
        if is_lock_error(exc):
            raise DatabaseLockedError(f"database {db} is busy (a writer holds it)") from None
        raise StoreError(f"cannot open database {db}: {exc}") from None
    con.execute("SET enable_progress_bar = false")
    con.execute("SET lock_configuration = true")
    return con


def check_statement(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Raise QueryRejected unless ``query`` is exactly one SELECT/EXPLAIN statement."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryRejected(f"SQL error: {exc}") from None
    if len(statements) != 1:
        raise QueryRejected(f"give exactly one statement (got {len(statements)})")
    kind = statements[0].type
    if kind not in _ALLOWED:
        name = str(kind).rsplit(".", 1)[-1]
        raise QueryRejected(f"only read-only SELECT queries are allowed (got {name})")


def _timeout_message(limits: SqlLimits) -> str:
    return (
        f"query stopped: it ran longer than the {limits.timeout_s:g} s limit "
        "(setting NEWSINTEL_SQL_TIMEOUT). Narrow it down, e.g. with WHERE or LIMIT."
    )


def _memory_message(limits: SqlLimits) -> str:
    return (
        f"query stopped: it needed more than its {limits.memory_limit} memory limit "
        "(setting NEWSINTEL_SQL_MEMORY_LIMIT). Aggregate more, or select fewer columns."
    )


def execute_limited(
    db: str, query: str, max_rows: int, limits: SqlLimits, temp_dir: Path | None
) -> QueryResult:
    """Run ``query`` in this process under ``limits`` (the child's side of the sandbox)."""
    import threading

    con = open_readonly_sandbox(db, limits, temp_dir)
    timer = threading.Timer(limits.timeout_s, con.interrupt)
    try:
        check_statement(con, query)
        timer.start()
        try:
            cursor = con.execute(query)
            columns = tuple(d[0] for d in cursor.description or ())
            rows = cursor.fetchmany(max_rows + 1)
        except duckdb.InterruptException:
            raise QueryLimitError(_timeout_message(limits)) from None
        except duckdb.OutOfMemoryException:
            raise QueryLimitError(_memory_message(limits)) from None
        except MemoryError:
            raise QueryLimitError(_memory_message(limits)) from None
        except duckdb.Error as exc:
            raise QueryRejected(f"SQL error: {exc}") from None
    finally:
        timer.cancel()
        con.close()
    return QueryResult(columns, rows[:max_rows], len(rows) > max_rows)


def _child_env() -> dict[str, str]:
    # The child must import this very newsintel, whatever is installed in the venv.
    here = str(Path(__file__).resolve().parent.parent.parent)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": here if not path else f"{here}{os.pathsep}{path}"}


def run_readonly_query(
    db: str, query: str, *, max_rows: int = 10_000, limits: SqlLimits | None = None
) -> QueryResult:
    """Run one read-only query in a sandboxed child process; at most max_rows rows.

    Raises QueryRejected for a refused or failing query and QueryLimitError when it hit
    its time or memory limit; the message says which, and which setting raises it.
    """
    limits = limits or SqlLimits()
    memory = limits.memory_bytes()
    require_existing(db)
    spill = spill_dir(db)
    if spill is not None:
        spill.mkdir(parents=True, exist_ok=True)
    with reading(db) as target:
        request = pickle.dumps((target.db, query, max_rows, limits, spill, memory))
        try:
            done = subprocess.run(
                [sys.executable, "-m", "newsintel.store.sql_child"],
                input=request,
                capture_output=True,
                timeout=limits.timeout_s + _KILL_GRACE_S,
                env=_child_env(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise QueryLimitError(_timeout_message(limits)) from None
    if done.returncode == -signal.SIGKILL or (done.returncode != 0 and not done.stdout):
        # Killed from outside (the kernel's OOM killer) or died without answering.
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        if done.returncode == -signal.SIGKILL:
            raise QueryLimitError(_memory_message(limits))
        raise StoreError(f"the query process failed: {' '.join(detail) or done.returncode}")
    outcome = pickle.loads(done.stdout)
    if isinstance(outcome, QueryResult):
        return outcome
    assert isinstance(outcome, Exception)
    raise outcome
