"""Sources and articles: the writes of the ingest step and the reads that feed it."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

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
    "origin",
    "title_derived",
    "url_key",
)
_BOOL_COLUMNS = frozenset({"published_estimated", "is_issue", "title_derived"})
# A copy of a story from another source counts as the same story if published this close.
STORY_WINDOW_DAYS = 3


# The story an incoming article joins: that of a stored copy of the same page (same
# canonical URL, any origin, any date) first, else that of a syndicated copy (same title
# key, see save_feed_result), else its own.
_SELECT_INCOMING = tuple(
    "coalesce(same_page.story_id, copy_of.story_id, i.story_id) AS story_id"
    if c == "story_id"
    else f"i.{c}"
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
    """Create a source or update it from its configuration (see ``upsert_sources``)."""
    upsert_sources(con, [(source_id, name, url, tuple(tags), min_interval_minutes)])


def upsert_sources(
    con: Connection, sources: Sequence[tuple[str, str, str, Sequence[str], int]]
) -> None:
    """Create or update many sources in one statement: (id, name, url, tags, min interval).

    ``url`` stays where a permanent redirect moved it, unless the configured URL itself
    changed: then the new configured URL wins. One statement, not one per source: at a
    thousand feeds a statement each cost seconds before the first fetch.
    """
    if not sources:
        return
    ids, names, urls, tags, intervals = (list(column) for column in zip(*sources, strict=True))
    table = pa.table(
        {
            "source_id": pa.array(ids, pa.string()),
            "name": pa.array(names, pa.string()),
            "url": pa.array(urls, pa.string()),
            "tags": pa.array([list(t) for t in tags], pa.list_(pa.string())),
            "min_interval_minutes": pa.array(intervals, pa.int64()),
        }
    )
    con.register("_configured_sources", table)
    try:
        con.execute(
            """
            INSERT INTO sources (source_id, name, url, configured_url, tags, min_interval_minutes)
            SELECT source_id, name, url, url, tags, min_interval_minutes FROM _configured_sources
            ON CONFLICT (source_id) DO UPDATE SET
                name = excluded.name, tags = excluded.tags,
                min_interval_minutes = excluded.min_interval_minutes,
                url = CASE WHEN sources.configured_url = excluded.configured_url
                           THEN sources.url ELSE excluded.configured_url END,
                configured_url = excluded.configured_url
            """
        )
    finally:
        con.unregister("_configured_sources")


def upsert_outlets(con: Connection, outlets: Sequence[tuple[str, str, str]]) -> None:
    """Make sure each outlet (source id, name, site URL) has a sources row.

    Outlets are the sites of backfilled stories (GDELT, imports): ``kind = 'outlet'``,
    never fetched as feeds. An id that already names a source, a configured feed
    included, is left exactly as it is.
    """
    if not outlets:
        return
    ids, names, urls = (list(column) for column in zip(*outlets, strict=True))
    table = pa.table(
        {
            "source_id": pa.array(ids, pa.string()),
            "name": pa.array(names, pa.string()),
            "url": pa.array(urls, pa.string()),
        }
    )
    con.register("_outlets", table)
    try:
        con.execute(
            """
            INSERT INTO sources (source_id, name, url, configured_url, kind)
            SELECT DISTINCT ON (source_id) source_id, name, url, url, 'outlet' FROM _outlets
            ON CONFLICT (source_id) DO NOTHING
            """
        )
    finally:
        con.unregister("_outlets")


def save_articles(con: Connection, articles: Sequence[Article]) -> int:
    """Store backfilled articles in one transaction, without touching any fetch state.

    The same path as ``save_feed_results``: ids already stored are skipped, and a story
    whose ``title_key`` matches a stored story from another source within
    ``STORY_WINDOW_DAYS`` joins that story. Their sources must exist (``upsert_sources``
    or ``upsert_outlets``). Returns the number of articles added.
    """
    with transaction(con):
        return insert_article_batches(con, [articles])


def insert_article_batches(con: Connection, batches: Sequence[Sequence[Article]]) -> int:
    """Insert batches of articles, in order, inside the caller's transaction.

    Each batch is stored as ``save_articles`` stores it (a batch sees the batches before
    it); for jobs that write articles together with state of their own (a backfill
    cursor) in one transaction. Returns the number of articles added.
    """
    unique = [_first_of_each_id(batch) for batch in batches if batch]
    return sum(sum(_insert_articles(con, group)) for group in _independent_groups(unique))


def source_states(con: Connection) -> dict[str, SourceState]:
    """Fetch state of every known source, by source id."""
    rows = con.execute(
        "SELECT source_id, url, etag, last_modified, consecutive_failures, next_check_at, "
        "last_success_at FROM sources"
    ).fetchall()
    return {row[0]: SourceState(*row) for row in rows}


def _arrow_type(column: str) -> pa.DataType:
    if column.endswith("_at"):
        return pa.timestamp("us")
    return pa.bool_() if column in _BOOL_COLUMNS else pa.string()


# Explicit Arrow types: a column that is all None would otherwise arrive as NULL-typed.
_ARTICLE_SCHEMA = pa.schema([(c, _arrow_type(c)) for c in _ARTICLE_COLUMNS])
_UPDATE_SCHEMA = pa.schema(
    [
        ("source_id", pa.string()),
        ("status", pa.string()),
        ("fetched_at", pa.timestamp("us")),
        ("http_status", pa.int32()),
        ("error", pa.string()),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
        ("new_url", pa.string()),
        ("next_check_at", pa.timestamp("us")),
    ]
)


def _first_of_each_id(articles: Sequence[Article]) -> list[Article]:
    # One feed may repeat an id (duplicate GUIDs): the first one wins, as in the feed order.
    first: dict[str, Article] = {}
    for article in articles:
        first.setdefault(article.article_id, article)
    return list(first.values())


def _incoming(articles: Sequence[Article]) -> pa.Table:
    return pa.table(
        [pa.array([getattr(a, f.name) for a in articles], type=f.type) for f in _ARTICLE_SCHEMA],
        schema=_ARTICLE_SCHEMA,
    )


def save_feed_result(con: Connection, update: SourceUpdate, articles: Sequence[Article]) -> int:
    """Store a feed's new articles and its fetch state in one transaction.

    Articles whose id is already stored are left as they are (idempotent re-runs).
    A new story whose ``title_key`` equals that of a stored story from another source
    published within ``STORY_WINDOW_DAYS`` takes that story's ``story_id`` (the earliest
    such story's, so that the choice never depends on scan order): syndicated copies
    count once. So does a copy from the same source but another origin: an outlet's
    archive page has a URL id, the same post in its feed a GUID id, yet one story.
    Before any title match, a new article whose canonical URL (``url_key``) is that of a
    stored article joins that article's story, whatever the order they came in and
    however far apart their dates or titles: the same page is the same story.
    Returns the number of articles added.
    """
    return save_feed_results(con, [(update, articles)])[0]


def save_feed_results(
    con: Connection, feeds: Sequence[tuple[SourceUpdate, Sequence[Article]]]
) -> list[int]:
    """Store several feeds, in order, as ``save_feed_result`` would, in one transaction.

    The result is the same as one call per feed: a feed's articles see those of the
    feeds before it in the batch (see ``_independent_groups``). A commit per feed costs
    milliseconds; a batch shares one. If the batch fails, each feed is written again in
    its own transaction, so a bad feed fails alone (and raises, as it would have on its
    own). Returns the number of articles added, per feed.
    """
    unique = [_first_of_each_id(articles) for _update, articles in feeds]
    try:
        with transaction(con):
            added: list[int] = []
            for group in _independent_groups(unique):
                added.extend(_insert_articles(con, group))
            record_fetches(con, [update for update, _articles in feeds])
    except Exception:
        if len(feeds) <= 1:
            raise
        return [save_feed_results(con, [feed])[0] for feed in feeds]
    return added


def _independent_groups(feeds: list[list[Article]]) -> list[list[list[Article]]]:
    """Consecutive runs of feeds that one INSERT can store as if one after another.

    Inserted one by one, a feed sees the feeds before it in two ways only: an article id
    already inserted is skipped, and a stored story with the same ``title_key`` or
    ``url_key`` may lend its ``story_id``. Feeds that share no article id and no key
    cannot see each other, so inserting them together changes nothing; a feed that
    shares one with the current run starts a new run.
    """
    groups: list[list[list[Article]]] = []
    ids: set[str] = set()
    keys: set[str] = set()
    for articles in feeds:
        feed_ids = {a.article_id for a in articles}
        feed_keys = {a.title_key for a in articles if a.title_key is not None}
        # URL keys share the set under a prefix no title key can have (title keys hold
        # no punctuation, a URL always a ':'), so one check covers both.
        feed_keys |= {"url " + a.url_key for a in articles if a.url_key is not None}
        if not groups or not ids.isdisjoint(feed_ids) or not keys.isdisjoint(feed_keys):
            groups.append([])
            ids, keys = set(), set()
        groups[-1].append(articles)
        ids |= feed_ids
        keys |= feed_keys
    return groups


def _insert_articles(con: Connection, feeds: list[list[Article]]) -> list[int]:
    """Insert the new articles of independent feeds in one statement; added per feed."""
    rows = [article for articles in feeds for article in articles]
    if not rows:
        return [0] * len(feeds)
    # No try/finally around unregister: after a failed statement the transaction is
    # aborted and unregister would raise, hiding the real error. The next register
    # replaces a view left behind.
    con.register("incoming_articles", _incoming(rows))
    inserted = con.execute(
        f"""
        INSERT INTO articles ({", ".join(_ARTICLE_COLUMNS)})
        SELECT {", ".join(_SELECT_INCOMING)}
        FROM incoming_articles i
        LEFT JOIN (
            SELECT i.article_id,
                   arg_min(a.story_id, (a.published_at, a.article_id)) AS story_id
            FROM incoming_articles i
            JOIN articles a ON a.title_key = i.title_key
            WHERE NOT i.is_issue AND NOT a.is_issue
              AND (a.source_id <> i.source_id OR a.origin <> i.origin)
              AND a.published_at
                  BETWEEN i.published_at - INTERVAL {STORY_WINDOW_DAYS} DAY
                  AND i.published_at + INTERVAL {STORY_WINDOW_DAYS} DAY
            GROUP BY i.article_id
        ) copy_of USING (article_id)
        LEFT JOIN (
            SELECT i.article_id,
                   arg_min(a.story_id, (a.published_at, a.article_id)) AS story_id
            FROM incoming_articles i
            JOIN articles a ON a.url_key = i.url_key
            WHERE NOT i.is_issue AND NOT a.is_issue AND a.article_id <> i.article_id
            GROUP BY i.article_id
        ) same_page USING (article_id)
        WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = i.article_id)
        RETURNING article_id
        """
    ).fetchall()
    con.unregister("incoming_articles")
    # Ids are unique across the group, so each inserted id names its feed.
    feed_of = {a.article_id: index for index, articles in enumerate(feeds) for a in articles}
    added = [0] * len(feeds)
    for (article_id,) in inserted:
        added[feed_of[article_id]] += 1
    return added


def record_fetches(con: Connection, updates: Sequence[SourceUpdate]) -> None:
    """Record fetch outcomes on the sources rows (status, error, failure count, ETag).

    For any kind of source (feeds, mailboxes). Runs in the caller's transaction, so the
    outcome commits with the articles it brought.
    """
    if len({u.source_id for u in updates}) < len(updates):
        # The same source twice: each update builds on the one before, so apply in order.
        for update in updates:
            record_fetches(con, [update])
        return
    columns = {name: [getattr(u, name) for u in updates] for name in _UPDATE_SCHEMA.names}
    con.register("incoming_updates", pa.table(columns, schema=_UPDATE_SCHEMA))
    con.execute(
        """
        UPDATE sources SET
            last_status = u.status, last_error = u.error,
            last_http_status = u.http_status, last_fetch_at = u.fetched_at,
            last_success_at = CASE WHEN u.status IN ('ok', 'not_modified')
                                   THEN u.fetched_at ELSE sources.last_success_at END,
            consecutive_failures = CASE WHEN u.status IN ('ok', 'not_modified')
                                        THEN 0 ELSE sources.consecutive_failures + 1 END,
            fetch_count = sources.fetch_count + 1,
            not_modified_count = sources.not_modified_count
                                 + CASE WHEN u.status = 'not_modified' THEN 1 ELSE 0 END,
            etag = CASE WHEN u.status = 'ok' THEN u.etag ELSE sources.etag END,
            last_modified = CASE WHEN u.status = 'ok'
                                 THEN u.last_modified ELSE sources.last_modified END,
            url = coalesce(u.new_url, sources.url),
            next_check_at = u.next_check_at
        FROM incoming_updates u
        WHERE sources.source_id = u.source_id
        """
    )
    con.unregister("incoming_updates")


def fetch_health(con: Connection) -> dict[str, dict[str, object]]:
    """Rows of v_source_health by source id (column name -> value)."""
    cursor = con.execute("SELECT * FROM v_source_health")
    names = [d[0] for d in cursor.description or ()]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
