"""`newsintel backfill archive` against a loopback outlet (tests/archiveserver.py) and a
real DuckDB file: paging, sitemaps, politeness, bad input, kill -9 and resume."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from archiveserver import ArchiveSite, Post, make_posts
from conftest import make_settings

import newsintel.jobs.backfill_pages as pages_job
from newsintel.backfill.paged import PageSummary, page_url, stop_after
from newsintel.backfill.sitemaps import SitemapEntry, page_verdict, parse_sitemap
from newsintel.cli import main
from newsintel.config import Settings
from newsintel.errors import ConfigError, FeedError
from newsintel.jobs import group_near_duplicates, ingest
from newsintel.jobs.backfill_archive import backfill_archive
from newsintel.store.archive import ArchiveBackfill, unfinished_backfills

ROOT = Path(__file__).resolve().parent.parent
SINCE, UNTIL = date(2021, 1, 20), date(2021, 6, 30)


def _settings(tmp_path: Path, name: str = "newsintel.duckdb", **overrides: object) -> Settings:
    values: dict[str, object] = {"db": str(tmp_path / name), "archive_min_interval": 0.0}
    values.update(overrides)
    return make_settings(tmp_path, **values)


def _in_window(posts: list[Post], since: date = SINCE, until: date = UNTIL) -> list[Post]:
    return [p for p in posts if since <= p.day <= until]


def _rows(db: str, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(db, read_only=True) as con:
        return con.execute(sql).fetchall()


def _backfills(db: str) -> list[ArchiveBackfill]:
    """What the app's backfill notice reads: runs unfinished or with failed pages."""
    with duckdb.connect(db, read_only=True) as con:
        return unfinished_backfills(con)


def _article_paths(site: ArchiveSite, posts: list[Post]) -> dict[str, int]:
    return {p.path: site.fetched(p.path) for p in posts}


@pytest.mark.parametrize("paging", ["query", "path"])
def test_paged_feed_is_walked_back_to_since_and_a_rerun_adds_nothing(
    tmp_path: Path, paging: str
) -> None:
    posts = make_posts(60)
    site = ArchiveSite(posts, paging=paging)
    settings = _settings(tmp_path)
    with site.serve() as server:
        report = backfill_archive(settings, server.url("/feed/"), SINCE, UNTIL)
        assert report.paged_style == paging
        assert report.paged_stop == "older_than_since"
        # 60 posts, 10 a page, newest first: page 6 holds the first post older than since.
        assert report.pages_fetched == 6 and report.problems == []
        assert report.sitemaps_read == []  # the feed reached back far enough
        assert site.fetched("/sitemap_index.xml") == 0
        expected = _in_window(posts)
        assert report.new_articles == len(expected)
        rows = _rows(settings.db, "SELECT title, origin, guid FROM articles ORDER BY title")
        assert sorted(r[0] for r in rows) == sorted(p.title for p in expected)
        assert {r[1] for r in rows} == {"archive"}
        assert all(str(r[2]).startswith(site.base + "/?p=") for r in rows)
        assert _backfills(settings.db) == []  # finished, nothing failed: complete
        ((feed, finished),) = _rows(settings.db, "SELECT feed, finished_at FROM archive_runs")
        assert feed == server.url("/feed/") and finished is not None

        requests = len(site.log)
        again = backfill_archive(settings, server.url("/feed/"), SINCE, UNTIL)
        assert again.new_articles == 0 and again.pages_already_done == 6
        assert len(site.log) == requests  # the stored pages answer the stop rules


def test_paging_stops_on_404_and_on_a_repeated_page(tmp_path: Path) -> None:
    posts = make_posts(25)
    with ArchiveSite(posts, sitemaps=False).serve() as server:
        report = backfill_archive(_settings(tmp_path), server.url("/feed/"), date(2019, 1, 1))
        assert report.paged_stop == "no_more_pages" and report.pages_fetched == 3
        assert report.new_articles == 25
    first = PageSummary(1, 10, "a", datetime(2021, 3, 1), datetime(2021, 2, 1))
    assert stop_after(PageSummary(2, 10, "a", None, None), [first], datetime(2020, 1, 1)) == (
        "repeated_page"
    )
    assert stop_after(PageSummary(2, 0, "b", None, None), [first], datetime(2020, 1, 1)) == (
        "empty_page"
    )
    assert stop_after(first, [], datetime(2021, 1, 1)) is None
    assert (
        page_url("https://a.example/feed/?x=1", "query", 3) == "https://a.example/feed/?x=1&paged=3"
    )
    assert page_url("https://a.example/feed", "path", 2) == "https://a.example/feed/page/2/"


def test_a_server_repeating_page_one_falls_back_to_sitemaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Also the path big backfills take: extraction in worker processes, in chunks
    # (3 pages here, so that the last chunk is a partial one).
    monkeypatch.setattr(pages_job, "PARALLEL_EXTRACT_MIN_PAGES", 5)
    monkeypatch.setattr(pages_job, "EXTRACT_CHUNK", 3)
    posts = make_posts(30)
    site = ArchiveSite(posts, paging="repeat")
    settings = _settings(tmp_path, archive_per_host=2)
    with site.serve() as server:
        report = backfill_archive(settings, server.url("/feed/"), SINCE, UNTIL)
    assert report.paged_style is None and len(report.sitemaps_read) == 3
    inside = _in_window(posts)
    assert report.new_articles == len(inside)
    assert report.statuses == {"stored": len(inside) - 10}  # 10 came with the feed's page 1
    rows = _rows(settings.db, "SELECT title, published_at FROM articles")
    assert sorted((str(t), p.date()) for t, p in rows) == sorted(  # type: ignore[attr-defined]
        (p.title, p.day) for p in inside
    )


def test_sitemaps_filter_by_date_and_report_each_problem(tmp_path: Path) -> None:
    posts = make_posts(60)
    site = ArchiveSite(
        posts, paging="none", extra_sitemap_urls=["/files/report.pdf", "/private/hidden/"]
    )
    settings = _settings(tmp_path)
    with site.serve() as server:
        report = backfill_archive(settings, server.url("/feed/"), SINCE, UNTIL)
        assert sorted(report.sitemaps_read) == sorted(
            server.url(p)
            for p in ("/sitemap_index.xml", "/post-sitemap1.xml.gz", "/post-sitemap2.xml.gz")
        )
        inside = _in_window(posts)
        # The feed's own page 1 was stored by the paged step: those are not fetched again.
        in_feed = {p.path for p in posts[:10]}
        fetched = _article_paths(site, posts)
        for post in posts:
            if post.path in in_feed or post not in inside:
                # Outside the window by URL date or by lastmod: never fetched.
                assert fetched[post.path] == 0, post
            else:
                assert fetched[post.path] == 1, post
        assert site.fetched("/private/hidden/") == 0  # robots.txt: Disallow /private/
        assert report.new_articles == len(inside)
        assert report.statuses == {"stored": len(inside) - 10, "non_html": 1, "denied": 1}
        assert any("report.pdf: not an HTML page (application/pdf)" in p for p in report.problems)
        assert any("/private/hidden/: robots.txt forbids" in p for p in report.problems)
        rows = _rows(settings.db, "SELECT title, published_at, text FROM articles")
        by_title = {r[0]: r for r in rows}
        for post in inside:
            _title, published, text = by_title[post.title]
            assert published.date() == post.day  # type: ignore[union-attr]
            assert "demand from battery makers" in str(text) and "Loopback Metals, a" not in str(
                text
            )

        requests = len(site.log)
        again = backfill_archive(settings, server.url("/feed/"), SINCE, UNTIL)
        assert again.new_articles == 0 and again.urls_already_done == len(inside) + 2
        article_requests = [p for p, _t in site.log[requests:] if p.startswith(("/20", "/news/"))]
        assert article_requests == []


def test_sitemap_parser_reads_news_dates_and_rejects_other_xml() -> None:
    xml = (
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        b'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>/a/slug</loc>'
        b"<news:news><news:publication_date>2021-05-06T08:00:00Z</news:publication_date>"
        b"</news:news></url></urlset>"
    )
    sitemap = parse_sitemap(xml, "https://x.example/sitemap.xml")
    assert sitemap.entries == (SitemapEntry("https://x.example/a/slug", None, date(2021, 5, 6)),)
    assert page_verdict(sitemap.entries[0], date(2021, 6, 1), date(2021, 7, 1)) == "out"
    undated = SitemapEntry("https://x.example/a/slug", date(2022, 1, 1))
    assert page_verdict(undated, date(2021, 6, 1), date(2021, 7, 1)) == "unknown"
    with pytest.raises(Exception, match="not a sitemap"):
        parse_sitemap(b"<rss></rss>", "https://x.example/")


def test_robots_crawl_delay_deny_and_retry_after_are_honoured(tmp_path: Path) -> None:
    posts = make_posts(2, first=date(2021, 3, 1))
    site = ArchiveSite(
        posts,
        robots=(
            "User-agent: *\nCrawl-delay: 1\nDisallow: /private/\n"
            "Sitemap: {base}/sitemap_index.xml\n"
        ),
        extra_sitemap_urls=["/private/hidden/"],
        retry_after={posts[0].path: 1},
    )
    settings = _settings(tmp_path)
    with site.serve() as server:
        # The site root is no feed: straight to the sitemaps.
        report = backfill_archive(settings, server.url("/"), SINCE, UNTIL)
    assert report.new_articles == 2
    assert site.fetched(posts[0].path) == 2  # a 429, then the page after Retry-After
    assert site.fetched("/private/hidden/") == 0
    times = site.times()
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) >= 6 and min(gaps) >= 0.95, gaps


def test_bad_input_gets_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "x.duckdb")
    monkeypatch.setenv("NEWSINTEL_ARCHIVE_MIN_INTERVAL", "0")
    assert main(["--db", db, "backfill", "archive", "No Such Feed", "--since", "2021-01-01"]) == 1
    assert "unknown feed 'No Such Feed'" in capsys.readouterr().err
    args = ["--since", "2022-01-01", "--until", "2021-01-01"]
    assert main(["--db", db, "backfill", "archive", "http://127.0.0.1:9/feed/", *args]) == 1
    assert (
        capsys.readouterr().err.strip() == "error: --since 2022-01-01 is after --until 2021-01-01"
    )
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        from newsintel.jobs.backfill_archive import parse_day

        parse_day("01/02/2021", "--since")

    bare = ArchiveSite(make_posts(5), paging="none", sitemaps=False, robots="User-agent: *\n")
    with bare.serve() as server:
        with pytest.raises(FeedError) as caught:
            backfill_archive(_settings(tmp_path), server.url("/"), SINCE, UNTIL)
        message = str(caught.value)
        assert "no paged feed and no sitemap" in message and "\n" not in message
        for tried in ("/sitemap.xml", "/sitemap_index.xml", "/wp-sitemap.xml"):
            assert server.url(tried) in message

    # A feed without paging and a site without sitemaps: page 1 is kept, and the
    # error names what was tried.
    unpaged = ArchiveSite(make_posts(15), paging="none", sitemaps=False, robots="")
    settings = _settings(tmp_path, "unpaged.duckdb")
    with unpaged.serve() as server, pytest.raises(FeedError, match=r"tried \?paged=2 \(HTTP 404"):
        backfill_archive(settings, server.url("/feed/"), date(2019, 1, 1))
    assert _rows(settings.db, "SELECT count(*) FROM articles")[0][0] == 10
    assert _backfills(settings.db) == []  # a re-run would fail alike: nothing to resume

    # robots.txt answering 503: RFC 9309 says assume complete disallow.
    down = ArchiveSite(make_posts(5), robots_status=503)
    with down.serve() as server, pytest.raises(FeedError, match=r"robots\.txt unreachable"):
        backfill_archive(_settings(tmp_path, "down.duckdb"), server.url("/feed/"), SINCE)
    assert [path for path, _t in down.log] == ["/robots.txt"]

    denied = ArchiveSite(make_posts(5), robots="User-agent: *\nDisallow: /feed/\n")
    with denied.serve() as server:
        code = main(
            ["--db", db, "backfill", "archive", server.url("/feed/"), "--since", "2021-01-01"]
        )
    err = capsys.readouterr().err
    # The sitemaps still work: one line about the feed, and the backfill goes on.
    assert code == 0 and "robots.txt forbids it" in err and denied.fetched("/feed/") == 0


def test_a_story_seen_by_the_archive_then_by_the_feed_is_one_story(tmp_path: Path) -> None:
    posts = make_posts(12, first=date(2021, 3, 1))
    site = ArchiveSite(posts, feed_status=503)  # the feed is down: pages come from sitemaps
    with site.serve() as server:
        feeds = tmp_path / "feeds.toml"
        feeds.write_text(f'[[feeds]]\nname = "Loopback Metals"\nurl = "{server.url("/feed/")}"\n')
        settings = _settings(tmp_path, feeds_file=str(feeds))
        report = backfill_archive(settings, "Loopback Metals", date(2021, 1, 1), date(2021, 12, 31))
        assert report.new_articles == 12 and report.source_id == "loopback-metals"
        site.feed_status = None
        ingest(settings, feeds, force=True)
    rows = _rows(
        settings.db,
        "SELECT url, origin, article_id, story_id FROM articles ORDER BY url, origin",
    )
    by_url: dict[str, list[tuple[object, ...]]] = {}
    for row in rows:
        by_url.setdefault(str(row[0]), []).append(row)
    assert len(by_url) == 12
    stories = _rows(settings.db, "SELECT count(DISTINCT story_id) FROM articles")[0][0]
    assert stories == 12
    for copies in by_url.values():
        archive = next(r for r in copies if r[1] == "archive")
        assert all(r[3] == archive[2] for r in copies)  # the feed copy joins the archive story
    # The later regrouping of all stories (titles, plus embeddings when there are any)
    # keeps them joined.
    group_near_duplicates(settings, settings.model)
    assert _rows(settings.db, "SELECT count(DISTINCT story_id) FROM articles")[0][0] == 12


def _cli(db: str, url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "newsintel", "--db", db, "backfill", "archive", url, *extra]


def test_big_runs_with_extraction_workers_keep_the_pacing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Big runs extract in worker processes, in chunks; the pacing still holds there:
    # Crawl-delay, Retry-After, robots.txt, even with 2 slots per host.
    monkeypatch.setattr(pages_job, "PARALLEL_EXTRACT_MIN_PAGES", 1)
    posts = make_posts(3, first=date(2021, 3, 1))
    site = ArchiveSite(
        posts,
        robots=(
            "User-agent: *\nCrawl-delay: 1\nDisallow: /private/\n"
            "Sitemap: {base}/sitemap_index.xml\n"
        ),
        extra_sitemap_urls=["/private/hidden/"],
        retry_after={posts[1].path: 1},
    )
    settings = _settings(tmp_path, archive_per_host=2)
    with site.serve() as server:
        report = backfill_archive(settings, server.url("/"), SINCE, UNTIL)
    assert report.new_articles == 3 and report.statuses["stored"] == 3
    assert site.fetched(posts[1].path) == 2  # a 429, then the page after Retry-After
    assert site.fetched("/private/hidden/") == 0
    times = site.times()
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) >= 7 and min(gaps) >= 0.95, gaps


def test_kill_minus_nine_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    posts = make_posts(150, first=date(2021, 1, 1), every_days=1)
    window = ["--since", "2021-01-01", "--until", "2021-12-31"]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NEWSINTEL_ARCHIVE_MIN_INTERVAL": "0.02",
        "NEWSINTEL_FEEDS_FILE": str(tmp_path / "none.toml"),
    }
    killed_db, whole_db = str(tmp_path / "killed.duckdb"), str(tmp_path / "whole.duckdb")
    site = ArchiveSite(posts, paging="none")
    with site.serve() as server:
        url = server.url("/feed/")
        proc = subprocess.Popen(_cli(killed_db, url, *window), env=env, cwd=tmp_path)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if sum(site.fetched(p.path) for p in posts) >= 100:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the backfill finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        stored_at_kill = {
            str(r[0])
            for r in _rows(killed_db, "SELECT url FROM archive_urls WHERE status = 'stored'")
        }
        assert len(stored_at_kill) >= 10  # the kill came after some batches were stored
        # The app sees the run as unfinished, with the window and feed to resume it.
        (killed,) = _backfills(killed_db)
        assert killed.finished_at is None and killed.feed == url
        assert (killed.since, killed.until) == (date(2021, 1, 1), date(2021, 12, 31))
        assert killed.stories >= len(stored_at_kill)
        before = _article_paths(site, posts)
        subprocess.run(_cli(killed_db, url, *window), env=env, cwd=tmp_path, check=True)
        after = _article_paths(site, posts)
        for post in posts:
            if site.base + post.path in stored_at_kill:
                assert after[post.path] <= 1, post  # stored pages are never fetched again
        assert after != before  # the re-run did fetch the rest

        subprocess.run(_cli(whole_db, url, *window), env=env, cwd=tmp_path, check=True)

    query = "SELECT article_id, story_id, title, published_at, origin FROM articles ORDER BY 1"
    assert _rows(killed_db, query) == _rows(whole_db, query)
    assert len(_rows(whole_db, query)) == 150
    states = "SELECT url, status, article_id FROM archive_urls ORDER BY url"
    assert _rows(killed_db, states) == _rows(whole_db, states)
    assert _backfills(killed_db) == []  # resumed to the end


def test_failed_pages_wait_for_the_ingest_backoff(tmp_path: Path) -> None:
    posts = make_posts(3, first=date(2021, 3, 1))
    site = ArchiveSite(posts, retry_after={posts[0].path: 5}, feed_status=404)
    settings = _settings(tmp_path)
    with site.serve() as server:
        report = backfill_archive(settings, server.url("/feed/"), SINCE, UNTIL)
        # Three 429s in a row: the page is left failed, the others are stored.
        assert report.statuses == {"stored": 2, "failed": 1}
        (state,) = _rows(
            settings.db,
            "SELECT status, attempts, next_try_at FROM archive_urls WHERE status = 'failed'",
        )
        assert state[1] == 1 and state[2] > datetime.now(UTC).replace(tzinfo=None) + timedelta(
            minutes=3
        )  # type: ignore[operator]
        again = backfill_archive(settings, server.url("/feed/"), SINCE, UNTIL)
        assert again.statuses == {} and site.fetched(posts[0].path) == 3  # not yet due
        # Finished, yet incomplete: the app names the failed page and when it is due.
        (incomplete,) = _backfills(settings.db)
        assert incomplete.finished_at is not None and incomplete.failed == 1
        assert incomplete.stories == 2 and incomplete.retry_from == state[2]
