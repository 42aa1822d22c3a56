"""Migrations, schema_version and the documented tables and views."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsintel.errors import StoreError
from newsintel.store import connect, current_version, migrate
from newsintel.store.schema import available_migrations

TABLES = {
    "schema_version",
    "sources",
    "articles",
    "embeddings",
    "themes",
    "article_themes",
    "series",
    "series_points",
    "analysis_results",
    "digest_log",
}
VIEWS = {
    "v_articles",
    "v_article_themes",
    "v_theme_daily",
    "v_theme_weekly",
    "v_series_weekly",
    "v_analysis_results",
    "v_source_health",
}


def test_migrate_creates_every_table_and_view_once(tmp_path: Path) -> None:
    con = connect(str(tmp_path / "db.duckdb"))
    applied = migrate(con)
    assert [m.version for m in applied] == [m.version for m in available_migrations()]
    assert current_version(con) == len(available_migrations())
    names = {
        (row[0], row[1])
        for row in con.execute(
            "SELECT table_name, table_type FROM information_schema.tables"
        ).fetchall()
    }
    assert {n for n, t in names if t == "BASE TABLE"} >= TABLES
    assert {n for n, t in names if t == "VIEW"} >= VIEWS
    for view in VIEWS:
        con.execute(f"SELECT * FROM {view} LIMIT 1").fetchall()
    assert migrate(con) == []
    con.close()


def test_migrations_survive_reopening(tmp_path: Path) -> None:
    path = str(tmp_path / "db.duckdb")
    con = connect(path)
    migrate(con)
    con.close()
    con = connect(path)
    assert migrate(con) == []
    rows = con.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()
    assert rows[0] == (1, "initial")
    con.close()


def test_database_newer_than_code_is_refused(tmp_path: Path) -> None:
    con = connect(str(tmp_path / "db.duckdb"))
    migrate(con)
    con.execute("INSERT INTO schema_version (version, name) VALUES (999, 'future')")
    with pytest.raises(StoreError, match="newer than this newsintel"):
        migrate(con)
    con.close()


def test_read_only_open_of_missing_database_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="run `newsintel init`"):
        connect(str(tmp_path / "nothing.duckdb"), read_only=True)


def test_v_theme_weekly_counts_stories_and_share(tmp_path: Path) -> None:
    con = connect(str(tmp_path / "db.duckdb"))
    migrate(con)
    con.execute(
        "INSERT INTO themes (theme_id, label, description, threshold) VALUES "
        "('lithium', 'Lithium', 'lithium', 0.4), ('robots', 'Robots', 'robots', 0.4)"
    )
    # Two stories in week of 2025-01-06; one syndicated twice (same story_id).
    for article_id, story_id, day in [
        ("a1", "s1", "2025-01-06"),
        ("a2", "s1", "2025-01-07"),
        ("a3", "s2", "2025-01-08"),
        ("a4", "s3", "2025-01-15"),
    ]:
        con.execute(
            "INSERT INTO articles (article_id, source_id, story_id, title, text, published_at, "
            "fetched_at, content_hash) VALUES (?, 'src', ?, 't', 'x', ?, ?, 'h')",
            [article_id, story_id, day, day],
        )
    con.execute(
        "INSERT INTO article_themes (article_id, theme_id, method, score, is_member) VALUES "
        "('a1','lithium','m',0.9,true), ('a2','lithium','m',0.9,true), "
        "('a3','lithium','m',0.1,false), ('a4','robots','m',0.8,true)"
    )
    rows = con.execute(
        "SELECT week::VARCHAR, theme, articles, total_articles, share FROM v_theme_weekly "
        "ORDER BY week, theme"
    ).fetchall()
    assert rows == [
        ("2025-01-06", "lithium", 1, 2, 0.5),
        ("2025-01-06", "robots", 0, 2, 0.0),
        ("2025-01-13", "lithium", 0, 1, 0.0),
        ("2025-01-13", "robots", 1, 1, 1.0),
    ]
    con.close()
