"""`newsintel backfill archive`: an outlet's history from its paged feed and sitemaps.

Composes the backfill steps (``newsintel.backfill``: robots, paged, sitemaps, extract,
polite) with the store (``newsintel.store.archive``). Two ways into an outlet's past:

1. The paged feed: page N of the feed at ``?paged=N`` or ``/page/N/``, walked until
   entries are older than ``since``, a page repeats, or there are no more pages. Its
   entries go through the feed parse/normalise path, so they get the very ids the feed
   gives them.
2. Sitemaps, when the paged feed did not reach back to ``since`` (none, or it ended
   early): robots.txt Sitemap lines, else the usual sitemap locations; indexes and
   gzip are followed, pages outside the window (by publication date, URL date or
   lastmod) are left out, and each remaining article page is fetched and extracted.

Resumable: a page's state row commits with its articles (see ``store.archive``), so a
killed run re-run fetches only what is not yet stored.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from newsintel.backfill.extract import ExtractedPage, extract_page, extract_pages
from newsintel.backfill.paged import PageStyle, PageSummary, fingerprint, page_url, stop_after
from newsintel.backfill.polite import PoliteFetcher, is_denied
from newsintel.backfill.sitemaps import (
    WELL_KNOWN_SITEMAPS,
    SitemapEntry,
    child_may_hold,
    date_in_url,
    page_verdict,
    parse_sitemap,
)
from newsintel.config import Settings
from newsintel.errors import ConfigError, FeedError, ParseError
from newsintel.feeds.sources import FeedSource, is_http_url, slugify
from newsintel.jobs import NoProgress, Progress, _exit_with_parent, utcnow
from newsintel.models import Article
from newsintel.store import migrate, open_db
from newsintel.store.archive import PageState, UrlState

# Safety stops: a server that pages for ever, or a sitemap index that never ends.
MAX_PAGES = 5_000
MAX_SITEMAPS = 2_000
# Article pages stored per transaction: few commits, and a kill loses one batch at most.
STORE_BATCH = 200
STORE_EVERY_S = 2.0
# From this many article pages on, extraction runs in worker processes next to fetching.
PARALLEL_EXTRACT_MIN_PAGES = 200
EXTRACT_CHUNK = 16
# URL states a re-run never fetches again. 'failed' waits for its next_try_at;
# 'out_of_range' is fetched again only if a later window covers its date.
_FINAL = frozenset({"stored", "non_html", "empty", "denied", "gone", "undated"})
_GONE = frozenset({404, 410})
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
class _Run:
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
    from newsintel.store.archive import page_states, stored_article_urls, url_attempts, url_states
    from newsintel.store.connect import transaction
    from newsintel.store.feeds import upsert_outlets, upsert_sources

    started = time.monotonic()
    until = until or utcnow().date()
    if since > until:
        raise ConfigError(f"--since {since} is after --until {until}")
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
        run = _Run(
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
    asyncio.run(_backfill(run))
    report.seconds = time.monotonic() - started
    return report


async def _backfill(run: _Run) -> None:
    from newsintel.feeds.fetch import make_client

    async with make_client(run.settings) as client:
        fetcher = PoliteFetcher(client, run.settings)
        try:
            paged_ok, paged_note = await _walk_paged(run, fetcher)
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


# --- paged feed --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Page:
    summary: PageSummary
    articles: tuple[Article, ...]
    url: str


async def _fetch_page(
    run: _Run, fetcher: PoliteFetcher, url: str, number: int
) -> tuple[_Page | None, str]:
    """One feed page parsed, or None and why not (HTTP status or parse error)."""
    from newsintel.feeds.body import articles_from_body

    result = await fetcher.fetch(url)
    if is_denied(result):
        return None, "robots.txt forbids it"
    if result.status != "ok" or result.body is None:
        return None, result.error or "no body"
    parsed = articles_from_body(run.source, result.body, result.headers, result.final_url, utcnow())
    if parsed.error is not None:
        return None, parsed.error
    articles = tuple(replace(a, origin="archive") for a in parsed.articles)
    dated = [a.published_at for a in articles if not a.published_estimated and not a.is_issue]
    summary = PageSummary(
        page=number,
        entries=len(articles),
        fingerprint=fingerprint([a.article_id for a in articles]),
        newest_at=max(dated, default=None),
        oldest_at=min(dated, default=None),
    )
    return _Page(summary, articles, url), ""


async def _detect_style(
    run: _Run, fetcher: PoliteFetcher, first: PageSummary
) -> tuple[PageStyle | None, _Page | None, str]:
    """Which paging style the server answers with a new page 2, and that page."""
    notes: list[str] = []
    styles: tuple[tuple[PageStyle, str], ...] = (("query", "?paged=2"), ("path", "/page/2/"))
    for style, label in styles:
        page, why = await _fetch_page(run, fetcher, page_url(run.source.url, style, 2), 2)
        if (
            page is not None
            and page.summary.entries
            and page.summary.fingerprint != (first.fingerprint)
        ):
            return style, page, ""
        notes.append(f"{label} ({why or 'same entries as page 1'})")
    return None, None, "no paged feed: tried " + " and ".join(notes)


async def _walk_paged(run: _Run, fetcher: PoliteFetcher) -> tuple[bool, str]:
    """Walk the paged feed; (whether the feed itself was usable, a note if not)."""
    report = run.report
    style: PageStyle | None = None
    for number, state in run.pages_done.items():
        if number >= 2 and state.style in ("query", "path"):
            style = "query" if state.style == "query" else "path"
    previous: list[PageSummary] = []
    number = 1
    while number <= MAX_PAGES:
        done = run.pages_done.get(number)
        if done is not None and (number == 1 or done.style == style):
            summary = PageSummary(
                number, done.entries, done.fingerprint, done.newest_at, done.oldest_at
            )
            report.pages_already_done += 1
        else:
            page, why = await _next_page(run, fetcher, number, style, previous)
            if page is None:
                if number == 1:
                    note = f"the feed {run.source.url} is unusable: {why}"
                    run.problem(note)
                    return False, note
                report.paged_stop = "no_more_pages"
                if number == 2 and style is None:
                    # Page 1 is stored, but there is no paging: not a paged feed.
                    report.paged_stop = None
                    return False, why
                if why and "HTTP 404" not in why and "HTTP 410" not in why:
                    run.problem(f"page {number} of {run.source.url}: {why}")
                return True, ""
            if number == 2 and style is None:
                style = "query" if "paged=" in page.url else "path"
            report.paged_style = style
            await _store_page(run, page, style or "query")
            summary = page.summary
            report.pages_fetched += 1
        stop = stop_after(summary, previous, run.since)
        if stop is not None:
            report.paged_stop = stop
            return True, ""
        previous.append(summary)
        number += 1
    report.paged_stop = "limit"
    return True, ""


async def _next_page(
    run: _Run,
    fetcher: PoliteFetcher,
    number: int,
    style: PageStyle | None,
    previous: list[PageSummary],
) -> tuple[_Page | None, str]:
    if number == 1:
        return await _fetch_page(run, fetcher, run.source.url, 1)
    if style is None:
        found, page, why = await _detect_style(run, fetcher, previous[0])
        return (page, "") if found else (None, why)
    return await _fetch_page(run, fetcher, page_url(run.source.url, style, number), number)


async def _store_page(run: _Run, page: _Page, style: str) -> None:
    from newsintel.feeds.identity import canonical_url
    from newsintel.store.archive import save_feed_page

    wanted = [
        a for a in page.articles if not a.published_estimated and run.in_window(a.published_at)
    ]
    states = [
        UrlState(
            canonical_url(a.url), "stored", article_id=a.article_id, published_at=a.published_at
        )
        for a in wanted
        if a.url
    ]
    state = PageState(
        page.summary.page,
        page.url,
        style,
        page.summary.entries,
        page.summary.newest_at,
        page.summary.oldest_at,
        page.summary.fingerprint,
    )

    def write() -> int:
        with open_db(run.settings.db) as con:
            return save_feed_page(
                con, run.source.source_id, run.source.url, state, wanted, states, utcnow()
            )

    async with run.store_lock:
        run.report.new_articles += await asyncio.to_thread(write)
    run.stored_urls.update(s.url for s in states)


# --- sitemaps ----------------------------------------------------------------------------


async def _from_sitemaps(run: _Run, fetcher: PoliteFetcher) -> bool:
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
    await _backfill_pages(run, fetcher, pages)
    return True


def _wanted_pages(run: _Run, pages: dict[str, SitemapEntry]) -> list[SitemapEntry]:
    """Pages to fetch: inside the window, not yet done, not already stored."""
    from newsintel.feeds.identity import canonical_url

    report = run.report
    report.urls_listed = len(pages)
    now = utcnow()
    since, until = run.since.date(), (run.until_end - timedelta(days=1)).date()
    wanted: list[SitemapEntry] = []
    seen: set[str] = set()
    for entry in pages.values():
        key = canonical_url(entry.loc)
        if key in seen or page_verdict(entry, since, until) == "out":
            continue
        seen.add(key)
        report.urls_in_window += 1
        state = run.url_states.get(key)
        if key in run.stored_urls or (state is not None and _is_done(run, state, now)):
            report.urls_already_done += 1
            continue
        wanted.append(replace(entry, loc=key))
    return wanted


def _is_done(run: _Run, state: UrlState, now: datetime) -> bool:
    if state.status in _FINAL:
        return True
    if state.status == "out_of_range":
        return state.published_at is None or not run.in_window(state.published_at)
    return state.next_try_at is not None and state.next_try_at > now


@contextmanager
def _extract_pool(pages: int) -> Iterator[tuple[Executor | None, int]]:
    """Worker processes for extraction and their number, or (None, 0): extract inline
    (small runs, one core).

    Spawned, not forked, like ingest's parse pool: the parent runs an event loop and
    DuckDB threads, which a fork would copy mid-flight.
    """
    workers = min(4, os.cpu_count() or 1)
    if pages < PARALLEL_EXTRACT_MIN_PAGES or workers < 2:
        yield None, 0
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        yield pool, workers
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


async def _backfill_pages(
    run: _Run, fetcher: PoliteFetcher, pages: dict[str, SitemapEntry]
) -> None:
    wanted = _wanted_pages(run, pages)
    if not wanted:
        return
    hosts = {urlsplit(e.loc).netloc for e in wanted}
    workers = min(32, max(1, run.settings.archive_per_host) * len(hosts))
    todo: asyncio.Queue[SitemapEntry] = asyncio.Queue()
    for entry in wanted:
        todo.put_nowait(entry)
    pending: list[tuple[Article | None, UrlState]] = []
    last_flush = time.monotonic()
    run.progress.start(f"archive pages of {run.source.name}", len(wanted))
    loop = asyncio.get_running_loop()

    async def flush() -> None:
        nonlocal pending, last_flush
        batch, pending = pending, []
        last_flush = time.monotonic()
        if batch:
            await _store_pages(run, batch)

    with _extract_pool(len(wanted)) as (pool, pool_size):
        # Extraction overlaps fetching: the next pages are requested while earlier ones
        # are extracted in the pool. Pages go over in chunks: each hand-over wakes the
        # pool's threads, and per page those wake-ups held up the event loop (GIL
        # hand-offs) more than the extraction itself cost. A few chunks per worker in
        # flight keep the pool busy and bound the bodies held in memory.
        in_flight = asyncio.Semaphore(2 * max(1, pool_size))
        extracting: set[asyncio.Task[None]] = set()
        chunk: list[tuple[SitemapEntry, Any]] = []

        async def done(entry: SitemapEntry, result: Any, extracted: ExtractedPage | None) -> None:
            pending.append(_outcome(run, entry, result, extracted))
            run.progress.advance()
            if len(pending) >= STORE_BATCH or time.monotonic() - last_flush > STORE_EVERY_S:
                await flush()

        async def extract(batch: list[tuple[SitemapEntry, Any]]) -> None:
            items = [(r.final_url, r.body, r.headers) for _entry, r in batch]
            try:
                try:
                    pages = await loop.run_in_executor(pool, extract_pages, items)
                except Exception:  # a broken pool (a worker killed): extract here instead
                    pages = extract_pages(items)
                for (entry, result), page in zip(batch, pages, strict=True):
                    await done(entry, result, page)
            finally:
                in_flight.release()

        async def submit() -> None:
            nonlocal chunk
            batch, chunk = chunk, []
            if batch:
                await in_flight.acquire()
                task = asyncio.create_task(extract(batch))
                extracting.add(task)
                task.add_done_callback(extracting.discard)

        async def work() -> None:
            while True:
                try:
                    entry = todo.get_nowait()
                except asyncio.QueueEmpty:
                    return
                result = await fetcher.fetch(entry.loc)
                run.report.article_pages_fetched += 0 if is_denied(result) else 1
                if result.status != "ok" or result.body is None:
                    await done(entry, result, None)
                elif pool is None:
                    page = extract_page(result.final_url, result.body, result.headers)
                    await done(entry, result, page)
                else:
                    chunk.append((entry, result))
                    if len(chunk) >= EXTRACT_CHUNK:
                        await submit()

        try:
            await asyncio.gather(*(work() for _ in range(workers)))
            await submit()
            await asyncio.gather(*list(extracting))
        finally:
            # Whatever was fetched and extracted is kept, even when a worker failed or
            # we are being cancelled (Ctrl-C): it would otherwise be fetched again.
            for task in list(extracting):
                task.cancel()
            await flush()
            run.progress.finish()


def _outcome(
    run: _Run, entry: SitemapEntry, result: Any, extracted: ExtractedPage | None
) -> tuple[Article | None, UrlState]:
    """The article (if any) and the URL state one fetched page comes to."""
    from newsintel.feeds.backoff import next_check_at
    from newsintel.feeds.normalise import article_from_fields, title_from_url

    url = entry.loc
    if is_denied(result):
        run.problem(f"denied    {url}: robots.txt forbids this path")
        return None, UrlState(url, "denied", error="robots.txt forbids this path")
    if extracted is None:
        if result.http_status in _GONE:
            run.problem(f"gone      {url}: {result.error}")
            return None, UrlState(url, "gone", result.http_status, result.error)
        attempts = run.attempts.get(url, 0) + 1
        retry_at = next_check_at(
            utcnow(),
            status="failed",
            consecutive_failures=attempts,
            retry_after_s=result.retry_after_s,
            min_interval_minutes=0,
            rng=run.rng,
        )
        run.problem(f"failed    {url}: {result.error}")
        return None, UrlState(url, "failed", result.http_status, result.error, next_try_at=retry_at)
    if extracted.status != "ok":
        run.problem(f"{extracted.status:<9} {url}: {extracted.error}")
        return None, UrlState(url, extracted.status, result.http_status, extracted.error)
    day = extracted.published or entry.published or date_in_url(url)
    if day is None:
        run.problem(f"undated   {url}: no publication date on the page, in the sitemap or URL")
        return None, UrlState(url, "undated", result.http_status, "no publication date")
    published = datetime.combine(day, datetime.min.time())
    if not run.in_window(published):
        return None, UrlState(url, "out_of_range", result.http_status, published_at=published)
    title = extracted.title or title_from_url(url)
    article = article_from_fields(
        source_id=run.source.source_id,
        url=url,
        title=title,
        text=extracted.text,
        published_at=published,
        fetched_at=utcnow(),
        origin="archive",
        title_derived=not extracted.title and bool(title),
    )
    if article is None:
        return None, UrlState(url, "empty", result.http_status, "no title and no text")
    return article, UrlState(
        url, "stored", result.http_status, article_id=article.article_id, published_at=published
    )


async def _store_pages(run: _Run, batch: list[tuple[Article | None, UrlState]]) -> None:
    from newsintel.store.archive import save_archive_pages

    articles = [article for article, _state in batch if article is not None]
    states = [state for _article, state in batch]

    def write() -> int:
        with open_db(run.settings.db) as con:
            return save_archive_pages(con, run.source.source_id, articles, states, utcnow())

    async with run.store_lock:
        run.report.new_articles += await asyncio.to_thread(write)
    for state in states:
        run.report.statuses[state.status] = run.report.statuses.get(state.status, 0) + 1
        if state.status == "stored":
            run.stored_urls.add(state.url)
