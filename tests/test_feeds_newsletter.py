"""split_newsletter on The Download-style issues written as fixture feeds."""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from pathlib import Path

import pytest

from newsintel.feeds.newsletter import split_newsletter
from newsintel.feeds.normalise import normalise_feed
from newsintel.feeds.parse import ParsedEntry, ParsedFeed, parse_feed
from newsintel.feeds.sources import FeedSource

FOLDER = Path(__file__).parent / "fixtures" / "feeds" / "newsletter"
EXPECT = json.loads((FOLDER / "the_download.expect.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def feed() -> ParsedFeed:
    body = (FOLDER / "the_download.xml").read_bytes()
    return parse_feed(body, {"content-type": "application/rss+xml"}, EXPECT["base_url"])


@pytest.mark.parametrize("index", range(len(EXPECT["issues"])))
def test_issue_splits_into_stories(feed: ParsedFeed, index: int) -> None:
    expect = EXPECT["issues"][index]
    issue = feed.entries[index]
    stories = split_newsletter(issue)
    assert [s.title for s in stories] == expect["titles"]
    assert [s.url for s in stories] == expect["urls"]
    for fragment, story in zip(expect["text_contains"], stories, strict=True):
        assert fragment in story.html
    for position, story in enumerate(stories, start=1):
        assert story.guid == f"{issue.guid}#{position}"
        assert story.published_at == issue.published_at
        assert story.published_raw == issue.published_raw


def test_stories_without_parent_guid_use_their_link(feed: ParsedFeed) -> None:
    issue = ParsedEntry(None, None, "Issue", feed.entries[1].html, None, None)
    stories = split_newsletter(issue)
    assert [s.guid for s in stories] == [s.url for s in stories]


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<p>Just a paragraph with a <a href='https://x.example/1'>link</a>.</p>",
        "<ol><li><a href='https://x.example/1'>One two three</a></li>"
        "<li><a href='https://x.example/2'>Four five six</a></li></ol>",
        "<ol><li><a href='mailto:a@x.example'>Mail us now</a></li>"
        "<li><a href='javascript:void(0)'>Click me now</a></li>"
        "<li><a href='#top'>Back to top</a></li></ol>",
        "<p>1 First thing <a href='https://x.example/1'>A</a></p>"
        "<p>3 Third thing <a href='https://x.example/3'>C</a></p>"
        "<p>4 Fourth thing <a href='https://x.example/4'>D</a></p>",
    ],
    ids=["empty", "plain", "two-items", "no-web-links", "numbering-gap"],
)
def test_not_newsletter_shaped(html: str) -> None:
    assert split_newsletter(ParsedEntry("g-1", None, "t", html, None, None)) == []


def test_nested_lists_stay_inside_their_item() -> None:
    html = (
        "<ol>"
        "<li><b>Alpha story here</b> <a href='https://x.example/a'>src</a>"
        "<ol><li><a href='https://x.example/a2'>Nested related link</a></li></ol></li>"
        "<li><b>Beta story here</b> <a href='https://x.example/b'>src</a></li>"
        "<li><b>Gamma story here</b> <a href='https://x.example/c'>src</a></li>"
        "</ol>"
    )
    stories = split_newsletter(ParsedEntry("g", None, "t", html, None, None))
    assert [s.title for s in stories] == ["Alpha story here", "Beta story here", "Gamma story here"]
    assert "Nested related link" in stories[0].html


def test_normalise_keeps_the_issue_and_links_stories_to_it(feed: ParsedFeed) -> None:
    source = FeedSource("the-download", "The Download", EXPECT["base_url"])
    articles = normalise_feed(source, feed, datetime(2025, 2, 13))
    issue = articles[0]
    assert issue.parent_id is None
    assert issue.title == "The Download: grid batteries, and robot hands"
    stories = [a for a in articles if a.parent_id == issue.article_id]
    assert [s.title for s in stories] == EXPECT["issues"][0]["titles"]
    assert all(s.published_at == issue.published_at for s in stories)
    assert all(not s.published_estimated for s in stories)
    assert len(articles) == 1 + 4 + 1 + 3 + 1
    assert len({a.article_id for a in articles}) == len(articles)


def _issue_html(hrefs: list[str]) -> str:
    items = "".join(
        f"<li><b>Story number {n} headline</b> More words. <a href='{href}'>(Wire)</a></li>"
        for n, href in enumerate(hrefs, start=1)
    )
    return f"<p>Today's must-reads:</p><ol>{items}</ol>"


def test_relative_story_links_resolve_against_the_feed_url() -> None:
    # feedparser no longer rewrites links inside entry HTML; the splitter resolves
    # them against the base of the document they came from, here the feed's own URL.
    html = escape(_issue_html(["/2025/a", "b", "https://other.example/c"]))
    body = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Daily</title>"
        f"<item><title>Issue 1</title><guid>issue-1</guid><description>{html}"
        "</description></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, {}, "https://news.example.org/letters/feed.xml")
    stories = split_newsletter(feed.entries[0])
    assert [s.url for s in stories] == [
        "https://news.example.org/2025/a",
        "https://news.example.org/letters/b",
        "https://other.example/c",
    ]


def test_story_links_honour_xml_base_on_atom_content() -> None:
    html = escape(_issue_html(["one", "two", "../three"]))
    body = (
        "<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Daily</title>"
        "<entry><title>Issue 2</title><id>urn:issue:2</id>"
        "<updated>2025-02-13T06:00:00Z</updated>"
        "<content type='html' xml:base='https://letters.example.com/2025/issue-2/'>"
        f"{html}</content></entry></feed>"
    ).encode()
    feed = parse_feed(body, {}, "https://feeds.example.net/daily.atom")
    stories = split_newsletter(feed.entries[0])
    assert [s.url for s in stories] == [
        "https://letters.example.com/2025/issue-2/one",
        "https://letters.example.com/2025/issue-2/two",
        "https://letters.example.com/2025/three",
    ]
