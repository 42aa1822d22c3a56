"""Ad-hoc read-only SQL for people: the CLI's ``newsintel sql`` and the app's SQL page.

Safety comes from DuckDB itself, not from pattern matching on the text: the database is
opened read-only with external access disabled (no files, no URLs, no ATTACH, COPY,
INSTALL or LOAD) and its configuration locked; on top, only one SELECT-like statement
is accepted, so a query cannot change settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from newsintel.errors import DatabaseLockedError, StoreError
from newsintel.store.connect import is_lock_error, require_existing

_ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}

# Settings applied before the configuration is locked.
_SAFE_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}


class QueryRejected(StoreError):
    """A query that is not a single read-only statement, or that DuckDB refused."""


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of a read-only query (rows possibly truncated)."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    truncated: bool


def open_readonly_sandbox(db: str) -> duckdb.DuckDBPyConnection:
    """A read-only connection that cannot reach files, the network or its own settings."""
    require_existing(db)
    try:
        con = duckdb.connect(db, read_only=True, config=dict(_SAFE_CONFIG))
    except duckdb.Error as exc:
        if is_lock_error(exc):
            raise DatabaseLockedError(f"database {db} is busy (a writer holds it)") from None
        raise StoreError(f"cannot open database {db}: {exc}") from None
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


def run_readonly_query(db: str, query: str, *, max_rows: int = 10_000) -> QueryResult:
    """Run one read-only query in a sandboxed connection and return at most max_rows rows."""
    con = open_readonly_sandbox(db)
    try:
        check_statement(con, query)
        try:
            cursor = con.execute(query)
            columns = tuple(d[0] for d in cursor.description or ())
            rows = cursor.fetchmany(max_rows + 1)
        except duckdb.Error as exc:
            raise QueryRejected(f"SQL error: {exc}") from None
    finally:
        con.close()
    return QueryResult(columns, rows[:max_rows], len(rows) > max_rows)
