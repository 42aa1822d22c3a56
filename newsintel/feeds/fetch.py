"""Fetch feed bodies over HTTP(S) (httpx on asyncio streams) or from disk, politely, safely.

Every per-feed problem becomes a ``FetchResult`` with ``status="failed"`` and a clear
``error``; nothing here raises for one bad feed, so a batch always finishes. Politeness
and safety follow miniflux's fetcher: conditional GET (ETag / Last-Modified, RFC 9110
section 13), 304 as "no change", Retry-After on 429/503, a body size cap counted on the
decompressed bytes while streaming, and one total deadline per feed.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import getproxies

import httpx

from newsintel.config import Settings
from newsintel.feeds.netstream import asyncio_transport
from newsintel.feeds.sources import FeedSource, is_http_url

FetchStatus = Literal["ok", "not_modified", "failed"]

MAX_REDIRECTS = 5
# Redirect statuses (RFC 9110 section 15.4); 301 and 308 are permanent.
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT_REDIRECTS = frozenset({301, 308})
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
# Only encodings httpx decodes without optional packages, so the size cap always sees
# decompressed bytes.
_ACCEPT_ENCODING = "gzip, deflate"
_COMPRESSED = frozenset({"gzip", "x-gzip", "deflate"})


@dataclass(frozen=True)
class FetchState:
    """What the last successful fetch told us, sent back as conditional-GET headers."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """The outcome of fetching one feed. ``headers`` has lower-case keys."""

    source_id: str
    status: FetchStatus
    body: bytes | None
    headers: dict[str, str]
    url: str
    final_url: str
    permanent_redirect_url: str | None
    http_status: int | None
    error: str | None
    retry_after_s: float | None
    elapsed_s: float

    @property
    def etag(self) -> str | None:
        """The response ETag, to store for the next conditional GET."""
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        """The response Last-Modified, to store for the next conditional GET."""
        return self.headers.get("last-modified")


class _Failure(Exception):
    """Internal: ends one fetch with a user-facing message (never leaves this module)."""

    def __init__(
        self, message: str, *, http_status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class _Outcome:
    status: FetchStatus
    final_url: str
    http_status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    permanent_redirect_url: str | None = None


class FeedClient(httpx.AsyncClient):
    """``make_client``'s client; ``get`` hands a request straight to its transport.

    ``fetch_feed`` follows redirects itself and no fetch reads cookies, so the layers of
    ``AsyncClient.send`` (URL merging, auth, redirect and cookie handling, event hooks,
    request logging) cost CPU for nothing: about a quarter of our CPU per page in the
    archive benchmark. The request is the same one, header for header: the client's
    default headers, then the conditional ones, with its timeouts.
    """

    def __init__(self, transport: httpx.AsyncHTTPTransport, **kwargs: Any) -> None:
        super().__init__(transport=transport, **kwargs)
        self._direct = transport
        self._raw_headers = list(self.headers.raw)
        self._extensions = {"timeout": self.timeout.as_dict()}

    async def get_streamed(self, url: str, headers: dict[str, str]) -> httpx.Response:
        """A streamed GET of ``url`` (``aclose`` the response); errors name the request."""
        extra = httpx.Headers(headers).raw if headers else []
        request = httpx.Request(
            "GET", url, headers=[*self._raw_headers, *extra], extensions=self._extensions
        )
        try:
            response = await self._direct.handle_async_request(request)
        except httpx.RequestError as exc:
            exc.request = request  # as the client does: the failed hop's URL is named
            raise
        response.request = request  # read errors while streaming name it too
        return response


def make_client(settings: Settings) -> httpx.AsyncClient:
    """The one configured HTTP client for feeds.

    Timeouts are explicit (httpx's default is 5 s for everything). Redirects are not
    followed by httpx: ``fetch_feed`` follows up to ``MAX_REDIRECTS`` itself so it can
    tell permanent from temporary hops and name loops.
    """
    total = settings.fetch_timeout
    timeout = httpx.Timeout(connect=min(10.0, total), read=total, write=total, pool=total)
    limits = httpx.Limits(
        max_connections=max(1, settings.fetch_concurrency),
        max_keepalive_connections=max(1, settings.fetch_concurrency),
    )
    options: dict[str, Any] = {
        "timeout": timeout,
        "follow_redirects": False,
        "max_redirects": MAX_REDIRECTS,
        "headers": {
            "User-Agent": settings.user_agent,
            "Accept": _ACCEPT,
            "Accept-Encoding": _ACCEPT_ENCODING,
        },
    }
    if getproxies():
        # A proxy from the environment is a transport of its own inside httpx's client,
        # picked per URL by the client: keep the whole client then.
        return httpx.AsyncClient(limits=limits, **options)
    return FeedClient(asyncio_transport(limits), **options)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds or an HTTP-date (RFC 9110
    section 10.2.3). None when absent or unreadable; never negative."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def _conditional_headers(state: FetchState) -> dict[str, str]:
    headers: dict[str, str] = {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return headers


def _caused_by(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first exception of ``kind`` in the ``__cause__``/``__context__`` chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when no request is attached
    except RuntimeError:
        return False
    return True


def _describe_transport_error(exc: httpx.TransportError, url: str, timeout: float) -> str:
    """One clear line for a network failure (httpx wraps the OS error twice)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout:.1f} s"
    if _caused_by(exc, socket.gaierror) is not None:
        return f"unknown host {urlsplit(url).hostname}"
    if _caused_by(exc, ConnectionResetError) is not None or "reset by peer" in str(exc):
        return "connection reset"
    if _caused_by(exc, ConnectionRefusedError) is not None:
        return f"connection refused by {urlsplit(url).netloc}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server broke the HTTP protocol: {exc}"
    os_error = _caused_by(exc, OSError)
    if isinstance(os_error, OSError) and os_error.errno == errno.ECONNRESET:
        return "connection reset"
    return f"network error: {exc or type(exc).__name__}"


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The decoded body, stopping as soon as it grows past ``max_bytes``.

    Counting decoded bytes is what stops a gzip bomb: a few kilobytes on the wire can
    inflate to gigabytes in memory.
    """
    encoding = response.headers.get("content-encoding", "").strip().lower()
    declared = response.headers.get("content-length", "")
    if encoding not in _COMPRESSED and declared.isdigit() and int(declared) > max_bytes:
        raise _Failure(f"body larger than {max_bytes} bytes", http_status=response.status_code)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            if encoding in _COMPRESSED and response.num_bytes_downloaded <= max_bytes:
                message = f"{encoding} body decompresses beyond the size cap ({max_bytes} bytes)"
            else:
                message = f"body larger than {max_bytes} bytes"
            raise _Failure(message, http_status=response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def _lower_headers(response: httpx.Response) -> dict[str, str]:
    return {key.lower(): value for key, value in response.headers.items()}


async def _fetch_http(
    client: httpx.AsyncClient, url: str, state: FetchState, max_bytes: int
) -> _Outcome:
    current = url
    visited = {current}
    # A moved feed should be re-subscribed only if every hop so far was permanent
    # (RFC 9110 section 15.4.2): a temporary hop makes the move itself temporary.
    all_permanent = True
    permanent_url: str | None = None
    for _hop in range(MAX_REDIRECTS + 1):
        conditional = _conditional_headers(state)
        if isinstance(client, FeedClient):
            response = await client.get_streamed(current, conditional)
        else:
            request = client.build_request("GET", current, headers=conditional)
            response = await client.send(request, stream=True)
        try:
            code = response.status_code
            if code in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise _Failure(f"HTTP {code} redirect without a Location", http_status=code)
                target = urljoin(current, location.strip())
                if not is_http_url(target):
                    raise _Failure(f"redirect to a non-HTTP URL {target}", http_status=code)
                if target in visited:
                    raise _Failure("redirect loop", http_status=code)
                all_permanent = all_permanent and code in _PERMANENT_REDIRECTS
                permanent_url = target if all_permanent else permanent_url
                visited.add(target)
                current = target
                continue
            headers = _lower_headers(response)
            if code == 304:
                return _Outcome("not_modified", current, code, None, headers, permanent_url)
            if not 200 <= code < 300:
                retry = (
                    parse_retry_after(headers.get("retry-after"))
                    if code in _RETRY_AFTER_STATUSES
                    else None
                )
                reason = response.reason_phrase or "error"
                raise _Failure(f"HTTP {code} {reason}", http_status=code, retry_after_s=retry)
            body = await _read_capped(response, max_bytes)
            return _Outcome("ok", current, code, body, headers, permanent_url)
        finally:
            await response.aclose()
    raise _Failure(f"too many redirects (more than {MAX_REDIRECTS})")


def local_path(url: str) -> Path:
    """The filesystem path of a local feed url (a plain path or ``file://``)."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "file":
        return Path(unquote(parts.path))
    return Path(url)


def _read_local(url: str, max_bytes: int) -> _Outcome:
    path = local_path(url)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _Failure(f"body larger than {max_bytes} bytes")
        body = path.read_bytes()
    except FileNotFoundError:
        raise _Failure(f"file not found: {path}") from None
    except IsADirectoryError:
        raise _Failure(f"not a file: {path}") from None
    except OSError as exc:
        raise _Failure(f"cannot read {path}: {exc.strerror or exc}") from None
    return _Outcome("ok", url, None, body)


async def fetch_feed(
    client: httpx.AsyncClient, source: FeedSource, state: FetchState, settings: Settings
) -> FetchResult:
    """Fetch one feed; never raises for a problem with this feed.

    Sends conditional headers from ``state``; follows at most 5 redirects; enforces
    ``settings.fetch_max_bytes`` on the decompressed body and ``settings.fetch_timeout``
    on the whole fetch (so a server trickling one byte a second cannot hold it).
    """
    started = time.monotonic()
    timeout = settings.fetch_timeout
    try:
        async with asyncio.timeout(timeout):
            if source.is_local:
                outcome = await asyncio.to_thread(_read_local, source.url, settings.fetch_max_bytes)
            else:
                outcome = await _fetch_http(client, source.url, state, settings.fetch_max_bytes)
    except _Failure as failure:
        return _failed(source, started, str(failure), failure.http_status, failure.retry_after_s)
    except TimeoutError:
        return _failed(source, started, f"timed out after {timeout:.1f} s")
    except httpx.TransportError as exc:
        # The failing request may be a redirect hop: name the host that really failed.
        failed_url = str(exc.request.url) if _has_request(exc) else source.url
        return _failed(source, started, _describe_transport_error(exc, failed_url, timeout))
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return _failed(source, started, f"invalid request: {exc}")
    except Exception as exc:
        return _failed(source, started, f"unexpected error: {type(exc).__name__}: {exc}")
    return FetchResult(
        source_id=source.source_id,
        status=outcome.status,
        body=outcome.body,
        headers=outcome.headers,
        url=source.url,
        final_url=outcome.final_url,
        permanent_redirect_url=outcome.permanent_redirect_url,
        http_status=outcome.http_status,
        error=None,
        retry_after_s=None,
        elapsed_s=time.monotonic() - started,
    )


def _failed(
    source: FeedSource,
    started: float,
    error: str,
    http_status: int | None = None,
    retry_after_s: float | None = None,
) -> FetchResult:
    return FetchResult(
        source_id=source.source_id,
        status="failed",
        body=None,
        headers={},
        url=source.url,
        final_url=source.url,
        permanent_redirect_url=None,
        http_status=http_status,
        error=error,
        retry_after_s=retry_after_s,
        elapsed_s=time.monotonic() - started,
    )


def _host_key(source: FeedSource) -> str:
    if source.is_local:
        return "<local>"
    return (urlsplit(source.url).hostname or "").lower()


async def fetch_all(
    pairs: Sequence[tuple[FeedSource, FetchState]],
    settings: Settings,
    on_result: Callable[[FetchResult], None] | None = None,
) -> list[FetchResult]:
    """Fetch many feeds at once; results come back in input order.

    At most ``settings.fetch_concurrency`` fetches run together, and at most
    ``settings.fetch_per_host`` against one host, so one slow site cannot take every
    slot. ``on_result`` is called as each feed finishes (for progress bars).
    """
    overall = asyncio.Semaphore(max(1, settings.fetch_concurrency))
    per_host: dict[str, asyncio.Semaphore] = {}
    host_limit = max(1, settings.fetch_per_host)

    async with make_client(settings) as client:

        async def one(source: FeedSource, state: FetchState) -> FetchResult:
            host = per_host.setdefault(_host_key(source), asyncio.Semaphore(host_limit))
            # Host slot first: a feed waiting for its host must not hold a global slot.
            async with host, overall:
                result = await fetch_feed(client, source, state, settings)
            if on_result is not None:
                on_result(result)
            return result

        return list(await asyncio.gather(*(one(source, state) for source, state in pairs)))


def fetch_all_sync(
    pairs: Sequence[tuple[FeedSource, FetchState]],
    settings: Settings,
    on_result: Callable[[FetchResult], None] | None = None,
) -> list[FetchResult]:
    """``fetch_all`` for synchronous callers (CLI, scheduler); starts its own event loop."""
    return asyncio.run(fetch_all(pairs, settings, on_result))
