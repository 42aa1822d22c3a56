"""A threaded loopback HTTP server for feed tests: real sockets, scripted misbehaviour.

Use it as a context manager or through the ``feed_server`` pytest fixture (register it
with ``pytest_plugins = ["feedserver"]`` in a conftest, or wrap it in a local fixture)::

    with FeedServer(root=fixtures_dir) as server:
        server.add_status("/gone.xml", 410)
        url = server.url("/gone.xml")

Files under ``root`` are served at their relative path with an ETag and Last-Modified
and answer 304 to a matching conditional request. ``add_*`` methods register a
behaviour for one path; ``requests`` logs every request (to assert the headers sent).
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import pytest

RSS_TYPE = "application/rss+xml; charset=utf-8"
Route = Callable[["_Handler"], None]

_CONTENT_TYPES = {
    ".xml": "application/xml",
    ".rss": RSS_TYPE,
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    at: float


def make_rss(
    title: str, items: list[tuple[str, str]], *, link: str = "http://example.com/"
) -> bytes:
    """A small valid RSS 2.0 document; ``items`` are (title, link) pairs."""
    entries = "".join(
        f"<item><title>{t}</title><link>{u}</link><guid>{u}</guid>"
        f"<pubDate>Mon, 06 Jan 2025 10:{i % 60:02d}:00 GMT</pubDate>"
        f"<description>About {t}.</description></item>"
        for i, (t, u) in enumerate(items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>{link}</link><description>{title}</description>"
        f"{entries}</channel></rss>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that clients keep connections alive, as real feed hosts do.
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        owner._log(self, path)
        if owner.latency_s:
            time.sleep(owner.latency_s)
        route = owner.routes.get(path) or owner._file_route(path)
        if route is None:
            self.send_body(404, b"not found", "text/plain")
            return
        route(self)

    def do_HEAD(self) -> None:
        self.send_body(405, b"", "text/plain")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Silence the default stderr access log; ``FeedServer.requests`` has it."""

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        return self.headers.get(name)

    def send_body(
        self,
        status: int,
        body: bytes,
        content_type: str = RSS_TYPE,
        extra: dict[str, str] | None = None,
    ) -> None:
        """A complete response with Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def reset_connection(self) -> None:
        """Abort the TCP connection with an RST (SO_LINGER 0), as a crashing proxy does."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Do not wait for slow or dripping handlers when the test ends.
    block_on_close = False
    owner: FeedServer

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet when a client hangs up mid-response: fetch tests do that on purpose."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


class FeedServer:
    """Loopback HTTP server with per-path behaviours and a request log."""

    def __init__(self, root: Path | None = None, *, latency_s: float = 0.0) -> None:
        self.root = root
        self.latency_s = latency_s
        self.routes: dict[str, Route] = {}
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> FeedServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port picked by the OS."""
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    # -- request log -----------------------------------------------------------------

    def _log(self, handler: _Handler, path: str) -> None:
        headers = {key.lower(): value for key, value in handler.headers.items()}
        with self._lock:
            self.requests.append(RequestRecord(handler.command, path, headers, time.time()))

    def requests_for(self, path: str) -> list[RequestRecord]:
        """Logged requests for one path, oldest first."""
        with self._lock:
            return [record for record in self.requests if record.path == path]

    # -- behaviours (add_* return the registered path) ---------------------------------

    def route(self, path: str, handler: Route) -> None:
        """Register a custom behaviour: ``handler`` gets the request handler."""
        self.routes[path] = handler

    def add_file(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = RSS_TYPE,
        etag: str | None = None,
        last_modified: str = "Mon, 06 Jan 2025 10:00:00 GMT",
        extra: dict[str, str] | None = None,
    ) -> str:
        """Serve ``body`` with ETag/Last-Modified; 304 on a matching conditional GET."""
        self.route(path, _file_responder(body, content_type, etag, last_modified, extra))
        return path

    def _file_route(self, path: str) -> Route | None:
        if self.root is None:
            return None
        candidate = (self.root / path.lstrip("/")).resolve()
        if not candidate.is_file() or self.root.resolve() not in candidate.parents:
            return None
        body = candidate.read_bytes()
        content_type = _CONTENT_TYPES.get(candidate.suffix, "application/xml")
        modified = formatdate(candidate.stat().st_mtime, usegmt=True)
        return _file_responder(body, content_type, None, modified, None)

    def add_status(
        self, path: str, status: int, *, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> str:
        """Answer with a fixed status (404, 410, 500, 429/503 with Retry-After...)."""
        self.route(path, lambda h: h.send_body(status, body, "text/plain", headers))
        return path

    def add_slow(self, path: str, body: bytes, delay_s: float) -> str:
        """Sleep ``delay_s`` before sending any header."""

        def serve(handler: _Handler) -> None:
            time.sleep(delay_s)
            handler.send_body(200, body)

        self.route(path, serve)
        return path

    def add_drip(self, path: str, body: bytes, *, chunk: int = 1, interval_s: float = 0.1) -> str:
        """Send headers at once, then trickle the body ``chunk`` bytes per ``interval_s``."""

        def serve(handler: _Handler) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", RSS_TYPE)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            try:
                for start in range(0, len(body), chunk):
                    handler.wfile.write(body[start : start + chunk])
                    handler.wfile.flush()
                    time.sleep(interval_s)
            except OSError:
                handler.close_connection = True  # the client gave up, as it should

        self.route(path, serve)
        return path

    def add_reset(self, path: str) -> str:
        """Read the request, then abort the connection with a TCP reset."""
        self.route(path, lambda h: h.reset_connection())
        return path

    def add_redirect(self, path: str, location: str, status: int = 302) -> str:
        """Redirect ``path`` to ``location`` (a path on this server or a full URL)."""
        self.route(path, lambda h: h.send_body(status, b"", "text/plain", {"Location": location}))
        return path

    def add_redirect_chain(self, prefix: str, hops: int, final: str, status: int = 302) -> str:
        """``prefix``0 -> ``prefix``1 -> ... -> ``final``: ``hops`` redirects; returns the start."""
        for index in range(hops):
            target = final if index == hops - 1 else f"{prefix}{index + 1}"
            self.add_redirect(f"{prefix}{index}", target, status)
        return f"{prefix}0"

    def add_oversized(self, path: str, size: int, *, declare_length: bool = True) -> str:
        """A body of ``size`` bytes; without a Content-Length it is sent chunked, so only
        counting while streaming can catch it."""
        block = b"<!-- padding -->" * 4096

        def serve(handler: _Handler) -> None:
            if declare_length:
                handler.send_body(200, (block * (size // len(block) + 1))[:size])
                return
            handler.send_response(200)
            handler.send_header("Content-Type", RSS_TYPE)
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            sent = 0
            try:
                while sent < size:
                    piece = block[: min(len(block), size - sent)]
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    sent += len(piece)
                handler.wfile.write(b"0\r\n\r\n")
            except OSError:
                handler.close_connection = True

        self.route(path, serve)
        return path

    def add_gzip_bomb(self, path: str, expanded_size: int) -> int:
        """A small gzip body (Content-Encoding: gzip) inflating to ``expanded_size``
        bytes; returns the compressed size."""
        compressed = gzip.compress(b"\0" * expanded_size, compresslevel=9)
        self.route(
            path,
            lambda h: h.send_body(200, compressed, RSS_TYPE, {"Content-Encoding": "gzip"}),
        )
        return len(compressed)

    def add_gzip(self, path: str, body: bytes) -> str:
        """A well-behaved gzip-encoded feed."""
        packed = gzip.compress(body)
        self.route(path, lambda h: h.send_body(200, packed, RSS_TYPE, {"Content-Encoding": "gzip"}))
        return path

    def add_empty(self, path: str) -> str:
        """200 OK with an empty body."""
        self.route(path, lambda h: h.send_body(200, b""))
        return path

    def add_html(self, path: str) -> str:
        """An HTML page where a feed was expected (a login wall, a moved blog)."""
        page = (
            b"<!DOCTYPE html><html><head><title>Welcome</title></head>"
            b"<body><h1>Our blog has moved</h1><p>Please update your bookmarks.</p>"
            b"</body></html>"
        )
        self.route(path, lambda h: h.send_body(200, page, "text/html; charset=utf-8"))
        return path

    def add_wrong_charset(self, path: str, text: str, *, actual: str, declared: str) -> str:
        """A feed encoded in ``actual`` but labelled ``declared`` in Content-Type."""
        body = text.encode(actual)
        self.route(
            path, lambda h: h.send_body(200, body, f"application/rss+xml; charset={declared}")
        )
        return path

    def add_generated_feeds(self, count: int, items: int = 10, prefix: str = "/gen/") -> list[str]:
        """``count`` distinct in-memory RSS feeds (for benchmarks); returns their paths."""
        paths: list[str] = []
        for index in range(count):
            path = f"{prefix}{index}.xml"
            links = [
                (f"Story {item} of feed {index}", f"http://example.com/{index}/{item}")
                for item in range(items)
            ]
            self.add_file(path, make_rss(f"Generated feed {index}", links))
            paths.append(path)
        return paths


def _file_responder(
    body: bytes,
    content_type: str,
    etag: str | None,
    last_modified: str,
    extra: dict[str, str] | None,
) -> Route:
    tag = etag or _etag(body)
    validators = {"ETag": tag, "Last-Modified": last_modified}

    def serve(handler: _Handler) -> None:
        if _not_modified(handler, tag, last_modified):
            handler.send_response(304)
            for key, value in validators.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_body(200, body, content_type, {**validators, **(extra or {})})

    return serve


def _not_modified(handler: _Handler, etag: str, last_modified: str) -> bool:
    # RFC 9110 section 13.1.3: If-None-Match wins over If-Modified-Since when present.
    if_none_match = handler.header("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip() for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags or f"W/{etag}" in tags
    if_modified_since = handler.header("If-Modified-Since")
    if if_modified_since:
        try:
            return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
    return False


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A started FeedServer with no root folder; stopped after the test."""
    with FeedServer() as server:
        yield server
