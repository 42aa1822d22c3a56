"""``--resolve-links``: find where opaque click-tracker links lead by asking the tracker.

``newsintel.mail.links`` unwraps a tracker link that names its target; many name none
(``https://click.example.com/ls/click?upn=...``), and only the tracker's redirect says
where they go. Here each such link is requested (HEAD, or a GET whose body is never
read when HEAD is refused) and its redirects are followed by hand, hop by hop, to the
first answer that is not a redirect. The result is made canonical like any story link.

Politely: at most ``fetch_per_host`` requests at once to one host and
``mail_link_interval`` seconds between two requests to it (measured from the end of one
to the start of the next), ``fetch_concurrency`` links at once overall, a total time
limit per request (``fetch_timeout``), at most ``MAX_HOPS`` hops, and the configured
User-Agent. The caller caches the answers (``newsintel.store.mail``), so each link is
asked about once; answers that may change (a timeout, 429, 5xx) are not final and are
asked again by a later run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from newsintel.config import Settings
from newsintel.mail.links import unwrap_url

# More hops than any tracker chain uses (ESP tracker -> shortener -> site -> https).
MAX_HOPS = 10
# HEAD refused or not understood: ask again with a GET (body never read).
_HEAD_REFUSED = frozenset({403, 405, 501})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Resolution:
    """Where one link leads.

    ``resolved_url`` is the canonical URL the redirects end at, or None when it could
    not be found out (``error`` says why). ``final`` is False for an answer that may
    change (network failure, 429, 5xx): such a link is asked about again next run.
    """

    url: str
    resolved_url: str | None
    http_status: int | None = None
    hops: int = 0
    error: str | None = None
    final: bool = True


@dataclass
class _Host:
    slots: asyncio.Semaphore
    next_start: float = 0.0
    head_refused: bool = False  # then every later link of the host is asked with GET


@dataclass
class _Pacing:
    """Per-host request slots and start times, shared by every link of one run."""

    per_host: int
    interval: float
    hosts: dict[str, _Host] = field(default_factory=dict)

    def host(self, url: str) -> _Host:
        key = urlsplit(url).netloc.lower()
        if key not in self.hosts:
            self.hosts[key] = _Host(asyncio.Semaphore(self.per_host))
        return self.hosts[key]


def _client(settings: Settings) -> httpx.AsyncClient:
    total = settings.fetch_timeout
    return httpx.AsyncClient(
        # Redirects are followed by _resolve_one, hop by hop, so that each hop is paced
        # by its own host and a loop or a non-web target is named.
        follow_redirects=False,
        timeout=httpx.Timeout(connect=min(10.0, total), read=total, write=total, pool=total),
        limits=httpx.Limits(max_connections=max(1, settings.fetch_concurrency)),
        headers={"User-Agent": settings.user_agent},
    )


async def _turn(host: _Host, interval: float) -> None:
    """Wait for the host's next start time, claiming it first, so that with several
    slots per host the starts are still ``interval`` apart."""
    now = time.monotonic()
    start = max(now, host.next_start)
    host.next_start = start + interval
    if start > now:
        await asyncio.sleep(start - now)


async def _ask(client: httpx.AsyncClient, pacing: _Pacing, url: str) -> httpx.Response:
    """One paced request for ``url``'s status and Location; the body is never read."""
    host = pacing.host(url)
    async with host.slots:
        await _turn(host, pacing.interval)
        try:
            if not host.head_refused:
                response = await client.head(url)
                if response.status_code not in _HEAD_REFUSED:
                    return response
                # Asked again with GET, in turn like any other request.
                host.head_refused = True
                host.next_start = max(host.next_start, time.monotonic() + pacing.interval)
                await _turn(host, pacing.interval)
            async with client.stream("GET", url) as streamed:
                return streamed  # status and headers only; closed with the body unread
        finally:
            host.next_start = max(host.next_start, time.monotonic() + pacing.interval)


def _describe(exc: httpx.HTTPError, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout:.1f} s"
    return f"network error: {exc or type(exc).__name__}"


async def _resolve_one(
    client: httpx.AsyncClient, pacing: _Pacing, url: str, timeout: float
) -> Resolution:
    current, seen = url, {url}
    for hop in range(MAX_HOPS + 1):
        try:
            response = await _ask(client, pacing, current)
        except httpx.HTTPError as exc:
            return Resolution(url, None, hops=hop, error=_describe(exc, timeout), final=False)
        status = response.status_code
        location = response.headers.get("location")
        if status in _REDIRECTS and location:
            target = urljoin(current, location.strip())
            if urlsplit(target).scheme.lower() not in ("http", "https"):
                return Resolution(url, None, status, hop, f"redirects to a non-web URL {target}")
            if target in seen:
                return Resolution(url, None, status, hop, f"redirect loop at {target}")
            seen.add(target)
            current = target
            continue
        if status == 429 or status >= 500:
            return Resolution(url, None, status, hop, f"HTTP {status}", final=False)
        if status >= 400 and hop == 0:
            return Resolution(url, None, status, hop, f"HTTP {status}")  # a dead tracker link
        # 2xx, or an error from the site the tracker sent us to (many refuse robots with
        # 403): either way the redirects have said where the link leads.
        return Resolution(url, unwrap_url(current), status, hop)
    return Resolution(url, None, None, MAX_HOPS, f"more than {MAX_HOPS} redirects")


async def _resolve_all(urls: list[str], settings: Settings) -> dict[str, Resolution]:
    pacing = _Pacing(max(1, settings.fetch_per_host), max(0.0, settings.mail_link_interval))
    # Links in flight at once: beyond this they would only wait for a host slot.
    gate = asyncio.Semaphore(max(1, settings.fetch_concurrency))

    async def one(url: str) -> Resolution:
        async with gate:
            return await _resolve_one(client, pacing, url, settings.fetch_timeout)

    async with _client(settings) as client:
        results = await asyncio.gather(*(one(url) for url in urls))
    return {result.url: result for result in results}


def resolve_links(urls: Iterable[str], settings: Settings) -> dict[str, Resolution]:
    """Follow the redirects of each (distinct, http or https) URL; by URL.

    Never raises for a link: a failure is a ``Resolution`` with ``resolved_url`` None.
    """
    distinct = sorted({url for url in urls if urlsplit(url).scheme in ("http", "https")})
    if not distinct:
        return {}
    return asyncio.run(_resolve_all(distinct, settings))
