"""Crash safety with a real kill: SIGKILL ``newsintel ingest`` mid-run, then run it again.

The interrupted-then-resumed database must equal one from a single uninterrupted run:
the same article ids, no duplicates, nothing lost, the same source states (timestamps
and fetch counters aside). The kill lands once while feeds are being fetched and once
while articles are being written, so DuckDB must replay its write-ahead log on reopening.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from feedserver import FeedServer, make_rss

from newsintel.store import open_db

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parent.parent
FEEDS = 40
ENTRIES = 20


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    # Latency stretches the fetch phase to about a second, so there is a moment to hit.
    with FeedServer(latency_s=0.06) as srv:
        for feed in range(FEEDS):
            items = [
                (f"Story {item} of feed {feed}: cobalt output {feed * 100 + item}",
                 f"http://crash.example.com/{feed}/{item}")
                for item in range(ENTRIES)
            ]  # fmt: skip
            srv.add_file(f"/feed/{feed}.xml", make_rss(f"Feed {feed}", items))
        yield srv


@pytest.fixture(scope="module")
def feeds_file(server: FeedServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "feeds.toml"
    path.write_text(
        "".join(
            f'[[feeds]]\nname = "Feed {i}"\nurl = "{server.url(f"/feed/{i}.xml")}"\n\n'
            for i in range(FEEDS)
        )
    )
    return path


def _start(db: Path, feeds_file: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NEWSINTEL_DB": str(db),
        "NEWSINTEL_FETCH_PER_HOST": "4",
        "NEWSINTEL_FETCH_TIMEOUT": "10",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("NEWSINTEL_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "newsintel", "ingest", "--feeds", str(feeds_file)],
        cwd=db.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _ingest(db: Path, feeds_file: Path) -> None:
    process = _start(db, feeds_file)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    assert b"0 failed" in out, out.decode()


def _snapshot(db: Path) -> dict[str, Any]:
    with open_db(str(db), read_only=True) as con:
        articles = con.execute(
            "SELECT article_id, source_id, story_id, guid, url, title, text, published_at, "
            "content_hash, title_key FROM articles ORDER BY article_id"
        ).fetchall()
        distinct = con.execute("SELECT count(DISTINCT article_id) FROM articles").fetchone()
        sources = con.execute(
            # ok and not_modified are both a success: a resumed run gets 304s for the
            # feeds stored before the kill.
            "SELECT source_id, url, configured_url, etag, last_modified, "
            "last_status IN ('ok', 'not_modified'), last_error, consecutive_failures, "
            "last_success_at IS NOT NULL FROM sources ORDER BY source_id"
        ).fetchall()
    return {"articles": articles, "distinct": distinct, "sources": sources}


def _count(db: Path) -> int:
    with open_db(str(db), read_only=True) as con:
        row = con.execute("SELECT count(*) FROM articles").fetchone()
    return int(row[0]) if row else 0


def _descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (Linux /proc), e.g. parse pool workers."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            with contextlib.suppress(OSError):
                children = [int(c) for c in (task / "children").read_text().split()]
                todo += children
                found.update(children)
    return found


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, "ingest finished before the kill point"
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.005)


@pytest.fixture(scope="module")
def uninterrupted(feeds_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    db = tmp_path_factory.mktemp("whole") / "whole.duckdb"
    _ingest(db, feeds_file)
    snapshot = _snapshot(db)
    assert len(snapshot["articles"]) == snapshot["distinct"][0] == FEEDS * ENTRIES
    return snapshot


def _fetching(server: FeedServer, seen: int) -> Callable[[], bool]:
    # A third of the feeds requested: still fetching.
    return lambda: len(server.requests) - seen >= FEEDS // 3


def _writing(server: FeedServer, seen: int, db: Path) -> Callable[[], bool]:
    # Every feed fetched and the write-ahead log growing: articles are being stored.
    wal = db.with_name(db.name + ".wal")
    return lambda: (
        len(server.requests) - seen >= FEEDS and wal.exists() and wal.stat().st_size > 80_000
    )


@pytest.mark.parametrize("moment", ["while-fetching", "while-writing"])
def test_killed_ingest_resumes_to_the_same_database(
    moment: str,
    server: FeedServer,
    feeds_file: Path,
    uninterrupted: dict[str, Any],
    tmp_path: Path,
) -> None:
    db = tmp_path / "killed.duckdb"
    seen = len(server.requests)
    process = _start(db, feeds_file)
    kill_point = (
        _fetching(server, seen) if moment == "while-fetching" else _writing(server, seen, db)
    )
    _wait_for(kill_point, process)
    workers = _descendants(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    # The parse pool's workers do not outlive a killed ingest (they watch their parent).
    deadline = time.monotonic() + 15
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)], "parse workers outlived the killed ingest"

    stored = _count(db)  # reopening replays the WAL the killed writer left behind
    # Feeds are stored while others are still being fetched: a kill during fetching
    # may find a few batches stored already, a kill during writing always does.
    assert stored < FEEDS * ENTRIES, stored
    if moment == "while-writing":
        assert stored > 0

    _ingest(db, feeds_file)
    resumed = _snapshot(db)
    assert resumed["distinct"] == uninterrupted["distinct"]
    assert resumed["articles"] == uninterrupted["articles"]
    assert resumed["sources"] == uninterrupted["sources"]
