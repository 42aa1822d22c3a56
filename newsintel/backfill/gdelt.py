"""The GDELT DOC 2.0 API: query URLs, time windows, answers and a polite client.

GDELT (https://api.gdeltproject.org/api/v2/doc/doc, documented in "GDELT DOC 2.0 API
debuts", blog.gdeltproject.org) answers ``mode=ArtList`` with at most 250 articles
(``{"articles": [{url, title, seendate, domain, language, sourcecountry, ...}]}``) and
``mode=TimelineVolRaw`` with matching-article counts per step and GDELT's total
monitored volume in ``norm`` (``{"timeline": [{"series": ..., "data": [{date, value,
norm}]}]}``). It answers problems with HTTP 200 and a short HTML or plain-text page
("Invalid query", "Timespan is too short") instead of JSON, and 429 when asked too
often. Every such answer becomes an ``Answer`` with a status; nothing here raises for
one bad window, so a backfill always finishes and never leaves a silent gap.

httpx and the feed fetch layer (``make_client``, ``parse_retry_after``) rather than
gdeltdoc: gdeltdoc is synchronous requests with a fixed base URL (tests cannot point it
at loopback), no timeout, no Retry-After, and raises ValueError for every problem, so
each status would have to be recovered from its message text.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit

import httpx

from newsintel.config import Settings
from newsintel.errors import ConfigError
from newsintel.feeds.fetch import make_client, parse_retry_after
from newsintel.feeds.normalise import article_from_fields, title_from_url
from newsintel.models import Article

Mode = Literal["ArtList", "TimelineVolRaw"]
ARTLIST: Mode = "ArtList"
TIMELINE: Mode = "TimelineVolRaw"
AnswerStatus = Literal["ok", "empty", "rate_limited", "error"]

# GDELT documents its DOC search back to January 2017.
GDELT_EARLIEST = date(2017, 1, 1)
# ArtList's largest page (maxrecords); an answer this long may have been cut.
MAX_RECORDS = 250
# GDELT adds articles every 15 minutes: a window this short cannot be split further.
MIN_WINDOW = timedelta(minutes=15)
# 429 answers: retries of one call, and the longest Retry-After waited for in place.
# A longer one ends the window as rate_limited (re-run later: the cursor resumes).
RATE_RETRIES = 3
MAX_RATE_WAIT_S = 120.0
# The wait after a 429 without Retry-After, doubled on each retry.
RATE_WAIT_S = 5.0
_SEEN_FORMATS = ("%Y%m%dT%H%M%SZ", "%Y%m%d%H%M%S", "%Y-%m-%dT%H:%M:%SZ")
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True, order=True)
class Window:
    """A span of time asked of GDELT: ``start`` inclusive, ``end`` exclusive (naive UTC)."""

    start: datetime
    end: datetime

    def halves(self) -> tuple[Window, Window] | None:
        """The two halves (split on a whole second), or None when too short to split."""
        if self.end - self.start < 2 * MIN_WINDOW:
            return None
        middle = self.start + (self.end - self.start) / 2
        middle = middle.replace(microsecond=0)
        return Window(self.start, middle), Window(middle, self.end)

    def label(self) -> str:
        """``2024-01-01..2024-01-08`` (dates) or with times when not on midnight."""

        def text(moment: datetime) -> str:
            if moment.time() == datetime.min.time():
                return moment.date().isoformat()
            return moment.isoformat(timespec="minutes")

        return f"{text(self.start)}..{text(self.end)}"


@dataclass(frozen=True)
class GdeltArticle:
    """One ArtList entry. ``seen_at`` (GDELT's seendate) is naive UTC."""

    url: str
    title: str
    seen_at: datetime
    domain: str
    language: str
    source_country: str


@dataclass(frozen=True)
class TimelineDay:
    """One day of a TimelineVolRaw answer: matching articles and all monitored ones."""

    day: date
    articles: int
    total: int


@dataclass(frozen=True)
class Answer:
    """What one call got: a status, a reason for anything but ok, and the data."""

    status: AnswerStatus
    detail: str = ""
    articles: tuple[GdeltArticle, ...] = ()
    days: tuple[TimelineDay, ...] = ()
    http_status: int | None = None
    retry_after_s: float | None = None

    @property
    def saturated(self) -> bool:
        """Whether ArtList returned its maximum, so the window may hold more."""
        return self.status == "ok" and len(self.articles) >= MAX_RECORDS


# --- dates and windows --------------------------------------------------------------------


def clamp_range(since: date, until: date | None, today: date) -> tuple[date, date, list[str]]:
    """The days to backfill, and warnings for what was clamped.

    ``until`` defaults to ``today`` and never passes it; ``since`` before 2017-01-01
    (where GDELT's DOC search starts) is clamped with a warning. ``since`` after
    ``until`` is a ConfigError.
    """
    warnings: list[str] = []
    end = today if until is None else until
    if since > end:
        raise ConfigError(f"since {since.isoformat()} is after until {end.isoformat()}")
    if end > today:
        warnings.append(f"until {end.isoformat()} is in the future: stopping at today")
        end = today
    if end < GDELT_EARLIEST:
        raise ConfigError(
            f"until {end.isoformat()} is before {GDELT_EARLIEST.isoformat()}, where GDELT's "
            "DOC API starts: nothing to backfill"
        )
    if since < GDELT_EARLIEST:
        warnings.append(
            f"GDELT's DOC API starts at {GDELT_EARLIEST.isoformat()}: since "
            f"{since.isoformat()} clamped to {GDELT_EARLIEST.isoformat()}"
        )
        since = GDELT_EARLIEST
    if since > today:
        raise ConfigError(f"since {since.isoformat()} is in the future")
    return since, end, warnings


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _clipped(starts: list[date], since: date, until: date) -> list[Window]:
    """Windows between consecutive ``starts``, clipped to the days since..until."""
    low, high = _midnight(since), _midnight(until + timedelta(days=1))
    windows = []
    for first, after in pairwise(starts):
        start, end = max(_midnight(first), low), min(_midnight(after), high)
        if start < end:
            windows.append(Window(start, end))
    return windows


def weekly_windows(since: date, until: date) -> list[Window]:
    """Monday-to-Monday windows covering since..until (inclusive), clipped at both ends.

    Aligned on weeks, not on ``since``, so runs with different ``--since`` share their
    cursors for every whole week.
    """
    monday = since - timedelta(days=since.weekday())
    starts = [monday + timedelta(weeks=i) for i in range((until - monday).days // 7 + 2)]
    return _clipped(starts, since, until)


def monthly_windows(since: date, until: date) -> list[Window]:
    """Calendar-month windows covering since..until (inclusive), clipped at both ends."""
    starts = [since.replace(day=1)]
    while starts[-1] <= until:
        month = starts[-1]
        starts.append(date(month.year + month.month // 12, month.month % 12 + 1, 1))
    return _clipped(starts, since, until)


# --- requests -------------------------------------------------------------------------------


def gdelt_timestamp(moment: datetime) -> str:
    """GDELT's YYYYMMDDHHMMSS form of a naive UTC time."""
    return moment.strftime("%Y%m%d%H%M%S")


def query_params(query: str, mode: Mode, window: Window) -> dict[str, str]:
    """The documented parameters of one call.

    GDELT's ``enddatetime`` is inclusive; windows end exclusively, so the last second
    asked for is one before ``window.end`` and adjacent windows never overlap.
    """
    params = {
        "query": query,
        "mode": mode,
        "format": "json",
        "startdatetime": gdelt_timestamp(window.start),
        "enddatetime": gdelt_timestamp(window.end - timedelta(seconds=1)),
    }
    if mode == ARTLIST:
        params["maxrecords"] = str(MAX_RECORDS)
        # Oldest first: what a saturated answer returns is then the window's start.
        params["sort"] = "DateAsc"
    return params


def query_url(base: str, query: str, mode: Mode, window: Window) -> str:
    """The full request URL (spaces as %20, as GDELT's own examples write them)."""
    return f"{base}?{urlencode(query_params(query, mode, window), quote_via=quote)}"


# --- answers --------------------------------------------------------------------------------


def _error_text(body: bytes) -> str:
    """The first line of an HTML or plain-text error page, tags and entities removed."""
    text = html.unescape(_TAG.sub(" ", body.decode("utf-8", "replace")))
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            return line[:200]
    return "an empty error page"


def _seen_at(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    if len(raw) == 16 and raw[8] == "T" and raw[15] == "Z" and raw[:8].isdigit():
        # GDELT's own form, read by hand: strptime took a third of a replay's parsing.
        try:
            return datetime(
                int(raw[:4]), int(raw[4:6]), int(raw[6:8]),
                int(raw[9:11]), int(raw[11:13]), int(raw[13:15]),
            )  # fmt: skip
        except ValueError:
            return None
    for form in _SEEN_FORMATS:
        try:
            return datetime.strptime(raw.strip(), form)
        except ValueError:
            continue
    return None


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    return value.strip() if isinstance(value, str) else ""


def _articles(data: Any) -> tuple[list[GdeltArticle], int]:
    """ArtList entries, and how many were unusable (no url or no readable seendate)."""
    items = data.get("articles") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return [], 0
    found: list[GdeltArticle] = []
    bad = 0
    for item in items:
        seen = _seen_at(item.get("seendate")) if isinstance(item, dict) else None
        if not isinstance(item, dict) or seen is None or not _text(item, "url"):
            bad += 1
            continue
        url = _text(item, "url")
        found.append(
            GdeltArticle(
                url=url,
                title=_text(item, "title"),
                seen_at=seen,
                domain=_text(item, "domain") or (urlsplit(url).hostname or ""),
                language=_text(item, "language"),
                source_country=_text(item, "sourcecountry"),
            )
        )
    return found, bad


def _days(data: Any) -> tuple[list[TimelineDay], int]:
    """Daily sums of the first timeline series (finer steps are added up per day)."""
    series = data.get("timeline") if isinstance(data, dict) else None
    if not isinstance(series, list) or not series or not isinstance(series[0], dict):
        return [], 0
    points = series[0].get("data")
    if not isinstance(points, list):
        return [], 0
    sums: dict[date, list[int]] = {}
    bad = 0
    for point in points:
        seen = _seen_at(point.get("date")) if isinstance(point, dict) else None
        value = point.get("value") if isinstance(point, dict) else None
        norm = point.get("norm") if isinstance(point, dict) else None
        if seen is None or not isinstance(value, int | float) or not isinstance(norm, int | float):
            bad += 1
            continue
        day = sums.setdefault(seen.date(), [0, 0])
        day[0] += int(value)
        day[1] += int(norm)
    return [TimelineDay(d, a, t) for d, (a, t) in sorted(sums.items())], bad


def read_answer(mode: Mode, http_status: int, content_type: str, body: bytes) -> Answer:
    """Classify one HTTP answer: ok, empty, rate_limited or error (with the reason)."""
    if http_status == 429:
        return Answer("rate_limited", "HTTP 429 Too Many Requests", http_status=http_status)
    if not 200 <= http_status < 300:
        return Answer("error", f"HTTP {http_status}: {_error_text(body)}", http_status=http_status)
    stripped = body.strip()
    if not stripped:
        return Answer("empty", http_status=http_status)
    if "html" in content_type.lower() or stripped[:1] not in (b"{", b"["):
        # GDELT's way of saying the query was bad: a 200 with a short page of text.
        return Answer("error", _error_text(body), http_status=http_status)
    try:
        # strict=False: GDELT titles sometimes carry raw control characters.
        data = json.loads(stripped.decode("utf-8", "replace"), strict=False)
    except json.JSONDecodeError as exc:
        return Answer(
            "error",
            f"truncated or invalid JSON ({exc.msg} at byte {exc.pos} of {len(stripped)})",
            http_status=http_status,
        )
    if mode == ARTLIST:
        articles, bad = _articles(data)
        note = f"{bad} entries without url or seendate skipped" if bad else ""
        status: AnswerStatus = "ok" if articles else "empty"
        return Answer(status, note, articles=tuple(articles), http_status=http_status)
    days, bad = _days(data)
    note = f"{bad} points without date, value or norm skipped" if bad else ""
    return Answer("ok" if days else "empty", note, days=tuple(days), http_status=http_status)


# --- articles -------------------------------------------------------------------------------


def outlet_id(domain: str) -> str:
    """The source id of an outlet: its domain, lower-case, without ``www.``."""
    name = domain.strip().lower().rstrip(".")
    return name.removeprefix("www.")


def to_article(item: GdeltArticle, fetched_at: datetime) -> Article | None:
    """An ArtList entry as an Article (origin 'gdelt', source = the outlet domain).

    The id is the one a feed entry with the same link gets, so the story seen later in
    a feed is the same row. A missing title is made from the URL slug and flagged.
    """
    source = outlet_id(item.domain)
    if not source:
        return None
    title, derived = item.title, False
    if not title:
        title, derived = title_from_url(item.url), True
    return article_from_fields(
        source_id=source,
        url=item.url,
        title=title,
        text="",
        published_at=item.seen_at,
        fetched_at=fetched_at,
        origin="gdelt",
        title_derived=derived,
    )


# --- the client -----------------------------------------------------------------------------


class GdeltClient:
    """One paced connection to the DOC API: calls go one at a time, at least
    ``settings.gdelt_min_interval`` seconds apart, and 429s are waited out per
    Retry-After (at most ``RATE_RETRIES`` times, ``MAX_RATE_WAIT_S`` each).

    Use as ``async with GdeltClient(settings) as client: await client.fetch(...)``.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._sleep = sleep
        self._clock = clock
        self._next_at = 0.0
        self._http: httpx.AsyncClient | None = None
        self.calls = 0

    async def __aenter__(self) -> GdeltClient:
        self._http = make_client(self._settings)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _pace(self, at_least_s: float = 0.0) -> None:
        wait = max(self._next_at - self._clock(), at_least_s)
        if wait > 0:
            await self._sleep(wait)
        self._next_at = self._clock() + max(0.0, self._settings.gdelt_min_interval)

    async def fetch(self, query: str, mode: Mode, window: Window) -> Answer:
        """One window of one mode; never raises for a problem with the answer."""
        url = query_url(self._settings.gdelt_api, query, mode, window)
        wait = 0.0
        for attempt in range(RATE_RETRIES + 1):
            await self._pace(wait)
            answer = await self._once(mode, url)
            if answer.status != "rate_limited":
                return answer
            if answer.retry_after_s is not None:
                wait = answer.retry_after_s
            else:
                wait = RATE_WAIT_S * 2**attempt
            if wait > MAX_RATE_WAIT_S:
                return Answer(
                    "rate_limited",
                    f"HTTP 429, Retry-After {wait:.0f} s is longer than {MAX_RATE_WAIT_S:.0f} s: "
                    "re-run later",
                    http_status=429,
                    retry_after_s=wait,
                )
        return Answer(
            "rate_limited",
            f"HTTP 429 after {RATE_RETRIES} retries: re-run later",
            http_status=429,
        )

    async def _once(self, mode: Mode, url: str) -> Answer:
        assert self._http is not None, "use GdeltClient as an async context manager"
        self.calls += 1
        timeout = self._settings.gdelt_timeout
        try:
            response = await self._http.get(
                url, headers={"Accept": "application/json"}, timeout=timeout
            )
        except httpx.TimeoutException:
            return Answer("error", f"timed out after {timeout:.0f} s")
        except httpx.RemoteProtocolError:
            return Answer("error", "the connection closed before the whole answer arrived")
        except httpx.HTTPError as exc:
            return Answer("error", f"network error: {exc or type(exc).__name__}")
        body = response.content
        if len(body) > self._settings.fetch_max_bytes:
            return Answer(
                "error",
                f"answer larger than {self._settings.fetch_max_bytes} bytes",
                http_status=response.status_code,
            )
        answer = read_answer(
            mode, response.status_code, response.headers.get("content-type", ""), body
        )
        if answer.status == "rate_limited":
            retry = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
            return Answer(answer.status, answer.detail, http_status=429, retry_after_s=retry)
        return answer
