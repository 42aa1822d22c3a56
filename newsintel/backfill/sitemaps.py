"""Sitemap bytes -> the article URLs of a date window (XML sitemaps, indexes, gzip).

A small parser over the standard library's ElementTree rather than
ultimate-sitemap-parser: that library fetches sitemaps itself (with its own HTTP client
and retries), which would bypass robots.txt, the per-host pacing and the size cap of
our fetcher. ElementTree never resolves external entities, and the expat it is built
on (2.4.1 and later) refuses entity-expansion bombs; gzip is inflated with a cap.
"""

from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from urllib.parse import urljoin, urlsplit

from newsintel.errors import ParseError

SitemapKind = Literal["index", "urlset"]

# Where sites keep sitemaps when robots.txt names none (WordPress core, Yoast, Rank
# Math, news sitemaps), in the order tried.
WELL_KNOWN_SITEMAPS = (
    "/sitemap.xml",
    "/sitemap_index.xml",
    "/wp-sitemap.xml",
    "/news-sitemap.xml",
    "/sitemap-news.xml",
    "/post-sitemap.xml",
)
_GZIP_MAGIC = b"\x1f\x8b"
# A date in a URL path: /2021/03/04/, /2021-03-04-, /20210304/ (year 1990-2099).
_URL_DATE = re.compile(
    r"(?<![0-9])((?:19|20)\d\d)[/_-]?(0[1-9]|1[0-2])[/_-]?(0[1-9]|[12]\d|3[01])(?![0-9])"
)


@dataclass(frozen=True)
class SitemapEntry:
    """One <sitemap> or <url>: its location and the best date it gives."""

    loc: str
    lastmod: date | None = None
    # news:publication_date, the real publication day (Google News sitemaps).
    published: date | None = None


@dataclass(frozen=True)
class Sitemap:
    """A parsed sitemap: an index of further sitemaps, or a set of page URLs."""

    kind: SitemapKind
    entries: tuple[SitemapEntry, ...]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_w3c_date(text: str | None) -> date | None:
    """The day of a W3C datetime ("2021-03-04", "2021-03-04T10:00:00+01:00"), in UTC."""
    if not text or not text.strip():
        return None
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        match = re.match(r"(\d{4})-(\d\d)(?:-(\d\d))?", value)
        if not match:
            return None
        try:
            return date(int(match[1]), int(match[2]), int(match[3] or 1))
        except ValueError:
            return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def inflate(body: bytes, max_bytes: int) -> bytes:
    """The body, gunzipped when it is gzip (sitemap.xml.gz), never beyond ``max_bytes``."""
    if not body.startswith(_GZIP_MAGIC):
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise ParseError(f"broken gzip sitemap: {exc}") from None
    if len(data) > max_bytes:
        raise ParseError(f"gzip sitemap decompresses beyond {max_bytes} bytes")
    return data


def parse_sitemap(body: bytes, base_url: str, max_bytes: int = 50_000_000) -> Sitemap:
    """Parse sitemap XML (gzip or not); raises ParseError when it is not a sitemap.

    Relative locations are resolved against ``base_url``; entries without <loc> are
    dropped. Accepts any namespace (some generators get it wrong).
    """
    data = inflate(body, max_bytes)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ParseError(f"not a sitemap: XML error {exc}") from None
    except gzip.BadGzipFile as exc:  # pragma: no cover - inflate handles gzip
        raise ParseError(f"not a sitemap: {exc}") from None
    kind = _local(root.tag)
    if kind == "sitemapindex":
        wanted: SitemapKind = "index"
    elif kind == "urlset":
        wanted = "urlset"
    else:
        raise ParseError(f"not a sitemap: the root element is <{kind}>")
    entries: list[SitemapEntry] = []
    for child in root:
        if _local(child.tag) not in ("sitemap", "url"):
            continue
        loc = lastmod = published = None
        for part in child.iter():
            name = _local(part.tag)
            if name == "loc" and loc is None:
                loc = (part.text or "").strip()
            elif name == "lastmod":
                lastmod = parse_w3c_date(part.text)
            elif name == "publication_date":
                published = parse_w3c_date(part.text)
        if loc:
            entries.append(SitemapEntry(urljoin(base_url, loc), lastmod, published))
    return Sitemap(wanted, tuple(entries))


def date_in_url(url: str) -> date | None:
    """A publication day written in the URL path (/2021/03/04/slug), if any."""
    path = urlsplit(url).path
    match = _URL_DATE.search(path)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
    return None


def child_may_hold(entry: SitemapEntry, since: date) -> bool:
    """Whether a child sitemap of an index can hold pages published since ``since``.

    A sitemap last modified before ``since`` lists nothing newer; one with no lastmod
    might hold anything.
    """
    return entry.lastmod is None or entry.lastmod >= since


def page_verdict(entry: SitemapEntry, since: date, until: date) -> Literal["in", "out", "unknown"]:
    """Whether a page is inside [since, until] by what the sitemap and its URL say.

    The publication date (news sitemap) or a date in the URL decide both ends. lastmod
    only excludes: a page last modified before ``since`` was published before it, but
    one modified after ``until`` may have been published inside the window.
    """
    published = entry.published or date_in_url(entry.loc)
    if published is not None:
        return "in" if since <= published <= until else "out"
    if entry.lastmod is not None and entry.lastmod < since:
        return "out"
    return "unknown"
