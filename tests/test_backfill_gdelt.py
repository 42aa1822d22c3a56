"""`newsintel backfill gdelt` against the loopback DOC API, into a real DuckDB file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from feedserver import FeedServer
from gdeltserver import GdeltServer, SyntheticArticle, monitored, synthetic_articles

from newsintel.cli import main
from newsintel.config import Settings, load_settings
from newsintel.feeds.sources import FeedSource
from newsintel.jobs import ingest
from newsintel.jobs.backfill_gdelt import GdeltBackfillReport, backfill_gdelt
from newsintel.store.snapshots import current

ROOT = Path(__file__).resolve().parent.parent
LITHIUM = "(lithium OR spodumene)"
ROBOTS = '("humanoid robot" OR Optimus)'
THEMES = f"""
[[themes]]
name = "lithium"
description = "Lithium mining and prices."
gdelt_query = '{LITHIUM}'

[[themes]]
name = "robots"
description = "Humanoid robots."
gdelt_query = '{ROBOTS}'

[[themes]]
name = "no_query"
description = "A theme GDELT is not asked about."
"""
# Two weeks of January 2024 (Monday to Sunday): two ArtList windows, one timeline month.
SINCE, UNTIL = date(2024, 1, 1), date(2024, 1, 14)
START = datetime(2024, 1, 1)


@dataclass
class Env:
    server: GdeltServer
    settings: Settings
    tmp: Path

    def run(self, **kwargs: Any) -> GdeltBackfillReport:
        return backfill_gdelt(self.settings, since=SINCE, until=UNTIL, **kwargs)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(self.settings.db, read_only=True) as con:
            return con.execute(sql).fetchall()

    def count(self, sql: str) -> int:
        return int(self.rows(sql)[0][0])


def _settings(tmp: Path, server: GdeltServer, name: str = "db.duckdb") -> Settings:
    themes = tmp / "themes.toml"
    themes.write_text(THEMES, "utf-8")
    return load_settings(
        env={},
        db=str(tmp / name),
        themes_file=str(themes),
        gdelt_api=server.url,
        gdelt_min_interval=0,
    )


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    with GdeltServer() as server:
        settings = _settings(tmp_path, server)
        # The same settings for `newsintel` commands run in this process.
        monkeypatch.setenv("NEWSINTEL_THEMES_FILE", settings.themes_file)
        monkeypatch.setenv("NEWSINTEL_GDELT_API", server.url)
        monkeypatch.setenv("NEWSINTEL_GDELT_MIN_INTERVAL", "0")
        yield Env(server, settings, tmp_path)


def _week(topic: str, seed: int, count: int, days: int = 14) -> list[SyntheticArticle]:
    return synthetic_articles(
        seed=seed, count=count, start=START, end=START + timedelta(days=days), topic=topic
    )


def test_a_busy_week_is_split_until_nothing_is_cut(env: Env) -> None:
    # 600 stories on one day: the week, then its halves, saturate at 250.
    busy = synthetic_articles(
        seed=2, count=600, start=datetime(2024, 1, 3), end=datetime(2024, 1, 4), topic="busy"
    )
    env.server.add_query(LITHIUM, _week("lithium", 1, 120) + busy)

    report = env.run(themes=["lithium"])

    lithium = report.themes[0]
    assert lithium.articles_added == 720
    statuses = [w.status for w in lithium.windows if w.mode == "ArtList"]
    assert "split" in statuses and "capped" not in statuses
    assert env.count("SELECT count(*) FROM articles WHERE origin = 'gdelt'") == 720
    assert all(len(c.params) == 7 for c in env.server.calls("artlist"))
    # Each split window's halves cover it exactly: listed rows add up to the stories.
    assert sum(w.rows for w in lithium.windows if w.mode == "ArtList") == 720
    # The outlet is the source, known as an outlet rather than a feed.
    assert env.count("SELECT count(*) FROM sources WHERE kind <> 'outlet'") == 0
    assert env.rows("SELECT DISTINCT source_id FROM articles WHERE source_id LIKE 'www.%'") == []
    # Readers see the backfill: it ends by publishing a snapshot that holds the stories.
    snapshot = current(env.settings.db)
    assert snapshot is not None
    with duckdb.connect(str(snapshot.path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles WHERE origin = 'gdelt'").fetchone() == (
            720,
        )


def test_timelines_store_counts_and_share_of_all_monitored_news(env: Env) -> None:
    articles = _week("lithium", 1, 200)
    env.server.add_query(LITHIUM, articles)

    report = env.run(themes=["lithium"])

    theme = report.themes[0]
    assert (theme.timeline_first, theme.timeline_last, theme.timeline_days) == (SINCE, UNTIL, 14)
    counts = dict(
        env.rows("SELECT date, value FROM series_points WHERE series_id = 'gdelt:lithium'")
    )
    expected = {
        day: sum(1 for a in articles if a.seen_at.date() == day)
        for day in (SINCE + timedelta(days=i) for i in range(14))
    }
    assert counts == expected
    shares = dict(
        env.rows("SELECT date, value FROM series_points WHERE series_id = 'gdelt:lithium:share'")
    )
    assert shares[SINCE] == pytest.approx(expected[SINCE] * 1e6 / monitored(SINCE))
    kinds = env.rows("SELECT series_id, kind, unit FROM series ORDER BY series_id")
    assert kinds == [
        ("gdelt:lithium", "attention", "articles/day"),
        ("gdelt:lithium:share", "attention", "per million monitored articles"),
    ]
    totals = env.rows(
        "SELECT day, total FROM gdelt_timeline WHERE theme = 'lithium' ORDER BY day LIMIT 1"
    )
    assert totals == [(SINCE, monitored(SINCE))]


def test_429_waits_for_retry_after_then_finishes(env: Env) -> None:
    env.server.add_query(LITHIUM, _week("lithium", 1, 50))
    env.server.add_fault("rate_limit", mode="ArtList", retry_after="1")

    report = env.run(themes=["lithium"])

    calls = env.server.calls("artlist")
    assert calls[1].params == calls[0].params  # the same window, asked again
    assert calls[1].at - calls[0].at >= 0.95
    assert {w.status for w in report.themes[0].windows} == {"ok"}
    assert report.themes[0].articles_added == 50


def test_a_long_retry_after_leaves_a_named_gap_that_a_rerun_fills(env: Env) -> None:
    env.server.add_query(LITHIUM, _week("lithium", 1, 50))
    env.server.add_fault("rate_limit", mode="ArtList", start="20240108000000", retry_after="900")

    first = env.run(themes=["lithium"])

    limited = [w for w in first.themes[0].windows if w.status == "rate_limited"]
    assert [w.label() for w in limited] == ["2024-01-08..2024-01-15"]
    assert "Retry-After 900 s" in limited[0].detail
    second = env.run(themes=["lithium"])
    assert [w.label() for w in second.themes[0].windows] == ["2024-01-08..2024-01-15"]
    assert second.themes[0].windows[0].status == "ok"
    assert env.count("SELECT count(*) FROM articles") == 50


def test_error_pages_truncated_json_and_empty_windows_are_window_statuses(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.server.add_query(LITHIUM, _week("lithium", 1, 80))
    env.server.add_query(ROBOTS, _week("robots", 2, 30))
    env.server.add_fault("html", mode="ArtList", start="20240101000000", text="Invalid query.")
    env.server.add_fault("truncated", mode="ArtList", start="20240108000000")
    env.server.add_fault("text", mode="TimelineVolRaw", text="Timespan is too short.")
    env.server.add_fault("empty", mode="ArtList", start="20240101000000")  # robots' 1st week

    code = main(
        [
            *("--db", env.settings.db, "backfill", "gdelt"),
            *("--since", "2024-01-01", "--until", "2024-01-14", "--json"),
        ]
    )

    assert code == 0
    report = json.loads(capsys.readouterr().out)
    by_theme = {t["theme"]: t for t in report["themes"]}
    lithium = {
        (w["mode"], w["window"]): (w["status"], w["detail"]) for w in by_theme["lithium"]["windows"]
    }
    assert lithium[("ArtList", "2024-01-01..2024-01-08")] == ("error", "Invalid query.")
    status, detail = lithium[("ArtList", "2024-01-08..2024-01-15")]
    assert status == "error" and detail.startswith("truncated or invalid JSON")
    assert lithium[("TimelineVolRaw", "2024-01-01..2024-01-15")] == (
        "error",
        "Timespan is too short.",
    )
    robots = {
        w["window"]: w["status"] for w in by_theme["robots"]["windows"] if w["mode"] == "ArtList"
    }
    assert robots == {"2024-01-01..2024-01-08": "empty", "2024-01-08..2024-01-15": "ok"}
    assert by_theme["no_query"]["note"].startswith("skipped: no gdelt_query")
    assert report["windows"]["error"] == 3

    # A re-run asks only for the failed windows, and says so in text.
    argv = ["--db", env.settings.db, "backfill", "gdelt", "--since", "2024-01-01"]
    assert main([*argv, "--until", "2024-01-14"]) == 0
    out = capsys.readouterr().out
    assert (
        "gdelt lithium: timeline windows: 1 ok; article windows: 2 ok; 80 articles added; "
        "timeline 2024-01-01..2024-01-14 (14 days)"
    ) in out
    assert (
        "gdelt robots: timeline windows: none asked; article windows: none asked; "
        "3 already done; 0 articles added"
    ) in out
    assert "gdelt no_query: skipped: no gdelt_query in" in out
    assert env.count("SELECT count(*) FROM gdelt_windows WHERE NOT done") == 0
    # GDELT's empty answer is taken at its word: robots' first week stays empty.
    robots_week_2 = sum(1 for a in _week("robots", 2, 30) if a.seen_at >= datetime(2024, 1, 8))
    assert env.count("SELECT count(*) FROM articles") == 80 + robots_week_2


def test_bad_input_is_one_line(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", env.settings.db]
    assert main([*db, "backfill", "gdelt", "--since", "2024-02-01", "--until", "2024-01-01"]) == 1
    assert capsys.readouterr().err == "error: --since 2024-02-01 is after --until 2024-01-01\n"
    assert main([*db, "backfill", "gdelt", "--theme", "nope", "--since", "2024-01-01"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown theme 'nope'") and err.count("\n") == 1
    assert "known: lithium, robots, no_query" in err
    # Before GDELT's start: clamped with a warning, not refused.
    env.server.add_query(LITHIUM, [])
    argv = [*db, "backfill", "gdelt", "--theme", "lithium", "--since", "2016-12-31"]
    assert main([*argv, "--until", "2017-01-01"]) == 0
    err = capsys.readouterr().err
    assert "warning: GDELT's DOC API starts at 2017-01-01: since 2016-12-31 clamped" in err


def test_a_story_seen_first_by_gdelt_and_later_by_a_feed_is_one_story(
    env: Env, feed_server: FeedServer
) -> None:
    # GDELT sees two stories on 6 January 2025; a feed carries them later, one under
    # the same link (same id), one under another URL with the same title (same story).
    seen = datetime(2025, 1, 6, 8, 15)
    env.server.add_query(
        LITHIUM,
        [
            SyntheticArticle(
                "https://mining.com/news/lithium-glut", "Lithium glut deepens", seen, "mining.com"
            ),
            SyntheticArticle(
                "https://www.ft.com/content/abc123",
                "Spodumene miners cut output",
                seen,
                "www.ft.com",
            ),
        ],
    )
    backfill_gdelt(
        env.settings, since=date(2025, 1, 6), until=date(2025, 1, 12), themes=["lithium"]
    )
    # One entry without a GUID under GDELT's link, one with a GUID under another link.
    feed = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Mining'
        b"</title><link>https://mining.com/</link><description>d</description>"
        b"<item><title>Lithium glut deepens</title>"
        b"<link>https://mining.com/news/lithium-glut?utm_source=rss</link>"
        b"<pubDate>Mon, 06 Jan 2025 10:00:00 GMT</pubDate><description>More.</description></item>"
        b"<item><title>Spodumene miners cut output</title>"
        b"<link>https://syndicated.example/spodumene-cut</link><guid>syn-88121</guid>"
        b"<pubDate>Mon, 06 Jan 2025 11:00:00 GMT</pubDate><description>Cuts.</description></item>"
        b"</channel></rss>"
    )
    path = feed_server.add_file("/feed.xml", feed)
    source = FeedSource("mining-feed", "Mining feed", feed_server.url(path))
    ingest(env.settings, sources=[source], force=True)

    stories = env.rows(
        "SELECT title, count(DISTINCT story_id), list(origin ORDER BY origin) FROM articles "
        "GROUP BY title ORDER BY title"
    )
    assert [(t, n) for t, n, _o in stories] == [
        ("Lithium glut deepens", 1),
        ("Spodumene miners cut output", 1),
    ]
    origins = {t: o for t, _n, o in stories}
    # The same link is the same row; the same title from another source joins the story.
    assert origins == {
        "Lithium glut deepens": ["gdelt"],
        "Spodumene miners cut output": ["feed", "gdelt"],
    }


# --- kill -9 and resume ------------------------------------------------------------------------


def _state(db: str) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "articles": "SELECT article_id, story_id, source_id, url, title, published_at, origin, "
        "title_derived FROM articles ORDER BY article_id",
        "sources": "SELECT source_id, name, url, kind FROM sources ORDER BY source_id",
        "points": "SELECT series_id, date, value FROM series_points ORDER BY ALL",
        "timeline": "SELECT * FROM gdelt_timeline ORDER BY ALL",
        "windows": "SELECT theme, mode, window_start, window_end, status, n_rows, done "
        "FROM gdelt_windows ORDER BY ALL",
    }
    with duckdb.connect(db, read_only=True) as con:
        return {name: con.execute(sql).fetchall() for name, sql in queries.items()}


def test_kill_9_mid_run_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    since, until = date(2024, 1, 1), date(2024, 3, 31)
    lithium = synthetic_articles(
        seed=5, count=900, start=datetime(2024, 1, 1), end=datetime(2024, 4, 1)
    ) + synthetic_articles(
        seed=6, count=400, start=datetime(2024, 2, 7), end=datetime(2024, 2, 8), topic="busy"
    )
    robots = synthetic_articles(
        seed=7, count=300, start=datetime(2024, 1, 1), end=datetime(2024, 4, 1), topic="robots"
    )
    with GdeltServer(latency_s=0.1) as server:
        server.add_query(LITHIUM, lithium)
        server.add_query(ROBOTS, robots + lithium[:40])  # shared stories are stored once
        reference = _settings(tmp_path, server, "reference.duckdb")
        backfill_gdelt(reference, since=since, until=until)
        total_calls = len(server.requests)
        server.requests.clear()

        settings = _settings(tmp_path, server, "killed.duckdb")
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "NEWSINTEL_DB": settings.db,
            "NEWSINTEL_THEMES_FILE": settings.themes_file,
            "NEWSINTEL_GDELT_API": server.url,
            "NEWSINTEL_GDELT_MIN_INTERVAL": "0",
        }
        argv = [sys.executable, "-m", "newsintel", "backfill", "gdelt"]
        argv += ["--since", since.isoformat(), "--until", until.isoformat(), "--json"]
        child = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(server.requests) < total_calls * 0.6 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        killed = _state(settings.db)
        done = sum(1 for row in killed["windows"] if row[-1])
        assert 0 < done < len(_state(reference.db)["windows"]), "the kill was not mid-run"

        rerun = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, check=True)
        assert json.loads(rerun.stdout)["windows"].get("error", 0) == 0
        assert _state(settings.db) == _state(reference.db)

        server.requests.clear()
        again = backfill_gdelt(settings, since=since, until=until)
        assert (again.calls, again.articles_added) == (0, 0)
        assert _state(settings.db) == _state(reference.db)
        assert len(_state(reference.db)["articles"]) == 900 + 400 + 300
