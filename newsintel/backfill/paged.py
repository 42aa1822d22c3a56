"""Paged feeds: the URL of page N, and when to stop walking (pure).

WordPress serves older entries of any feed at ``?paged=N``, and many CMSs (WordPress
with pretty permalinks, Ghost, Hugo themes) at ``/page/N/``. Page 1 is the feed itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PageStyle = Literal["query", "path"]
PAGE_STYLES: tuple[PageStyle, ...] = ("query", "path")
StopReason = Literal["older_than_since", "repeated_page", "no_more_pages", "empty_page", "limit"]


def page_url(feed_url: str, style: PageStyle, page: int) -> str:
    """The URL of page ``page`` (1 = the feed itself) in the given paging style."""
    if page <= 1:
        return feed_url
    parts = urlsplit(feed_url)
    if style == "query":
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "paged"]
        query.append(("paged", str(page)))
        return urlunsplit(parts._replace(query=urlencode(query)))
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit(parts._replace(path=f"{path}page/{page}/"))


def fingerprint(ids: Sequence[str]) -> str:
    """A short hash of a page's entry ids, to notice a server repeating a page."""
    return hashlib.sha256("\x00".join(sorted(ids)).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PageSummary:
    """What one page held, as the stop rules need it."""

    page: int
    entries: int
    fingerprint: str
    newest_at: datetime | None
    oldest_at: datetime | None


def stop_after(
    page: PageSummary, previous: Sequence[PageSummary], since: datetime
) -> StopReason | None:
    """Why the walk ends after ``page`` (None: go on to the next page).

    An empty page ends it; so does a page equal to one already seen (servers that
    ignore an unknown page number serve page 1 again, or their last page for ever),
    and a page whose oldest entry is older than ``since`` (feeds list newest first).
    """
    if page.entries == 0:
        return "empty_page"
    if any(p.fingerprint == page.fingerprint for p in previous):
        return "repeated_page"
    if page.oldest_at is not None and page.oldest_at < since:
        return "older_than_since"
    return None
