"""GDELT DOC API steps without a server: windows, dates, URLs and answer parsing."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

import pytest
from gdeltserver import GdeltServer, monitored, synthetic_articles

from newsintel.backfill.gdelt import (
    ARTLIST,
    MAX_RECORDS,
    TIMELINE,
    Answer,
    GdeltClient,
    Mode,
    Window,
    clamp_range,
    monthly_windows,
    query_url,
    read_answer,
    to_article,
    weekly_windows,
)
from newsintel.config import Settings, load_settings
from newsintel.errors import ConfigError
from newsintel.feeds.normalise import article_from_fields

JSON = "application/json; charset=utf-8"


def test_weekly_windows_are_monday_aligned_and_clipped() -> None:
    windows = weekly_windows(date(2024, 1, 3), date(2024, 1, 20))
    assert [w.label() for w in windows] == [
        "2024-01-03..2024-01-08",
        "2024-01-08..2024-01-15",
        "2024-01-15..2024-01-21",
    ]


def test_monthly_windows_cover_the_range_without_overlap() -> None:
    windows = monthly_windows(date(2023, 11, 15), date(2024, 2, 1))
    assert [w.label() for w in windows] == [
        "2023-11-15..2023-12-01",
        "2023-12-01..2024-01-01",
        "2024-01-01..2024-02-01",
        "2024-02-01..2024-02-02",
    ]


def test_halves_stop_at_fifteen_minutes() -> None:
    window = Window(datetime(2024, 1, 1), datetime(2024, 1, 1, 0, 40))
    first, second = window.halves() or (None, None)
    assert first == Window(datetime(2024, 1, 1), datetime(2024, 1, 1, 0, 20))
    assert second is not None and second.end == window.end
    assert first.halves() is None


def test_clamp_range() -> None:
    today = date(2025, 6, 1)
    since, until, warnings = clamp_range(date(2015, 1, 1), date(2018, 1, 1), today)
    assert (since, until) == (date(2017, 1, 1), date(2018, 1, 1))
    assert "clamped to 2017-01-01" in warnings[0]
    assert clamp_range(date(2024, 1, 1), None, today)[1] == today
    with pytest.raises(ConfigError, match="since 2024-02-01 is after until 2024-01-01"):
        clamp_range(date(2024, 2, 1), date(2024, 1, 1), today)
    with pytest.raises(ConfigError, match="before 2017-01-01"):
        clamp_range(date(2010, 1, 1), date(2012, 1, 1), today)


def test_query_url_has_the_documented_parameters() -> None:
    window = Window(datetime(2024, 1, 1), datetime(2024, 1, 8))
    url = query_url("http://x/api/v2/doc/doc", '(lithium OR "sodium-ion")', ARTLIST, window)
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert params == {
        "query": '(lithium OR "sodium-ion")',
        "mode": "ArtList",
        "format": "json",
        "startdatetime": "20240101000000",
        "enddatetime": "20240107235959",
        "maxrecords": str(MAX_RECORDS),
        "sort": "DateAsc",
    }
    assert " " not in url and "%20" in url


def test_answers_are_classified() -> None:
    art = b'{"articles": [{"url": "https://a.com/x", "title": "T", "seendate": "20240101T101500Z",'
    art += b' "domain": "a.com", "language": "English", "sourcecountry": "France"}]}'
    ok = read_answer(ARTLIST, 200, JSON, art)
    assert ok.status == "ok" and ok.articles[0].seen_at == datetime(2024, 1, 1, 10, 15)
    odd = art.replace(
        b'"articles": [', b'"articles": [{"url": "https://b.com/y", "seendate": "soon"}, '
    )
    skipped = read_answer(ARTLIST, 200, JSON, odd)
    assert (
        len(skipped.articles) == 1 and skipped.detail == "1 entries without url or seendate skipped"
    )
    assert read_answer(ARTLIST, 200, JSON, b"{}").status == "empty"
    assert read_answer(ARTLIST, 200, JSON, b"").status == "empty"
    bad = read_answer(ARTLIST, 200, "text/html", b"<html><body>Invalid query.</body></html>")
    assert (bad.status, bad.detail) == ("error", "Invalid query.")
    short = read_answer(TIMELINE, 200, "text/plain", b"Timespan is too short.\n")
    assert (short.status, short.detail) == ("error", "Timespan is too short.")
    cut = read_answer(ARTLIST, 200, JSON, art[:40])
    assert cut.status == "error" and cut.detail.startswith("truncated or invalid JSON")
    assert read_answer(ARTLIST, 429, "text/plain", b"slow down").status == "rate_limited"
    assert read_answer(ARTLIST, 500, "text/plain", b"boom").detail == "HTTP 500: boom"


def test_timeline_steps_are_summed_per_day() -> None:
    body = (
        b'{"query_details": {"title": "q", "date_resolution": "15m"}, "timeline": [{"series":'
        b' "Article Count", "data": [{"date": "20240101T000000Z", "value": 2, "norm": 100},'
        b' {"date": "20240101T001500Z", "value": 3, "norm": 50},'
        b' {"date": "20240102T000000Z", "value": 0, "norm": 70}]}]}'
    )
    answer = read_answer(TIMELINE, 200, JSON, body)
    assert [(d.day, d.articles, d.total) for d in answer.days] == [
        (date(2024, 1, 1), 5, 150),
        (date(2024, 1, 2), 0, 70),
    ]


def test_a_gdelt_article_gets_the_id_a_feed_entry_with_the_same_link_gets() -> None:
    answer = read_answer(
        ARTLIST,
        200,
        JSON,
        b'{"articles": [{"url": "https://www.mining.com/lithium-price-falls/", "title": "",'
        b' "seendate": "20240101T101500Z", "domain": "www.mining.com"}]}',
    )
    article = to_article(answer.articles[0], datetime(2024, 2, 1))
    assert article is not None
    assert (article.source_id, article.origin, article.title_derived) == (
        "mining.com",
        "gdelt",
        True,
    )
    assert article.title == "Lithium price falls"
    feed = article_from_fields(
        source_id="mining-feed",
        url="https://www.mining.com/lithium-price-falls/?utm_source=rss",
        title="Lithium price falls",
        text="",
        published_at=datetime(2024, 1, 1) + timedelta(hours=3),
        fetched_at=datetime(2024, 2, 1),
        origin="feed",
    )
    assert feed is not None and feed.article_id == article.article_id


# --- against the loopback DOC API -----------------------------------------------------------


def _fetch(settings: Settings, query: str, mode: Mode, window: Window) -> Answer:
    async def go() -> Answer:
        async with GdeltClient(settings) as client:
            return await client.fetch(query, mode, window)

    return asyncio.run(go())


def test_the_loopback_api_answers_in_the_documented_shapes() -> None:
    start = datetime(2024, 1, 1)
    articles = synthetic_articles(seed=3, count=300, start=start, end=start + timedelta(days=7))
    with GdeltServer() as server:
        server.add_query("(lithium OR spodumene)", articles)
        settings = load_settings(env={}, gdelt_api=server.url, gdelt_min_interval=0)
        week = Window(start, start + timedelta(days=7))
        listed = _fetch(settings, "(lithium OR spodumene)", ARTLIST, week)
        assert listed.status == "ok" and listed.saturated
        assert [a.seen_at for a in listed.articles] == sorted(a.seen_at for a in articles)[:250]
        timeline = _fetch(settings, "(lithium OR spodumene)", TIMELINE, week)
        assert sum(d.articles for d in timeline.days) == 300
        assert timeline.days[0].total == monitored(date(2024, 1, 1))
        day = Window(start, start + timedelta(days=1))
        hourly = _fetch(settings, "(lithium OR spodumene)", TIMELINE, day)
        assert [d.day for d in hourly.days] == [date(2024, 1, 1)]
        assert hourly.days[0].total == monitored(date(2024, 1, 1)) // 24 * 24
        assert _fetch(settings, "nothing", ARTLIST, week).status == "empty"
        invalid = _fetch(settings, "(lithium", ARTLIST, week)
        assert (invalid.status, invalid.detail) == ("error", "Invalid query.")
        server.add_fault("hangup")
        cut = _fetch(settings, "(lithium OR spodumene)", ARTLIST, week)
        assert cut.status == "error" and "closed" in cut.detail
        params = server.calls("artlist")[0].params
        assert params["format"] == "json" and params["maxrecords"] == "250"


def test_calls_are_paced_by_the_minimum_interval() -> None:
    start = datetime(2024, 1, 1)
    week = Window(start, start + timedelta(days=7))

    async def three(settings: Settings) -> None:
        async with GdeltClient(settings) as client:
            for _ in range(3):
                await client.fetch("(lithium)", ARTLIST, week)

    with GdeltServer() as server:
        asyncio.run(three(load_settings(env={}, gdelt_api=server.url, gdelt_min_interval=0.3)))
        times = [call.at for call in server.calls()]
    assert len(times) == 3
    assert min(b - a for a, b in pairwise(times)) >= 0.28
