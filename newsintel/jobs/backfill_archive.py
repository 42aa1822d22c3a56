"""`newsintel backfill archive`: an outlet's history from its paged feed and sitemaps.

Composes the backfill steps (``newsintel.backfill``: robots, paged, sitemaps, extract,
polite) with the store (``newsintel.store.archive``). Two ways into an outlet's past,
each in its own module:

1. The paged feed (``jobs.backfill_paged``): page N of the feed at ``?paged=N`` or
   ``/page/N/``, walked until entries are older than ``since``, a page repeats, or
   there are no more pages. Its entries go through the feed parse/normalise path, so
   they get the very ids the feed gives them.
2. Sitemaps, when the paged feed did not reach back to ``since`` (none, or it ended
   early): robots.txt Sitemap lines, else the usual sitemap locations; indexes and
   gzip are followed (here), pages outside the window (by publication date, URL date
   or lastmod) are left out, and each remaining article page is fetched and extracted
   (``jobs.backfill_pages``).

Resumable: a page's state row commits with its articles (see ``store.archive``), so a
killed run re-run fetches only what is not yet stored.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from newsintel.backfill.polite import PoliteFetcher, is_denied
from newsintel.backfill.sitemaps import (
    WELL_KNOWN_SITEMAPS,
    SitemapEntry,
    child_may_hold,
    parse_sitemap,
)
from newsintel.config import Settings
from newsintel.errors import ConfigError, FeedError, ParseError
from newsintel.feeds.sources import FeedSource, is_http_url, slugify
from newsintel.jobs import NoProgress, Progress, utcnow
from newsintel.jobs.backfill_paged import walk_paged
from newsintel.jobs.backfill_pages import backfill_pages
from newsintel.jobs.publish import publishes
from newsintel.store import migrate, open_db
from newsintel.store.archive import PageState, UrlState

# Safety stop: a sitemap index that never ends.
MAX_SITEMAPS = 2_000
PROBLEM_STATUSES = ("non_html", "empty", "denied", "gone", "failed", "undated")


@dataclass
class ArchiveReport:
    """What one archive backfill did; ``problems`` has one line per thing that failed."""

    feed: str
    source_id: str
    since: date
    until: date
    paged_style: str | None = None
    pages_fetched: int = 0
    pages_already_done: int = 0
    paged_stop: str | None = None
    paged_note: str | None = None  # why the feed could not be paged, if it could not
    sitemaps_read: list[str] = field(default_factory=list)
    sitemaps_tried: list[str] = field(default_factory=list)
    urls_listed: int = 0
    urls_in_window: int = 0
    urls_already_done: int = 0
    article_pages_fetched: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    new_articles: int = 0
    requests: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (dates as ISO strings)."""
        data = asdict(self)
        data["since"] = self.since.isoformat()
        data["until"] = self.until.isoformat()
        return data


def parse_day(text: str, what: str) -> date:
    """A YYYY-MM-DD command-line date; ConfigError naming ``what`` otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{what} must be a date as YYYY-MM-DD, got {text!r}") from None


def resolve_feed(feed: str, feeds_file: Path) -> tuple[FeedSource, bool]:
    """The source to backfill: a configured feed by name (or slug), or by URL.

    A URL that is no configured feed becomes an outlet named after its host. Returns
    the source and whether it is a configured feed. ConfigError for anything else.
    """
    from newsintel.feeds.sources import load_sources

    sources = load_sources(feeds_file) if feeds_file.exists() else []
    if is_http_url(feed):
        for source in sources:
            if source.url == feed:
                return source, True
        host = (urlsplit(feed).hostname or "").lower().removeprefix("www.")
        return FeedSource(slugify(host), host, feed), False
    wanted = slugify(feed)
    for source in sources:
        if source.name == feed or source.source_id == wanted:
            if source.is_local:
                raise ConfigError(
                    f"feed '{feed}' is a local file; only http(s) sites have archives"
                )
            return source, True
    raise ConfigError(f"unknown feed '{feed}': not a feed name in {feeds_file} nor an http(s) URL")


def _site_root(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))


@dataclass
class ArchiveRun:
    """One archive backfill's settings, what is already done, and its report."""

    settings: Settings
    source: FeedSource
    since: datetime
    until_end: datetime  # exclusive: the day after --until
    report: ArchiveReport
    progress: Progress
    rng: random.Random
    url_states: dict[str, UrlState]
    attempts: dict[str, int]
    stored_urls: set[str]
    pages_done: dict[int, PageState]
    store_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def in_window(self, moment: datetime) -> bool:
        return self.since <= moment < self.until_end

    def problem(self, line: str) -> None:
        self.report.problems.append(line)


@publishes
def backfill_archive(
    settings: Settings,
    feed: str,
    since: date,
    until: date | None = None,
    *,
    feeds_file: Path | None = None,
    progress: Progress | None = None,
    rng: random.Random | None = None,
) -> ArchiveReport:
    """Backfill one outlet's stories published in [since, until] (until: today).

    Raises ConfigError for an unknown feed or ``since`` after ``until``, and FeedError
    when the site has neither a paged feed nor a sitemap (naming what was tried).
    Everything else (a denied path, a non-HTML page, a failed fetch) is a line in
    ``report.problems`` while the rest goes on.
    """
    from newsintel.feeds.identity import canonical_url
    from newsintel.store.archive import (
        finish_run,
        forget_run,
        page_states,
        start_run,
        stored_article_urls,
        url_attempts,
        url_states,
    )
    from newsintel.store.connect import transaction
    from newsintel.store.feeds import upsert_outlets, upsert_sources

    started = time.monotonic()
    until = until or utcnow().date()
    if since > until:
        raise ConfigError(f"since {since} is after until {until}")
    source, configured = resolve_feed(feed, feeds_file or Path(settings.feeds_file))
    report = ArchiveReport(feed, source.source_id, since, until)
    with open_db(settings.db) as con:
        migrate(con)
        with transaction(con):
            if configured:
                upsert_sources(
                    con,
                    [
                        (s.source_id, s.name, s.url, s.tags, s.min_interval_minutes)
                        for s in [source]
                    ],
                )
            else:
                upsert_outlets(con, [(source.source_id, source.name, _site_root(source.url))])
            # Unfinished until finish_run below: the app says so and names this command.
            start_run(con, source.source_id, feed, since, until, utcnow())
        run = ArchiveRun(
            settings=settings,
            source=source,
            since=datetime.combine(since, datetime.min.time()),
            until_end=datetime.combine(until + timedelta(days=1), datetime.min.time()),
            report=report,
            progress=progress or NoProgress(),
            rng=rng or random.Random(),
            url_states=url_states(con, source.source_id),
            attempts=url_attempts(con, source.source_id),
            stored_urls={canonical_url(u) for u in stored_article_urls(con, source.source_id)},
            pages_done=page_states(con, source.source_id, source.url),
        )
    try:
        asyncio.run(_backfill(run))
    except FeedError:
        # No paged feed and no sitemap: nothing was stored, so there is nothing to resume.
        with open_db(settings.db) as con:
            forget_run(con, source.source_id, since, until)
        raise
    with open_db(settings.db) as con:
        finish_run(con, source.source_id, since, until, utcnow())
    report.seconds = time.monotonic() - started
    return report


async def _backfill(run: ArchiveRun) -> None:
    from newsintel.feeds.fetch import make_client

    async with make_client(run.settings) as client:
        fetcher = PoliteFetcher(client, run.settings)
        try:
            paged_ok, paged_note = await walk_paged(run, fetcher)
            run.report.paged_note = paged_note or None
            if run.report.paged_stop == "older_than_since":
                return  # the feed itself reached back past --since
            found = await _from_sitemaps(run, fetcher)
            if not paged_ok and not found:
                tried = ", ".join(run.report.sitemaps_tried) or "none"
                rules = await fetcher.robots(run.source.url)
                if rules.status == "unreachable":
                    tried += " (robots.txt unreachable: nothing may be fetched, RFC 9309)"
                raise FeedError(
                    f"no paged feed and no sitemap for {run.source.url}: {paged_note}; "
                    f"sitemaps tried: {tried}"
                )
        finally:
            run.report.requests = fetcher.requests


async def _from_sitemaps(run: ArchiveRun, fetcher: PoliteFetcher) -> bool:
    """Read the site's sitemaps and backfill their pages; False when it has none."""
    site = _site_root(run.source.url)
    rules = await fetcher.robots(site)
    listed = rules.sitemaps(site)
    well_known = [site.rstrip("/") + path for path in WELL_KNOWN_SITEMAPS]
    queue = listed or list(well_known)
    from_robots = bool(listed)
    seen: set[str] = set()
    pages: dict[str, SitemapEntry] = {}
    since = run.since.date()
    while queue and len(seen) < MAX_SITEMAPS:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        result = await fetcher.fetch(url)
        if is_denied(result):
            run.report.sitemaps_tried.append(f"{url} (robots.txt forbids it)")
            run.problem(f"robots.txt forbids the sitemap {url}")
            continue
        if result.status != "ok" or result.body is None:
            run.report.sitemaps_tried.append(f"{url} ({result.error})")
            if from_robots or run.report.sitemaps_read:
                run.problem(f"sitemap {url}: {result.error}")
            continue
        try:
            sitemap = parse_sitemap(result.body, result.final_url, run.settings.fetch_max_bytes)
        except ParseError as exc:
            run.report.sitemaps_tried.append(f"{url} ({exc})")
            if from_robots or run.report.sitemaps_read:
                run.problem(f"sitemap {url}: {exc}")
            continue
        run.report.sitemaps_read.append(url)
        if sitemap.kind == "index":
            queue.extend(e.loc for e in sitemap.entries if child_may_hold(e, since))
        else:
            for entry in sitemap.entries:
                pages.setdefault(entry.loc, entry)
        if not from_robots and len(run.report.sitemaps_read) == 1:
            # The first well-known location that answers is the site's sitemap; the
            # others usually repeat it (WordPress serves several names for one tree).
            queue = [u for u in queue if u not in well_known]
    if not run.report.sitemaps_read:
        return False
    await backfill_pages(run, fetcher, pages)
    return True
