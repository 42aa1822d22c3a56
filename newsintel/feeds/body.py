"""One fetched feed body -> its articles: parse, then normalise.

This is the unit of work a parse worker process runs, so it takes and returns plain
values only and imports nothing beyond the parse and normalise steps (no HTTP client,
no database): a spawned worker starts in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from newsintel.errors import FeedError
from newsintel.feeds.normalise import normalise_feed
from newsintel.feeds.parse import parse_feed
from newsintel.feeds.sources import FeedSource
from newsintel.models import Article


@dataclass(frozen=True)
class BodyArticles:
    """A body's articles and bozo warning, or why it is not a usable feed."""

    articles: tuple[Article, ...] = ()
    warning: str | None = None
    error: str | None = None


def articles_from_body(
    source: FeedSource,
    body: bytes,
    headers: Mapping[str, str],
    base_url: str,
    fetched_at: datetime,
) -> BodyArticles:
    """Parse and normalise one fetched body; a feed-level problem becomes ``error``."""
    try:
        feed = parse_feed(body, headers, base_url)
        return BodyArticles(tuple(normalise_feed(source, feed, fetched_at)), feed.bozo_reason)
    except FeedError as exc:
        return BodyArticles(error=str(exc))
