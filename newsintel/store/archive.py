"""Outlet-archive backfill state: which article pages and feed pages are done.

A page's 'stored' row is written in the same transaction as its articles, so after a
crash (even kill -9) the state and the articles agree, and a re-run fetches exactly
what is not yet done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pyarrow as pa

from newsintel.models import Article
from newsintel.store.connect import Connection, transaction
from newsintel.store.feeds import insert_article_batches


@dataclass(frozen=True)
class UrlState:
    """The outcome for one article page (see migration 007 for the statuses)."""

    url: str
    status: str
    http_status: int | None = None
    error: str | None = None
    article_id: str | None = None
    published_at: datetime | None = None
    next_try_at: datetime | None = None


@dataclass(frozen=True)
class PageState:
    """One stored page of a paged feed, as the walk's stop rules need it."""

    page: int
    page_url: str
    style: str
    entries: int
    newest_at: datetime | None
    oldest_at: datetime | None
    fingerprint: str


def url_states(con: Connection, source_id: str) -> dict[str, UrlState]:
    """Every recorded article page of a source, by URL."""
    rows = con.execute(
        "SELECT url, status, http_status, error, article_id, published_at, next_try_at "
        "FROM archive_urls WHERE source_id = ?",
        [source_id],
    ).fetchall()
    return {row[0]: UrlState(*row) for row in rows}


def url_attempts(con: Connection, source_id: str) -> dict[str, int]:
    """Failed attempts so far of each URL of a source (for the backoff)."""
    rows = con.execute(
        "SELECT url, attempts FROM archive_urls WHERE source_id = ? AND status = 'failed'",
        [source_id],
    ).fetchall()
    return {url: int(attempts) for url, attempts in rows}


def stored_article_urls(con: Connection, source_id: str) -> list[str]:
    """URLs of the articles already stored for a source (by ingest or a backfill)."""
    rows = con.execute(
        "SELECT url FROM articles WHERE source_id = ? AND url IS NOT NULL", [source_id]
    ).fetchall()
    return [row[0] for row in rows]


def page_states(con: Connection, source_id: str, feed_url: str) -> dict[int, PageState]:
    """The stored pages of one paged feed, by page number."""
    rows = con.execute(
        "SELECT page, page_url, style, entries, newest_at, oldest_at, fingerprint "
        "FROM archive_pages WHERE source_id = ? AND feed_url = ?",
        [source_id, feed_url],
    ).fetchall()
    return {row[0]: PageState(*row) for row in rows}


_STATE_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("status", pa.string()),
        ("http_status", pa.int32()),
        ("error", pa.string()),
        ("article_id", pa.string()),
        ("published_at", pa.timestamp("us")),
        ("next_try_at", pa.timestamp("us")),
    ]
)


def _record_urls(
    con: Connection, source_id: str, states: Sequence[UrlState], now: datetime
) -> None:
    if not states:
        return
    # One statement over an Arrow table: executemany runs one statement per row, which
    # cost more than storing the articles themselves.
    last: dict[str, UrlState] = {s.url: s for s in states}  # ON CONFLICT needs unique keys
    table = pa.table(
        [pa.array([getattr(s, f.name) for s in last.values()], f.type) for f in _STATE_SCHEMA],
        schema=_STATE_SCHEMA,
    )
    con.register("incoming_url_states", table)
    con.execute(
        """
        INSERT INTO archive_urls (source_id, url, status, http_status, error, article_id,
                                  published_at, attempts, next_try_at, updated_at)
        SELECT ?, url, status, http_status, error, article_id, published_at, 1,
               next_try_at, ?
        FROM incoming_url_states
        ON CONFLICT (source_id, url) DO UPDATE SET
            status = excluded.status, http_status = excluded.http_status,
            error = excluded.error, article_id = excluded.article_id,
            published_at = excluded.published_at, next_try_at = excluded.next_try_at,
            attempts = CASE WHEN excluded.status = 'failed'
                            THEN archive_urls.attempts + 1 ELSE archive_urls.attempts END,
            updated_at = excluded.updated_at
        """,
        [source_id, now],
    )
    con.unregister("incoming_url_states")


def save_archive_pages(
    con: Connection,
    source_id: str,
    articles: Sequence[Article],
    states: Sequence[UrlState],
    now: datetime,
) -> int:
    """Store articles and the state of the pages they came from in one transaction.

    ``states`` may also name pages that gave no article (non-HTML, out of range...).
    Returns the number of articles added.
    """
    with transaction(con):
        added = insert_article_batches(con, [articles])
        _record_urls(con, source_id, states, now)
    return added


def save_feed_page(
    con: Connection,
    source_id: str,
    feed_url: str,
    page: PageState,
    articles: Sequence[Article],
    states: Sequence[UrlState],
    now: datetime,
) -> int:
    """Store one page of a paged feed: its articles, their URLs as done, and the page."""
    with transaction(con):
        added = insert_article_batches(con, [articles])
        _record_urls(con, source_id, states, now)
        con.execute(
            """
            INSERT OR REPLACE INTO archive_pages (source_id, feed_url, page, page_url, style,
                entries, newest_at, oldest_at, fingerprint, fetched_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                source_id,
                feed_url,
                page.page,
                page.page_url,
                page.style,
                page.entries,
                page.newest_at,
                page.oldest_at,
                page.fingerprint,
                now,
            ],
        )
    return added


# --- runs: what the app shows while a backfill is unfinished (migration 012) -------------


@dataclass(frozen=True)
class ArchiveBackfill:
    """An outlet-archive backfill the app warns about: unfinished, or with failed pages.

    ``finished_at`` is None while the run is under way or after it stopped early;
    ``stories`` counts the outlet's stories stored in [since, until] so far; ``failed``
    its article pages that failed, retried by a re-run from ``retry_from`` on.
    """

    source_id: str
    outlet: str
    feed: str
    since: date
    until: date
    started_at: datetime
    finished_at: datetime | None
    stories: int
    failed: int
    retry_from: datetime | None


def start_run(
    con: Connection, source_id: str, feed: str, since: date, until: date, now: datetime
) -> None:
    """Record that a backfill of ``source_id`` over [since, until] has begun."""
    con.execute(
        """
        INSERT INTO archive_runs (source_id, since, until, feed, started_at, finished_at)
        VALUES (?, ?, ?, ?, ?, NULL)
        ON CONFLICT (source_id, since, until) DO UPDATE SET
            feed = excluded.feed, started_at = excluded.started_at, finished_at = NULL
        """,
        [source_id, since, until, feed, now],
    )


def finish_run(con: Connection, source_id: str, since: date, until: date, now: datetime) -> None:
    """Record that the backfill of ``source_id`` over [since, until] ran to its end."""
    con.execute(
        "UPDATE archive_runs SET finished_at = ? WHERE source_id = ? AND since = ? AND until = ?",
        [now, source_id, since, until],
    )


def forget_run(con: Connection, source_id: str, since: date, until: date) -> None:
    """Drop the record of a run that could not begin (nothing of it is left to resume)."""
    con.execute(
        "DELETE FROM archive_runs WHERE source_id = ? AND since = ? AND until = ?",
        [source_id, since, until],
    )


def unfinished_backfills(con: Connection) -> list[ArchiveBackfill]:
    """Runs not finished, and the latest run of each outlet that still has failed pages.

    Oldest start first. A finished run whose outlet has no failed page is complete and
    not listed.
    """
    rows = con.execute(
        """
        WITH failed AS (
            SELECT source_id, count(*) AS failed, min(next_try_at) AS retry_from
            FROM archive_urls WHERE status = 'failed' GROUP BY 1
        ), runs AS (
            SELECT r.*, row_number() OVER (
                PARTITION BY r.source_id ORDER BY r.started_at DESC) AS newest
            FROM archive_runs r
        )
        SELECT r.source_id, coalesce(s.name, r.source_id), r.feed, r.since, r.until,
               r.started_at, r.finished_at,
               (SELECT count(DISTINCT a.story_id) FROM articles a
                WHERE a.source_id = r.source_id AND NOT a.is_issue
                  AND a.published_at >= r.since
                  AND a.published_at < r.until + INTERVAL 1 DAY),
               coalesce(f.failed, 0), f.retry_from
        FROM runs r LEFT JOIN failed f USING (source_id)
        LEFT JOIN sources s ON s.source_id = r.source_id
        WHERE r.finished_at IS NULL OR (r.newest = 1 AND f.failed > 0)
        ORDER BY r.started_at
        """
    ).fetchall()
    return [ArchiveBackfill(*row) for row in rows]
