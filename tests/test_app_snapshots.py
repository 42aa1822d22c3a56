"""Readers never wait for writers: the app and `newsintel sql` read published snapshots.

Real processes on a real copy of the demo database: a writer that holds the file's
write lock while every page renders; `newsintel run` writing while a heavy query runs
from the SQL page and from the CLI, both cut at their time limit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from newsintel.store.snapshots import current, publish
from newsintel.ui.snapshot import served_snapshot

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = ["overview", "themes", "prices", "topics", "search", "sources", "sql"]
HEAVY = "SELECT count(*) FROM range(300000) a(x), range(300000) b(y) WHERE (x * y) % 7 = 3"
HOLD_S = 10.0  # the writer holds at most 30 s; pages keep loading for this long
LIMIT_MESSAGE = "query stopped: it ran longer than the 2 s limit"

pytestmark = pytest.mark.slow


@pytest.fixture
def shared_db(demo_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:  # type: ignore[no-untyped-def]
    """A private copy of the demo database with its first snapshot published."""
    db = tmp_path / "shared.duckdb"
    shutil.copy(demo_db.db, db)
    assert publish(str(db)) is not None
    monkeypatch.setenv("NEWSINTEL_DB", str(db))
    monkeypatch.setenv("NEWSINTEL_SQL_TIMEOUT", "2")
    monkeypatch.delenv("NEWSINTEL_APP_PASSWORD", raising=False)
    monkeypatch.delenv("NEWSINTEL_APP_PASSWORD_HASH", raising=False)
    monkeypatch.delenv("NEWSINTEL_CONFIG", raising=False)
    return str(db)


def load(page: str, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if page != "overview" or query:
        at.switch_page(f"app_pages/{page}.py")
        at.query_params.update(query)
        at.run()
    return at


def sidebar_captions(at: AppTest) -> list[str]:
    return [c.value for c in at.sidebar.caption]


# Holds the write lock (an open write connection after a write) until told to stop,
# at most HOLD_S seconds, then closes and publishes like every writing job does.
HOLDER = """
import pathlib, sys, time, duckdb
from newsintel.store.snapshots import publish
db, stop, hold_s = sys.argv[1], pathlib.Path(sys.argv[2]), float(sys.argv[3])
con = duckdb.connect(db)
con.execute(
    "UPDATE articles SET published_at = TIMESTAMP '2030-01-02 09:00' "
    "WHERE article_id = (SELECT max(article_id) FROM articles WHERE NOT is_issue)"
)
print("HOLDING", flush=True)
deadline = time.monotonic() + hold_s
while not stop.exists() and time.monotonic() < deadline:
    time.sleep(0.1)
con.close()
publish(db)
print("PUBLISHED", flush=True)
"""


def test_every_page_renders_from_the_snapshot_while_a_writer_holds_the_file(
    shared_db: str, tmp_path: Path
) -> None:
    stop = tmp_path / "stop"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, shared_db, str(stop), "30"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "HOLDING"
        started = time.monotonic()
        # The file itself cannot be read now: only the snapshot can.
        with pytest.raises(duckdb.Error, match="lock"):
            duckdb.connect(shared_db, read_only=True)
        loads = 0
        # Every page at least once, and on for HOLD_S: a long hold, not a lucky gap.
        while loads < len(PAGES) or time.monotonic() - started < HOLD_S:
            page = PAGES[loads % len(PAGES)]
            at = load(page)
            loads += 1
            assert not at.exception, (page, [e.value for e in at.exception])
            assert not at.error, (page, [e.value for e in at.error])
            assert not at.warning, (page, [w.value for w in at.warning])
            assert any(c.startswith("Data as of") for c in sidebar_captions(at)), page
        held_s = time.monotonic() - started
        assert holder.poll() is None, "the writer let go before every page had rendered"
        before = [c for c in sidebar_captions(at) if c.startswith("Stories from")]
    finally:
        stop.touch()
        out, _ = holder.communicate(timeout=60)
    assert "PUBLISHED" in out
    print(f"{loads} page loads in {held_s:.1f} s while the writer held the file")
    # The new snapshot is served without a restart, once its queries are warm: the next
    # page load starts the warm-up (and waits up to 2 s for it), the app then switches.
    load("overview")
    assert served_snapshot(shared_db).switched.wait(60)
    after = [c for c in sidebar_captions(load("overview")) if c.startswith("Stories from")]
    assert after != before and after[0].endswith("to 02 Jan 2030")


def test_heavy_queries_are_cut_at_their_limit_while_the_pipeline_runs(shared_db: str) -> None:
    first = current(shared_db)
    writer = subprocess.Popen(
        [sys.executable, "-m", "newsintel", "run", "--feeds", str(ROOT / "data/sample/feeds.toml")],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        cli = subprocess.Popen(
            [sys.executable, "-m", "newsintel", "sql", HEAVY],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        started = time.monotonic()
        at = load("sql", sql=HEAVY)
        page_s = time.monotonic() - started
        cli_out, cli_err = cli.communicate(timeout=120)
        cli_s = time.monotonic() - started
        overlapped = writer.poll() is None
    finally:
        output, _ = writer.communicate(timeout=600)
    assert writer.returncode == 0, output
    assert not at.exception, [e.value for e in at.exception]
    assert any(LIMIT_MESSAGE in w.value for w in at.warning), [w.value for w in at.warning]
    assert cli.returncode == 1 and LIMIT_MESSAGE in cli_err, (cli_out, cli_err)
    assert "locked" not in cli_err and "busy" not in cli_err
    # Cut at 2 s (plus the child's start), not run to its end (minutes at full CPU).
    assert page_s < 30 and cli_s < 30
    assert overlapped, "the run ended before the queries: nothing was shown"
    # The run published a new snapshot at its end.
    newest = current(shared_db)
    assert newest is not None and first is not None and newest.path != first.path
