"""Copies of one story share one story_id: by title at ingest, by embedding afterwards."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from newsintel.config import Settings
from newsintel.embed import Embedder
from newsintel.feeds.dedupe import (
    StoryCandidate,
    embedding_pairs,
    group_stories,
    near_duplicate_stories,
    title_key,
)
from newsintel.feeds.sources import FeedSource
from newsintel.jobs import assign_themes, embed, group_near_duplicates, ingest
from newsintel.store import open_db

pytestmark = pytest.mark.timeout(300)

CHILE = (
    "Chile's largest lithium producer said on Tuesday it will expand brine output at the "
    "Salar de Atacama by 40,000 tonnes a year of lithium carbonate from 2027, after "
    "regulators approved a revised water plan. The company expects battery makers in "
    "China and South Korea to take most of the new supply under long-term contracts."
)
# The same report rewritten lightly by a second outlet, under a new headline.
CHILE_REWRITE = (
    "Chile's largest lithium producer said on Tuesday that it will expand brine output at "
    "the Salar de Atacama by 40,000 tonnes a year of lithium carbonate starting in 2027, "
    "after regulators approved its revised water plan. The company expects battery makers "
    "in China and South Korea to take most of the extra supply under long-term contracts."
)
AUSTRALIA = (
    "Australian spodumene miners cut output at two Western Australian mines on Thursday as "
    "lithium prices fell to a four-year low; the companies said they would put expansion "
    "plans on hold and cut contractors until prices for lithium concentrate recover."
)


def rss(items: list[tuple[str, str, str, str]]) -> str:
    """RSS 2.0 text; items are (guid, title, RFC 822 date, description)."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><title>{title}</title>"
        f"<pubDate>{date}</pubDate><description>{text}</description></item>"
        for guid, title, date, text in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed</title><link>https://feed.example.com/</link>{body}</channel></rss>"
    )


def feed(tmp_path: Path, name: str, items: list[tuple[str, str, str, str]]) -> FeedSource:
    path = tmp_path / f"{name}.xml"
    path.write_text(rss(items), "utf-8")
    return FeedSource(name, name, str(path))


def stories(settings: Settings) -> dict[str, str]:
    """guid -> story_id of every stored story."""
    with open_db(settings.db, read_only=True) as con:
        rows = con.execute("SELECT guid, story_id FROM articles WHERE NOT is_issue").fetchall()
    return {str(guid): str(story) for guid, story in rows}


def article_ids(settings: Settings) -> dict[str, str]:
    with open_db(settings.db, read_only=True) as con:
        rows = con.execute("SELECT guid, article_id FROM articles").fetchall()
    return {str(guid): str(article) for guid, article in rows}


TUE = "Tue, 14 Jan 2025 08:00:00 GMT"
WED = "Wed, 15 Jan 2025 09:30:00 GMT"
THU = "Thu, 16 Jan 2025 07:00:00 GMT"
LATER = "Mon, 27 Jan 2025 08:00:00 GMT"
HEADLINE = "Chilean lithium giant to lift Atacama output"


# -- pure grouping ------------------------------------------------------------------------


def test_title_key_ignores_case_punctuation_and_short_titles() -> None:
    assert title_key("Lithium Prices SLUMP: miners cut output!") == title_key(
        "lithium prices slump - miners cut output"
    )
    assert title_key("Weekly update") is None
    assert title_key("") is None


def _candidate(article_id: str, source: str, day: int, key: str | None = None) -> StoryCandidate:
    return StoryCandidate(article_id, source, datetime(2025, 1, day, 12), key)


def test_chains_collapse_to_the_earliest_article_whatever_the_order() -> None:
    candidates = [
        _candidate("c", "s3", 6),
        _candidate("a", "s1", 4),
        _candidate("b", "s2", 5),
        _candidate("d", "s4", 6),
    ]
    # c~b and b~a: one story named after a, the earliest; d stays alone.
    expected = {"a": "a", "b": "a", "c": "a", "d": "d"}
    assert group_stories(candidates, [(0, 2), (2, 1)]) == expected
    assert group_stories(candidates[::-1], [(1, 3), (1, 2)]) == expected


def test_same_time_ties_break_on_the_article_id() -> None:
    candidates = [_candidate("z", "s1", 4, "same key"), _candidate("m", "s2", 4, "same key")]
    assert near_duplicate_stories(candidates) == {"z": "m", "m": "m"}


def test_title_pairs_need_another_source_and_the_window() -> None:
    key = "lithium miners cut output as prices slump"
    candidates = [
        _candidate("a", "s1", 1, key),
        _candidate("b", "s1", 2, key),  # same source: a recurring column, not a copy
        _candidate("c", "s2", 9, key),  # another source, but eight days later
        _candidate("d", "s3", 11, key),  # two days after c
    ]
    assert near_duplicate_stories(candidates) == {"a": "a", "b": "b", "c": "c", "d": "c"}


def test_a_same_source_copy_from_another_origin_is_the_same_story() -> None:
    key = "lithium miners cut output as prices slump"
    archive = StoryCandidate("a", "s1", datetime(2025, 1, 1, 0), key, "archive")
    feed = StoryCandidate("b", "s1", datetime(2025, 1, 1, 9), key, "feed")
    column = StoryCandidate("c", "s1", datetime(2025, 1, 2, 9), key, "feed")
    # The outlet's archive page and its feed entry: one story. Two feed entries of one
    # source with one title stay apart (a recurring column), as before.
    assert near_duplicate_stories([archive, feed]) == {"a": "a", "b": "a"}
    assert near_duplicate_stories([feed, column]) == {"b": "b", "c": "c"}


def test_embedding_pairs_respect_threshold_and_window_across_blocks() -> None:
    count = 2500  # more than one block of rows
    times = np.array(
        [datetime(2025, 1, 1) + timedelta(hours=i) for i in range(count)], dtype="datetime64[us]"
    )
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(count, 64)).astype(np.float32)
    vectors[2000] = vectors[1020]  # 980 hours apart: outside the window
    vectors[1030] = vectors[1020]  # 10 hours apart, across a block boundary
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert embedding_pairs(times, vectors, 0.92, timedelta(days=3)) == [(1020, 1030)]


# -- at ingest: the same title from two feeds ----------------------------------------------


def test_syndicated_copy_with_the_same_title_is_one_story_at_ingest(
    settings: Settings, tmp_path: Path
) -> None:
    wire = feed(tmp_path, "wire", [("w1", HEADLINE, TUE, CHILE)])
    ingest(settings, sources=[wire], force=True)
    shouted = "Chilean Lithium Giant to Lift Atacama Output!"
    copies = [
        feed(tmp_path, "daily", [("d1", shouted, WED, CHILE)]),
        feed(tmp_path, "late", [("l1", HEADLINE, LATER, CHILE)]),
        feed(tmp_path, "other", [("o1", "Lithium miners in Australia cut output", THU, AUSTRALIA)]),
    ]
    ingest(settings, sources=[wire, *copies], force=True)
    ids, story = article_ids(settings), stories(settings)
    assert story["w1"] == story["d1"] == ids["w1"]
    assert story["l1"] == ids["l1"]  # the same title twelve days later is a new story
    assert story["o1"] == ids["o1"]
    # Recomputing after embedding keeps what ingest decided.
    report = group_near_duplicates(settings, "no-such-model")
    assert report.changed == 0
    assert report.stories == 3


def test_copy_published_earlier_still_joins_and_regrouping_names_the_earliest(
    settings: Settings, tmp_path: Path
) -> None:
    first = feed(tmp_path, "first", [("f1", HEADLINE, WED, CHILE)])
    ingest(settings, sources=[first], force=True)
    earlier = feed(tmp_path, "earlier", [("e1", HEADLINE, TUE, CHILE)])
    ingest(settings, sources=[first, earlier], force=True)
    ids = article_ids(settings)
    assert stories(settings) == {"f1": ids["f1"], "e1": ids["f1"]}
    assert group_near_duplicates(settings, "no-such-model").changed == 2
    assert stories(settings) == {"f1": ids["e1"], "e1": ids["e1"]}
    assert group_near_duplicates(settings, "no-such-model").changed == 0


# -- after embedding: rewritten headlines with the real model --------------------------------


@pytest.fixture
def three_feeds(settings: Settings, tmp_path: Path) -> Settings:
    wire = "Chilean lithium giant to lift Atacama output by 40,000 tonnes"
    rewrite = "Atacama brine expansion approved: producer adds 40kt of lithium carbonate"
    other = "Lithium miners in Australia cut output as prices slump"
    sources = [
        feed(tmp_path, "wire", [("w1", wire, TUE, CHILE)]),
        feed(tmp_path, "trade", [("t1", rewrite, WED, CHILE_REWRITE)]),
        feed(tmp_path, "mining", [("m1", other, WED, AUSTRALIA)]),
    ]
    ingest(settings, sources=sources, force=True)
    return settings


def test_rewritten_headline_is_one_story_with_the_real_model(
    three_feeds: Settings, real_embedder: Embedder
) -> None:
    settings = three_feeds
    ids = article_ids(settings)
    assert len(set(stories(settings).values())) == 3  # different titles: nothing at ingest
    embed(settings, embedder=real_embedder)
    report = group_near_duplicates(settings, real_embedder.model_name)
    assert (report.articles, report.stories, report.changed) == (3, 2, 1)
    # The rewrite joins the wire story; a different lithium story on the same topic,
    # the same day, stays separate.
    assert stories(settings) == {"w1": ids["w1"], "t1": ids["w1"], "m1": ids["m1"]}
    again = group_near_duplicates(settings, real_embedder.model_name)
    assert again.changed == 0
    # A stricter threshold splits them again: grouping is recomputed, never sticky.
    strict = group_near_duplicates(settings, real_embedder.model_name, threshold=0.99)
    assert strict.stories == 3


def test_theme_counts_count_the_story_once(three_feeds: Settings, real_embedder: Embedder) -> None:
    settings = three_feeds
    embed(settings, embedder=real_embedder)
    group_near_duplicates(settings, real_embedder.model_name)
    assign_themes(settings, embedder=real_embedder)
    with open_db(settings.db, read_only=True) as con:
        members = con.execute(
            "SELECT count(*), count(DISTINCT a.story_id) FROM article_themes t "
            "JOIN articles a USING (article_id) "
            "WHERE t.theme_id = 'lithium_batteries' AND t.is_member"
        ).fetchone()
        weekly = con.execute(
            "SELECT articles, total_articles FROM v_theme_weekly "
            "WHERE theme = 'lithium_batteries' AND week = DATE '2025-01-13'"
        ).fetchone()
    assert members == (3, 2)  # three lithium articles, two stories
    assert weekly == (2, 2)


def test_short_titles_never_join_a_story(settings: Settings, tmp_path: Path) -> None:
    one = feed(tmp_path, "one", [("a1", "Weekly update", TUE, CHILE), ("a2", HEADLINE, TUE, CHILE)])
    two = feed(tmp_path, "two", [("b1", "Weekly update", TUE, AUSTRALIA)])
    ingest(settings, sources=[one], force=True)
    ingest(settings, sources=[one, two], force=True)  # a batch with no title key at all
    ids = article_ids(settings)
    assert stories(settings) == {"a1": ids["a1"], "a2": ids["a2"], "b1": ids["b1"]}
