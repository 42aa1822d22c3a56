"""Polite HTTP for backfills: robots.txt, one request at a time per host, a minimum
interval (at least the site's Crawl-delay) and Retry-After, over ingest's fetcher.

Every request goes through ``fetch_feed`` with ingest's client factory, so redirects,
the body size cap, timeouts and error messages are the same as for feeds. Waiting is
measured from the end of one request to the start of the next to the same host, so
the gaps the server sees are never shorter than the interval.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from newsintel.backfill.robots import RobotsRules, parse_robots, robots_url
from newsintel.config import Settings
from newsintel.feeds.fetch import FetchResult, FetchState, fetch_feed
from newsintel.feeds.sources import FeedSource

# A Retry-After up to this long is waited out inside the run; a longer one (or a third
# 429 in a row) leaves the URL failed, to be retried by a later run with ingest's backoff.
MAX_RETRY_AFTER_WAIT_S = 120.0
MAX_RETRIES = 2
_RETRY_STATUSES = frozenset({429, 503})


@dataclass
class _Host:
    slots: asyncio.Semaphore
    robots: RobotsRules | None = None
    robots_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0
    interval: float = 0.0


class PoliteFetcher:
    """Fetch URLs politely; one instance per backfill run (it owns the pacing state)."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self._hosts: dict[str, _Host] = {}
        self.requests = 0

    def _host(self, url: str) -> _Host:
        key = (urlsplit(url).netloc or "").lower()
        host = self._hosts.get(key)
        if host is None:
            per_host = max(1, self._settings.archive_per_host)
            host = _Host(asyncio.Semaphore(per_host), interval=self._settings.archive_min_interval)
            self._hosts[key] = host
        return host

    async def robots(self, url: str) -> RobotsRules:
        """The robots.txt rules of ``url``'s host, fetched once per run."""
        host = self._host(url)
        async with host.robots_lock:
            if host.robots is None:
                result = await self._get(robots_url(url))
                if result.status == "ok":
                    host.robots = parse_robots(result.body, self._settings.user_agent)
                elif result.http_status is not None and 400 <= result.http_status < 500:
                    host.robots = parse_robots(None, self._settings.user_agent, "missing")
                else:
                    # RFC 9309 section 2.3.1.4: an unreachable robots.txt (5xx, network)
                    # means complete disallow, until a later run can read it.
                    host.robots = parse_robots(
                        b"User-agent: *\nDisallow: /\n", self._settings.user_agent, "unreachable"
                    )
                delay = host.robots.crawl_delay
                if delay is not None:
                    host.interval = max(host.interval, delay)
            return host.robots

    async def fetch(self, url: str) -> FetchResult:
        """GET ``url`` unless robots.txt forbids it (then a failed result saying so).

        429 and 503 with a Retry-After up to ``MAX_RETRY_AFTER_WAIT_S`` are waited out
        and retried (at most ``MAX_RETRIES`` times); the wait also holds back every other
        request to that host, as the server asked.
        """
        rules = await self.robots(url)
        if not rules.allows(url):
            return _denied(url)
        result = await self._get(url)
        for _attempt in range(MAX_RETRIES):
            wait = result.retry_after_s
            if (
                result.http_status not in _RETRY_STATUSES
                or wait is None
                or wait > MAX_RETRY_AFTER_WAIT_S
            ):
                break
            host = self._host(url)
            host.next_start = max(host.next_start, time.monotonic() + wait)
            result = await self._get(url)
        return result

    async def _get(self, url: str) -> FetchResult:
        host = self._host(url)
        async with host.slots:
            # Claim the next start time before sleeping, so that with several slots per
            # host the starts are still spaced by the interval.
            now = time.monotonic()
            start = max(now, host.next_start)
            host.next_start = start + host.interval
            if start > now:
                await asyncio.sleep(start - now)
            try:
                self.requests += 1
                return await fetch_feed(
                    self._client, FeedSource(url, url, url), FetchState(), self._settings
                )
            finally:
                host.next_start = max(host.next_start, time.monotonic() + host.interval)


def _denied(url: str) -> FetchResult:
    return FetchResult(
        source_id=url,
        status="failed",
        body=None,
        headers={},
        url=url,
        final_url=url,
        permanent_redirect_url=None,
        http_status=None,
        error="robots.txt forbids this path",
        retry_after_s=None,
        elapsed_s=0.0,
    )


def is_denied(result: FetchResult) -> bool:
    """Whether a result is the fetcher's refusal under robots.txt (no request was sent)."""
    return (
        result.status == "failed"
        and result.http_status is None
        and result.error == ("robots.txt forbids this path")
    )
