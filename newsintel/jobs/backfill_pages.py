"""Archive backfill, article pages: fetch each sitemap page, extract it, store it.

Part of ``newsintel backfill archive`` (``jobs.backfill_archive`` reads the sitemaps and
hands the listed pages here). Fetching is paced by the ``PoliteFetcher``; extraction of
big runs happens in ingest's worker pool while the next pages are fetched; articles and
each page's state commit together (``store.archive``), so a killed run re-run fetches
only what is not yet stored.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from newsintel.backfill.extract import ExtractedPage, extract_page, extract_pages
from newsintel.backfill.polite import PoliteFetcher, is_denied
from newsintel.backfill.sitemaps import SitemapEntry, date_in_url, page_verdict
from newsintel.jobs import _parse_pool, utcnow
from newsintel.models import Article
from newsintel.store import connect
from newsintel.store.archive import UrlState
from newsintel.store.connect import Connection

if TYPE_CHECKING:
    from newsintel.jobs.backfill_archive import ArchiveRun

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


def _wanted_pages(run: ArchiveRun, pages: dict[str, SitemapEntry]) -> list[SitemapEntry]:
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


def _is_done(run: ArchiveRun, state: UrlState, now: datetime) -> bool:
    if state.status in _FINAL:
        return True
    if state.status == "out_of_range":
        return state.published_at is None or not run.in_window(state.published_at)
    return state.next_try_at is not None and state.next_try_at > now


async def backfill_pages(
    run: ArchiveRun, fetcher: PoliteFetcher, pages: dict[str, SitemapEntry]
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

    writer = _Writer(run.settings.db)

    async def flush(*, last: bool = False) -> None:
        nonlocal pending, last_flush
        batch, pending = pending, []
        # A batch that filled up before STORE_EVERY_S: the run is fast, keep the file open.
        fast = len(batch) >= STORE_BATCH and time.monotonic() - last_flush <= STORE_EVERY_S
        last_flush = time.monotonic()
        if batch:
            await _store_pages(run, writer, batch, keep_open=fast and not last)
        elif last:
            writer.close()

    # Ingest's pool of spawned workers (they exit with the parent), for big runs only:
    # below PARALLEL_EXTRACT_MIN_PAGES starting fresh interpreters costs more than it saves.
    big = len(wanted) >= PARALLEL_EXTRACT_MIN_PAGES
    with _parse_pool(len(wanted) if big else 0) as pool:
        pool_size = (os.cpu_count() or 1) if pool is not None else 0
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
            await flush(last=True)
            run.progress.finish()


def _outcome(
    run: ArchiveRun, entry: SitemapEntry, result: Any, extracted: ExtractedPage | None
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


class _Writer:
    """The database connection that stores article pages, batch after batch.

    Kept open from one batch to the next only while batches fill up fast: opening and
    closing the file (a checkpoint each time) then cost about as much CPU as the writes
    (py-spy on the archive benchmark). A slow, polite run closes it after every batch,
    so that the app and `newsintel sql` can open the database in between.
    """

    def __init__(self, db: str) -> None:
        self.db = db
        self.con: Connection | None = None

    def write(self, store: Callable[[Connection], int], *, keep_open: bool) -> int:
        if self.con is None:
            self.con = connect(self.db)
        try:
            return store(self.con)
        except BaseException:
            keep_open = False
            raise
        finally:
            if not keep_open:
                self.close()

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None


async def _store_pages(
    run: ArchiveRun,
    writer: _Writer,
    batch: list[tuple[Article | None, UrlState]],
    *,
    keep_open: bool,
) -> None:
    from newsintel.store.archive import save_archive_pages

    articles = [article for article, _state in batch if article is not None]
    states = [state for _article, state in batch]

    def write() -> int:
        return writer.write(
            lambda con: save_archive_pages(con, run.source.source_id, articles, states, utcnow()),
            keep_open=keep_open,
        )

    async with run.store_lock:
        run.report.new_articles += await asyncio.to_thread(write)
    for state in states:
        run.report.statuses[state.status] = run.report.statuses.get(state.status, 0) + 1
        if state.status == "stored":
            run.stored_urls.add(state.url)
