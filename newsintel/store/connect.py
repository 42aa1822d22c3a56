"""Opening DuckDB connections, with lock conflicts mapped to our errors.

DuckDB allows one writer process or many readers per file. Writers (jobs) open the
database file; people's readers (app, SQL command) open its newest read snapshot
(``store.snapshots``) instead, so they never meet a writer's lock. The bounded retry
here is for the rest: jobs waiting for each other, and files never published.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from newsintel.errors import DatabaseLockedError, StoreError

Connection = duckdb.DuckDBPyConnection

_LOCK_MARKERS = ("could not set lock", "conflicting lock", "lock on file")


def is_lock_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _LOCK_MARKERS)


def file_path(db: str) -> Path | None:
    """The file behind a connection string; None for ':memory:' and MotherDuck."""
    return None if db == ":memory:" or db.startswith("md:") else Path(db)


def require_existing(db: str) -> None:
    """Raise StoreError naming the fix when a file database does not exist yet."""
    path = file_path(db)
    if path is not None and not path.exists():
        raise StoreError(f"database {db} does not exist: run `newsintel init` or `newsintel demo`")


def connect(
    db: str, *, read_only: bool = False, lock_wait_s: float = 10.0, retry_every_s: float = 0.1
) -> Connection:
    """Open ``db`` (a DuckDB connection string), waiting up to ``lock_wait_s`` for a lock.

    A file database's parent folder is created for writers. A missing file opened
    read-only is a StoreError that says to run ``newsintel init``.
    """
    path = None if db == ":memory:" or db.startswith("md:") else Path(db)
    if path is not None:
        if read_only and not path.exists():
            raise StoreError(
                f"database {db} does not exist: run `newsintel init` or `newsintel demo`"
            )
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_wait_s
    while True:
        try:
            return duckdb.connect(db, read_only=read_only)
        except duckdb.Error as exc:
            if is_lock_error(exc):
                if time.monotonic() >= deadline:
                    raise DatabaseLockedError(
                        f"database {db} is locked by another process (waited {lock_wait_s:.0f} s)"
                    ) from None
                time.sleep(retry_every_s)
                continue
            raise StoreError(f"cannot open database {db}: {exc}") from None


@contextmanager
def open_db(db: str, *, read_only: bool = False, lock_wait_s: float = 10.0) -> Iterator[Connection]:
    """Context manager around :func:`connect` that always closes the connection."""
    con = connect(db, read_only=read_only, lock_wait_s=lock_wait_s)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: Connection) -> Iterator[Connection]:
    """Run a block in one transaction: all of it is written or none of it."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")
