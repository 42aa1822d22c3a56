"""fetch_feed / fetch_all against a real loopback server: every fault next to a healthy feed.

Backoff (newsintel.feeds.backoff) is tested here too: it turns these results into the
next check time.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from feedserver import FeedServer, make_rss

from newsintel.config import Settings
from newsintel.errors import ParseError
from newsintel.feeds.backoff import MAX_DELAY, is_stale, next_check_at
from newsintel.feeds.fetch import (
    FetchResult,
    FetchState,
    fetch_all,
    fetch_all_sync,
    parse_retry_after,
)
from newsintel.feeds.parse import parse_feed
from newsintel.feeds.sources import FeedSource

pytestmark = pytest.mark.timeout(30)

SETTINGS = Settings(
    fetch_timeout=1.0, fetch_max_bytes=100_000, fetch_concurrency=8, fetch_per_host=4
)
FEED = make_rss("Healthy", [("Copper rallies", "http://example.com/copper")])
FIXTURES = Path(__file__).parent / "fixtures" / "feeds"


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer(root=FIXTURES) as srv:
        srv.add_file("/healthy.xml", FEED)
        yield srv


def _source(url: str, name: str = "probe") -> FeedSource:
    return FeedSource(name, name, url)


def _with_healthy(server: FeedServer, url: str, state: FetchState | None = None) -> FetchResult:
    """Fetch ``url`` and a healthy feed in one batch; the healthy one must be unharmed."""
    pairs = [
        (_source(url), state or FetchState()),
        (_source(server.url("/healthy.xml"), "healthy"), FetchState()),
    ]
    result, healthy = fetch_all_sync(pairs, SETTINGS)
    assert healthy.status == "ok", healthy.error
    assert healthy.body == FEED
    assert result.url == url
    return result


Setup = Callable[[FeedServer], str]


def _loop(server: FeedServer) -> str:
    server.add_redirect("/loop-b", "/loop-a")
    return server.add_redirect("/loop-a", "/loop-b")


FAULTS: list[tuple[str, Setup, int | None, str]] = [
    ("timeout", lambda s: s.add_slow("/slow", FEED, 3.0), None, "timed out after 1.0 s"),
    ("slow-drip", lambda s: s.add_drip("/drip", FEED * 3, interval_s=0.05), None,
     "timed out after 1.0 s"),
    ("reset", lambda s: s.add_reset("/reset"), None, "connection reset"),
    ("404", lambda s: s.add_status("/missing", 404), 404, "HTTP 404 Not Found"),
    ("410", lambda s: s.add_status("/gone", 410), 410, "HTTP 410 Gone"),
    ("500", lambda s: s.add_status("/boom", 500), 500, "HTTP 500 Internal Server Error"),
    ("redirect-loop", _loop, 302, "redirect loop"),
    ("too-many-redirects", lambda s: s.add_redirect_chain("/chain7-", 7, "/healthy.xml"), None,
     "too many redirects (more than 5)"),
    ("oversized", lambda s: s.add_oversized("/big", 300_000), 200,
     "body larger than 100000 bytes"),
    ("oversized-chunked", lambda s: s.add_oversized("/big-chunked", 300_000,
                                                    declare_length=False),
     200, "body larger than 100000 bytes"),
    ("gzip-bomb", lambda s: (s.add_gzip_bomb("/bomb", 200_000_000), "/bomb")[1], 200,
     "gzip body decompresses beyond the size cap (100000 bytes)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "http_status", "error"),
    [fault[1:] for fault in FAULTS],
    ids=[fault[0] for fault in FAULTS],
)
def test_fault_fails_cleanly_beside_a_healthy_feed(
    server: FeedServer, setup: Setup, http_status: int | None, error: str
) -> None:
    started = time.monotonic()
    result = _with_healthy(server, server.url(setup(server)))
    assert result.status == "failed"
    assert result.error == error
    assert result.http_status == http_status
    assert result.body is None
    assert time.monotonic() - started < 5


def test_unknown_host(server: FeedServer) -> None:
    result = _with_healthy(server, "http://feeds.example.invalid/rss.xml")
    assert result.status == "failed"
    assert result.error == "unknown host feeds.example.invalid"


def test_gzip_bomb_is_small_on_the_wire(server: FeedServer) -> None:
    compressed = server.add_gzip_bomb("/bomb-size", 50_000_000)
    assert compressed < SETTINGS.fetch_max_bytes
    result = _with_healthy(server, server.url("/bomb-size"))
    assert result.error == "gzip body decompresses beyond the size cap (100000 bytes)"


@pytest.mark.parametrize("status", [503, 429])
def test_retry_after_in_seconds(server: FeedServer, status: int) -> None:
    server.add_status(f"/busy-{status}", status, headers={"Retry-After": "120"})
    result = _with_healthy(server, server.url(f"/busy-{status}"))
    assert result.status == "failed"
    reason = {503: "Service Unavailable", 429: "Too Many Requests"}[status]
    assert result.error == f"HTTP {status} {reason}"
    assert result.http_status == status
    assert result.retry_after_s == 120.0


def test_retry_after_as_http_date(server: FeedServer) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    server.add_status("/busy-date", 429, headers={"Retry-After": format_datetime(when, True)})
    result = _with_healthy(server, server.url("/busy-date"))
    assert result.error == "HTTP 429 Too Many Requests"
    assert result.retry_after_s is not None
    assert 590 <= result.retry_after_s <= 600


def test_parse_retry_after_values() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Wed, 01 Jan 2025 00:01:00 GMT", now) == 60.0
    assert parse_retry_after("Tue, 31 Dec 2024 00:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_is_reported(server: FeedServer, status: int) -> None:
    server.add_redirect(f"/moved-{status}", "/healthy.xml", status)
    result = _with_healthy(server, server.url(f"/moved-{status}"))
    assert result.status == "ok"
    assert result.body == FEED
    assert result.final_url == server.url("/healthy.xml")
    assert result.permanent_redirect_url == server.url("/healthy.xml")


def test_temporary_hop_makes_the_move_temporary(server: FeedServer) -> None:
    server.add_redirect("/perm-then-temp", "/temp-hop", 301)
    server.add_redirect("/temp-hop", "/healthy.xml", 302)
    result = _with_healthy(server, server.url("/perm-then-temp"))
    assert result.status == "ok"
    assert result.permanent_redirect_url == server.url("/temp-hop")


def test_five_redirects_are_followed(server: FeedServer) -> None:
    start = server.add_redirect_chain("/chain5-", 5, "/healthy.xml")
    result = _with_healthy(server, server.url(start))
    assert result.status == "ok"
    assert result.permanent_redirect_url is None
    assert result.final_url == server.url("/healthy.xml")


def test_gzip_feed_is_decoded(server: FeedServer) -> None:
    server.add_gzip("/zipped", FEED)
    result = _with_healthy(server, server.url("/zipped"))
    assert result.status == "ok"
    assert result.body == FEED
    assert result.headers["content-encoding"] == "gzip"


def test_empty_body_fetches_but_does_not_parse(server: FeedServer) -> None:
    server.add_empty("/empty")
    result = _with_healthy(server, server.url("/empty"))
    assert result.status == "ok"
    assert result.body == b""
    with pytest.raises(ParseError, match="the feed is empty"):
        parse_feed(result.body, result.headers, result.final_url)


def test_html_page_fetches_but_does_not_parse(server: FeedServer) -> None:
    server.add_html("/blog")
    result = _with_healthy(server, server.url("/blog"))
    assert result.status == "ok"
    assert result.body
    with pytest.raises(ParseError, match="the server returned an HTML page, not a feed"):
        parse_feed(result.body, result.headers, result.final_url)


def test_wrong_declared_charset_still_parses(server: FeedServer) -> None:
    text = '<?xml version="1.0"?><rss version="2.0"><channel><title>Café</title></channel></rss>'
    server.add_wrong_charset("/charset", text, actual="utf-8", declared="us-ascii")
    result = _with_healthy(server, server.url("/charset"))
    assert result.body is not None
    feed = parse_feed(result.body, result.headers, result.final_url)
    assert feed.title == "Café"
    assert feed.bozo_reason is not None


def test_second_fetch_with_stored_etag_is_not_modified(server: FeedServer) -> None:
    server.add_file("/conditional.xml", FEED, etag='"v1"')
    first = _with_healthy(server, server.url("/conditional.xml"))
    assert first.status == "ok"
    assert first.etag == '"v1"'
    assert first.last_modified
    state = FetchState(etag=first.etag, last_modified=first.last_modified)
    second = _with_healthy(server, server.url("/conditional.xml"), state)
    assert second.status == "not_modified"
    assert second.http_status == 304
    assert second.body is None
    assert second.error is None
    sent = server.requests_for("/conditional.xml")
    assert "if-none-match" not in sent[0].headers
    assert sent[1].headers["if-none-match"] == '"v1"'
    assert sent[1].headers["if-modified-since"] == first.last_modified


def test_last_modified_alone_gives_not_modified(server: FeedServer) -> None:
    server.add_file("/dated.xml", FEED, last_modified="Mon, 06 Jan 2025 10:00:00 GMT")
    state = FetchState(last_modified="Mon, 06 Jan 2025 10:00:00 GMT")
    assert _with_healthy(server, server.url("/dated.xml"), state).status == "not_modified"


def test_client_identifies_itself(server: FeedServer) -> None:
    server.add_file("/ua.xml", FEED)
    _with_healthy(server, server.url("/ua.xml"))
    headers = server.requests_for("/ua.xml")[-1].headers
    assert headers["user-agent"] == SETTINGS.user_agent
    assert "application/rss+xml" in headers["accept"]
    assert headers["accept-encoding"] == "gzip, deflate"


def test_files_under_the_root_are_served(server: FeedServer) -> None:
    result = _with_healthy(server, server.url("/rss20.xml"))
    assert result.status == "ok"
    assert result.body == (FIXTURES / "rss20.xml").read_bytes()
    assert result.etag


def test_local_paths_read_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "local.xml"
    path.write_bytes(FEED)
    pairs = [
        (_source(str(path), "plain"), FetchState()),
        (_source(path.as_uri(), "uri"), FetchState()),
        (_source(str(tmp_path / "absent.xml"), "absent"), FetchState()),
    ]
    plain, uri, absent = fetch_all_sync(pairs, SETTINGS)
    assert plain.status == uri.status == "ok"
    assert plain.body == uri.body == FEED
    assert absent.status == "failed"
    assert absent.error == f"file not found: {tmp_path / 'absent.xml'}"


def _concurrency_probe(server: FeedServer, path: str) -> Callable[[], int]:
    """Register a slow route that records the most requests it served at once."""
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def serve(handler: object) -> None:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        handler.send_body(200, FEED)  # type: ignore[attr-defined]

    server.route(path, serve)
    return lambda: state["peak"]


def test_per_host_limit(server: FeedServer) -> None:
    peak = _concurrency_probe(server, "/probe-host")
    settings = Settings(fetch_timeout=5.0, fetch_concurrency=16, fetch_per_host=2)
    pairs = [(_source(server.url("/probe-host"), f"f{i}"), FetchState()) for i in range(6)]
    results = fetch_all_sync(pairs, settings)
    assert all(r.status == "ok" for r in results)
    assert peak() == 2


def test_global_limit_and_order_and_progress(server: FeedServer) -> None:
    peak = _concurrency_probe(server, "/probe-global")
    settings = Settings(fetch_timeout=5.0, fetch_concurrency=3, fetch_per_host=10)
    pairs = [(_source(server.url("/probe-global"), f"f{i}"), FetchState()) for i in range(7)]
    pairs.insert(3, (_source(server.url("/nope"), "broken"), FetchState()))
    seen: list[str] = []
    results = fetch_all_sync(pairs, settings, on_result=lambda r: seen.append(r.source_id))
    assert [r.source_id for r in results] == [source.source_id for source, _ in pairs]
    assert sorted(seen) == sorted(r.source_id for r in results)
    assert results[3].error == "HTTP 404 Not Found"
    assert peak() == 3


def test_fetch_all_is_async(server: FeedServer) -> None:
    pairs = [(_source(server.url("/healthy.xml")), FetchState())]
    (result,) = asyncio.run(fetch_all(pairs, SETTINGS))
    assert result.status == "ok"
    assert result.elapsed_s >= 0


# -- backoff ---------------------------------------------------------------------------

NOW = datetime(2025, 1, 1, 12, 0)


def _next(status: str, failures: int, retry: float | None = None, interval: int = 0) -> timedelta:
    when = next_check_at(
        NOW,
        status=status,
        consecutive_failures=failures,
        retry_after_s=retry,
        min_interval_minutes=interval,
        rng=random.Random(7),
    )
    return when - NOW


def test_success_waits_the_minimum_interval() -> None:
    assert _next("ok", 0) == timedelta(0)
    assert _next("not_modified", 0, interval=30) == timedelta(minutes=30)


def test_failures_back_off_exponentially_with_jitter_and_a_cap() -> None:
    delays = [_next("failed", n) for n in range(1, 12)]
    assert timedelta(minutes=4) <= delays[0] <= timedelta(minutes=6)
    assert timedelta(minutes=8) <= delays[1] <= timedelta(minutes=12)
    assert all(a < b for a, b in itertools.pairwise(delays[:6]))
    assert max(delays) == MAX_DELAY
    jittered = {
        next_check_at(
            NOW, status="failed", consecutive_failures=3, retry_after_s=None,
            min_interval_minutes=0, rng=random.Random(seed),
        )
        for seed in range(5)
    }  # fmt: skip
    assert len(jittered) > 1


def test_retry_after_is_a_lower_bound() -> None:
    assert _next("failed", 1, retry=3600) == timedelta(hours=1)
    assert _next("failed", 1, retry=1) < timedelta(minutes=7)
    assert _next("failed", 1, retry=30 * 86400) == timedelta(days=7)


def test_staleness() -> None:
    assert is_stale(None, NOW)
    assert not is_stale(NOW - timedelta(days=2), NOW)
    assert is_stale(NOW - timedelta(days=4), NOW)
    assert not is_stale(NOW - timedelta(days=4), NOW, days=7)
