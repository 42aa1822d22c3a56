"""`newsintel backfill import`: GDELT GKG exports, DOC API JSON and CSV into real DuckDB."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from conftest import make_settings
from feedserver import FeedServer, make_rss

from newsintel.backfill.imports import BadRow, ImportedRow, parse_date, read_import
from newsintel.cli import main
from newsintel.config import Settings
from newsintel.errors import BackfillError
from newsintel.feeds.sources import FeedSource
from newsintel.jobs import ingest
from newsintel.jobs.backfill_import import backfill_import
from newsintel.store import open_db

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


def _rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with open_db(settings.db, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_gdelt_export_rows_become_stories_with_derived_titles(settings: Settings) -> None:
    report = backfill_import(settings, FIXTURES / "gkg_export.csv", fmt="gdelt-gkg")
    assert (report.rows, report.added, report.already_stored) == (7, 3, 1)
    # The slug "12345" holds no title and the row has no text: skipped, counted.
    # The repeated row (line 8) counts as derived too: it was read, then found stored.
    assert (report.untitled, report.bad, report.titles_derived, report.outlets) == (1, 2, 4, 2)
    assert report.problems == ("line 6: bad date '2019-13-01 00:00:00'", "line 7: no url")
    rows = _rows(
        settings,
        "SELECT source, title, published_at, origin, title_derived FROM v_articles ORDER BY 3",
    )
    assert rows == [
        (
            "minewire.example",
            "Lithium brine project wins permit in nevada",
            datetime(2019, 3, 4, 10, 15),
            "import",
            True,
        ),
        (
            "news.example.org",
            "Battery makers sign cobalt free supply deal",
            datetime(2019, 3, 4, 11, 0),
            "import",
            True,
        ),
        (
            "minewire.example",
            "Spodumene shipments rise at port hedland",
            datetime(2019, 3, 5, 6, 30),
            "import",
            True,
        ),
    ]
    kinds = _rows(settings, "SELECT source_id, kind, url FROM sources ORDER BY 1")
    assert kinds == [
        ("minewire-example", "outlet", "https://www.minewire.example/"),
        ("news-example-org", "outlet", "https://news.example.org/"),
    ]
    again = backfill_import(settings, FIXTURES / "gkg_export.csv", fmt="gdelt-gkg")
    assert (again.added, again.already_stored) == (0, 4)
    assert _rows(settings, "SELECT count(*) FROM articles") == [(3,)]


def test_csv_keeps_titles_text_and_source_and_converts_time_zones(settings: Settings) -> None:
    report = backfill_import(settings, FIXTURES / "articles.csv", fmt="csv")
    assert (report.rows, report.added, report.bad, report.titles_derived) == (3, 2, 1, 1)
    assert report.problems == ("line 4: bad date 'not a date'",)
    rows = _rows(
        settings,
        "SELECT source, title, text, published_at, title_derived FROM v_articles ORDER BY 4",
    )
    assert rows == [
        (
            "Trade Weekly",
            "EV sales slow in Europe as subsidies end",
            "Registrations of battery-electric cars fell for a third month, dealers said.",
            datetime(2024, 5, 2, 8, 0),
            False,
        ),
        # No title: one from the slug, marked; no source cell: the URL's site.
        ("trade.example.com", "Robot arms for warehouses", "", datetime(2024, 5, 3, 7, 30), True),
    ]


def test_doc_api_json_names_bad_articles_by_position(settings: Settings) -> None:
    report = backfill_import(settings, FIXTURES / "artlist.json", fmt="gdelt-doc")
    assert (report.rows, report.added, report.bad, report.titles_derived) == (3, 2, 1, 1)
    assert report.problems == ("line 3: bad date 'yesterday'",)
    rows = _rows(settings, "SELECT title, published_at, title_derived FROM v_articles ORDER BY 2")
    assert rows == [
        ("Lithium refinery opens in Texas", datetime(2023, 6, 15, 12, 15), False),
        ("Humanoid robot startup raises funds", datetime(2023, 6, 16, 8, 0), True),
    ]


def test_source_option_puts_every_story_under_a_configured_feed(
    settings: Settings, feed_server: FeedServer
) -> None:
    feed_server.add_file("/feed.xml", make_rss("Mine Wire", []))
    source = FeedSource("mine-wire", "Mine Wire", feed_server.url("/feed.xml"))
    ingest(settings, sources=[source], force=True)
    report = backfill_import(
        settings, FIXTURES / "gkg_export.csv", fmt="gdelt-gkg", source="Mine Wire"
    )
    assert (report.added, report.outlets) == (3, 1)
    assert _rows(settings, "SELECT DISTINCT source FROM v_articles") == [("Mine Wire",)]
    # The configured feed stays a feed with its URL; no outlet row was made.
    assert _rows(settings, "SELECT source_id, kind FROM sources") == [("mine-wire", "feed")]


def test_a_story_imported_first_and_later_seen_in_a_feed_is_one_story(
    settings: Settings, feed_server: FeedServer
) -> None:
    backfill_import(settings, FIXTURES / "articles.csv", fmt="csv")
    # One entry links an imported URL without a GUID: the same id, nothing added. The
    # other has its own GUID (its own id) but the imported story's title a few hours
    # later, from another source: stored, and joined to the imported story.
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Trade</title>'
        "<link>https://trade.example.com/</link><description>d</description>"
        "<item><title>Robot arms for warehouses</title>"
        "<link>https://trade.example.com/2024/05/03/robot-arms-for-warehouses?utm_source=rss</link>"
        "<pubDate>Fri, 03 May 2024 07:30:00 GMT</pubDate></item>"
        "<item><title>EV sales slow in Europe as subsidies end</title>"
        "<guid isPermaLink='false'>tag:trade.example.com,2024:991</guid>"
        "<link>https://trade.example.com/?p=991</link>"
        "<pubDate>Thu, 02 May 2024 12:00:00 GMT</pubDate></item>"
        "</channel></rss>"
    )
    feed_server.add_file("/feed.xml", feed.encode())
    report = ingest(
        settings, sources=[FeedSource("trade", "Trade", feed_server.url("/feed.xml"))], force=True
    )
    assert report.new_articles == 1
    assert _rows(settings, "SELECT count(*), count(DISTINCT story_id) FROM articles") == [(3, 2)]


def test_missing_columns_refuse_the_file_before_anything_is_stored(
    settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "export.csv"
    bad.write_text("DATE,tone\n2019-03-04 10:15:00,1.0\n", "utf-8")
    with pytest.raises(BackfillError, match=r"line 1: missing column\(s\) url"):
        backfill_import(settings, bad, fmt="gdelt-gkg")
    with pytest.raises(BackfillError, match=r"missing column\(s\) title, published_at"):
        backfill_import(settings, FIXTURES / "gkg_export.csv", fmt="csv")
    assert _rows(settings, "SELECT count(*) FROM articles") == [(0,)]


def test_cli_prints_one_line_errors_and_a_json_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(make_settings(tmp_path).db)
    not_json = tmp_path / "list.json"
    not_json.write_text("<html>Invalid query</html>", "utf-8")
    assert main(["--db", db, "backfill", "import", str(not_json), "--format", "gdelt-doc"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not DOC API JSON" in err and "\n" not in err
    copy = tmp_path / "export.csv"
    shutil.copy(FIXTURES / "gkg_export.csv", copy)
    args = ["--db", db, "backfill", "import", str(copy), "--format", "gdelt-gkg", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["added"], report["bad"], report["origin"]) == (3, 2, "import")
    assert report["first_published"] == "2019-03-04 10:15:00"


def test_rows_stream_in_file_order_and_dates_parse_in_every_gdelt_form() -> None:
    records = list(read_import(FIXTURES / "gkg_export.csv", "gdelt-gkg"))
    assert [r.line for r in records] == [2, 3, 4, 5, 6, 7, 8]
    assert [type(r) for r in records[4:6]] == [BadRow, BadRow]
    assert isinstance(records[0], ImportedRow) and records[0].source is None
    assert parse_date("20170502133000") == datetime(2017, 5, 2, 13, 30)
    assert parse_date("20230615T121500Z") == datetime(2023, 6, 15, 12, 15)
    assert parse_date("2024-05-03T09:30:00+02:00") == datetime(2024, 5, 3, 7, 30)
    assert parse_date("May 3") is None


def test_a_large_file_is_stored_in_batches(settings: Settings, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    lines = ["DATE,url,tone"] + [
        f"2020-01-{1 + i % 28:02d} 00:00:00,https://site{i % 7}.example/story-number-{i}-lithium,0"
        for i in range(12_000)
    ]
    big.write_text("\n".join(lines) + "\n", "utf-8")
    report = backfill_import(settings, big, fmt="gdelt-gkg")
    assert (report.rows, report.added, report.outlets) == (12_000, 12_000, 7)
    assert _rows(settings, "SELECT count(*) FROM articles WHERE origin = 'import'") == [(12_000,)]


def test_urls_whose_slug_is_an_id_or_a_hash_are_counted_untitled_not_given_junk_titles(
    settings: Settings, tmp_path: Path
) -> None:
    export = tmp_path / "gkg.csv"
    export.write_text(
        "DATE,url,tone\n"
        "20230301000000,https://www.msn.com/en-us/money/markets/lithium-miners-lift-output/ar-AA1abcd,1\n"
        "20230302000000,https://www.msn.com/en-us/money/ar-AA1xyzw,0\n"
        "20230303000000,https://news.example.com/a/5f2a9c7e3b1d4e6f8a0b,0\n"
        "20230304000000,https://news.example.com/2023/03/04/20230304-118833,0\n",
        "utf-8",
    )
    report = backfill_import(settings, export, fmt="gdelt-gkg")
    assert (report.rows, report.added, report.untitled, report.titles_derived) == (4, 1, 3, 1)
    assert _rows(settings, "SELECT title, title_derived FROM articles") == [
        ("Lithium miners lift output", True)
    ]
