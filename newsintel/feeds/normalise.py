"""Parsed entries -> ``Article`` records ready to store.

Here a feed's quirks become clean values: newsletter issues are split into stories,
HTML becomes text, missing or impossible dates become the fetch time (flagged as
estimated), and every article gets its stable id.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

from newsintel.feeds.clean import fold_whitespace, html_to_text
from newsintel.feeds.dedupe import title_key
from newsintel.feeds.identity import article_id, canonical_url, content_hash
from newsintel.feeds.newsletter import read_issue
from newsintel.feeds.parse import ParsedEntry, ParsedFeed
from newsintel.feeds.sources import FeedSource
from newsintel.models import Article

# Clocks and time zones disagree a little; beyond this, a "future" date is a feed bug.
FUTURE_TOLERANCE = timedelta(days=1)
TITLE_FALLBACK_WORDS = 12
_URL_EXTENSION = re.compile(r"\.(?:s?html?|php|aspx?|jsp)$", re.IGNORECASE)
_SLUG_SEPARATORS = re.compile(r"[-_+\s]+")
# A slug needs this many letters to be a title ("122057" or "p" is not one).
_SLUG_MIN_LETTERS = 8
_NUMBER = re.compile(r"[\d.]+")
_WORD_AND_NUMBER = re.compile(r"[A-Za-z]?[a-z]+\d{1,2}")


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _title_from_text(text: str) -> str:
    words = text.split()
    title = " ".join(words[:TITLE_FALLBACK_WORDS])
    return title + "\u2026" if len(words) > TITLE_FALLBACK_WORDS else title


def _published(entry: ParsedEntry, fetched_at: datetime) -> tuple[datetime, bool]:
    if entry.published_at is None:
        return fetched_at, True
    published = _naive_utc(entry.published_at)
    if published > fetched_at + FUTURE_TOLERANCE:
        return fetched_at, True
    return published, False


def _article(
    source: FeedSource,
    entry: ParsedEntry,
    fetched_at: datetime,
    parent_id: str | None,
    text: str | None = None,
) -> Article | None:
    """``text``, when given, is ``html_to_text(entry.html)`` already worked out."""
    if text is None:
        text = html_to_text(entry.html)
    title = fold_whitespace(html_to_text(entry.title)) or _title_from_text(text)
    if not title and not text:
        return None
    published_at, estimated = _published(entry, fetched_at)
    identity = article_id(source.source_id, entry.guid, entry.url, title, text)
    return Article(
        article_id=identity,
        source_id=source.source_id,
        story_id=identity,
        parent_id=parent_id,
        guid=entry.guid,
        url=entry.url,
        title=title,
        text=text,
        published_at=published_at,
        published_estimated=estimated,
        fetched_at=fetched_at,
        content_hash=content_hash(title, text),
        title_key=title_key(title),
        url_key=canonical_url(entry.url) if entry.url and entry.url.strip() else None,
    )


def _articles(
    source: FeedSource,
    feed: ParsedFeed,
    fetched_at: datetime,
    link: Callable[[str], str] | None,
) -> Iterator[Article]:
    for entry in feed.entries:
        # One parse gives the entry's text and its stories (split_newsletter's).
        text, stories = read_issue(entry, link=link)
        issue = _article(source, entry, fetched_at, None, text)
        if issue is None:
            continue
        # A bundle is kept for reference but flagged, so theme counts see its stories once
        # each and never the bundle itself.
        yield replace(issue, is_issue=True) if stories else issue
        for story in stories:
            article = _article(source, story.entry, fetched_at, issue.article_id, story.text)
            if article is not None:
                yield article


def _is_id_token(word: str) -> bool:
    """Whether a slug token is an id rather than a word: letters and digits mixed
    ("AA1abcd", "a1b2c3d4e5", "4b7d") or mixed case ("BBKuuwx"), except short tokens
    ("5g", "q3", "3d") and a word with a number after it ("covid19", "g20")."""
    upper = sum(ch.isupper() for ch in word)
    if len(word) >= 6 and 2 <= upper < sum(ch.isalpha() for ch in word):
        return True  # mixed case beyond a capital initial: MSN's "BBKuuwx", "AAvyhTk"
    has_digit = any(ch.isdigit() for ch in word)
    has_letter = any(ch.isalpha() for ch in word)
    if not (has_digit and has_letter) or _WORD_AND_NUMBER.fullmatch(word):
        return False
    return len(word) > 4 or (len(word) == 4 and all(ch in string.hexdigits for ch in word))


def _slug_title(segment: str) -> str:
    """The title one path segment gives, or "" when it is an id, a hash or too short."""
    stem = _URL_EXTENSION.sub("", segment)
    tokens = [w for w in _SLUG_SEPARATORS.split(stem) if w]
    ids = sum(_is_id_token(w) for w in tokens)
    words = [w for w in tokens if not _is_id_token(w)]
    while words and _NUMBER.fullmatch(words[-1]):
        words.pop()
    while words and _NUMBER.fullmatch(words[0]):
        words.pop(0)
    lettered = [w for w in words if sum(ch.isalpha() for ch in w) >= 3]
    # A title is words: at least two of them, more words than ids, enough letters.
    if len(lettered) < 2 or ids >= len(lettered):
        return ""
    if sum(ch.isalpha() for ch in "".join(words)) < _SLUG_MIN_LETTERS:
        return ""
    title = " ".join(words)
    return title[:1].upper() + title[1:]


def title_from_url(url: str) -> str:
    """A readable title made from a URL's slug, for sources that give none.

    The last path segment that reads as words, minus a file extension, numeric ids and
    id tokens, with dashes and underscores as spaces: ".../nemaska-lithium-provides-
    update-on-whabouchi/122057/" -> "Nemaska lithium provides update on whabouchi".
    Segments that are ids are passed over, not turned into junk titles: MSN's
    ".../lithium-prices-soar/ar-AA1abcd" gives "Lithium prices soar"; a numeric slug, a
    hash or a single word gives nothing. Empty when no segment reads as a title: callers
    then skip the story (unless it has text) and count it as untitled, rather than show
    a placeholder that would pass for a headline; they mark derived titles as such.
    """
    path = unquote(urlsplit(url).path)
    for segment in reversed([part for part in path.split("/") if part]):
        title = _slug_title(segment)
        if title:
            return title
    return ""


def article_from_fields(
    *,
    source_id: str,
    url: str | None,
    title: str,
    text: str,
    published_at: datetime,
    fetched_at: datetime,
    origin: str,
    guid: str | None = None,
    title_derived: bool = False,
) -> Article | None:
    """One backfilled story (archive page, GDELT, import) as an ``Article``.

    The same identity and cleaning rules as feed entries: ``url`` and ``guid`` give the
    id exactly as they would in a feed, so the story seen later in a feed is the same
    row. ``title`` and ``text`` may hold HTML. A date more than a day past ``fetched_at``
    becomes ``fetched_at``, flagged as estimated. None when there is neither title nor
    text.
    """
    entry = ParsedEntry(
        guid=guid, url=url, title=title, html=text, published_at=published_at, published_raw=None
    )
    article = _article(
        FeedSource(source_id, source_id, url or ""), entry, _naive_utc(fetched_at), None
    )
    if article is None:
        return None
    return replace(article, origin=origin, title_derived=title_derived)


def normalise_feed(
    source: FeedSource,
    feed: ParsedFeed,
    fetched_at: datetime,
    *,
    link: Callable[[str], str] | None = None,
) -> list[Article]:
    """Articles of one parsed feed, in feed order, each id at most once.

    A newsletter issue is kept (``is_issue=True``) and followed by its stories
    (``parent_id`` = the issue's id). A missing date, or one more than a day past
    ``fetched_at``, becomes ``fetched_at`` with ``published_estimated=True``. Entries
    repeating an earlier id (duplicate GUIDs are common) are dropped; so are entries with
    neither title nor text. ``link`` maps each link a newsletter splitter considers as a
    story link (email unwraps click trackers with it).
    """
    fetched = _naive_utc(fetched_at)
    seen: set[str] = set()
    articles: list[Article] = []
    for article in _articles(source, feed, fetched, link):
        if article.article_id not in seen:
            seen.add(article.article_id)
            articles.append(article)
    return articles
