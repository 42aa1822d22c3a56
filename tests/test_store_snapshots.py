"""Read snapshots: publish, lease, switch, clean-up and crash safety on real files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from newsintel.store.snapshots import (
    POINTER,
    current,
    publish,
    reading,
    remove_unused,
    snapshot_dir,
)

ROOT = Path(__file__).resolve().parent.parent


def make_db(path: Path, rows: int) -> str:
    con = duckdb.connect(str(path))
    con.execute("CREATE OR REPLACE TABLE t AS SELECT range AS x FROM range(?)", [rows])
    con.close()
    return str(path)


def count(db: str) -> int:
    con = duckdb.connect(db, read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM t").fetchone()
        assert row is not None
        return int(row[0])
    finally:
        con.close()


def test_publish_makes_a_readable_copy_and_points_at_it(tmp_path: Path) -> None:
    db = make_db(tmp_path / "n.duckdb", 100)
    assert current(db) is None
    snap = publish(db)
    assert snap is not None and current(db) == snap
    assert snap.path.parent == snapshot_dir(db) == tmp_path / "n.duckdb.snapshots"
    with reading(db) as target:
        assert target.snapshot == snap
        assert count(target.db) == 100
        # A writer gets the file while a reader reads the snapshot.
        con = duckdb.connect(db)
        con.execute("INSERT INTO t SELECT 1000 FROM range(5)")
        con.close()
        assert count(target.db) == 100
    publish(db)
    with reading(db) as target:
        assert count(target.db) == 105
    # The first snapshot was not held by anyone: it is gone, only the new one remains.
    assert [p.name for p in sorted(snapshot_dir(db).glob("*.duckdb"))] == [  # type: ignore[union-attr]
        current(db).path.name  # type: ignore[union-attr]
    ]


def test_memory_and_motherduck_have_no_snapshots(tmp_path: Path) -> None:
    assert publish(":memory:") is None
    assert snapshot_dir("md:newsintel") is None
    with reading("md:newsintel") as target:
        assert target.db == "md:newsintel" and target.snapshot is None
    # A file database with no snapshot yet is read directly.
    db = make_db(tmp_path / "old.duckdb", 3)
    with reading(db) as target:
        assert target.db == db and target.snapshot is None


HOLDER = """
import sys, time, duckdb
from newsintel.store.snapshots import reading
with reading(sys.argv[1]) as target:
    con = duckdb.connect(target.db, read_only=True)
    print("HOLDING", target.db, flush=True)
    sys.stdin.readline()
    total = con.execute("SELECT count(*), sum(x) FROM t").fetchone()
    con.close()
    print("READ", total[0], total[1], flush=True)
"""


def test_switch_while_a_reader_holds_the_old_snapshot(tmp_path: Path) -> None:
    db = make_db(tmp_path / "n.duckdb", 1000)
    old = publish(db)
    assert old is not None
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLDER, db],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert reader.stdout is not None and reader.stdin is not None
    held = reader.stdout.readline().split()
    assert held == ["HOLDING", str(old.path)]
    make_db(tmp_path / "n.duckdb", 2000)
    new = publish(db)
    assert new is not None and current(db) == new
    # The old file stays while the reader holds it; new readers get the new one.
    assert old.path.exists()
    with reading(db) as target:
        assert count(target.db) == 2000
    assert remove_unused(db) == []
    reader.stdin.write("go\n")
    reader.stdin.flush()
    out, _ = reader.communicate(timeout=60)
    assert reader.returncode == 0
    assert out.split() == ["READ", "1000", str(sum(range(1000)))]
    # Nobody holds it any more: the next reader (or publisher) removes it.
    with reading(db):
        pass
    assert not old.path.exists()
    assert count(str(new.path)) == 2000


# The publisher stops at a given step (its copy half done, or its snapshot renamed but
# the pointer not switched) and waits there to be killed.
CRASHER = """
import sys, time
from pathlib import Path
import newsintel.store.snapshots as s
stage, ready = sys.argv[2], Path(sys.argv[3])
if stage == "copy":
    def stuck_copy(source, target):
        with source.open("rb") as src, target.open("wb") as dst:
            dst.write(src.read(source.stat().st_size // 2))
        ready.touch()
        time.sleep(600)
    s._clone_or_copy = stuck_copy
else:
    def stuck_pointer(folder, snapshot):
        ready.touch()
        time.sleep(600)
    s._write_pointer = stuck_pointer
s.publish(sys.argv[1])
"""


@pytest.mark.parametrize("stage", ["copy", "pointer"])
def test_kill_during_publish_leaves_the_previous_snapshot_serving(
    tmp_path: Path, stage: str
) -> None:
    db = make_db(tmp_path / "n.duckdb", 500)
    before = publish(db)
    assert before is not None
    make_db(tmp_path / "n.duckdb", 900)
    ready = tmp_path / "ready"
    crasher = subprocess.Popen([sys.executable, "-c", CRASHER, db, stage, str(ready)], cwd=ROOT)
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert crasher.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(crasher.pid, signal.SIGKILL)
    crasher.wait(timeout=30)
    folder = snapshot_dir(db)
    assert folder is not None
    leftovers = [p.name for p in folder.iterdir() if p.name not in (POINTER, before.path.name)]
    assert leftovers  # the killed publish left its half-made file behind
    assert current(db) == before
    with reading(db) as target:
        assert target.db == str(before.path) and count(target.db) == 500
    after = publish(db)
    assert after is not None
    assert sorted(p.name for p in folder.iterdir()) == sorted([POINTER, after.path.name])
    with reading(db) as target:
        assert count(target.db) == 900
