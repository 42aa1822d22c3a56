"""A loopback server that answers like the GDELT DOC 2.0 API, over a synthetic corpus.

Use it as a context manager::

    with GdeltServer() as server:
        server.add_query('(lithium OR spodumene)', synthetic_articles(seed=1, count=500, ...))
        server.add_fault("html", mode="ArtList", text="Invalid query.")
        settings = load_settings(env={}, gdelt_api=server.url, gdelt_min_interval=0)

Answers follow GDELT's documented shapes: ``mode=ArtList`` gives ``{"articles": [...]}``
(url, url_mobile, title, seendate, socialimage, domain, language, sourcecountry), at
most ``maxrecords`` (<= 250) of the articles whose seendate lies in
startdatetime..enddatetime (both inclusive), oldest first with ``sort=DateAsc``, and
``{}`` when nothing matches. ``mode=TimelineVolRaw`` gives ``{"query_details": ...,
"timeline": [{"series": "Article Count", "data": [{date, value, norm}]}]}``: one point a
day (one an hour for spans under three days, as GDELT refines short timelines), value
the matching articles, norm the total monitored volume (``monitored(day)``). Bad
parameters get GDELT's kind of answer: HTTP 200 and a line of text. Scripted faults
(``add_fault``): 429 with Retry-After, HTML or plain-text error pages, truncated JSON,
empty answers and a connection closed mid-answer. ``requests`` logs every call.

Run as a script (``python tests/gdeltserver.py SEED THEMES PER_THEME YEARS END``) it
serves ``bench_corpus`` until stdin closes, after printing its URL, the number of
distinct articles and of articles listed over all themes (the benchmark's child).
"""

from __future__ import annotations

import bisect
import json
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_PATH = "/api/v2/doc/doc"
MODES = ("artlist", "timelinevolraw")
_WORDS = (
    "miners expand output",
    "prices slide again",
    "refinery opens",
    "supply deal signed",
    "export rules tighten",
    "startup raises funds",
    "plant delayed",
    "demand cools",
    "record quarter",
    "new pilot line",
)
_DOMAINS = (
    "mining.com",
    "www.reuters.com",
    "electrek.co",
    "www.ft.com",
    "spglobal.com",
    "www.bloomberg.com",
    "techcrunch.com",
    "www.theverge.com",
)
_COUNTRIES = ("United States", "United Kingdom", "Australia", "Chile", "China")


@dataclass(frozen=True)
class SyntheticArticle:
    """One article of the synthetic corpus (``seen_at`` naive UTC, whole seconds)."""

    url: str
    title: str
    seen_at: datetime
    domain: str
    language: str = "English"
    sourcecountry: str = "United States"

    def as_gdelt(self) -> dict[str, str]:
        """The article as an ArtList entry."""
        return {
            "url": self.url,
            "url_mobile": "",
            "title": self.title,
            "seendate": self.seen_at.strftime("%Y%m%dT%H%M%SZ"),
            "socialimage": "",
            "domain": self.domain,
            "language": self.language,
            "sourcecountry": self.sourcecountry,
        }


def synthetic_articles(
    *, seed: int, count: int, start: datetime, end: datetime, topic: str = "lithium"
) -> list[SyntheticArticle]:
    """``count`` distinct articles seen between ``start`` and ``end``, from ``seed``.

    Seen times fall on GDELT's 15-minute update steps; titles and URLs are unique.
    """
    rng = random.Random(seed)
    steps = max(1, int((end - start).total_seconds() // 900))
    articles = []
    for index in range(count):
        seen = start + timedelta(seconds=900 * rng.randrange(steps))
        domain = rng.choice(_DOMAINS)
        words = rng.choice(_WORDS)
        slug = f"{topic}-{words}-{seed}-{index}".replace(" ", "-")
        articles.append(
            SyntheticArticle(
                url=f"https://{domain}/news/{seen:%Y/%m}/{slug}",
                title=f"{topic.capitalize()} {words}, report {seed}-{index}",
                seen_at=seen,
                domain=domain,
                sourcecountry=rng.choice(_COUNTRIES),
            )
        )
    return articles


def monitored(day: date) -> int:
    """GDELT's total monitored articles on ``day`` (the timeline's ``norm``): a weekly
    rhythm on a slow drift, as GDELT's own volume has."""
    return 120_000 + 15_000 * (day.weekday() < 5) + (day.toordinal() % 365) * 40


@dataclass
class Fault:
    """A scripted misbehaviour for calls that match ``mode`` and ``start`` (None: any)."""

    kind: str  # rate_limit | html | text | truncated | empty | hangup
    mode: str | None = None
    start: str | None = None
    times: int | None = 1  # None: every matching call
    text: str = ""
    retry_after: str = "1"


@dataclass(frozen=True)
class Call:
    """One request as the server saw it."""

    params: dict[str, str]
    at: float


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body waits for
    # the client's delayed ACK, 40 ms a call on Linux, which no real API server adds.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return None

    def _send(self, status: int, content_type: str, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        if parts.path != API_PATH:
            self._send(404, "text/html", b"<html><body>404 Not Found</body></html>")
            return
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        owner.log(params)
        if owner.latency_s:
            time.sleep(owner.latency_s)
        fault = owner.take_fault(params)
        if fault is not None and fault.kind not in ("truncated", "hangup"):
            self._fault(fault)
            return
        status, content_type, body = owner.answer(params)
        if fault is not None and fault.kind == "truncated":
            body = body[: max(1, len(body) // 2)]
        if fault is not None and fault.kind == "hangup":
            # Promise the whole body, send half, close: the client sees a short read.
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self._send(status, content_type, body)

    def _fault(self, fault: Fault) -> None:
        if fault.kind == "rate_limit":
            text = fault.text or "Please limit requests to one every 5 seconds."
            self._send(429, "text/plain", text.encode(), Retry_After=fault.retry_after)
        elif fault.kind == "html":
            page = f"<html><body>{fault.text or 'Invalid query.'}<br></body></html>\n"
            self._send(200, "text/html; charset=utf-8", page.encode())
        elif fault.kind == "text":
            self._send(200, "text/plain", (fault.text or "Timespan is too short.\n").encode())
        elif fault.kind == "empty":
            self._send(200, "application/json; charset=utf-8", b"{}")
        else:  # pragma: no cover - a typo in a test
            raise ValueError(f"unknown fault {fault.kind}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: GdeltServer


def _moment(text: str | None) -> datetime | None:
    try:
        return datetime.strptime(text or "", "%Y%m%d%H%M%S")
    except ValueError:
        return None


@dataclass
class GdeltServer:
    """The DOC API over ``add_query`` corpora; see the module docstring."""

    latency_s: float = 0.0
    requests: list[Call] = field(default_factory=list)
    _corpus: dict[str, tuple[list[datetime], list[SyntheticArticle]]] = field(default_factory=dict)
    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    def add_query(self, query: str, articles: list[SyntheticArticle]) -> None:
        """Articles that ``query`` matches (replacing any given before)."""
        ordered = sorted(articles, key=lambda a: (a.seen_at, a.url))
        self._corpus[query] = ([a.seen_at for a in ordered], ordered)

    def add_fault(self, kind: str, **rule: Any) -> Fault:
        """Misbehave on the next matching call(s); see ``Fault``."""
        fault = Fault(kind, **rule)
        with self._lock:
            self._faults.append(fault)
        return fault

    def calls(self, mode: str | None = None) -> list[Call]:
        """Calls logged so far, of one mode or all."""
        with self._lock:
            logged = list(self.requests)
        return [c for c in logged if mode is None or c.params.get("mode", "").lower() == mode]

    def log(self, params: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(Call(params, time.monotonic()))

    def take_fault(self, params: dict[str, str]) -> Fault | None:
        mode = params.get("mode", "").lower()
        with self._lock:
            for fault in self._faults:
                if fault.mode is not None and fault.mode.lower() != mode:
                    continue
                if fault.start is not None and fault.start != params.get("startdatetime"):
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                return fault
        return None

    def matching(self, query: str, start: datetime, end: datetime) -> list[SyntheticArticle]:
        """The corpus articles of ``query`` seen in start..end (both inclusive)."""
        times, articles = self._corpus.get(query, ([], []))
        return articles[bisect.bisect_left(times, start) : bisect.bisect_right(times, end)]

    def answer(self, params: dict[str, str]) -> tuple[int, str, bytes]:
        """The normal answer to one call: JSON, or GDELT's one line of text."""
        query = params.get("query", "").strip()
        mode = params.get("mode", "").lower()
        start, end = _moment(params.get("startdatetime")), _moment(params.get("enddatetime"))
        if params.get("format", "").lower() != "json":
            return 200, "text/html", b"<html>Invalid format: this server only speaks json</html>"
        if not query or query.count("(") != query.count(")"):
            return 200, "text/html", b"<html><body>Invalid query.</body></html>\n"
        if mode not in MODES:
            return 200, "text/plain", b"Invalid mode.\n"
        if start is None or end is None:
            return 200, "text/plain", b"Invalid STARTDATETIME or ENDDATETIME.\n"
        if end < start:
            return 200, "text/plain", b"Timespan is too short.\n"
        found = self.matching(query, start, end)
        if mode == "artlist":
            limit = params.get("maxrecords", "75")
            if not limit.isdigit() or not 1 <= int(limit) <= 250:
                return 200, "text/plain", b"Invalid MAXRECORDS: 1 to 250.\n"
            if params.get("sort", "").lower() != "dateasc":
                found = sorted(found, key=lambda a: a.seen_at, reverse=True)
            if not found:
                return 200, "application/json; charset=utf-8", b"{}"
            data: dict[str, Any] = {"articles": [a.as_gdelt() for a in found[: int(limit)]]}
        else:
            data = {
                "query_details": {"title": query, "date_resolution": "day"},
                "timeline": [{"series": "Article Count", "data": _timeline(found, start, end)}],
            }
        return 200, "application/json; charset=utf-8", json.dumps(data).encode()

    @property
    def url(self) -> str:
        """The API URL to put in ``NEWSINTEL_GDELT_API``."""
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{API_PATH}"

    def __enter__(self) -> GdeltServer:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _timeline(found: list[SyntheticArticle], start: datetime, end: datetime) -> list[Any]:
    """Daily points (hourly under three days), zeros included, as GDELT draws them."""
    hourly = end - start < timedelta(days=3)
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    first = (
        start.replace(minute=0, second=0)
        if hourly
        else datetime.combine(start, datetime.min.time())
    )
    counts: dict[datetime, int] = {}
    for article in found:
        key = article.seen_at.replace(minute=0, second=0)
        key = key if hourly else datetime.combine(key, datetime.min.time())
        counts[key] = counts.get(key, 0) + 1
    points = []
    moment = first
    while moment <= end:
        total = monitored(moment.date()) // (24 if hourly else 1)
        points.append(
            {
                "date": moment.strftime("%Y%m%dT%H%M%SZ"),
                "value": counts.get(moment, 0),
                "norm": total,
            }
        )
        moment += step
    return points


# --- the benchmark's corpus -------------------------------------------------------------------


def theme_query(index: int) -> str:
    """The GDELT query of synthetic theme ``index`` (what the benchmark's themes use)."""
    return f'("synthetic topic {index}" OR topic{index})'


def bench_corpus(
    seed: int, themes: int, per_theme: int, years: int, end: date
) -> dict[str, list[SyntheticArticle]]:
    """Articles per theme query over ``years`` up to ``end``: uniform coverage, a few
    busy weeks per theme (more than 250 articles, so windows must split) and about 5 %
    of each theme's articles also matched by the next theme (stored once)."""
    rng = random.Random(seed)
    stop = datetime.combine(end, datetime.min.time())
    begin = stop - timedelta(days=365 * years)
    corpus: dict[str, list[SyntheticArticle]] = {}
    previous: list[SyntheticArticle] = []
    for index in range(themes):
        burst_n = per_theme // 10
        spread = synthetic_articles(
            seed=seed * 1000 + index,
            count=per_theme - burst_n,
            start=begin,
            end=stop,
            topic=f"topic{index}",
        )
        busy: list[SyntheticArticle] = []
        for burst in range(3):
            week = begin + timedelta(weeks=rng.randrange(max(1, years * 52 - 1)))
            busy += synthetic_articles(
                seed=seed * 1000 + 100 * (index + 1) + burst,
                count=burst_n // 3,
                start=week,
                end=week + timedelta(days=7),
                topic=f"busy{index}x{burst}",
            )
        shared = previous[: len(previous) // 20]
        corpus[theme_query(index)] = spread + busy + shared
        previous = spread
    return corpus


def _serve(argv: list[str]) -> None:
    seed, themes, per_theme, years = (int(v) for v in argv[:4])
    end = date.fromisoformat(argv[4])
    corpus = bench_corpus(seed, themes, per_theme, years, end)
    distinct = len({a.url for articles in corpus.values() for a in articles})
    listed = sum(len(articles) for articles in corpus.values())
    with GdeltServer() as server:
        for query, articles in corpus.items():
            server.add_query(query, articles)
        print(server.url, distinct, listed, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    _serve(sys.argv[1:])
