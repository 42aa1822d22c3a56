"""A loopback outlet with a past: a paged WordPress-like feed, robots.txt, a sitemap
index with gzip sitemaps, and article pages, all generated here (no copied text).

    site = ArchiveSite(posts=make_posts(60))
    with site.serve() as server:
        feed_url = server.url("/feed/")

Posts are newest first in the feed (10 a page). ``paging`` picks how older pages are
served: "query" (``?paged=N``, 404 past the end, as WordPress), "path" (``/page/N/``),
"repeat" (the server ignores the page number and serves page 1 again) or "none".
``log`` keeps every request's full path (query included) with its arrival time.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit

from feedserver import FeedServer

PAGE_SIZE = 10
_SUBJECTS = ("Lithium", "Nickel", "Battery", "Copper", "Cobalt", "Solar", "Grid", "Graphite")
_EVENTS = (
    "contract prices climb after smelter outage",
    "miners report record quarterly output",
    "buyers delay shipments as stockpiles swell",
    "new refinery starts commercial production",
    "regulators open review of export rules",
    "startup raises funds for recycling plant",
)


@dataclass(frozen=True)
class Post:
    """One generated article."""

    post_id: int
    day: date
    title: str
    slug: str
    dated_url: bool  # /YYYY/MM/DD/slug/ when True, else /news/slug-ID/

    @property
    def path(self) -> str:
        if self.dated_url:
            return f"/{self.day:%Y/%m/%d}/{self.slug}/"
        return f"/news/{self.slug}-{self.post_id}/"

    def text(self) -> str:
        subject = self.title.split()[0]
        return " ".join(
            f"{subject} market note {self.post_id}, paragraph {n}: traders in the region said "
            f"that demand from battery makers and grid projects kept moving through the week."
            for n in range(4)
        )


def make_posts(count: int, *, first: date = date(2021, 1, 1), every_days: int = 3) -> list[Post]:
    """``count`` posts, one every ``every_days`` from ``first``, newest first."""
    posts = []
    for i in range(count):
        subject = _SUBJECTS[i % len(_SUBJECTS)]
        event = _EVENTS[(i // len(_SUBJECTS)) % len(_EVENTS)]
        title = f"{subject} {event} in week {i + 1}"
        slug = title.lower().replace(" ", "-")
        posts.append(
            Post(1000 + i, first + timedelta(days=i * every_days), title, slug, i % 3 != 2)
        )
    return sorted(posts, key=lambda p: p.day, reverse=True)


def _send(
    handler: object,
    status: int,
    body: bytes,
    content_type: str,
    extra: dict[str, str] | None = None,
) -> None:
    """Answer with Nagle off: headers and body go out as two writes, and Nagle plus the
    client's delayed ACK would add ~40 ms to every response (a real server sends both
    at once; the benchmark measures newsintel, not this artefact)."""
    handler.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[attr-defined]
    handler.send_body(status, body, content_type, extra)  # type: ignore[attr-defined]


def _morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)


def article_html(post: Post) -> bytes:
    """A WordPress-like article page: navigation, the article, a footer."""
    paragraphs = "".join(f"<p>{part}.</p>" for part in post.text().split(". "))
    return (
        "<!doctype html><html><head>"
        f"<title>{post.title} | Loopback Metals</title>"
        f'<meta property="article:published_time" content="{post.day.isoformat()}T09:30:00+00:00">'
        f'<link rel="shortlink" href="/?p={post.post_id}">'
        "</head><body><nav><a href='/'>Home</a> <a href='/about/'>About</a></nav>"
        f"<article><h1>{post.title}</h1>{paragraphs}</article>"
        "<footer>Loopback Metals, a test outlet.</footer></body></html>"
    ).encode()


@dataclass
class ArchiveSite:
    """The outlet's content and behaviour; ``serve`` puts it on a loopback port."""

    posts: list[Post]
    paging: str = "query"
    robots: str = "User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap_index.xml\n"
    sitemaps: bool = True
    extra_sitemap_urls: list[str] = field(default_factory=list)  # paths added to sitemap 1
    retry_after: dict[str, int] = field(default_factory=dict)  # path -> 429s before 200
    log: list[tuple[str, float]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    base: str = ""
    feed_status: int | None = None  # when set, the feed answers only this status
    robots_status: int | None = None  # when set, robots.txt answers only this status

    def _record(self, handler: object) -> str:
        full = handler.path  # type: ignore[attr-defined]
        with self._lock:
            self.log.append((full, time.monotonic()))
        return str(full)

    def fetched(self, path: str) -> int:
        """How many requests asked for ``path`` (query included)."""
        with self._lock:
            return sum(1 for full, _at in self.log if full == path)

    def times(self) -> list[float]:
        with self._lock:
            return [at for _full, at in self.log]

    def feed_page(self, page: int) -> bytes:
        chunk = self.posts[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        items = "".join(
            f"<item><title>{p.title}</title><link>{self.base}{p.path}</link>"
            f'<guid isPermaLink="false">{self.base}/?p={p.post_id}</guid>'
            f"<pubDate>{format_datetime(_morning(p.day))}</pubDate>"
            f"<description>{p.text()}</description></item>"
            for p in chunk
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Loopback Metals</title><link>{self.base}/</link>"
            f"<description>Test outlet</description>{items}</channel></rss>"
        ).encode()

    def _pages(self) -> int:
        return max(1, -(-len(self.posts) // PAGE_SIZE))

    def _feed(self, handler: object) -> None:
        full = self._record(handler)
        if self.feed_status is not None:
            _send(handler, self.feed_status, b"unavailable", "text/plain")  # type: ignore[attr-defined]
            return
        parts = urlsplit(full)
        page = 1
        if self.paging == "query":
            page = int(parse_qs(parts.query).get("paged", ["1"])[0])
        elif self.paging == "path" and "/page/" in parts.path:
            page = int(parts.path.rstrip("/").rsplit("/", 1)[-1])
        elif self.paging == "none" and (parts.query or "/page/" in parts.path):
            _send(handler, 404, b"not found", "text/plain")  # type: ignore[attr-defined]
            return
        if page > self._pages():
            _send(handler, 404, b"not found", "text/plain")  # type: ignore[attr-defined]
            return
        _send(handler, 200, self.feed_page(page), "application/rss+xml")  # type: ignore[attr-defined]

    def _sitemap_files(self) -> dict[str, bytes]:
        half = len(self.posts) // 2
        groups = [self.posts[:half], self.posts[half:]]
        files: dict[str, bytes] = {}
        index = []
        for n, group in enumerate(groups, start=1):
            urls = "".join(
                f"<url><loc>{self.base}{p.path}</loc><lastmod>{p.day.isoformat()}T12:00:00+00:00</lastmod></url>"
                for p in group
            )
            if n == 1:
                urls += "".join(
                    f"<url><loc>{self.base}{u}</loc></url>" for u in self.extra_sitemap_urls
                )
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
            ).encode()
            name = f"/post-sitemap{n}.xml.gz"
            files[name] = gzip.compress(xml)
            newest = max((p.day for p in group), default=date(2020, 1, 1))
            index.append(
                f"<sitemap><loc>{self.base}{name}</loc><lastmod>{newest}</lastmod></sitemap>"
            )
        files["/sitemap_index.xml"] = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{"".join(index)}'
            "</sitemapindex>"
        ).encode()
        return files

    def _static(self, body: bytes, content_type: str) -> object:
        def serve(handler: object) -> None:
            self._record(handler)
            _send(handler, 200, body, content_type)  # type: ignore[attr-defined]

        return serve

    def _article(self, post: Post) -> object:
        body = article_html(post)

        def serve(handler: object) -> None:
            path = self._record(handler)
            with self._lock:
                left = self.retry_after.get(path, 0)
                if left:
                    self.retry_after[path] = left - 1
            if left:
                _send(handler, 429, b"slow down", "text/plain", {"Retry-After": "1"})  # type: ignore[attr-defined]
                return
            _send(handler, 200, body, "text/html; charset=utf-8")  # type: ignore[attr-defined]

        return serve

    def install(self, server: FeedServer) -> None:
        """Register every route of the site on ``server``."""
        self.base = server.url("").rstrip("/")
        server.route("/feed/", self._feed)  # type: ignore[arg-type]
        for page in range(2, self._pages() + 3):
            server.route(f"/feed/page/{page}/", self._feed)  # type: ignore[arg-type]
        robots = self._static(self.robots.format(base=self.base).encode(), "text/plain")

        def robots_route(handler: object) -> None:
            if self.robots_status is not None:
                self._record(handler)
                _send(handler, self.robots_status, b"unavailable", "text/plain")
                return
            robots(handler)  # type: ignore[operator]

        server.route("/robots.txt", robots_route)  # type: ignore[arg-type]
        if self.sitemaps:
            for path, body in self._sitemap_files().items():
                kind = "application/x-gzip" if path.endswith(".gz") else "application/xml"
                server.route(path, self._static(body, kind))  # type: ignore[arg-type]
        for post in self.posts:
            server.route(post.path, self._article(post))  # type: ignore[arg-type]
        server.route("/files/report.pdf", self._static(b"%PDF-1.4 not html", "application/pdf"))  # type: ignore[arg-type]
        for post in self.posts:
            private = f"/private/{post.slug}/"
            server.route(private, self._article(post))  # type: ignore[arg-type]

    @contextmanager
    def serve(self) -> Iterator[FeedServer]:
        with FeedServer() as server:
            self.install(server)
            yield server
