"""Feed bytes -> plain entries (feedparser only).

feedparser gets the body as a byte stream plus the response headers, never a URL or
a path: given a ``str`` or ``bytes`` that looks like one, ``feedparser.parse`` would
fetch or open it itself. The final fetch URL is passed as Content-Location so that
relative links resolve against where the feed really came from (RFC 3986 section
5.1.3: the retrieval URI is the base).

feedparser's HTML sanitiser and its rewriting of relative URIs inside entry HTML are
turned off. Each re-parses every entry's HTML, together about a tenth of a plain RSS
parse and far more on full-text feeds, and neither is needed: entry HTML never leaves
newsintel as HTML (``clean.html_to_text`` keeps only text and drops script and style),
and the one reader of links inside it, the newsletter splitter, resolves them itself
against ``ParsedEntry.html_base``, the base feedparser reports for that content
(xml:base, else the feed URL).
"""

from __future__ import annotations

import functools
import io
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import feedparser.mixin

from newsintel.errors import ParseError
from newsintel.feeds.sources import is_http_url


def _cache_base_resolution() -> None:
    """Let feedparser resolve its base URI once per document instead of once per tag.

    At every start tag feedparser re-resolves the document base against itself
    (``make_safe_absolute_uri(self.baseuri, xml:base or self.baseuri)`` in
    ``_FeedParserMixin.unknown_starttag``). With the Content-Location we pass, that is a
    ``urljoin`` per element: about a fifth of the parse. The function is pure (given
    ``feedparser.urls.ACCEPTABLE_URI_SCHEMES``, which we never change) and the same
    pair repeats for every tag, so caching it returns the same strings for less.
    Only the per-tag call site is cached; if feedparser moves it, this does nothing.
    """
    resolve = getattr(feedparser.mixin, "make_safe_absolute_uri", None)
    if callable(resolve) and not hasattr(resolve, "cache_info"):
        feedparser.mixin.make_safe_absolute_uri = functools.lru_cache(maxsize=256)(resolve)


_cache_base_resolution()

# After an optional BOM, comments and whitespace: the start of an HTML document.
_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S
)


@dataclass(frozen=True)
class ParsedEntry:
    """One feed entry as published: raw title and HTML, parsed UTC date (naive)."""

    guid: str | None
    url: str | None
    title: str
    html: str
    published_at: datetime | None
    published_raw: str | None
    html_base: str | None = None
    """Base URI for relative links inside ``html`` (None: resolve against ``url``)."""


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed. ``bozo_reason`` says why feedparser found it malformed, if it did;
    ``version`` is feedparser's format name (rss20, atom10, rss090...), "" if unknown."""

    title: str
    link: str | None
    entries: tuple[ParsedEntry, ...]
    bozo_reason: str | None
    version: str = ""


def _struct_to_datetime(value: Any) -> datetime | None:
    # feedparser normalises every date it understands to a UTC time.struct_time.
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:6])
    except (TypeError, ValueError, OverflowError):
        return None


def _resolve_link(link: Any, base_url: str) -> str | None:
    if not isinstance(link, str) or not link.strip():
        return None
    text = link.strip()
    if is_http_url(base_url):
        text = urljoin(base_url, text)
    # javascript:, mailto: and friends are not article links.
    scheme = urlsplit(text).scheme.lower()
    if scheme and scheme not in ("http", "https"):
        return None
    return text


def _entry_html(entry: Mapping[str, Any]) -> tuple[str, str | None]:
    """The entry's fullest HTML and the base URI of its relative links (None: unknown)."""
    # RSS puts the teaser in <description> and the article in <content:encoded>; Atom
    # may give several <content> versions. The longest is the most complete text.
    parts: list[Mapping[str, Any]] = [
        part for part in entry.get("content", []) if isinstance(part, Mapping)
    ]
    summary = entry.get("summary_detail")
    parts.append(summary if isinstance(summary, Mapping) else {"value": entry.get("summary")})
    candidates = [
        (part["value"], part.get("base")) for part in parts if isinstance(part.get("value"), str)
    ]
    html, base = max(candidates, key=lambda candidate: len(candidate[0]), default=("", None))
    return html, base if isinstance(base, str) and base else None


def _entry(entry: Mapping[str, Any], base_url: str) -> ParsedEntry:
    guid = entry.get("id")
    published_at = None
    published_raw = None
    for key in ("published", "updated", "created"):
        if published_raw is None and entry.get(key):
            published_raw = str(entry[key])
        published_at = published_at or _struct_to_datetime(entry.get(f"{key}_parsed"))
    title = entry.get("title", "")
    html, html_base = _entry_html(entry)
    return ParsedEntry(
        guid=guid.strip() or None if isinstance(guid, str) else None,
        url=_resolve_link(entry.get("link"), base_url),
        title=title if isinstance(title, str) else "",
        html=html,
        published_at=published_at,
        published_raw=published_raw,
        html_base=html_base,
    )


def _describe_bozo(result: Mapping[str, Any]) -> str | None:
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    if exc is None:
        return "malformed feed"
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def parse_feed(body: bytes, headers: Mapping[str, str], base_url: str) -> ParsedFeed:
    """Parse feed bytes into entries; raises ParseError when it is not a feed at all.

    Malformed feeds keep whatever entries feedparser recovers, with ``bozo_reason``
    set. An empty body, an HTML page or a document with neither feed structure nor
    entries raises ParseError with a message saying which.
    """
    if not body or not body.strip():
        raise ParseError("the feed is empty (no content in the response)")
    response_headers = {key.lower(): value for key, value in headers.items()}
    response_headers.pop("content-location", None)
    # Local files (and some servers) come with no Content-Type; feedparser would flag
    # that alone as bozo. application/xml lets it sniff the encoding from the document
    # (RFC 7303 section 3.2), where text/xml would default to us-ascii.
    response_headers.setdefault("content-type", "application/xml")
    if is_http_url(base_url):
        response_headers["content-location"] = base_url
    try:
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers=response_headers,
            resolve_relative_uris=False,  # see the module docstring
            sanitize_html=False,
        )
    except Exception as exc:
        raise ParseError(f"the feed could not be parsed: {type(exc).__name__}: {exc}") from exc
    version = result.get("version") or ""
    raw_entries = result.get("entries") or []
    bozo_reason = _describe_bozo(result)
    if not version and not raw_entries:
        content_type = response_headers.get("content-type", "").lower()
        if _HTML_START.match(body[:4096]) or content_type.startswith("text/html"):
            raise ParseError("the server returned an HTML page, not a feed")
        detail = f" ({bozo_reason})" if bozo_reason else ""
        raise ParseError(f"no RSS or Atom feed structure found{detail}")
    feed_info = result.get("feed") or {}
    title = feed_info.get("title", "")
    return ParsedFeed(
        title=title.strip() if isinstance(title, str) else "",
        link=_resolve_link(feed_info.get("link"), base_url),
        entries=tuple(_entry(entry, base_url) for entry in raw_entries),
        bozo_reason=bozo_reason,
        version=version,
    )
