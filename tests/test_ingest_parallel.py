"""Ingest's fast paths give what the plain ones give.

Bodies are parsed in worker processes from a few feeds on, and feeds are stored a batch
per transaction. Neither may change what is stored, and one bad feed must still fail
alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import stored_article

import newsintel.jobs.ingestion as ingestion_job
import newsintel.jobs.workers as workers_job
from newsintel.config import Settings
from newsintel.feeds.sources import FeedSource
from newsintel.models import Article, SourceUpdate
from newsintel.store import connect, migrate, open_db
from newsintel.store.feeds import save_feed_result, save_feed_results, upsert_source

pytestmark = pytest.mark.timeout(300)

NOW = datetime(2025, 3, 1, 12, 0)
FEEDS = 10  # above the worker-pool threshold


def article(n: int, source: str, *, title: str | None = None, day: int = 1) -> Article:
    title = title or f"Story number {n} from {source}"
    return stored_article(
        f"id{n}",
        source_id=source,
        guid=f"g{n}",
        url=f"https://example.com/{n}",
        title=title,
        text=f"Body {n}",
        published_at=datetime(2025, 2, day) + timedelta(minutes=n),
        fetched_at=NOW,
        content_hash=f"h{n}",
        title_key=title.lower(),
    )


def update(source: str, status: str = "ok") -> SourceUpdate:
    return SourceUpdate(source, status, NOW, 200 if status == "ok" else 500, etag=f'"{source}"')


# Feeds that see each other: a shared id (one URL in two feeds) and a shared title (a
# syndicated copy, which must take the story id of the earlier feed's article).
def batch() -> list[tuple[SourceUpdate, list[Article]]]:
    return [
        (update("a"), [article(1, "a"), article(2, "a", title="Shared headline here")]),
        (update("b"), [article(3, "b"), article(4, "b")]),
        (update("c"), [article(1, "c"), article(5, "c", title="Shared headline here")]),
        (update("d", "failed"), []),
        (update("e"), [article(6, "e"), article(6, "e", title="A later duplicate id")]),
    ]


def snapshot(con: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "articles": con.execute(
            "SELECT article_id, source_id, story_id, title, published_at, title_key "
            "FROM articles ORDER BY article_id"
        ).fetchall(),
        "sources": con.execute(
            "SELECT source_id, last_status, etag, consecutive_failures, fetch_count "
            "FROM sources ORDER BY source_id"
        ).fetchall(),
    }


@pytest.fixture
def con_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = []

    def make(name: str):  # type: ignore[no-untyped-def]
        con = connect(str(tmp_path / f"{name}.duckdb"))
        migrate(con)
        for source in "abcde":
            upsert_source(con, source, source.upper(), f"https://{source}.example.com/feed")
        opened.append(con)
        return con

    yield make
    for con in opened:
        con.close()


def test_a_batch_stores_what_one_call_per_feed_stores(con_factory) -> None:  # type: ignore[no-untyped-def]
    one_by_one, batched = con_factory("one"), con_factory("batch")
    counts = [save_feed_result(one_by_one, u, a) for u, a in batch()]
    assert save_feed_results(batched, batch()) == counts == [2, 2, 1, 0, 1]
    assert snapshot(batched) == snapshot(one_by_one)
    copy = batched.execute("SELECT story_id FROM articles WHERE article_id = 'id5'").fetchone()
    assert copy == ("id2",)
    # Run again: nothing new, counters move on, same as one call per feed.
    assert save_feed_results(batched, batch()) == [0, 0, 0, 0, 0]
    for u, a in batch():
        save_feed_result(one_by_one, u, a)
    assert snapshot(batched) == snapshot(one_by_one)


def test_a_bad_feed_in_a_batch_fails_alone(con_factory) -> None:  # type: ignore[no-untyped-def]
    con = con_factory("bad")
    bad = Article(**{**article(9, "b").__dict__, "title": None})  # violates NOT NULL
    feeds = batch()
    feeds[1] = (update("b"), [article(3, "b"), bad])
    with pytest.raises(Exception, match="NOT NULL"):
        save_feed_results(con, feeds)
    stored = {row[0] for row in con.execute("SELECT source_id FROM articles").fetchall()}
    assert stored == {"a"}  # feeds before the bad one are kept, each whole
    assert con.execute("SELECT etag FROM sources WHERE source_id = 'b'").fetchone() == (None,)
    # The rest of the batch is written on its own, as it would have been one by one.
    assert save_feed_results(con, [feeds[0], *feeds[2:]]) == [0, 1, 0, 1]


def write_feeds(folder: Path) -> list[FeedSource]:
    sources = []
    for index in range(FEEDS):
        items = "".join(
            f"<item><title>Story {item} of feed {index}</title>"
            f"<link>https://news{index}.example.com/{item}</link>"
            f"<pubDate>Mon, 06 Jan 2025 10:0{item}:00 GMT</pubDate>"
            f"<description>About &lt;b&gt;story&lt;/b&gt; {item}.</description></item>"
            for item in range(5)
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {index}</title><link>https://news{index}.example.com/</link>"
            f"{items}</channel></rss>"
        )
        path = folder / f"feed{index}.xml"
        path.write_text(body)
        sources.append(FeedSource(f"feed-{index}", f"Feed {index}", str(path)))
    broken = folder / "broken.html"
    broken.write_text("<!doctype html><html><body>Not a feed</body></html>")
    sources.append(FeedSource("broken", "Broken", str(broken)))
    return sources


def stored(settings: Settings) -> list[tuple[Any, ...]]:
    with open_db(settings.db, read_only=True) as con:
        return con.execute(
            "SELECT article_id, source_id, story_id, guid, url, title, text, published_at, "
            "content_hash, title_key FROM articles ORDER BY article_id"
        ).fetchall()


def test_parsing_in_worker_processes_stores_the_same(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = write_feeds(tmp_path)
    pools: list[object] = []
    real_pool = ingestion_job._parse_pool

    @contextmanager
    def noting_pool(feeds: int) -> Iterator[object]:
        with real_pool(feeds) as pool:
            pools.append(pool)
            yield pool

    monkeypatch.setattr(ingestion_job, "_parse_pool", noting_pool)
    pooled = ingestion_job.ingest(settings, sources=sources, force=True)
    if (os.cpu_count() or 1) > 1:
        assert pools[-1] is not None, "the worker pool was not used"

    monkeypatch.setattr(workers_job, "_PARALLEL_PARSE_MIN_FEEDS", 10_000)
    in_process_settings = replace(settings, db=str(tmp_path / "plain.duckdb"))
    plain = ingestion_job.ingest(in_process_settings, sources=sources, force=True)
    assert pools[-1] is None

    assert stored(settings) == stored(in_process_settings)
    assert len(stored(settings)) == FEEDS * 5
    strip = [(f.source_id, f.status, f.new_articles, f.entries, f.error) for f in pooled.feeds]
    assert strip == [
        (f.source_id, f.status, f.new_articles, f.entries, f.error) for f in plain.feeds
    ]
    broken = pooled.feeds[-1]
    assert (broken.status, broken.error) == (
        "failed",
        "the server returned an HTML page, not a feed",
    )
