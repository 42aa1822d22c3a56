"""GKG backfill state: which GDELT GKG files are stored, and why others are not.

A file's 'stored' row is written in the same transaction as its stories, so after a
crash the state and the stories agree and a re-run reads exactly what is not stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from newsintel.models import Article
from newsintel.store.connect import Connection, transaction
from newsintel.store.feeds import insert_article_batches, upsert_outlets


@dataclass(frozen=True)
class FileState:
    """One recorded GKG file (see migration 009 for the statuses)."""

    url: str
    stamp: datetime
    status: str
    error: str | None
    bytes: int
    rows_read: int
    rows_bad: int
    rows_kept: int
    stories_added: int
    attempts: int


def file_states(con: Connection, urls: Sequence[str] | None = None) -> dict[str, FileState]:
    """Recorded GKG files by URL (all, or only the given URLs)."""
    sql = (
        "SELECT url, stamp, status, error, bytes, rows_read, rows_bad, rows_kept, "
        "stories_added, attempts FROM gkg_files"
    )
    if urls is None:
        rows = con.execute(sql).fetchall()
    else:
        rows = con.execute(f"{sql} WHERE url IN (SELECT unnest(?))", [list(urls)]).fetchall()
    return {row[0]: FileState(*row) for row in rows}


_UPSERT = """
    INSERT INTO gkg_files (url, stamp, status, error, bytes, rows_read, rows_bad, rows_kept,
                           stories_added, attempts, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
    ON CONFLICT (url) DO UPDATE SET status = excluded.status, error = excluded.error,
        bytes = excluded.bytes, rows_read = excluded.rows_read,
        rows_bad = excluded.rows_bad, rows_kept = excluded.rows_kept,
        stories_added = excluded.stories_added, attempts = gkg_files.attempts + 1,
        updated_at = excluded.updated_at
"""


def record_file(con: Connection, state: FileState, now: datetime) -> None:
    """Record the outcome of one file that stored nothing (a failure)."""
    con.execute(_UPSERT, [*_values(state), now])


def _values(state: FileState) -> list[object]:
    return [
        state.url,
        state.stamp,
        state.status,
        state.error,
        state.bytes,
        state.rows_read,
        state.rows_bad,
        state.rows_kept,
        state.stories_added,
    ]


def store_file(
    con: Connection,
    state: FileState,
    outlets: Sequence[tuple[str, str, str]],
    articles: Sequence[Article],
    now: datetime,
) -> int:
    """Store one file's stories and its 'stored' row in one transaction; stories added."""
    with transaction(con):
        upsert_outlets(con, outlets)
        added = insert_article_batches(con, [articles])
        con.execute(
            _UPSERT,
            [*_values(state)[:8], added, now],
        )
    return added
