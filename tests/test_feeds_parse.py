"""parse_feed over fixture files (one parametrized test), golden feeds and ill-formed XML."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest

from newsintel.errors import ParseError
from newsintel.feeds.normalise import normalise_feed
from newsintel.feeds.parse import parse_feed
from newsintel.feeds.sources import FeedSource

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "feeds"
FIXTURE_FILES = sorted(FIXTURES.glob("*.xml"))
GOLDEN_FILES = sorted(SHARED.glob("fastfeedparser_*.xml"))
ILLFORMED_FILES = sorted(SHARED.glob("feedparser_illformed/*.xml"))
FETCHED_AT = datetime(2025, 6, 1, 12, 0)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_fixture_feed(path: Path) -> None:
    expect: dict[str, Any] = json.loads(path.with_suffix(".expect.json").read_text("utf-8"))
    feed = parse_feed(
        path.read_bytes(), expect.get("headers", {}), expect.get("base_url", "http://example.com/")
    )
    entries = feed.entries
    assert feed.version == expect["version"]
    if "bozo" in expect:
        assert (feed.bozo_reason is not None) is expect["bozo"], feed.bozo_reason
    if "bozo_contains" in expect:
        assert expect["bozo_contains"] in (feed.bozo_reason or "")
    if "feed_title" in expect:
        assert feed.title == expect["feed_title"]
    if "feed_link" in expect:
        assert feed.link == expect["feed_link"]
    assert [e.title for e in entries] == expect["titles"]
    if "links" in expect:
        assert [e.url for e in entries] == expect["links"]
    if "guids" in expect:
        assert [e.guid for e in entries] == expect["guids"]
    if "published" in expect:
        assert [_iso(e.published_at) for e in entries] == expect["published"]
    if "published_raw" in expect:
        assert [e.published_raw for e in entries] == expect["published_raw"]
    for fragment, entry in zip(expect.get("html_contains", []), entries, strict=False):
        assert fragment in entry.html
    if "articles" in expect or "article_titles" in expect:
        source = FeedSource("fixture", "Fixture", "http://example.com/")
        articles = normalise_feed(source, feed, FETCHED_AT)
        assert len(articles) == expect.get("articles", len(articles))
        if "article_titles" in expect:
            assert [a.title for a in articles] == expect["article_titles"]


def test_every_fixture_has_expectations() -> None:
    assert len(FIXTURE_FILES) >= 10
    missing = [p.name for p in FIXTURE_FILES if not p.with_suffix(".expect.json").exists()]
    assert missing == []


def _golden_datetime(raw: str) -> datetime:
    return datetime.fromisoformat(raw).astimezone(UTC).replace(tzinfo=None)


@pytest.mark.skipif(not GOLDEN_FILES, reason="shared golden feeds not present")
@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[p.stem for p in GOLDEN_FILES])
def test_golden_feed(path: Path) -> None:
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text("utf-8"))
    feed = parse_feed(path.read_bytes(), {"content-type": "application/xml"}, "")
    wanted = expected["entries"]
    assert len(feed.entries) == len(wanted)
    assert [e.title for e in feed.entries] == [w.get("title", "") for w in wanted]
    assert [e.url for e in feed.entries] == [w.get("link") for w in wanted]
    assert [e.guid for e in feed.entries] == [w.get("id") for w in wanted]
    assert [e.published_at for e in feed.entries] == [
        _golden_datetime(w["published"]) if w.get("published") else None for w in wanted
    ]
    assert feed.title == expected["feed"].get("title", "")


@pytest.mark.skipif(not ILLFORMED_FILES, reason="shared ill-formed feeds not present")
@pytest.mark.parametrize("path", ILLFORMED_FILES, ids=[p.stem for p in ILLFORMED_FILES])
def test_illformed_feed_raises_only_parse_error(path: Path) -> None:
    try:
        feed = parse_feed(path.read_bytes(), {}, "http://example.com/feed.xml")
    except ParseError as exc:
        assert str(exc)
    else:
        assert feed.bozo_reason is not None


def test_corrupted_ampersands_survive_loose_parsing() -> None:
    path = SHARED / "feedparser_illformed" / "rss_item_link_corrupted_ampersands.xml"
    if not path.exists():
        pytest.skip("shared ill-formed feeds not present")
    feed = parse_feed(path.read_bytes(), {}, "")
    assert [e.url for e in feed.entries] == ["http://link/get?a=1&b=2"]


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"", {}, "the feed is empty"),
        (b"  \n\t ", {"content-type": "application/rss+xml"}, "the feed is empty"),
        (
            b"<!DOCTYPE html><html><head><title>Login</title></head><body>Hi</body></html>",
            {"content-type": "application/rss+xml"},
            "the server returned an HTML page, not a feed",
        ),
        (
            b"<html><body><p>Moved</p></body></html>",
            {"Content-Type": "text/html; charset=utf-8"},
            "the server returned an HTML page, not a feed",
        ),
        (b'{"items": []}', {"content-type": "application/json"}, "no RSS or Atom feed"),
        (b"<?xml version='1.0'?><note><to>x</to></note>", {}, "no RSS or Atom feed"),
    ],
    ids=["empty", "blank", "html-doctype", "html-content-type", "json", "other-xml"],
)
def test_not_a_feed_raises_parse_error(body: bytes, headers: dict[str, str], message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(body, headers, "https://example.com/feed")


def test_feed_served_as_text_html_still_parses() -> None:
    body = (FIXTURES / "rss20.xml").read_bytes()
    feed = parse_feed(body, {"content-type": "text/html"}, "https://metals.example.com/feed")
    assert len(feed.entries) == 2


def test_relative_links_resolve_against_the_final_url_not_content_location() -> None:
    body = (FIXTURES / "rss20.xml").read_bytes()
    headers = {"content-location": "https://elsewhere.example.org/x/"}
    feed = parse_feed(body, headers, "https://mirror.example.net/feeds/metals.xml")
    assert feed.entries[1].url == "https://mirror.example.net/2025/01/cobalt-quotas"


def test_a_path_like_body_is_parsed_as_data_never_opened() -> None:
    with pytest.raises(ParseError, match="no RSS or Atom feed"):
        parse_feed(str(FIXTURES / "rss20.xml").encode(), {}, "")


def test_unsanitised_entry_html_still_yields_only_readable_text() -> None:
    # feedparser's sanitiser is off (see newsintel.feeds.parse); html_to_text alone must
    # keep script, style and applet content and all markup out of the stored text.
    html = (
        "<p onclick='steal()'>Lithium <b>rose</b> &amp; cobalt fell.</p>"
        "<script>document.write('injected')</script><style>p{color:red}</style>"
        "<applet code='x.class'>applet fallback</applet><iframe src='https://x.example'></iframe>"
        "<p>Second <a href='javascript:alert(1)'>paragraph</a>.</p>"
    )
    body = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>T</title><item>"
        "<title>Metals &lt;b&gt;today&lt;/b&gt;</title><link>https://x.example/1</link>"
        f"<description>{escape(html)}</description></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, {}, "https://x.example/feed")
    [article] = normalise_feed(FeedSource("t", "T", "https://x.example/feed"), feed, FETCHED_AT)
    assert article.title == "Metals today"
    assert article.text == "Lithium rose & cobalt fell.\nSecond paragraph."
