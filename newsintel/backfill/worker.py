"""Fetch one article page and extract it, inside a worker process.

A big archive backfill is CPU-bound: the HTTP request (httpx, h11, anyio) costs about
as much as a third of the extraction, and in the parent process it competed with the
event loop, DuckDB writes and the hand-over of every page body to the extraction pool.
Here the request and the extraction run in the same worker, so only the small extracted
page travels back. Pacing stays with the parent: it calls ``fetch_and_extract`` for one
URL only once ``PoliteFetcher`` has granted that request (robots.txt, per-host slots,
minimum interval, Crawl-delay, Retry-After), exactly as for a request it sends itself.
The request goes through ingest's ``fetch_feed`` and ``make_client``, so redirects, the
body cap, timeouts and error messages are the same as in the parent.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx

from newsintel.backfill.extract import ExtractedPage, extract_page
from newsintel.config import Settings
from newsintel.feeds.fetch import FetchResult, FetchState, fetch_feed, make_client
from newsintel.feeds.sources import FeedSource

# One event loop and one client per worker process, kept for its life so that
# connections to the host are reused (keep-alive) as they are in the parent.
_loop: asyncio.AbstractEventLoop | None = None
_client: httpx.AsyncClient | None = None


def _client_for(settings: Settings) -> tuple[asyncio.AbstractEventLoop, httpx.AsyncClient]:
    global _loop, _client
    if _loop is None or _client is None:
        _loop = asyncio.new_event_loop()
        _client = make_client(settings)
    return _loop, _client


def fetch_and_extract(url: str, settings: Settings) -> tuple[FetchResult, ExtractedPage | None]:
    """GET ``url`` and extract the page; the result comes back without its body.

    ``None`` for the page when the fetch did not succeed (the result says why).
    """
    loop, client = _client_for(settings)
    result = loop.run_until_complete(
        fetch_feed(client, FeedSource(url, url, url), FetchState(), settings)
    )
    if result.status != "ok" or result.body is None:
        return result, None
    page = extract_page(result.final_url, result.body, result.headers)
    # The parent needs the outcome, not the bytes: sending them back would cost the
    # very pickling this module exists to avoid.
    return replace(result, body=b""), page
