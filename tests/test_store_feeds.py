"""Storing a feed's articles and fetch state: idempotent and all-or-nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from factories import stored_article

from newsintel.models import Article, SourceUpdate
from newsintel.store import connect, migrate
from newsintel.store.feeds import save_feed_result, source_states, upsert_source

NOW = datetime(2025, 3, 1, 12, 0)


def article(n: int, source: str = "feed") -> Article:
    return stored_article(
        f"id{n}",
        source_id=source,
        guid=f"g{n}",
        url=f"https://example.com/{n}",
        title=f"Story {n}",
        text=f"Body {n}",
        published_at=datetime(2025, 2, n % 28 + 1),
        fetched_at=NOW,
        content_hash=f"h{n}",
    )


def ok_update(source: str = "feed", etag: str | None = '"v1"') -> SourceUpdate:
    return SourceUpdate(source_id=source, status="ok", fetched_at=NOW, http_status=200, etag=etag)


@pytest.fixture
def con(tmp_path: Path):  # type: ignore[no-untyped-def]
    connection = connect(str(tmp_path / "db.duckdb"))
    migrate(connection)
    upsert_source(connection, "feed", "Feed", "https://example.com/feed.xml", ["tech"])
    yield connection
    connection.close()


def test_save_twice_adds_nothing_the_second_time(con) -> None:  # type: ignore[no-untyped-def]
    assert save_feed_result(con, ok_update(), [article(1), article(2)]) == 2
    assert save_feed_result(con, ok_update(), [article(1), article(2), article(3)]) == 1
    assert con.execute("SELECT count(*) FROM articles").fetchone() == (3,)
    state = source_states(con)["feed"]
    assert state.etag == '"v1"'
    assert state.consecutive_failures == 0


def test_duplicate_ids_in_one_feed_keep_the_first(con) -> None:  # type: ignore[no-untyped-def]
    first, again = article(1), article(1)
    again = Article(**{**again.__dict__, "title": "Second copy"})
    assert save_feed_result(con, ok_update(), [first, again]) == 1
    assert con.execute("SELECT title FROM articles").fetchone() == ("Story 1",)


def test_failure_keeps_articles_and_counts_failures(con) -> None:  # type: ignore[no-untyped-def]
    save_feed_result(con, ok_update(), [article(1)])
    failed = SourceUpdate("feed", "failed", NOW, http_status=500, error="HTTP 500")
    save_feed_result(con, failed, [])
    save_feed_result(con, failed, [])
    row = con.execute(
        "SELECT last_status, last_error, consecutive_failures, etag, fetch_count "
        "FROM sources WHERE source_id = 'feed'"
    ).fetchone()
    assert row == ("failed", "HTTP 500", 2, '"v1"', 3)
    assert con.execute("SELECT count(*) FROM articles").fetchone() == (1,)


def test_articles_and_state_are_one_transaction(con) -> None:  # type: ignore[no-untyped-def]
    bad = Article(**{**article(2).__dict__, "title": None})  # violates NOT NULL
    with pytest.raises(Exception, match="NOT NULL"):
        save_feed_result(con, ok_update(etag='"v2"'), [article(1), bad])
    assert con.execute("SELECT count(*) FROM articles").fetchone() == (0,)
    assert source_states(con)["feed"].etag is None


def test_permanent_redirect_moves_url_until_configuration_changes(con) -> None:  # type: ignore[no-untyped-def]
    moved = SourceUpdate("feed", "ok", NOW, 200, new_url="https://new.example.com/feed.xml")
    save_feed_result(con, moved, [])
    upsert_source(con, "feed", "Feed", "https://example.com/feed.xml", ["tech"])
    assert source_states(con)["feed"].url == "https://new.example.com/feed.xml"
    upsert_source(con, "feed", "Feed", "https://other.example.com/rss", ["tech"])
    assert source_states(con)["feed"].url == "https://other.example.com/rss"


def test_backfilled_articles_keep_their_origin_and_join_feed_stories(con) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from newsintel.store.feeds import save_articles, upsert_outlets

    feed_story = replace(article(1), title_key="lithium price falls again in march")
    assert save_feed_result(con, ok_update(), [feed_story]) == 1
    upsert_outlets(con, [("example-org", "example.org", "https://example.org/")] * 2)
    backfilled = replace(
        article(2, source="example-org"),
        published_at=feed_story.published_at,
        title_key=feed_story.title_key,
        origin="gdelt",
        title_derived=True,
    )
    assert save_articles(con, [backfilled, backfilled]) == 1
    assert save_articles(con, [backfilled]) == 0
    rows = con.execute(
        "SELECT article_id, story_id, origin, title_derived FROM v_articles ORDER BY 1"
    ).fetchall()
    # The GDELT copy from another outlet is the same story as the feed's.
    assert rows == [("id1", "id1", "feed", False), ("id2", "id1", "gdelt", True)]
    kinds = con.execute("SELECT source_id, kind FROM v_source_health ORDER BY 1").fetchall()
    assert kinds == [("example-org", "outlet"), ("feed", "feed")]


def test_an_outlet_never_overwrites_a_configured_feed(con) -> None:  # type: ignore[no-untyped-def]
    from newsintel.store.feeds import upsert_outlets

    upsert_outlets(con, [("feed", "example.com", "https://example.com/")])
    assert con.execute("SELECT name, kind FROM sources").fetchall() == [("Feed", "feed")]
