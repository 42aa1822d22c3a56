"""Jobs composed end to end on a real DuckDB file: ingest, embed, assign, series, analyze."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from feedserver import FeedServer
from interrupt import interrupt_on_call

from newsintel.config import Settings
from newsintel.errors import AnalysisError, SeriesError
from newsintel.jobs import (
    analyze,
    assign_themes,
    embed,
    import_series,
    ingest,
    sample_sources,
    scheduled_actions,
)
from newsintel.store import open_db

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"


def write_feeds(path: Path, feeds: dict[str, str]) -> Path:
    lines = [f'[[feeds]]\nname = "{name}"\nurl = "{url}"\n' for name, url in feeds.items()]
    path.write_text("\n".join(lines))
    return path


def count(settings: Settings, sql: str) -> int:
    with open_db(settings.db, read_only=True) as con:
        row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def served_samples(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = tmp_path / "www"
    shutil.copytree(SAMPLE, root)
    with FeedServer(root=root) as server:
        yield server


def test_ingest_twice_adds_nothing_and_gets_304s(
    settings: Settings, served_samples: FeedServer, tmp_path: Path
) -> None:
    feeds = write_feeds(
        tmp_path / "feeds.toml",
        {
            "Tech": served_samples.url("/sample_tech_daily.xml"),
            "Battery": served_samples.url("/sample_battery_mining_wire.xml"),
            "Download": served_samples.url("/the_sample_download.xml"),
        },
    )
    first = ingest(settings, feeds, force=True)
    assert first.count("ok") == 3
    assert first.new_articles == count(settings, "SELECT count(*) FROM articles") > 100
    second = ingest(settings, feeds, force=True)
    assert second.new_articles == 0
    assert second.count("not_modified") == 3
    conditional = served_samples.requests_for("/sample_tech_daily.xml")[-1].headers
    assert "if-none-match" in conditional
    health = count(settings, "SELECT sum(not_modified_count) FROM v_source_health")
    assert health == 3


def test_one_broken_feed_never_stops_the_others(
    settings: Settings, served_samples: FeedServer, tmp_path: Path
) -> None:
    served_samples.add_status("/gone.xml", 410)
    served_samples.add_html("/page.xml")
    feeds = write_feeds(
        tmp_path / "feeds.toml",
        {
            "Gone": served_samples.url("/gone.xml"),
            "Tech": served_samples.url("/sample_tech_daily.xml"),
            "Page": served_samples.url("/page.xml"),
            "Nowhere": "http://feeds.newsintel.invalid/rss",
        },
    )
    report = ingest(settings, feeds, force=True)
    by_name = {f.name: f for f in report.feeds}
    assert by_name["Tech"].status == "ok" and by_name["Tech"].new_articles > 0
    assert by_name["Gone"].status == "failed" and "410" in (by_name["Gone"].error or "")
    assert by_name["Page"].status == "failed" and "HTML" in (by_name["Page"].error or "")
    assert by_name["Nowhere"].status == "failed"
    assert "unknown host" in (by_name["Nowhere"].error or "")
    with open_db(settings.db, read_only=True) as con:
        rows = dict(
            con.execute(
                "SELECT name, last_error FROM v_source_health WHERE last_status = 'failed'"
            ).fetchall()
        )
    assert set(rows) == {"Gone", "Page", "Nowhere"}


def test_backoff_skips_failing_feed_until_due(
    settings: Settings, served_samples: FeedServer, tmp_path: Path
) -> None:
    served_samples.add_status("/down.xml", 500)
    feeds = write_feeds(tmp_path / "feeds.toml", {"Down": served_samples.url("/down.xml")})
    assert ingest(settings, feeds).feeds[0].status == "failed"
    again = ingest(settings, feeds)
    assert again.feeds[0].status == "skipped"
    assert ingest(settings, feeds, force=True).feeds[0].status == "failed"
    assert count(settings, "SELECT consecutive_failures FROM sources") == 2


def test_embed_each_article_once_per_model(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    ingest(settings, sources=sample_sources(SAMPLE)[:2], force=True)
    stories = count(settings, "SELECT count(*) FROM articles WHERE NOT is_issue")
    first = embed(settings, embedder=fake_embedder, chunk_size=50)
    assert first.embedded == stories
    assert fake_embedder.texts_seen == stories
    second = embed(settings, embedder=fake_embedder)
    assert second.embedded == 0 and second.already_embedded == stories
    assert fake_embedder.texts_seen == stories

    class OtherModel(type(fake_embedder)):  # type: ignore[misc]
        model_name = "fake-bow-64-v2"

    other = OtherModel()
    assert embed(settings, embedder=other).embedded == stories
    assert count(settings, "SELECT count(DISTINCT model) FROM embeddings") == 2


def test_assign_themes_scores_every_article_and_theme(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    ingest(settings, sources=sample_sources(SAMPLE), force=True)
    embed(settings, embedder=fake_embedder)
    report = assign_themes(settings, embedder=fake_embedder)
    stories = count(settings, "SELECT count(*) FROM articles WHERE NOT is_issue")
    assert report.articles == stories
    assert count(settings, "SELECT count(*) FROM article_themes") == stories * len(report.members)
    again = assign_themes(settings, embedder=fake_embedder)
    assert again.members == report.members
    assert count(settings, "SELECT count(*) FROM article_themes") == stories * len(report.members)


def test_interrupted_assign_completes_on_the_next_run(  # type: ignore[no-untyped-def]
    settings: Settings, fake_embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import newsintel.jobs.themes as themes_job

    def scores(settings: Settings) -> list[tuple[object, ...]]:
        with open_db(settings.db, read_only=True) as con:
            return con.execute(
                "SELECT article_id, theme_id, method, score, is_member FROM article_themes "
                "ORDER BY ALL"
            ).fetchall()

    ingest(settings, sources=sample_sources(SAMPLE), force=True)
    embed(settings, embedder=fake_embedder)
    clean = replace(settings, db=str(tmp_path / "clean.duckdb"))
    shutil.copy(settings.db, clean.db)
    assign_themes(clean, embedder=fake_embedder, batch_size=7)

    interrupt_on_call(monkeypatch, themes_job, "save_theme_scores", call=3)
    with pytest.raises(KeyboardInterrupt):
        assign_themes(settings, embedder=fake_embedder, batch_size=7)
    monkeypatch.undo()
    # Some batches were written before the interruption, each of them whole.
    scored = count(settings, "SELECT count(DISTINCT article_id) FROM article_themes")
    assert 0 < scored < count(settings, "SELECT count(*) FROM embeddings")
    assert len(scores(settings)) == scored * count(settings, "SELECT count(*) FROM themes")
    assign_themes(settings, embedder=fake_embedder, batch_size=7)
    assert scores(settings) == scores(clean)


def test_series_import_and_errors(settings: Settings, tmp_path: Path) -> None:
    report = import_series(
        settings,
        ROOT / "data" / "series" / "lithium_carbonate_weekly.csv",
        name="lithium_carbonate",
        unit="CNY/t",
        currency="CNY",
    )
    assert (
        report.points > 100 and report.first_date == "2023-07-21"
    )  # the first week's last close (Friday)
    bad = tmp_path / "bad.csv"
    bad.write_text("date,value\n2024-01-01,10\n2024-01-01,11\n")
    with pytest.raises(SeriesError, match="duplicate date"):
        import_series(settings, bad, name="bad")
    with pytest.raises(SeriesError, match="kind must be"):
        import_series(settings, bad, name="bad", kind="volume")


def test_analyze_names_unknown_variables(settings: Settings) -> None:
    import_series(
        settings, ROOT / "data" / "series" / "nickel_weekly.csv", name="nickel", unit="CNY/t"
    )
    with pytest.raises(AnalysisError, match="unknown theme 'nope'"):
        analyze(settings, "theme:nope", "series:nickel")
    with pytest.raises(AnalysisError, match="unknown series 'gold'; known: nickel"):
        analyze(settings, "series:gold", "series:nickel")
    with pytest.raises(AnalysisError, match="is not theme:<name> or series:<name>"):
        analyze(settings, "nickel", "series:nickel")


def test_analyze_two_series_stores_rows(settings: Settings) -> None:
    for name in ("nickel", "copper"):
        import_series(settings, ROOT / "data" / "series" / f"{name}_weekly.csv", name=name)
    result = analyze(settings, "series:nickel", "series:copper", freq="W", max_lag=4)
    data = result.to_dict()
    assert data["n_obs"] > 300
    assert [p["lag"] for p in data["ccf"]] == list(range(-4, 5))
    stored = count(
        settings,
        "SELECT count(*) FROM v_analysis_results "
        "WHERE x = 'series:nickel' AND test IN ('ccf', 'granger')",
    )
    assert stored == len(data["ccf"]) + len(data["granger"])


def test_repeated_texts_are_encoded_once_and_share_their_vector(fake_embedder) -> None:  # type: ignore[no-untyped-def]
    from newsintel.jobs.embedding import _encode_once_each

    texts = ["Lithium prices fall", "Robots fold laundry", "Lithium prices fall", "Chips"]
    vectors = _encode_once_each(fake_embedder, texts)
    assert fake_embedder.texts_seen == 3
    assert np.array_equal(vectors, fake_embedder.encode(texts))
    assert np.array_equal(vectors[0], vectors[2])
    assert _encode_once_each(fake_embedder, []).shape == (0, fake_embedder.dimension)


def test_scheduled_run_summary_counts_and_times_its_steps(  # type: ignore[no-untyped-def]
    settings: Settings, served_samples: FeedServer, tmp_path: Path, fake_embedder
) -> None:
    feeds = write_feeds(
        tmp_path / "feeds.toml", {"Tech": served_samples.url("/sample_tech_daily.xml")}
    )
    # The settings name the embedder's model: the topics step reads vectors by name.
    scheduled = replace(settings, feeds_file=str(feeds), model=fake_embedder.model_name)
    actions = scheduled_actions(scheduled, embedder=fake_embedder)
    summary = actions["run"]()
    new = count(settings, "SELECT count(*) FROM articles")
    assert new > 0
    assert summary.startswith(f"{new} new articles, 0 feeds failed, {new} embedded, analysis run ")
    assert re.search(r", steps took \d+ s$", summary), summary
