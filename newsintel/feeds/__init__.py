"""The feed layer: sources -> fetch -> parse -> normalise, with no database access.

``jobs.py`` composes these steps; the store persists what they return.
"""

from __future__ import annotations

from newsintel.feeds.backoff import is_stale, next_check_at
from newsintel.feeds.clean import fold_whitespace, html_to_text
from newsintel.feeds.fetch import (
    FetchResult,
    FetchState,
    fetch_all,
    fetch_all_sync,
    fetch_feed,
    make_client,
)
from newsintel.feeds.identity import (
    article_id,
    canonical_url,
    content_hash,
    is_trustworthy_guid,
    normalise_title,
)
from newsintel.feeds.newsletter import split_newsletter
from newsintel.feeds.normalise import normalise_feed
from newsintel.feeds.parse import ParsedEntry, ParsedFeed, parse_feed
from newsintel.feeds.sources import FeedSource, load_sources, read_opml, slugify, write_opml

__all__ = [
    "FeedSource",
    "FetchResult",
    "FetchState",
    "ParsedEntry",
    "ParsedFeed",
    "article_id",
    "canonical_url",
    "content_hash",
    "fetch_all",
    "fetch_all_sync",
    "fetch_feed",
    "fold_whitespace",
    "html_to_text",
    "is_stale",
    "is_trustworthy_guid",
    "load_sources",
    "make_client",
    "next_check_at",
    "normalise_feed",
    "normalise_title",
    "parse_feed",
    "read_opml",
    "slugify",
    "split_newsletter",
    "write_opml",
]
