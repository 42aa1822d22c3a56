"""The app's read-only queries (newsintel.store.dashboard) on a small fixture database.

``build_fixture_db`` writes that database through the store's own write functions; the
app page tests reuse it for hostile feed text.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import stored_article

from newsintel.errors import DatabaseLockedError, StoreError
from newsintel.models import Article, SeriesMeta, SourceUpdate, ThemeDefinition
from newsintel.store import connect, migrate
from newsintel.store import dashboard as q
from newsintel.store.analysis import save_results
from newsintel.store.embeddings import save_embeddings
from newsintel.store.feeds import save_feed_result, upsert_source
from newsintel.store.series import save_series
from newsintel.store.themes import save_theme_scores, save_themes

SCRIPT_TITLE = "<script>alert(1)</script> Robot arms 100% _ready_"
IMG_TITLE = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) robots"
MODEL = "test-model"
FIRST_WEEK = date(2025, 12, 1)  # a Monday; the fixture covers eight weeks from here


def _week(n: int, day: int = 1, hour: int = 9) -> datetime:
    return datetime.combine(FIRST_WEEK + timedelta(weeks=n, days=day), datetime.min.time()).replace(
        hour=hour
    )


def _article(
    article_id: str,
    source_id: str,
    title: str,
    published_at: datetime,
    *,
    story_id: str | None = None,
    url: str | None = None,
    is_issue: bool = False,
) -> Article:
    return stored_article(
        article_id,
        source_id=source_id,
        story_id=story_id,
        url=url if url is not None else f"https://example.com/{article_id}",
        title=title,
        text=f"{title}. Body of {article_id} about lithium prices.",
        published_at=published_at,
        is_issue=is_issue,
    )


def build_fixture_db(path: Path) -> str:
    """Two sources, two themes, eight weeks of stories, a price series, two analysis runs.

    Lithium has one story a week in weeks 0-6 and two in week 5 (its peak, with a
    syndicated copy of one of them); robots has one story in week 2 and two hostile
    headlines in week 7, so that the digest of week 7 reports robots as rising.
    """
    db = str(path)
    con = connect(db)
    try:
        migrate(con)
        upsert_source(con, "wire", "Metals Wire", "https://wire.example/feed", ["news"])
        upsert_source(con, "blog", "Robot Blog", "https://blog.example/feed", ["news"])
        lithium = [
            _article(f"li{n}", "wire", f"Lithium update week {n}", _week(n)) for n in range(7)
        ]
        lithium.append(_article("li5b", "wire", "Lithium glut deepens in China", _week(5, 3)))
        copy = _article("li5copy", "blog", "Lithium glut deepens", _week(5, 4), story_id="li5b")
        robots = [
            _article("ro2", "blog", "Robots learn to fold laundry", _week(2)),
            _article("ro7a", "blog", SCRIPT_TITLE, _week(7, 1), url="javascript:alert(1)"),
            _article("ro7b", "blog", IMG_TITLE, _week(7, 2)),
        ]
        issue = _article("issue7", "blog", "Weekly newsletter issue", _week(7, 2), is_issue=True)
        now = _week(7, 3)
        save_feed_result(con, SourceUpdate("wire", "ok", now, 200), [*lithium])
        save_feed_result(con, SourceUpdate("blog", "ok", now, 200), [copy, *robots, issue])
        # The blog then fails twice: it must come first in the health table.
        for _ in range(2):
            save_feed_result(
                con, SourceUpdate("blog", "failed", now, 500, error="HTTP 500 <b>boom</b>"), []
            )
        save_themes(
            con,
            [
                ThemeDefinition("lithium", "Lithium", "lithium prices", threshold=0.5),
                ThemeDefinition("robots", "Robots", "humanoid robots", threshold=0.5),
            ],
        )
        ids = [a.article_id for a in (*lithium, copy, *robots)]
        is_lithium = np.array([i.startswith("li") for i in ids])
        scores = np.column_stack([np.where(is_lithium, 0.8, 0.1), np.where(is_lithium, 0.1, 0.7)])
        scores[ids.index("li5b"), 0] = 0.9  # the best lithium story
        save_theme_scores(
            con, ids, ["lithium", "robots"], ["embedding:test"] * 2, scores, scores > 0.5
        )
        weeks = pd.date_range(FIRST_WEEK - timedelta(weeks=4), periods=12, freq="W-MON")
        save_series(
            con,
            SeriesMeta("lithium_carbonate", "price", "CNY/t", "CNY", "test"),
            pd.Series(np.linspace(100_000, 111_000, len(weeks)), index=weeks),
        )
        _save_runs(con)
        vectors = np.array(
            [[1.0, 0.0, 0.0] if i.startswith("li") else [0.0, 1.0, 0.0] for i in ids],
            dtype=np.float32,
        )
        save_embeddings(con, MODEL, ids, vectors)
    finally:
        con.close()
    return db


def _save_runs(con: object) -> None:
    base = {"x": "theme:lithium", "y": "series:lithium_carbonate", "freq": "W", "n_obs": 8}
    old = [
        base | {"run_id": "run-old", "test": "ccf", "lag": lag, "effect": 0.9, "p_adj": 0.001}
        for lag in (-1, 0, 1)
    ]
    old[0]["params"] = {"ccf_band": 0.5}
    # The newer run stores params as a JSON string, as the analysis job does.
    params = json.dumps(
        {"ccf_band": 0.69, "prewhiten": True, "transforms": {"y": {"differences": 1}}}
    )
    new = [
        base
        | {
            "run_id": "run-new",
            "test": "ccf",
            "lag": lag,
            "effect": r,
            "ci_low": r - 0.3,
            "ci_high": r + 0.3,
            "p_value": 0.2,
            "p_adj": 0.4,
            "params": params,
        }
        for lag, r in ((-1, 0.1), (0, -0.2), (1, 0.3))
    ]
    new += [
        base
        | {
            "run_id": "run-new",
            "test": "granger",
            "direction": direction,
            "lag": 1,
            "statistic": 1.5,
            "p_value": 0.25,
            "p_adj": 0.5,
            "warnings": ["short sample"],
        }
        for direction in ("x->y", "y->x")
    ]
    save_results(con, old)  # type: ignore[arg-type]
    con.execute("UPDATE analysis_results SET created_at = created_at - INTERVAL 1 DAY")  # type: ignore[attr-defined]
    save_results(con, new)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_fixture_db(tmp_path_factory.mktemp("dashboard") / "fixture.duckdb")


def read(db: str, work):  # type: ignore[no-untyped-def]
    return q.read_batch(db, work)


def test_read_batch_missing_database_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="newsintel demo"):
        q.read_batch(str(tmp_path / "missing.duckdb"), q.data_window)


def test_read_batch_maps_duckdb_errors(fixture_db: str) -> None:
    with pytest.raises(StoreError, match="could not read database"):
        q.read_batch(fixture_db, lambda con: con.execute("SELECT * FROM no_such_table").fetchall())


def test_read_batch_connection_is_read_only(fixture_db: str) -> None:
    with pytest.raises(StoreError):
        q.read_batch(fixture_db, lambda con: con.execute("DELETE FROM articles"))


def test_read_batch_gives_up_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    db = str(tmp_path / "locked.duckdb")
    holder = textwrap.dedent(
        f"""
        import sys, time, duckdb
        con = duckdb.connect({db!r})
        print("ready", flush=True)
        sys.stdin.readline()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        with pytest.raises(DatabaseLockedError):
            q.read_batch(db, q.data_window, attempts=2, lock_wait_s=0.2, pause_s=0.05)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)
    # Once the writer is gone the same call succeeds.
    assert q.read_batch(db, lambda con: con.execute("SELECT 42").fetchone()) == (42,)


def test_data_window_and_weekly_totals(fixture_db: str) -> None:
    first, last = read(fixture_db, q.data_window)
    assert first == FIRST_WEEK + timedelta(days=1)
    assert last == FIRST_WEEK + timedelta(weeks=7, days=2)
    totals = read(fixture_db, lambda con: q.weekly_totals(con, first, last))
    assert len(totals) == 8
    by_week = totals.set_index(pd.to_datetime(totals["week"]).dt.date)
    week5 = by_week.loc[FIRST_WEEK + timedelta(weeks=5)]
    assert (week5["articles"], week5["stories"]) == (3, 2)  # the syndicated copy counts once
    week7 = by_week.loc[FIRST_WEEK + timedelta(weeks=7)]
    assert (week7["articles"], week7["stories"]) == (2, 2)  # the newsletter issue is left out


def test_theme_list_and_weekly(fixture_db: str) -> None:
    themes = read(fixture_db, q.theme_list)
    assert list(themes["theme"]) == ["lithium", "robots"]
    start, end = FIRST_WEEK, FIRST_WEEK + timedelta(weeks=8)
    weekly = read(fixture_db, lambda con: q.theme_weekly(con, start, end))
    assert set(weekly["theme"]) == {"lithium", "robots"} and len(weekly) == 16
    robots = read(fixture_db, lambda con: q.theme_weekly(con, start, end, ["robots"]))
    assert set(robots["label"]) == {"Robots"}
    last = robots.iloc[-1]
    assert (last["articles"], last["total_articles"], last["share"]) == (2, 2, 1.0)
    # A window that starts mid-week still includes that whole week.
    mid = read(
        fixture_db,
        lambda con: q.theme_weekly(con, FIRST_WEEK + timedelta(days=3), end, ["lithium"]),
    )
    assert pd.Timestamp(mid["week"].iloc[0]).date() == FIRST_WEEK


def test_top_stories_one_row_per_story_and_safe_links(fixture_db: str) -> None:
    start, end = FIRST_WEEK, FIRST_WEEK + timedelta(weeks=8)

    def top(theme: str, limit: int) -> pd.DataFrame:
        return read(fixture_db, lambda con: q.theme_detail(con, theme, start, end, limit).top)

    lithium = top("lithium", 20)
    assert lithium["title"].iloc[0] == "Lithium glut deepens in China"
    assert len(lithium) == 8  # 8 lithium stories: the syndicated copy collapses into its story
    robots = top("robots", 20)
    by_title = dict(zip(robots["title"], robots["url"], strict=True))
    assert pd.isna(by_title[SCRIPT_TITLE])  # javascript: never becomes a link
    assert by_title[IMG_TITLE] == "https://example.com/ro7b"
    limited = top("lithium", 3)
    assert len(limited) == 3


def test_peak_week_and_source_mix(fixture_db: str) -> None:
    start, end = FIRST_WEEK, FIRST_WEEK + timedelta(weeks=8)
    detail = read(fixture_db, lambda con: q.theme_detail(con, "lithium", start, end))
    assert detail.peak is not None and detail.peak.week == FIRST_WEEK + timedelta(weeks=5)
    assert len(detail.peak.stories) > 0
    peak_days = pd.to_datetime(detail.peak.stories["published_at"]).dt.date
    assert all(detail.peak.week <= d <= detail.peak.week + timedelta(days=6) for d in peak_days)
    none = read(
        fixture_db,
        lambda con: q.theme_detail(con, "robots", start, start + timedelta(days=6)),
    )
    assert none.peak is None
    mix = detail.mix
    assert list(zip(mix["source"], mix["stories"], strict=True)) == [
        ("Metals Wire", 8),
        ("Robot Blog", 1),
    ]


def test_series_list_and_weekly(fixture_db: str) -> None:
    series = read(fixture_db, q.series_list)
    row = series.iloc[0]
    assert (row["series"], row["kind"], row["unit"], row["points"]) == (
        "lithium_carbonate",
        "price",
        "CNY/t",
        12,
    )
    weekly = read(
        fixture_db,
        lambda con: q.series_weekly(
            con, "lithium_carbonate", FIRST_WEEK, FIRST_WEEK + timedelta(weeks=2)
        ),
    )
    assert len(weekly) == 3 and set(weekly["unit"]) == {"CNY/t"}
    assert weekly["value_mean"].is_monotonic_increasing


def test_ccf_and_granger_come_from_the_newest_run(fixture_db: str) -> None:
    x, y = "theme:lithium", "series:lithium_carbonate"
    ccf = read(fixture_db, lambda con: q.ccf_results(con, x, y))
    assert set(ccf["run_id"]) == {"run-new"}
    assert list(ccf["lag"]) == [-1, 0, 1]
    assert list(ccf["r"].round(2)) == [0.1, -0.2, 0.3]
    assert ccf["band"].iloc[0] == pytest.approx(0.69)  # read through the JSON string
    assert bool(ccf["prewhiten"].iloc[0]) is True
    assert ccf["y_diff"].iloc[0] == 1
    granger = read(fixture_db, lambda con: q.granger_results(con, x, y))
    assert list(granger["direction"]) == ["x->y", "y->x"]
    assert list(granger["warnings"].iloc[0]) == ["short sample"]
    missing = read(fixture_db, lambda con: q.ccf_results(con, "theme:robots", y))
    assert missing.empty


def test_ccf_band_from_plain_json_params(tmp_path: Path) -> None:
    db = str(tmp_path / "plain.duckdb")
    con = connect(db)
    migrate(con)
    save_results(
        con,
        [
            {
                "run_id": "r",
                "x": "a",
                "y": "b",
                "freq": "W",
                "test": "ccf",
                "lag": 0,
                "effect": 0.5,
                "n_obs": 9,
                "params": {"ccf_band": 0.25},
            }
        ],
    )
    con.close()
    ccf = read(db, lambda c: q.ccf_results(c, "a", "b"))
    assert ccf["band"].iloc[0] == pytest.approx(0.25)
    # A run that recorded no transforms reads as "not differenced": plain zeros, which
    # the Prices page tests for truth (a null there raised "boolean value of NA").
    first = ccf.iloc[0]
    assert (first["x_diff"], first["y_diff"]) == (0, 0)
    assert not (first["x_diff"] or first["y_diff"])


def test_source_health_lists_failing_sources_first(fixture_db: str) -> None:
    health = read(fixture_db, q.source_health)
    assert list(health["name"]) == ["Robot Blog", "Metals Wire"]
    blog = health.iloc[0]
    assert blog["consecutive_failures"] == 2 and blog["last_status"] == "failed"
    assert blog["last_error"] == "HTTP 500 <b>boom</b>"
    assert blog["articles"] == 4  # the newsletter issue is not counted
    assert health.iloc[1]["not_modified_rate"] == 0


def test_keyword_search_is_literal_case_insensitive_and_dated(fixture_db: str) -> None:
    start, end = FIRST_WEEK, FIRST_WEEK + timedelta(weeks=8)
    glut = read(fixture_db, lambda con: q.keyword_search(con, "GLUT", start, end))
    assert set(glut["title"]) == {"Lithium glut deepens in China", "Lithium glut deepens"}
    percent = read(fixture_db, lambda con: q.keyword_search(con, "100%", start, end))
    assert list(percent["title"]) == [SCRIPT_TITLE]
    underscore = read(fixture_db, lambda con: q.keyword_search(con, "_ready_", start, end))
    assert list(underscore["title"]) == [SCRIPT_TITLE]
    assert read(fixture_db, lambda con: q.keyword_search(con, "1_0", start, end)).empty
    everything = read(fixture_db, lambda con: q.keyword_search(con, "", start, end, 100))
    assert len(everything) == 12 and "Weekly newsletter issue" not in set(everything["title"])
    assert everything["published_at"].is_monotonic_decreasing
    week0 = read(
        fixture_db, lambda con: q.keyword_search(con, "", start, start + timedelta(days=6))
    )
    assert list(week0["title"]) == ["Lithium update week 0"]


def test_semantic_search_ranks_by_cosine_and_filters(fixture_db: str) -> None:
    start, end = FIRST_WEEK, FIRST_WEEK + timedelta(weeks=8)
    hits = read(
        fixture_db, lambda con: q.semantic_search(con, MODEL, [0.0, 2.0, 0.1], start, end, limit=3)
    )
    assert len(hits) == 3
    assert all("obot" in t or "<" in t for t in hits["title"])  # the robots stories first
    assert hits["similarity"].is_monotonic_decreasing and hits["similarity"].iloc[0] > 0.9
    narrowed = read(
        fixture_db,
        lambda con: q.semantic_search(con, MODEL, [0.0, 1.0, 0.0], start, end, keyword="laundry"),
    )
    assert list(narrowed["title"]) == ["Robots learn to fold laundry"]
    other_model = read(
        fixture_db, lambda con: q.semantic_search(con, "other", [0.0, 1.0, 0.0], start, end)
    )
    assert other_model.empty
    assert read(fixture_db, lambda con: q.embedded_count(con, MODEL)) == 12
    assert read(fixture_db, lambda con: q.embedded_count(con, "other")) == 0


def test_weekly_counts_follow_the_rule_of_v_theme_weekly(fixture_db: str) -> None:
    """One rule (store.fragments.weekly_story_counts), checked against the released view.

    The fixture has a syndicated copy and a newsletter issue, so the two parts of the
    rule that differ from a plain count are both exercised.
    """
    start, end = FIRST_WEEK + timedelta(days=2), FIRST_WEEK + timedelta(weeks=8)

    def both(con):  # type: ignore[no-untyped-def]
        view = con.execute(
            "SELECT v.week, v.theme, t.label, v.articles, v.total_articles, v.share "
            "FROM v_theme_weekly v JOIN themes t ON t.theme_id = v.theme "
            "WHERE v.week BETWEEN date_trunc('week', ?::DATE) AND ? ORDER BY v.week, t.label",
            [start, end],
        ).df()
        one = q.theme_weekly_stories(con, "lithium", start, end)
        return q.theme_weekly(con, start, end), one, view

    weekly, lithium, view = read(fixture_db, both)
    assert len(view) == 16
    pd.testing.assert_frame_equal(weekly, view, check_dtype=False)
    expected = view[view["theme"] == "lithium"][["week", "articles"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(lithium, expected, check_dtype=False)
