"""The read-only SQL sandbox behind `newsintel sql` and the app's SQL page."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsintel.store import connect, migrate
from newsintel.store.sql import QueryRejected, run_readonly_query


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "db.duckdb")
    con = connect(path)
    migrate(con)
    con.execute(
        "INSERT INTO themes (theme_id, label, description, threshold) "
        "VALUES ('lithium', 'Lithium', 'd', 0.4)"
    )
    con.close()
    return path


HOSTILE = [
    ("DELETE FROM themes", "only read-only SELECT"),
    (
        "INSERT INTO themes (theme_id, label, description, threshold) VALUES ('x','x','x',0.1)",
        "only read-only SELECT",
    ),
    ("UPDATE themes SET label = 'pwned'", "only read-only SELECT"),
    ("DROP TABLE themes", "only read-only SELECT"),
    ("CREATE TABLE stolen AS SELECT 1", "only read-only SELECT"),
    ("ATTACH '/tmp/other.duckdb' AS other", "only read-only SELECT"),
    ("COPY themes TO '/tmp/themes.csv'", "only read-only SELECT"),
    ("INSTALL httpfs", "only read-only SELECT"),
    ("LOAD httpfs", "only read-only SELECT"),
    ("SET enable_external_access = true", "only read-only SELECT"),
    ("PRAGMA disable_checkpoint_on_shutdown", "only read-only SELECT"),
    ("SELECT * FROM read_csv('/etc/passwd')", "file system operations are disabled"),
    ("SELECT * FROM read_text('/etc/hostname')", "file system operations are disabled"),
    ("SELECT * FROM glob('/etc/*')", "file system operations are disabled"),
    ("SELECT * FROM read_parquet('https://example.invalid/x.parquet')", "disabled"),
    ("SELECT 1; DROP TABLE themes", "exactly one statement"),
    ("CALL pragma_database_list()", "only read-only SELECT"),
    ("DETACH newsintel", "only read-only SELECT"),
]


@pytest.mark.parametrize(("query", "message"), HOSTILE)
def test_hostile_queries_are_refused_and_change_nothing(db: str, query: str, message: str) -> None:
    with pytest.raises(QueryRejected, match=message):
        run_readonly_query(db, query)
    after = run_readonly_query(db, "SELECT theme_id, label FROM themes")
    assert after.rows == [("lithium", "Lithium")]
    assert not Path("/tmp/themes.csv").exists() or "themes.csv" not in query


def test_select_on_documented_views_works(db: str) -> None:
    result = run_readonly_query(db, "SELECT count(*) AS n FROM v_theme_weekly")
    assert result.columns == ("n",)
    assert result.rows == [(0,)]


def test_rows_are_capped(db: str) -> None:
    result = run_readonly_query(db, "SELECT * FROM range(50)", max_rows=10)
    assert len(result.rows) == 10
    assert result.truncated


def test_syntax_error_is_a_clear_message(db: str) -> None:
    with pytest.raises(QueryRejected, match="SQL error"):
        run_readonly_query(db, "SELEC 1")
