"""Sources and articles: the writes of the ingest step and the reads that feed it."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from newsintel.models import Article, SourceState, SourceUpdate
from newsintel.store.connect import Connection, transaction

_ARTICLE_COLUMNS = (
    "article_id",
    "source_id",
    "story_id",
    "parent_id",
    "guid",
    "url",
    "title",
    "text",
    "published_at",
    "published_estimated",
    "fetched_at",
    "content_hash",
    "is_issue",
    "title_key",
)
# A copy of a story from another source counts as the same story if published this close.
STORY_WINDOW_DAYS = 3


_SELECT_INCOMING = tuple(
    "coalesce(copy_of.story_id, i.story_id) AS story_id" if c == "story_id" else f"i.{c}"
    for c in _ARTICLE_COLUMNS
)


def upsert_source(
    con: Connection,
    source_id: str,
    name: str,
    url: str,
    tags: Sequence[str] = (),
    min_interval_minutes: int = 0,
) -> None:
    """Create a source or update it from its configuration.

    ``url`` stays where a permanent redirect moved it, unless the configured URL itself
    changed: then the new configured URL wins.
    """
    con.execute(
        """
        INSERT INTO sources (source_id, name, url, configured_url, tags, min_interval_minutes)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (source_id) DO UPDATE SET
            name = excluded.name, tags = excluded.tags,
            min_interval_minutes = excluded.min_interval_minutes,
            url = CASE WHEN sources.configured_url = excluded.configured_url
                       THEN sources.url ELSE excluded.configured_url END,
            configured_url = excluded.configured_url
        """,
        [source_id, name, url, url, list(tags), min_interval_minutes],
    )


def source_states(con: Connection) -> dict[str, SourceState]:
    """Fetch state of every known source, by source id."""
    rows = con.execute(
        "SELECT source_id, url, etag, last_modified, consecutive_failures, next_check_at, "
        "last_success_at FROM sources"
    ).fetchall()
    return {row[0]: SourceState(*row) for row in rows}


def _new_articles(con: Connection, articles: Sequence[Article]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [[getattr(a, c) for c in _ARTICLE_COLUMNS] for a in articles], columns=_ARTICLE_COLUMNS
    )
    # One feed may repeat an id (duplicate GUIDs): the first one wins, as in the feed order.
    frame = frame.drop_duplicates("article_id", keep="first")
    return frame


def save_feed_result(con: Connection, update: SourceUpdate, articles: Sequence[Article]) -> int:
    """Store a feed's new articles and its fetch state in one transaction.

    Articles whose id is already stored are left as they are (idempotent re-runs).
    A new story whose ``title_key`` equals that of a stored story from another source
    published within ``STORY_WINDOW_DAYS`` takes that story's ``story_id`` (the earliest
    such story's, so that the choice never depends on scan order): syndicated copies
    count once. Returns the number of articles added.
    """
    with transaction(con):
        added = 0
        if articles:
            con.register("incoming_articles", _new_articles(con, articles))
            before = _count(con, "articles")
            con.execute(
                f"""
                INSERT INTO articles ({", ".join(_ARTICLE_COLUMNS)})
                SELECT {", ".join(_SELECT_INCOMING)}
                FROM incoming_articles i
                LEFT JOIN (
                    SELECT i.article_id,
                           arg_min(a.story_id, (a.published_at, a.article_id)) AS story_id
                    FROM incoming_articles i
                    JOIN articles a ON a.title_key = i.title_key
                    WHERE NOT i.is_issue AND NOT a.is_issue AND a.source_id <> i.source_id
                      AND a.published_at
                          BETWEEN i.published_at - INTERVAL {STORY_WINDOW_DAYS} DAY
                          AND i.published_at + INTERVAL {STORY_WINDOW_DAYS} DAY
                    GROUP BY i.article_id
                ) copy_of USING (article_id)
                WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = i.article_id)
                """
            )
            con.unregister("incoming_articles")
            added = _count(con, "articles") - before
        _record_fetch(con, update)
    return added


def _count(con: Connection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _record_fetch(con: Connection, update: SourceUpdate) -> None:
    ok = update.status in ("ok", "not_modified")
    con.execute(
        """
        UPDATE sources SET
            last_status = ?, last_error = ?, last_http_status = ?, last_fetch_at = ?,
            last_success_at = CASE WHEN ? THEN ? ELSE last_success_at END,
            consecutive_failures = CASE WHEN ? THEN 0 ELSE consecutive_failures + 1 END,
            fetch_count = fetch_count + 1,
            not_modified_count = not_modified_count + CASE WHEN ? THEN 1 ELSE 0 END,
            etag = CASE WHEN ? THEN ? ELSE etag END,
            last_modified = CASE WHEN ? THEN ? ELSE last_modified END,
            url = coalesce(?, url),
            next_check_at = ?
        WHERE source_id = ?
        """,
        [
            update.status,
            update.error,
            update.http_status,
            update.fetched_at,
            ok,
            update.fetched_at,
            ok,
            update.status == "not_modified",
            update.status == "ok",
            update.etag,
            update.status == "ok",
            update.last_modified,
            update.new_url,
            update.next_check_at,
            update.source_id,
        ],
    )


def article_count(con: Connection) -> int:
    """Number of stored articles."""
    return _count(con, "articles")


def source_health(con: Connection) -> dict[str, dict[str, object]]:
    """Rows of v_source_health by source id (column name -> value)."""
    cursor = con.execute("SELECT * FROM v_source_health")
    names = [d[0] for d in cursor.description or ()]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
