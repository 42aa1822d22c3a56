"""canonical_url, GUID trust, article ids, content hashes and title normalisation."""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest
from conftest import make_settings
from feedserver import FeedServer

from newsintel.config import Settings
from newsintel.feeds.dedupe import StoryCandidate, near_duplicate_stories, url_pairs
from newsintel.feeds.identity import (
    article_id,
    canonical_url,
    content_hash,
    is_trustworthy_guid,
    normalise_title,
)
from newsintel.feeds.sources import FeedSource
from newsintel.jobs import group_near_duplicates, ingest
from newsintel.jobs.backfill_import import backfill_import
from newsintel.store import open_db


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Example.COM/Path", "https://example.com/Path"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        (
            "https://example.com/a?utm_source=rss&utm_medium=feed&id=7&fbclid=x&gclid=y",
            "https://example.com/a?id=7",
        ),
        ("https://example.com/a?mc_cid=1&mc_eid=2&ref=hn&b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?UTM_Campaign=x&q=", "https://example.com/a?q="),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("https://example.com:notaport/x", "https://example.com:notaport/x"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    ("guid", "url", "trusted"),
    [
        ("tag:example.com,2025:post-17", None, True),
        ("https://example.com/2025/01/story", None, True),
        ("https://example.com/?p=1001", None, True),
        ("14038 at http://gamersnexus.net", None, True),
        (None, None, False),
        ("", None, False),
        ("   ", None, False),
        ("abc", None, False),
        ("null", None, False),
        ("undefined", None, False),
        ("https://example.com/", None, False),
        ("https://example.com", None, False),
        ("example.com", "https://example.com/story", False),
    ],
)
def test_is_trustworthy_guid(guid: str | None, url: str | None, trusted: bool) -> None:
    assert is_trustworthy_guid(guid, url) is trusted


def test_article_id_prefers_guid_namespaced_by_source() -> None:
    a = article_id("feed-a", "post-1234", "https://x.example/1", "T", "body")
    b = article_id("feed-b", "post-1234", "https://x.example/1", "T", "body")
    assert a != b
    assert len(a) == 16
    assert int(a, 16) >= 0
    assert a == article_id("feed-a", " post-1234 ", "https://x.example/other", "New", "new")


def test_article_id_falls_back_to_canonical_url() -> None:
    a = article_id("feed-a", "https://x.example/", "https://X.example/1?utm_source=a", "T", "")
    b = article_id("feed-b", None, "https://x.example/1#top", "Other", "text")
    assert a == b


def test_article_id_falls_back_to_content() -> None:
    a = article_id("feed-a", None, None, "Copper rallies!", "Prices  rose.")
    assert a == article_id("feed-a", "", "", "copper rallies", "Prices rose.")
    assert a != article_id("feed-b", None, None, "Copper rallies!", "Prices rose.")
    assert a != article_id("feed-a", None, None, "Copper falls", "Prices rose.")


def test_content_hash_ignores_case_punctuation_and_spacing() -> None:
    assert content_hash("Lithium: up 5%", "Big\n news") == content_hash("lithium up 5", "big news")
    assert content_hash("a", "b") != content_hash("a", "c")


@pytest.mark.parametrize(
    ("title", "normalised"),
    [
        ("Lithium Prices Fall — Again!", "lithium prices fall again"),
        ("Don\u2019t panic: it's fine", "dont panic its fine"),
        ("  Ｆｕｌｌｗｉｄｔｈ  ", "fullwidth"),
        ("AI's $1bn bet", "ais 1bn bet"),
    ],
)
def test_normalise_title(title: str, normalised: str) -> None:
    assert normalise_title(title) == normalised


def _normalise_title_by_definition(title: str) -> str:
    text = unicodedata.normalize("NFKC", title).lower()
    text = re.sub(r"['\u2018\u2019\u02bc`]", "", text)
    kept = (" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    return " ".join("".join(kept).split())


def test_ascii_titles_take_a_table_path_with_the_same_result() -> None:
    # ASCII titles skip NFKC and the per-character category lookup; every ASCII
    # character, alone and in random mixes, must come out as the definition says.
    rng = random.Random(7)
    titles = [chr(code) * 2 + " a" + chr(code) + "b" for code in range(128)]
    titles += [
        "".join(chr(rng.randrange(128)) for _ in range(rng.randrange(40))) for _ in range(3000)
    ]
    titles += ["Caf\u00e9 \u2018quoted\u2019 \u2014 dash", "\uff21\uff29 \u00bd"]
    for title in titles:
        assert normalise_title(title) == _normalise_title_by_definition(title), repr(title)


# -- one page, two ids: a feed's GUID and a backfill's URL ----------------------------------

# The outlet's feed gives each post a trusted GUID (so a GUID id) and links it with
# tracking parameters; a backfill finds the same page by its URL (so a URL id). The
# titles differ and the dates lie more than STORY_WINDOW_DAYS apart, so only the
# canonical URL can tell that the two are one story.
_POST_URL = "https://Mine.example.com/2024/03/01/quarterly-output/?utm_source=rss&b=2&a=1#top"
_FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Mine News</title>'
    "<link>https://mine.example.com/</link><description>d</description>"
    "<item><title>Quarterly output rises at the northern pit</title>"
    "<guid isPermaLink='false'>tag:mine.example.com,2024:4411</guid>"
    f"<link>{_POST_URL.replace('&', '&amp;')}</link>"
    "<pubDate>Fri, 08 Mar 2024 07:30:00 GMT</pubDate>"
    "<description>Ore tonnage rose eleven percent on the quarter.</description></item>"
    "<item><title>New haul trucks arrive on site this spring</title>"
    "<guid isPermaLink='false'>tag:mine.example.com,2024:4412</guid>"
    "<link>https://mine.example.com/2024/03/07/haul-trucks/</link>"
    "<pubDate>Thu, 07 Mar 2024 07:30:00 GMT</pubDate>"
    "<description>Twelve trucks, delivered by rail.</description></item>"
    "</channel></rss>"
)
_CSV = (
    "url,title,published_at,text,source\n"
    "https://mine.example.com/2024/03/01/quarterly-output/?a=1&b=2,"
    "Northern pit lifts quarterly ore output,2024-03-01T09:00:00Z,,Mine News\n"
)


def _feed_then_backfill(settings: Settings, server: FeedServer, csv: Path, feed_first: bool) -> int:
    server.add_file("/feed.xml", _FEED.encode())
    source = FeedSource("mine-news", "Mine News", server.url("/feed.xml"))
    steps = [
        lambda: ingest(settings, sources=[source], force=True).new_articles,
        lambda: backfill_import(settings, csv, fmt="csv").added,
    ]
    return sum(step() for step in (steps if feed_first else steps[::-1]))


@pytest.mark.parametrize("feed_first", [True, False], ids=["feed-first", "backfill-first"])
def test_a_page_seen_by_feed_guid_and_by_backfill_url_is_one_story(
    tmp_path: Path, feed_server: FeedServer, feed_first: bool
) -> None:
    settings = make_settings(tmp_path)
    csv = tmp_path / "history.csv"
    csv.write_text(_CSV, "utf-8")
    assert _feed_then_backfill(settings, feed_server, csv, feed_first) == 3

    def stories() -> dict[str, tuple[str, str]]:
        with open_db(settings.db, read_only=True) as con:
            rows = con.execute("SELECT title, origin, story_id FROM articles").fetchall()
        return {str(title): (str(origin), str(story)) for title, origin, story in rows}

    found = stories()
    feed_copy = found["Quarterly output rises at the northern pit"]
    backfilled = found["Northern pit lifts quarterly ore output"]
    trucks = found["New haul trucks arrive on site this spring"]
    # Two rows (each origin keeps its own), one story; the other post stays apart.
    assert (feed_copy[0], backfilled[0]) == ("feed", "import")
    assert feed_copy[1] == backfilled[1] != trucks[1]
    # Grouping again after embedding keeps the page together, and both orders end on
    # the same story id: the earliest copy's (the backfilled one, dated 1 March).
    group_near_duplicates(settings, "no-such-model")
    after = stories()
    with open_db(settings.db, read_only=True) as con:
        rows = con.execute("SELECT article_id FROM articles WHERE origin = 'import'").fetchall()
    earliest = str(rows[0][0])
    assert after["Northern pit lifts quarterly ore output"][1] == earliest
    assert after["Quarterly output rises at the northern pit"][1] == earliest
    # Re-running both adds nothing.
    assert _feed_then_backfill(settings, feed_server, csv, feed_first) == 0


def test_url_pairs_join_copies_of_one_page_at_any_distance() -> None:
    early = StoryCandidate("a", "s1", datetime(2024, 1, 1), None, "import", "https://x.example/p")
    late = StoryCandidate("b", "s2", datetime(2024, 6, 1), None, "feed", "https://x.example/p")
    other = StoryCandidate("c", "s2", datetime(2024, 6, 2), None, "feed", "https://x.example/q")
    assert url_pairs([late, other, early]) == [(2, 0)]
    assert near_duplicate_stories([late, other, early]) == {"a": "a", "b": "a", "c": "c"}
