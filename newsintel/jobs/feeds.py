"""Feed health and adding feeds to the feeds file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsintel.config import Settings
from newsintel.errors import NewsintelError
from newsintel.feeds.backoff import is_stale
from newsintel.feeds.sources import (
    append_sources,
    load_sources,
    read_opml,
    source_from_url,
    write_opml,
)
from newsintel.jobs.common import utcnow
from newsintel.jobs.publish import publishes
from newsintel.store.connect import file_path
from newsintel.store.feeds import fetch_health
from newsintel.store.snapshots import open_snapshot

if TYPE_CHECKING:
    from newsintel.feeds.sources import FeedSource


@dataclass(frozen=True)
class FeedHealth:
    """A configured feed and what the database knows about its fetching."""

    source_id: str
    name: str
    url: str
    tags: tuple[str, ...]
    status: str  # ok | not_modified | failed | never fetched
    last_success_at: datetime | None
    consecutive_failures: int
    next_check_at: datetime | None
    error: str | None
    articles: int
    stale: bool  # no success for days: flagged, never dropped


def feeds_health(
    settings: Settings, feeds_file: Path | None = None, *, now: Callable[[], datetime] = utcnow
) -> list[FeedHealth]:
    """Every configured feed with its fetch health (none yet if never ingested)."""
    sources = load_sources(feeds_file or Path(settings.feeds_file))
    health: dict[str, dict[str, Any]] = {}
    path = file_path(settings.db)
    if path is None or path.exists():
        with open_snapshot(settings.db) as con:
            health = fetch_health(con)
    rows = []
    for s in sources:
        h = health.get(s.source_id, {})
        fetched = h.get("last_fetch_at")
        last_success = h.get("last_success_at")
        rows.append(
            FeedHealth(
                s.source_id,
                s.name,
                s.url,
                s.tags,
                h.get("last_status") or "never fetched",
                last_success,
                int(h.get("consecutive_failures") or 0),
                h.get("next_check_at"),
                h.get("last_error"),
                int(h.get("articles") or 0),
                fetched is not None and is_stale(last_success, now()),
            )
        )
    return rows


@publishes
def add_feeds(
    settings: Settings, new: Sequence[FeedSource], feeds_file: Path | None = None
) -> list[FeedSource]:
    """Append feeds to the feeds file (duplicates by URL or name are skipped)."""
    return append_sources(feeds_file or Path(settings.feeds_file), new)


def add_feed_url(
    settings: Settings,
    url: str,
    name: str | None = None,
    tags: Sequence[str] = (),
    feeds_file: Path | None = None,
) -> FeedSource:
    """Append one feed, by URL (or local path), to the feeds file; an error if it is there."""
    source = source_from_url(url, name, tags)
    feeds_file = feeds_file or Path(settings.feeds_file)
    if not add_feeds(settings, [source], feeds_file):
        raise NewsintelError(f"'{source.name}' ({source.url}) is already in {feeds_file}")
    return source


def import_opml(
    settings: Settings, opml_file: Path, feeds_file: Path | None = None
) -> tuple[list[FeedSource], list[FeedSource]]:
    """Append every feed of an OPML file to the feeds file: (found, added)."""
    found = read_opml(opml_file)
    return found, add_feeds(settings, found, feeds_file)


def export_opml(settings: Settings, opml_file: Path, feeds_file: Path | None = None) -> int:
    """Write the configured feeds as OPML; how many were written."""
    sources = load_sources(feeds_file or Path(settings.feeds_file))
    write_opml(sources, opml_file)
    return len(sources)
