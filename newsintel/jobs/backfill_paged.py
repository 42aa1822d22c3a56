"""Archive backfill, paged feed: page N of a feed at ``?paged=N`` or ``/page/N/``.

Part of ``newsintel backfill archive``. Walked until entries are older than ``since``,
a page repeats, or there are no more pages. Its entries go through the feed
parse/normalise path, so they get the very ids the feed gives them; each page's state
commits with its articles, so a re-run walks stored pages without fetching them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from newsintel.backfill.paged import PageStyle, PageSummary, fingerprint, page_url, stop_after
from newsintel.backfill.polite import PoliteFetcher, is_denied
from newsintel.jobs import utcnow
from newsintel.models import Article
from newsintel.store import open_db
from newsintel.store.archive import PageState, UrlState

if TYPE_CHECKING:
    from newsintel.jobs.backfill_archive import ArchiveRun

# Safety stop: a server that pages for ever.
MAX_PAGES = 5_000


@dataclass(frozen=True)
class _Page:
    summary: PageSummary
    articles: tuple[Article, ...]
    url: str


async def _fetch_page(
    run: ArchiveRun, fetcher: PoliteFetcher, url: str, number: int
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
    run: ArchiveRun, fetcher: PoliteFetcher, first: PageSummary
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


async def walk_paged(run: ArchiveRun, fetcher: PoliteFetcher) -> tuple[bool, str]:
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
    run: ArchiveRun,
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


async def _store_page(run: ArchiveRun, page: _Page, style: str) -> None:
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
