"""Plain records passed between steps (feeds -> store, store -> app/digest).

They carry no behaviour and import nothing from other newsintel modules, so any step
can take them in or give them out without reaching sideways.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Article:
    """One story ready to store; mirrors the ``articles`` table.

    Timestamps are naive datetimes in UTC. ``story_id`` equals ``article_id`` unless the
    article was recognised as a copy of an earlier story; ``parent_id`` is the id of the
    newsletter issue the story was split from, if any. An issue itself is kept with
    ``is_issue`` set and is neither embedded nor counted: its stories are.
    """

    article_id: str
    source_id: str
    story_id: str
    parent_id: str | None
    guid: str | None
    url: str | None
    title: str
    text: str
    published_at: datetime
    published_estimated: bool
    fetched_at: datetime
    content_hash: str
    is_issue: bool = False  # a newsletter issue whose stories are stored separately
    # Normalised title matched across sources to group syndicated copies; None if too short.
    title_key: str | None = None
    # Where the article came from: feed, archive, gdelt, import, mail or gdelt-gkg (ORIGINS).
    origin: str = "feed"
    # True when the source gave no title and it was made from the URL slug.
    title_derived: bool = False
    # The canonical URL (feeds.identity.canonical_url): a second identity key. The same
    # page seen by a feed (GUID id) and by a backfill (URL id) is one story through it.
    url_key: str | None = None


# Every value of Article.origin, in the order the app lists them.
ORIGINS = ("feed", "archive", "gdelt", "import", "mail", "gdelt-gkg")


@dataclass(frozen=True)
class SourceUpdate:
    """The fetch state of one feed after a fetch attempt; mirrors ``sources`` columns."""

    source_id: str
    status: str  # ok | not_modified | failed
    fetched_at: datetime
    http_status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    new_url: str | None = None  # set after a permanent redirect
    next_check_at: datetime | None = None


@dataclass(frozen=True)
class SourceState:
    """What the store knows about a feed before fetching it again."""

    source_id: str
    url: str
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    next_check_at: datetime | None
    last_success_at: datetime | None


@dataclass(frozen=True)
class ThemeDefinition:
    """A tracked theme as users define it in themes.toml."""

    theme_id: str
    label: str
    description: str
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    threshold: float = 0.35
    # The theme's query for the GDELT DOC API (`newsintel backfill gdelt`); None: skipped.
    gdelt_query: str | None = None
    # GKG theme codes (ENV_MINING...) that also admit a GKG row (`backfill gkg`).
    gkg_themes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeriesMeta:
    """Metadata of a price or attention series."""

    series_id: str
    kind: str  # price | attention
    unit: str = ""
    currency: str = ""
    origin: str = ""
