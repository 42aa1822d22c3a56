"""normalise_feed: cleaning, dates, ids and de-duplication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from newsintel.feeds.identity import article_id
from newsintel.feeds.normalise import article_from_fields, normalise_feed, title_from_url
from newsintel.feeds.parse import ParsedEntry, ParsedFeed
from newsintel.feeds.sources import FeedSource

SOURCE = FeedSource("metals", "Metals", "https://metals.example.com/feed")
FETCHED = datetime(2025, 3, 1, 12, 0)


def _entry(
    guid: str | None = "guid-0001",
    url: str | None = "https://metals.example.com/a",
    title: str = "Title",
    html: str = "<p>Body</p>",
    published_at: datetime | None = datetime(2025, 3, 1, 8, 0),
) -> ParsedEntry:
    return ParsedEntry(guid, url, title, html, published_at, None)


def _feed(*entries: ParsedEntry) -> ParsedFeed:
    return ParsedFeed("Metals", "https://metals.example.com/", tuple(entries), None)


def test_article_fields() -> None:
    (article,) = normalise_feed(
        SOURCE,
        _feed(_entry(title="Copper &amp; <b>zinc</b>", html="<p>Up</p><p>again</p>")),
        FETCHED,
    )
    assert article.title == "Copper & zinc"
    assert article.text == "Up\nagain"
    assert article.source_id == "metals"
    assert article.story_id == article.article_id
    assert article.article_id == article_id("metals", "guid-0001", article.url, "", "")
    assert article.parent_id is None
    assert article.published_at == datetime(2025, 3, 1, 8, 0)
    assert article.published_estimated is False
    assert article.fetched_at == FETCHED
    assert len(article.content_hash) == 16


def test_missing_and_future_dates_become_fetch_time() -> None:
    entries = [
        _entry(guid="g-missing", published_at=None),
        _entry(guid="g-future", published_at=FETCHED + timedelta(days=3)),
        _entry(guid="g-soon", published_at=FETCHED + timedelta(hours=5)),
    ]
    missing, future, soon = normalise_feed(SOURCE, _feed(*entries), FETCHED)
    assert (missing.published_at, missing.published_estimated) == (FETCHED, True)
    assert (future.published_at, future.published_estimated) == (FETCHED, True)
    assert (soon.published_at, soon.published_estimated) == (FETCHED + timedelta(hours=5), False)


def test_aware_fetch_time_is_stored_as_naive_utc() -> None:
    aware = datetime(2025, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    (article,) = normalise_feed(SOURCE, _feed(_entry(published_at=None)), aware)
    assert article.fetched_at == datetime(2025, 3, 1, 12, 0)
    assert article.published_at.tzinfo is None
    assert aware.astimezone(UTC).replace(tzinfo=None) == article.fetched_at


def test_duplicate_ids_keep_the_first() -> None:
    entries = [_entry(title="First"), _entry(title="Second"), _entry(guid="guid-0002")]
    articles = normalise_feed(SOURCE, _feed(*entries), FETCHED)
    assert [a.title for a in articles] == ["First", "Title"]


def test_untitled_entries_get_a_title_from_the_text() -> None:
    words = " ".join(f"w{i}" for i in range(20))
    short, long = normalise_feed(
        SOURCE,
        _feed(_entry(guid="g-short", title="", html="Just a few words"),
              _entry(guid="g-long", title="  ", html=f"<p>{words}</p>")),
        FETCHED,
    )  # fmt: skip
    assert short.title == "Just a few words"
    assert long.title == " ".join(f"w{i}" for i in range(12)) + "\u2026"


def test_empty_entries_are_dropped_and_linkless_ones_hashed() -> None:
    entries = [
        _entry(guid=None, url=None, title="", html="<p> </p>"),
        _entry(guid=None, url=None, title="Only a title", html=""),
    ]
    (article,) = normalise_feed(SOURCE, _feed(*entries), FETCHED)
    assert article.title == "Only a title"
    assert article.url is None
    assert article.article_id == article_id("metals", None, None, "Only a title", "")


def test_same_input_gives_the_same_articles() -> None:
    feed = _feed(_entry(), _entry(guid=None, url="https://metals.example.com/b?utm_source=x"))
    assert normalise_feed(SOURCE, feed, FETCHED) == normalise_feed(SOURCE, feed, FETCHED)


def test_newsletter_issue_is_flagged_and_its_stories_are_not() -> None:
    from datetime import datetime as _dt

    from newsintel.feeds.normalise import normalise_feed as _normalise
    from newsintel.feeds.parse import ParsedEntry as _Entry
    from newsintel.feeds.parse import ParsedFeed as _Feed
    from newsintel.feeds.sources import FeedSource as _Source

    items = "".join(
        f'<li><a href="https://example.com/s{i}">Story {i} headline</a> Detail {i}.</li>'
        for i in range(4)
    )
    entry = _Entry(
        guid="issue-1",
        url="https://example.com/issue-1",
        title="The Download: four stories",
        html=f"<p>Today's picks.</p><ol>{items}</ol>",
        published_at=_dt(2025, 1, 6, 8),
        published_raw="Mon, 06 Jan 2025 08:00:00 GMT",
    )
    articles = _normalise(
        _Source("dl", "Download", "https://example.com/feed"),
        _Feed("Download", None, (entry,), None),
        _dt(2025, 1, 6, 9),
    )
    assert [a.is_issue for a in articles] == [True, False, False, False, False]
    assert {a.parent_id for a in articles[1:]} == {articles[0].article_id}


def test_titles_from_url_slugs() -> None:
    assert (
        title_from_url(
            "https://www.insiderfinancial.com/lithium-x-energy-corp-remains-a-top-lithium-play/122057/"
        )
        == "Lithium x energy corp remains a top lithium play"
    )
    assert (
        title_from_url("http://www.prnewswire.com/news-releases/hotter-than-lithium-620993503.html")
        == "Hotter than lithium"
    )
    assert title_from_url("https://example.com/") == ""
    assert title_from_url("https://example.com/p/12345") == ""


def test_a_backfilled_story_has_the_id_a_feed_entry_with_its_link_gets() -> None:
    fetched = datetime(2025, 3, 1, 12, 0)
    article = article_from_fields(
        source_id="electrek-co",
        url="https://electrek.co/2025/02/28/lithium-story/?utm_source=x",
        title="<b>Lithium</b> story",
        text="<p>Body</p>",
        published_at=datetime(2025, 2, 28, 9, 0, tzinfo=UTC),
        fetched_at=fetched,
        origin="gdelt",
        title_derived=True,
    )
    assert article is not None
    assert (article.title, article.text, article.origin, article.title_derived) == (
        "Lithium story",
        "Body",
        "gdelt",
        True,
    )
    assert article.published_at == datetime(2025, 2, 28, 9, 0)
    # The id depends on the canonical link alone, as for a feed entry without a GUID.
    assert article.article_id == article_id(
        "any-feed", None, "https://electrek.co/2025/02/28/lithium-story/", "", ""
    )


@pytest.mark.parametrize(
    ("url", "title"),
    [
        # An MSN article id after the slug: the id is passed over, the slug kept.
        (
            "https://www.msn.com/en-us/money/markets/lithium-prices-soar-as-ev-demand-returns/ar-AA1abcd",
            "Lithium prices soar as ev demand returns",
        ),
        (
            "https://www.msn.com/en-us/finance/markets/carmakers-race-to-lock-in-lithium/ar-BBKuuwx",
            "Carmakers race to lock in lithium",
        ),
        ("https://www.msn.com/en-ca/money/ar-AAZQOJP", ""),
        (
            "https://www.example.com/news/queens-fire-lithium-battery-lirr-1.17454063",
            "Queens fire lithium battery lirr",
        ),
        # Nothing but ids, locales, sections, numbers and hashes: no title at all.
        ("https://www.msn.com/en-us/money/ar-AA1abcd", ""),
        ("https://example.com/news/20240301-123456", ""),
        ("https://example.com/a/5f2a9c7e3b1d4e6f8a0b", ""),
        ("https://example.com/a/3f2c1a9e-4b7d-4e21-9a6b-0c8d7e6f5a4b", ""),
        ("https://example.com/articles/x7kq9z2m4w", ""),
        ("https://example.com/technology/", ""),
        # Words with numbers are still words.
        (
            "https://example.com/2024/03/01/5g-rollout-lifts-copper-demand/",
            "5g rollout lifts copper demand",
        ),
        (
            "https://example.com/covid19-hits-lithium-supply-chains-9921",
            "Covid19 hits lithium supply chains",
        ),
    ],
)
def test_slugs_that_are_ids_or_hashes_give_no_title(url: str, title: str) -> None:
    assert title_from_url(url) == title
