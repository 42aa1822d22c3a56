"""Every feed fault through ``jobs.ingest`` against a real loopback server.

Each case first ingests a good version of the probe feed, then switches the same path
to the fault and ingests again beside a healthy feed that has news. Every case shows
that (a) the healthy feed is still ingested, (b) the probe's failure is recorded in
v_source_health in words, or, for faults a feed reader must survive, the articles it
still carries are stored with the quirk recorded, and (c) nothing stored earlier is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings
from feedserver import FeedServer, make_rss

from newsintel.config import Settings
from newsintel.feeds.sources import FeedSource
from newsintel.jobs import IngestReport, ingest
from newsintel.store import open_db

pytestmark = pytest.mark.timeout(60)

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
PROBE = "/probe.xml"
GOOD = make_rss(
    "Probe",
    [
        ("Cobalt refiners sign supply pact", "http://probe.example.com/cobalt"),
        ("Graphite anode plant opens", "http://probe.example.com/graphite"),
    ],
)
GOOD_TITLES = {"Cobalt refiners sign supply pact", "Graphite anode plant opens"}
HEALTHY_BEFORE = make_rss("Healthy", [("Copper rallies", "http://healthy.example.com/1")])
HEALTHY_AFTER = make_rss(
    "Healthy",
    [
        ("Copper rallies", "http://healthy.example.com/1"),
        ("Copper gives back its gains", "http://healthy.example.com/2"),
    ],
)
RETRY_AFTER = timedelta(hours=1)

Setup = Callable[[FeedServer], object]
Check = Callable[[FeedServer, dict[str, Any], list[dict[str, Any]]], None]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass(frozen=True)
class Fault:
    """A fault served at PROBE, and what ingest must make of it."""

    setup: Setup
    error: str | None = None  # failing faults: the recorded last_error
    http_status: int | None = None
    titles: frozenset[str] = frozenset()  # recoverable faults: articles added
    status: str = "ok"
    check: Check | None = None  # quirk-specific assertions
    warned: bool = False  # the feed was malformed: the report carries a warning
    moved_to: str | None = None  # the probe's configured URL changes to this one


def _loop(server: FeedServer) -> None:
    server.add_redirect("/loop-b", PROBE)
    server.add_redirect(PROBE, "/loop-b")


def _chain(server: FeedServer) -> None:
    start = server.add_redirect_chain("/hop-", 6, "/probe-v2.xml")
    server.add_redirect(PROBE, start)


def _moved(server: FeedServer) -> None:
    moved = make_rss(
        "Probe",
        [
            ("Cobalt refiners sign supply pact", "http://probe.example.com/cobalt"),
            ("Graphite anode plant opens", "http://probe.example.com/graphite"),
            ("Manganese sulphate capacity doubles", "http://probe.example.com/manganese"),
        ],
    )
    server.add_file("/new-home.xml", moved)
    server.add_redirect(PROBE, "/new-home.xml", 301)


def _check_moved(server: FeedServer, health: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    assert health["url"] == server.url("/new-home.xml")


def _check_retry_after(
    server: FeedServer, health: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    assert health["next_check_at"] == health["last_fetch_at"] + RETRY_AFTER


def _check_estimated(
    server: FeedServer, health: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    estimated = {r["title"]: r["published_estimated"] for r in rows}
    assert estimated["No date at all"] and estimated["Garbage date"]
    assert estimated["Impossible day"]
    assert not estimated["ISO date in an RSS feed"] and not estimated["Dublin Core date only"]
    by_title = {r["title"]: r for r in rows}
    assert by_title["No date at all"]["published_at"] == by_title["No date at all"]["fetched_at"]
    assert str(by_title["ISO date in an RSS feed"]["published_at"]) == "2025-01-15 15:00:00"


def _check_first_duplicate_wins(
    server: FeedServer, health: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    assert "Nickel price spikes (updated)" not in {r["title"] for r in rows}


def _check_not_modified(
    server: FeedServer, health: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    assert health["not_modified_count"] == 1
    assert server.requests_for(PROBE)[-1].headers["if-none-match"]


def _retry(status: int) -> Setup:
    seconds = str(int(RETRY_AFTER.total_seconds()))
    return lambda s: s.add_status(PROBE, status, headers={"Retry-After": seconds})


def _serve(name: str) -> Setup:
    return lambda s: s.add_file(PROBE, fixture(name))


def _charset(server: FeedServer) -> None:
    text = fixture("http_charset_mismatch.xml").decode("utf-8")
    server.add_wrong_charset(PROBE, text, actual="utf-8", declared="us-ascii")


FAULTS: dict[str, Fault] = {
    "timeout": Fault(lambda s: s.add_slow(PROBE, GOOD, 3.0), "timed out after 1.0 s"),
    "slow-drip": Fault(
        lambda s: s.add_drip(PROBE, GOOD * 3, interval_s=0.05), "timed out after 1.0 s"
    ),
    "connection-reset": Fault(lambda s: s.add_reset(PROBE), "connection reset"),
    # The configured host stops resolving (a lapsed domain, a typo in feeds.toml).
    "unknown-host": Fault(
        lambda s: None,
        "unknown host feeds.example.invalid",
        moved_to="http://feeds.example.invalid/rss.xml",
    ),
    "404": Fault(lambda s: s.add_status(PROBE, 404), "HTTP 404 Not Found", 404),
    "410": Fault(lambda s: s.add_status(PROBE, 410), "HTTP 410 Gone", 410),
    "500": Fault(lambda s: s.add_status(PROBE, 500), "HTTP 500 Internal Server Error", 500),
    "503-retry-after": Fault(
        _retry(503), "HTTP 503 Service Unavailable", 503, check=_check_retry_after
    ),
    "429-retry-after": Fault(
        _retry(429), "HTTP 429 Too Many Requests", 429, check=_check_retry_after
    ),
    "redirect-loop": Fault(_loop, "redirect loop", 302),
    "too-many-redirects": Fault(_chain, "too many redirects (more than 5)"),
    "oversized-body": Fault(
        lambda s: s.add_oversized(PROBE, 300_000), "body larger than 100000 bytes", 200
    ),
    "gzip-bomb": Fault(
        lambda s: s.add_gzip_bomb(PROBE, 5_000_000),
        "gzip body decompresses beyond the size cap (100000 bytes)",
        200,
    ),
    "empty-body": Fault(
        lambda s: s.add_empty(PROBE), "the feed is empty (no content in the response)", 200
    ),
    "html-not-feed": Fault(
        lambda s: s.add_html(PROBE), "the server returned an HTML page, not a feed", 200
    ),
    "permanent-redirect": Fault(
        _moved, titles=frozenset({"Manganese sulphate capacity doubles"}), check=_check_moved
    ),
    "truncated-xml": Fault(
        _serve("truncated.xml"),
        titles=frozenset({"Fab expansion approved", "Gallium export rules tighten"}),
        warned=True,
    ),
    "wrong-declared-charset": Fault(
        _charset, titles=frozenset({"Kupferpreis fällt – Händler vorsichtig"}), warned=True
    ),
    "undeclared-namespace": Fault(
        _serve("undeclared_namespace.xml"),
        titles=frozenset({"Episode 12: rare earths"}),
        warned=True,
    ),
    "invalid-dates": Fault(
        _serve("invalid_dates.xml"),
        titles=frozenset(
            {
                "No date at all",
                "Garbage date",
                "Impossible day",
                "ISO date in an RSS feed",
                "Dublin Core date only",
            }
        ),
        check=_check_estimated,
    ),
    "duplicate-guids": Fault(
        _serve("duplicate_guids.xml"),
        titles=frozenset({"Nickel price spikes", "Zinc stocks fall"}),
        check=_check_first_duplicate_wins,
    ),
    "missing-link-or-title": Fault(
        _serve("missing_fields.xml"),
        titles=frozenset(
            {
                "A post with no title and no link, only a body of\u2026",
                "Title only, no link",
                "Linked but untitled.",
            }
        ),
    ),
    "not-modified-304": Fault(lambda s: None, status="not_modified", check=_check_not_modified),
}


@pytest.fixture
def fault_settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path,
        fetch_timeout=1.0,
        fetch_max_bytes=100_000,
        fetch_concurrency=8,
        fetch_per_host=8,
    )


def _articles(settings: Settings, source_id: str) -> list[dict[str, Any]]:
    with open_db(settings.db, read_only=True) as con:
        cursor = con.execute(
            "SELECT * FROM articles WHERE source_id = ? ORDER BY article_id", [source_id]
        )
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _health(settings: Settings, source_id: str) -> dict[str, Any]:
    with open_db(settings.db, read_only=True) as con:
        cursor = con.execute("SELECT * FROM v_source_health WHERE source_id = ?", [source_id])
        names = [d[0] for d in cursor.description or ()]
        row = cursor.fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


def _report(report: IngestReport, source_id: str) -> Any:
    return next(f for f in report.feeds if f.source_id == source_id)


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_fault_through_ingest(
    fault: Fault, fault_settings: Settings, feed_server: FeedServer
) -> None:
    settings, server = fault_settings, feed_server
    server.add_file(PROBE, GOOD)
    server.add_file("/healthy.xml", HEALTHY_BEFORE)
    server.add_file("/probe-v2.xml", GOOD)
    sources = [
        FeedSource("probe", "Probe", server.url(PROBE)),
        FeedSource("healthy", "Healthy", server.url("/healthy.xml")),
    ]
    first = ingest(settings, sources=sources, force=True)
    assert [f.status for f in first.feeds] == ["ok", "ok"]
    before = _articles(settings, "probe")
    assert {a["title"] for a in before} == GOOD_TITLES

    fault.setup(server)
    server.add_file("/healthy.xml", HEALTHY_AFTER)
    if fault.moved_to is not None:
        sources[0] = FeedSource("probe", "Probe", fault.moved_to)
    report = ingest(settings, sources=sources, force=True)

    # (a) the healthy feed beside it is ingested all the same
    assert _report(report, "healthy").status == "ok"
    assert _report(report, "healthy").new_articles == 1
    assert "Copper gives back its gains" in {a["title"] for a in _articles(settings, "healthy")}

    # (b) the failure in words, or the recovered articles and their quirk
    health = _health(settings, "probe")
    probe = _report(report, "probe")
    after = _articles(settings, "probe")
    if fault.error is not None:
        assert probe.status == "failed"
        assert (health["last_status"], health["last_error"]) == ("failed", fault.error)
        assert health["last_http_status"] == fault.http_status
        assert health["consecutive_failures"] == 1
        assert health["last_success_at"] is not None  # the earlier success is kept
        assert health["next_check_at"] > health["last_fetch_at"]  # backed off
        assert len(after) == len(before)
    else:
        assert probe.status == health["last_status"] == fault.status
        assert health["last_error"] is None
        assert health["consecutive_failures"] == 0
        added = {a["title"] for a in after} - GOOD_TITLES
        assert added == fault.titles
        assert probe.new_articles == len(fault.titles)
        assert (probe.warning is not None) == fault.warned
    if fault.check is not None:
        fault.check(server, health, [a for a in after if a["title"] not in GOOD_TITLES])

    # (c) nothing stored before is lost or altered
    kept = {a["article_id"]: a for a in after}
    assert all(kept.get(a["article_id"]) == a for a in before)
    assert health["articles"] == len(after)


def test_permanent_redirect_is_followed_from_its_new_home(
    fault_settings: Settings, feed_server: FeedServer
) -> None:
    feed_server.add_file(PROBE, GOOD)
    sources = [FeedSource("probe", "Probe", feed_server.url(PROBE))]
    ingest(fault_settings, sources=sources, force=True)
    _moved(feed_server)
    ingest(fault_settings, sources=sources, force=True)
    asked = len(feed_server.requests_for(PROBE))
    third = ingest(fault_settings, sources=sources, force=True)
    assert third.feeds[0].status == "not_modified"
    assert len(feed_server.requests_for(PROBE)) == asked  # the old address is left alone
    assert len(feed_server.requests_for("/new-home.xml")) == 2


def test_redirect_to_an_unknown_host_names_that_host(
    fault_settings: Settings, feed_server: FeedServer
) -> None:
    feed_server.add_redirect(PROBE, "http://feeds.example.invalid/rss.xml")
    sources = [FeedSource("probe", "Probe", feed_server.url(PROBE))]
    report = ingest(fault_settings, sources=sources, force=True)
    assert report.feeds[0].error == "unknown host feeds.example.invalid"
