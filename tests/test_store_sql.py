"""The read-only SQL sandbox behind `newsintel sql` and the app's SQL page."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from newsintel.errors import ConfigError
from newsintel.store import connect, migrate
from newsintel.store.snapshots import publish
from newsintel.store.sql import (
    QueryLimitError,
    QueryRejected,
    SqlLimits,
    run_readonly_query,
    spill_dir,
)


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


HEAVY = "SELECT count(*) FROM range(300000) a(x), range(300000) b(y) WHERE (x * y) % 7 = 3"


def test_a_long_query_is_interrupted_at_its_timeout(db: str) -> None:
    started = time.monotonic()
    with pytest.raises(QueryLimitError, match=r"longer than the 1 s limit.*NEWSINTEL_SQL_TIMEOUT"):
        run_readonly_query(db, HEAVY, limits=SqlLimits(timeout_s=1.0))
    # Interrupted, not run to its end (minutes): the child's start plus the second.
    assert time.monotonic() - started < 10


def test_a_query_past_its_memory_cap_stops_with_the_limit_message(db: str) -> None:
    # DuckDB's memory_limit does not cover one huge string; the process cap does.
    with pytest.raises(QueryLimitError, match=r"more than its 1GB memory limit"):
        run_readonly_query(db, "SELECT length(repeat('a', 2000000000))")
    # The sandbox still works afterwards: the query's process took the failure.
    assert run_readonly_query(db, "SELECT 41 + 1").rows == [(42,)]


def test_big_sorts_spill_inside_the_data_folder(db: str) -> None:
    # About 400 MB of rows to sort under a 150 MB limit: it finishes only by spilling.
    query = (
        "SELECT x, repeat('y', 120) || x AS pad FROM "
        "(SELECT range % 1000003 AS x FROM range(3000009)) ORDER BY x DESC, pad"
    )
    result = run_readonly_query(db, query, max_rows=3, limits=SqlLimits(memory_limit="150MB"))
    assert [row[0] for row in result.rows] == [1000002] * 3
    assert spill_dir(db) == Path(db).parent / ".sql-spill"
    assert spill_dir(db).is_dir()  # type: ignore[union-attr]


def test_a_bad_memory_limit_is_a_config_error(db: str) -> None:
    with pytest.raises(ConfigError, match="sql_memory_limit"):
        run_readonly_query(db, "SELECT 1", limits=SqlLimits(memory_limit="lots"))


def test_queries_read_the_snapshot_while_a_writer_holds_the_file(db: str) -> None:
    publish(db)
    writer = connect(db)  # the pipeline: an open write connection, lock held
    try:
        writer.execute("UPDATE themes SET label = 'Changed'")
        result = run_readonly_query(db, "SELECT label FROM themes")
    finally:
        writer.close()
    assert result.rows == [("Lithium",)]  # the published state, no lock error
