"""GKG backfill state: which GDELT GKG files are stored, and why others are not.

A file's 'stored' row is written in the same transaction as its stories, so after a
crash the state and the stories agree and a re-run reads exactly what is not stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

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


@dataclass(frozen=True)
class GkgArticle:
    """What the GKG row of a stored story says beyond the story (migration 013)."""

    article_id: str
    tone: float | None
    gkg_themes: list[str]
    themes: list[str]
    file: str


_GKG_ARTICLE_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("tone", pa.float64()),
        ("gkg_themes", pa.list_(pa.string())),
        ("themes", pa.list_(pa.string())),
        ("file", pa.string()),
    ]
)


def _insert_gkg_articles(con: Connection, details: Sequence[GkgArticle], now: datetime) -> None:
    # The first row of each article id wins, within the file as across files and runs
    # (ON CONFLICT cannot take one key twice in a statement).
    first: dict[str, GkgArticle] = {}
    for detail in details:
        first.setdefault(detail.article_id, detail)
    if not first:
        return
    rows = list(first.values())
    columns = [[getattr(r, f.name) for r in rows] for f in _GKG_ARTICLE_SCHEMA]
    con.register("incoming_gkg_articles", pa.table(columns, schema=_GKG_ARTICLE_SCHEMA))
    con.execute(
        """
        INSERT INTO gkg_articles (article_id, tone, gkg_themes, themes, file, stored_at)
        SELECT article_id, tone, gkg_themes, themes, file, ? FROM incoming_gkg_articles
        ON CONFLICT (article_id) DO NOTHING
        """,
        [now],
    )
    con.unregister("incoming_gkg_articles")


def store_file(
    con: Connection,
    state: FileState,
    outlets: Sequence[tuple[str, str, str]],
    articles: Sequence[Article],
    now: datetime,
    details: Sequence[GkgArticle] = (),
) -> int:
    """Store one file's stories, their GKG tone and codes, and its 'stored' row in one
    transaction; returns the stories added. Every article given is stored after the
    insert (added now or already there), so each detail row has its article."""
    with transaction(con):
        upsert_outlets(con, outlets)
        added = insert_article_batches(con, [articles])
        _insert_gkg_articles(con, details, now)
        con.execute(
            _UPSERT,
            [*_values(state)[:8], added, now],
        )
    return added
