"""Every page of the Streamlit app through streamlit.testing's AppTest.

Pages run against the real demo database (``demo_db``), against a small fixture database
with hostile headlines, against an empty one and against none at all.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from conftest import make_settings
from streamlit.testing.v1 import AppTest
from test_store_dashboard import IMG_TITLE, MODEL, SCRIPT_TITLE, build_fixture_db

from newsintel.jobs import DEMO_MIN_TOPICS, build_topics
from newsintel.store import connect, migrate, open_db
from newsintel.store import topics as topic_queries

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 60

pytestmark = pytest.mark.slow


def make_app(monkeypatch: pytest.MonkeyPatch, db: str, password: str = "") -> AppTest:
    monkeypatch.setenv("NEWSINTEL_DB", db)
    monkeypatch.setenv("NEWSINTEL_APP_PASSWORD", password)
    monkeypatch.delenv("NEWSINTEL_CONFIG", raising=False)
    monkeypatch.delenv("NEWSINTEL_PRICE_SERIES", raising=False)
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def open_page(at: AppTest, page: str, **query: str) -> AppTest:
    """Open ``page`` with ``query`` in the URL, as a fresh session following a link would."""
    if page == "overview":
        at.query_params.update(query)
        return at.run()
    at.run()  # the first run registers the pages that switch_page looks up
    at.switch_page(f"app_pages/{page}.py")
    at.query_params.clear()
    at.query_params.update(query)
    return at.run()


def chart_specs(at: AppTest) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def unit_specs(spec: dict) -> list[dict]:  # type: ignore[type-arg]
    """The specs with a mark under ``spec``, nested layers flattened."""
    if "mark" in spec:
        return [spec]
    return [unit for layer in spec.get("layer", []) for unit in unit_specs(layer)]


def chart_titles(at: AppTest) -> list[str]:
    return [spec.get("title", {}).get("text", "") for spec in chart_specs(at)]


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch, demo_db) -> AppTest:  # type: ignore[no-untyped-def]
    return make_app(monkeypatch, demo_db.db)


def test_overview(demo: AppTest) -> None:
    at = open_page(demo, "overview")
    assert_clean(at)
    assert at.title[0].value == "What moved this week"
    assert "sample data" in at.info[0].value
    labels = [m.label for m in at.metric]
    assert labels == ["Articles this week", "Stories this week", "Rising themes", "Falling themes"]
    titles = chart_titles(at)
    assert titles == ["Lithium & battery materials: weekly stories vs Lithium carbonate"]
    spec = chart_specs(at)[0]
    units = unit_specs(spec)  # sparse weeks add a rolling mean on the bars' own axis
    axis_titles = list(dict.fromkeys(unit["encoding"]["y"]["title"] for unit in units))
    assert axis_titles == ["Stories per week", "Lithium carbonate (CNY/t)"]
    assert units[0]["encoding"]["x"]["title"] == "Week"
    movers, prices = at.dataframe[0].value, at.dataframe[1].value
    assert len(movers) == 8 and "Lithium carbonate" in set(prices["series"])
    digest = at.markdown[-1].value
    assert "newsintel weekly digest" in digest and "Lead/lag findings" in digest
    assert at.query_params["theme"] == "lithium_batteries"


def test_overview_filters_from_the_url(demo: AppTest) -> None:
    at = open_page(demo, "overview", theme="world_models", range="13")
    assert_clean(at)
    assert chart_titles(at) == ["World models: weekly stories vs Lithium carbonate"]
    assert at.selectbox(key="qp.theme").value == "world_models"
    assert at.button_group(key="qp.range").value == "13"
    # An unknown value falls back to the default instead of failing.
    at.query_params.update({"theme": "no_such_theme"})
    at.session_state["qp.theme"] = "lithium_batteries"
    at.run()
    assert_clean(at)
    # Changing the widget writes the URL, so the view can be shared.
    at.selectbox(key="qp.theme").select("ev_demand").run()
    assert at.query_params["theme"] == "ev_demand"
    assert chart_titles(at) == ["EV demand: weekly stories vs Lithium carbonate"]


def test_themes_page(demo: AppTest) -> None:
    at = open_page(demo, "themes", theme="ai_health")
    assert_clean(at)
    assert at.title[0].value == "Themes"
    titles = chart_titles(at)
    assert "Story volume by theme" in titles
    assert "AI health tools: share of all stories" in titles
    assert "AI health tools: stories by source" in titles
    assert [s.value for s in at.header][:2] == ["Top stories: AI health tools", "Source mix"]
    top, peak = at.dataframe[0].value, at.dataframe[1].value
    assert len(top) > 0 and len(peak) > 0
    assert {"title", "source", "published_at", "url"} <= set(top.columns)
    assert any("busiest week" in c.value for c in at.caption)


def test_prices_page(demo: AppTest) -> None:
    at = open_page(demo, "prices", theme="lithium_batteries", series="lithium_carbonate")
    assert_clean(at)
    titles = chart_titles(at)
    assert titles[0] == "Lithium & battery materials: weekly stories vs Lithium carbonate"
    assert titles[1].startswith("Cross-correlation: Lithium & battery materials")
    ccf_spec = chart_specs(at)[1]
    x_titles = {layer["encoding"].get("x", {}).get("title") for layer in ccf_spec["layer"]}
    assert any(t and "positive: Lithium & battery materials leads" in t for t in x_titles)
    granger = at.dataframe[0].value
    assert len(granger) > 0 and {"p_value", "p_adj", "warnings"} <= set(granger.columns)
    # The verdict follows the robust adjusted p (as best_lag does), the classic beside;
    # a test without a robust p is "not testable", never "significant".
    assert {"p_robust_adj", "verdict"} <= set(granger.columns)
    assert granger["p_robust_adj"].notna().any()
    for p, verdict in zip(granger["p_robust_adj"], granger["verdict"], strict=True):
        if p != p:  # NaN
            assert verdict.startswith("not testable: "), verdict
        else:
            assert verdict == ("significant" if p < 0.05 else "not significant")
    points = next(u for u in unit_specs(ccf_spec) if "shape" in u.get("encoding", {}))
    legend = points["encoding"]["color"]["legend"]["title"]
    assert legend == "Robust adjusted p < 0.05"
    tooltips = {t.get("title") for t in points["encoding"]["tooltip"]}
    assert {"Robust adjusted p", "Classic adjusted p", "Robust test"} <= tooltips
    assert "robust adjusted p < 0.05" in ccf_spec["description"]
    words = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "drives" not in words and "causes" not in words
    assert "not evidence" in words or "never cause" in words or "nothing about cause" in words
    # Another series from the URL; a pair without stored results says so plainly (an
    # attention series: `analyze --all` pairs themes with prices only).
    at.query_params.update({"series": "gdelt_lithium_news"})
    at.session_state["qp.series"] = "gdelt_lithium_news"
    at.run()
    assert_clean(at)
    notices = [i.value for i in at.info]
    assert any("No stored lead/lag results" in n for n in notices), notices
    # The demo's GDELT series ends before the default range: the page says how to fill it.
    assert any("`newsintel backfill gdelt --since" in n for n in notices), notices


def test_search_page_keyword_and_dates(monkeypatch: pytest.MonkeyPatch, demo_db) -> None:  # type: ignore[no-untyped-def]
    at = open_page(make_app(monkeypatch, demo_db.db), "search", mode="keyword", q="lithium")
    assert_clean(at)
    hits = at.dataframe[0].value
    assert len(hits) > 0
    assert "lithium" in " ".join(hits["title"]).lower()
    dated = {"mode": "keyword", "q": "lithium", "from": "2026-08-01"}
    at = open_page(make_app(monkeypatch, demo_db.db), "search", **dated)
    assert_clean(at)
    assert at.date_input(key="qp.from").value[0].isoformat() == "2026-08-01"
    later = at.dataframe[0].value
    assert 0 < len(later) < len(hits)
    assert later["published_at"].min().date().isoformat() >= "2026-08-01"


def test_search_page_semantic(demo: AppTest) -> None:
    at = open_page(demo, "search", q="battery metal prices fall")
    assert_clean(at)
    hits = at.dataframe[0].value
    assert 0 < len(hits) <= 20
    assert hits["similarity"].is_monotonic_decreasing
    assert "lithium" in " ".join(hits["title"].head(5)).lower()


def test_sources_page(demo: AppTest) -> None:
    at = open_page(demo, "sources")
    assert_clean(at)
    assert at.title[0].value == "Sources"
    health = at.dataframe[0].value
    assert len(health) == 6 and {"last_status", "next_check_at", "not_modified_rate"} <= set(
        health.columns
    )
    # The demo's history: stories per origin per month, and the outlets of the GDELT
    # list (1,136 sites) apart from the six sample feeds. Their 6,663 articles (3 rows
    # of the file have only an id for a title and are skipped) count 6,510 stories per
    # outlet: near-duplicate grouping joins an outlet's repeated copies.
    assert chart_titles(at) == ["Stories per origin per month"]
    outlets = at.dataframe[1].value
    assert len(outlets) == 1136 and int(outlets["stories"].sum()) == 6510


def test_sql_page(demo: AppTest) -> None:
    query = "SELECT theme, sum(articles) AS stories FROM v_theme_weekly GROUP BY theme"
    at = open_page(demo, "sql", sql=query)
    assert_clean(at)
    result = at.dataframe[0].value
    assert len(result) == 8 and list(result.columns) == ["theme", "stories"]
    assert at.get("download_button")
    # A write is refused with a message, not a traceback.
    at = open_page(demo, "sql", sql="DELETE FROM articles")
    assert not at.exception
    assert "only read-only SELECT" in at.warning[0].value


def test_sql_page_runs_an_edited_query(demo: AppTest) -> None:
    at = open_page(demo, "sql")
    assert not at.dataframe
    at.text_area(key="sql.editor").input("SELECT 1 AS one")
    at.button(key="sql.run").click().run()
    assert_clean(at)
    assert at.dataframe[0].value["one"].tolist() == [1]
    assert at.query_params["sql"] == "SELECT 1 AS one"


def test_password_gate(monkeypatch: pytest.MonkeyPatch, demo_db) -> None:  # type: ignore[no-untyped-def]
    at = make_app(monkeypatch, demo_db.db, password="s3cret").run()
    assert_clean(at)
    assert not chart_specs(at) and "What moved this week" not in [t.value for t in at.title]
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert "Wrong password." in [e.value for e in at.error]
    assert not chart_specs(at)
    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "What moved this week"
    assert chart_specs(at)


def _latest_topics(db: str, window: str) -> list[str]:
    """Topic ids of the newest ``window`` build, largest first."""
    with open_db(db, read_only=True) as con:
        build = topic_queries.latest_build(con, window=window)
        assert build is not None
        return [r.topic_id for r in topic_queries.topic_rows(con, build.build_id)]


def test_topics_page(demo: AppTest, demo_db) -> None:  # type: ignore[no-untyped-def]
    at = open_page(demo, "topics")
    assert_clean(at)
    assert at.title[0].value == "Topics"
    # The demo's latest build clusters all stories at once; a quarter build is there too.
    assert at.button_group(key="qp.window").value == "all"
    assert at.query_params["window"] == "all"
    assert chart_titles(at) == [
        "Map of stories by embedding",
        "Stories per topic over time",
        "Topic lineage over time",
    ]
    topic_map, volume, lineage = chart_specs(at)
    encoding = topic_map["encoding"]
    assert encoding["x"]["title"].startswith("Principal component 1 (unitless, ")
    assert encoding["y"]["title"].endswith("of variance)")
    assert encoding["color"]["field"] == "topic_label"
    assert {t["field"] for t in encoding["tooltip"]} >= {"title", "topic_label", "source"}
    assert volume["encoding"]["y"]["title"] == "Stories per month"
    assert volume["encoding"]["x"]["title"] == "Month"
    assert lineage["encoding"]["y"]["title"] == "Events (topics)"
    assert lineage["encoding"]["x"]["title"] == "Build (UTC)"
    topics, events = at.dataframe[0].value, at.dataframe[1].value
    ids = _latest_topics(demo_db.db, "all")
    # The demo's 6,663 imported GDELT stories are all about lithium: over all 7,004
    # stories the best silhouette would split them from the 341 sample stories (two
    # topics), so the demo asks for at least DEMO_MIN_TOPICS.
    assert sorted(topics["topic_id"]) == sorted(ids) and len(ids) >= DEMO_MIN_TOPICS
    assert {"label", "size", "latest", "growth", "emerging", "top_words"} <= set(topics.columns)
    assert topics["size"].sum() == 7004
    assert set(events["event"]) == {"birth"} and len(events) == len(ids)
    assert [s.value for s in at.header] == ["Topics", "Lineage over time"]
    assert any("Emerging:" in c.value for c in at.caption)


def test_topics_page_filters_from_the_url(
    demo: AppTest,
    demo_db,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = _latest_topics(demo_db.db, "quarter")[:2]
    at = open_page(demo, "topics", window="quarter", topic=first, per="week")
    assert_clean(at)
    assert at.button_group(key="qp.window").value == "quarter"
    assert at.selectbox(key="qp.topic").value == first
    assert at.header[0].value.startswith("Topic: ")
    topic_map, volume, lineage = chart_specs(at)
    assert (
        topic_map["encoding"]["opacity"]["condition"]["test"] == f"(datum.topic_id === '{first}')"
    )
    assert volume["encoding"]["y"]["title"] == "Stories per week"
    assert "highlighted" in volume["title"]["subtitle"]
    assert lineage["encoding"]["x"]["title"] == "Quarter"
    stories, events = at.dataframe[0].value, at.dataframe[1].value
    assert 0 < len(stories) <= 15 and set(stories["topic_id"]) == {first}
    assert stories["distance"].is_monotonic_increasing
    assert ((events["parent_topic_id"] == first) | (events["child_topic_id"] == first)).all()
    assert all(re.fullmatch(r"\d{4}Q[1-4]", step) for step in events["step"])
    # Changing the widget writes the URL, so the view can be shared.
    at.selectbox(key="qp.topic").select(second).run()
    assert_clean(at)
    assert at.query_params["topic"] == second
    assert set(at.dataframe[0].value["topic_id"]) == {second}
    # A topic the build does not have falls back to every topic instead of failing.
    fresh = make_app(monkeypatch, demo_db.db)
    at = open_page(fresh, "topics", window="quarter", topic="t0000000000")
    assert_clean(at)
    assert at.header[0].value == "Topics" and "topic" not in at.query_params


def test_topics_page_without_a_build_says_how_to_make_one(
    monkeypatch: pytest.MonkeyPatch, hostile_db: str
) -> None:
    at = open_page(make_app(monkeypatch, hostile_db), "topics")
    assert_clean(at)
    assert "newsintel topics build" in at.info[0].value
    assert not chart_specs(at) and not at.dataframe


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_fixture_db(tmp_path_factory.mktemp("hostile") / "hostile.duckdb")


def test_hostile_titles_on_the_topics_page_stay_text(
    monkeypatch: pytest.MonkeyPatch, hostile_db: str, tmp_path: Path
) -> None:
    db = tmp_path / "hostile-topics.duckdb"
    shutil.copy(hostile_db, db)
    # The real topic build on the fixture's stored (toy) vectors.
    build_topics(make_settings(tmp_path, db=str(db), model=MODEL))
    topic = _latest_topics(str(db), "all")[0]
    at = open_page(make_app(monkeypatch, str(db)), "topics", topic=topic)
    assert_clean(at)
    _no_html(at)
    stories = at.dataframe[0].value
    titles = dict(zip(stories["title"], stories["url"], strict=True))
    assert SCRIPT_TITLE in titles and IMG_TITLE in titles  # plain text in a table
    assert titles[SCRIPT_TITLE] is None or titles[SCRIPT_TITLE] != titles[SCRIPT_TITLE]
    assert len(chart_specs(at)) == 3


def _no_html(at: AppTest) -> None:
    assert not at.get("html")
    for md in at.markdown:
        assert not md.proto.allow_html or "<" not in md.value
        # Every '<' of feed text reaches Markdown backslash-escaped, so it stays text.
        assert not re.search(r"(?<!\\)<", md.value), md.value


def test_hostile_titles_are_shown_as_text(monkeypatch: pytest.MonkeyPatch, hostile_db: str) -> None:
    at = open_page(make_app(monkeypatch, hostile_db), "overview", theme="robots")
    assert_clean(at)
    _no_html(at)
    digest = at.markdown[-1].value
    # The digest reports robots rising with both headlines, escaped for Markdown.
    assert r"\<script\>alert\(1\)\<\/script\>" in digest
    assert r"\<img src\=x onerror\=alert\(1\)\>" in digest
    assert "](javascript" not in digest and "[click](" not in digest

    at.switch_page("app_pages/themes.py").run()
    assert_clean(at)
    _no_html(at)
    top = at.dataframe[0].value
    titles = dict(zip(top["title"], top["url"], strict=True))
    assert SCRIPT_TITLE in titles and IMG_TITLE in titles  # shown as plain text in a table
    assert titles[SCRIPT_TITLE] is None or titles[SCRIPT_TITLE] != titles[SCRIPT_TITLE]

    at = open_page(make_app(monkeypatch, hostile_db), "sources")
    assert_clean(at)
    assert "HTTP 500 <b>boom</b>" in set(at.dataframe[0].value["last_error"])


def test_missing_database_shows_how_to_build_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = make_app(monkeypatch, str(tmp_path / "nowhere" / "missing.duckdb")).run()
    assert not at.exception
    assert "make demo" in at.info[0].value and "newsintel demo" in at.info[0].value
    at.switch_page("app_pages/sql.py").run()
    assert not at.exception and "make demo" in at.info[0].value


def test_empty_database_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = str(tmp_path / "empty.duckdb")
    con = connect(db)
    migrate(con)
    con.close()
    at = make_app(monkeypatch, db).run()
    assert not at.exception
    assert "no articles yet" in at.info[0].value
    at = open_page(make_app(monkeypatch, db), "sources")
    assert not at.exception and "No sources yet" in at.info[0].value
    at = open_page(make_app(monkeypatch, db), "topics")
    assert not at.exception and "no articles yet" in at.info[0].value


def test_a_theme_without_stories_and_a_series_without_values_say_what_fixes_them(
    monkeypatch: pytest.MonkeyPatch, hostile_db: str, tmp_path: Path
) -> None:
    """Early states: a new theme with no stories yet, a series whose dates lie before
    the stories, a backfill still under way. Each page names what is missing and the
    command that adds it."""
    import numpy as np
    import pandas as pd

    from newsintel.models import SeriesMeta, ThemeDefinition
    from newsintel.store.backfill import WindowRecord, save_gdelt_batch
    from newsintel.store.series import save_series
    from newsintel.store.themes import save_themes

    db = tmp_path / "early.duckdb"
    shutil.copy(hostile_db, db)
    con = connect(str(db))
    try:
        save_themes(
            con,
            [
                ThemeDefinition("lithium", "Lithium", "lithium prices", threshold=0.5),
                ThemeDefinition("robots", "Robots", "humanoid robots", threshold=0.5),
                ThemeDefinition("fusion", "Fusion power", "fusion reactors", threshold=0.5),
            ],
        )
        # A GDELT backfill stopped half-way: one window fetched, one still to ask.
        windows = [
            WindowRecord(
                "lithium", "ArtList", datetime(2024, m, 1), datetime(2024, m + 1, 1),
                status, "", 0, done, datetime(2026, 1, 1),
            )
            for m, status, done in ((1, "ok", True), (2, "rate_limited", False))
        ]  # fmt: skip
        save_gdelt_batch(con, windows, [[], []], [], [])
        old = pd.date_range("2001-01-01", periods=10, freq="W-MON")
        save_series(
            con,
            SeriesMeta("nickel", "price", "USD/t", "USD", "test"),
            pd.Series(np.linspace(9_000, 9_900, len(old)), index=old),
        )
    finally:
        con.close()

    at = open_page(make_app(monkeypatch, str(db)), "themes", theme="fusion")
    assert_clean(at)
    notice = at.info[0].value
    assert "No stories of Fusion power" in notice and "`newsintel ingest`" in notice
    assert "`newsintel backfill gdelt --since" in notice
    assert "Fusion power: share of all stories" not in chart_titles(at)  # no blank chart

    at = open_page(make_app(monkeypatch, str(db)), "prices", theme="lithium", series="nickel")
    assert_clean(at)
    notices = " ".join(i.value for i in at.info)
    assert "Nickel has no values between" in notices
    assert "`newsintel series import FILE --name nickel`" in notices
    progress = at.warning[0].value
    assert "Backfill in progress: 1 of 2 GDELT windows" in progress
    assert "from 01 Feb 2024" in progress and "`newsintel backfill gdelt`" in progress

    # Neither stories nor values: the two notices, and no empty chart between them.
    at = open_page(make_app(monkeypatch, str(db)), "prices", theme="fusion", series="nickel")
    assert_clean(at)
    notices = " ".join(i.value for i in at.info)
    assert "No stories of Fusion power" in notices and "Nickel has no values" in notices
    assert not [t for t in chart_titles(at) if "weekly stories vs" in t]


def test_an_unfinished_archive_backfill_names_the_command_that_resumes_it(
    monkeypatch: pytest.MonkeyPatch, hostile_db: str, tmp_path: Path
) -> None:
    """An outlet-archive backfill is shown as the GDELT one is: while unfinished (running
    or stopped), and while pages of it have failed; not once it is complete."""
    from datetime import date

    from newsintel.store.archive import (
        UrlState,
        finish_run,
        save_archive_pages,
        start_run,
        unfinished_backfills,
    )
    from newsintel.store.feeds import upsert_outlets
    from newsintel.ui.common import archive_backfill_text

    since, until, started = date(2021, 1, 1), date(2023, 12, 31), datetime(2026, 12, 3, 8, 0)
    page = "https://electrek.example/2021/03/01/a-page/"
    failed = UrlState(page, "failed", 503, "HTTP 503", next_try_at=datetime(2026, 12, 3, 9, 30))
    db = tmp_path / "archive.duckdb"
    shutil.copy(hostile_db, db)
    con = connect(str(db))
    try:
        # What `backfill archive "Electrek News" ...` leaves when stopped after one page failed.
        upsert_outlets(con, [("electrek", "Electrek News", "https://electrek.example/")])
        start_run(con, "electrek", "Electrek News", since, until, started)
        save_archive_pages(con, "electrek", [], [failed], started)
    finally:
        con.close()
    command = "`newsintel backfill archive 'Electrek News' --since 2021-01-01 --until 2023-12-31`"

    at = open_page(make_app(monkeypatch, str(db)), "overview")
    assert_clean(at)
    (notice,) = [w.value for w in at.warning if "archive of" in w.value]
    assert "Backfill in progress: the archive of Electrek News (01 Jan 2021 to 31 Dec 2023)" in (
        notice
    )
    assert "has not finished" in notice and "0 stories stored so far, 1 article page failed" in (
        notice
    )
    assert command in notice and "started 03 Dec 2026 08:00 UTC" in notice

    # Finished with the page still failed: incomplete, and when the retry is due.
    con = connect(str(db))
    try:
        finish_run(con, "electrek", since, until, started)
        (run,) = unfinished_backfills(con)
        text = archive_backfill_text(run)
        assert text.startswith("Backfill incomplete") and "1 article page failed" in text
        assert f"{command} from 03 Dec 2026 09:30 UTC" in text
        # A re-run stored the page: complete, so no page mentions the archive any more.
        save_archive_pages(con, "electrek", [], [UrlState(page, "stored")], started)
    finally:
        con.close()
    done = tmp_path / "done.duckdb"  # another path: the app caches results per database
    shutil.copy(db, done)
    at = open_page(make_app(monkeypatch, str(done)), "prices")
    assert_clean(at)
    assert not [w.value for w in at.warning if "archive" in w.value]
