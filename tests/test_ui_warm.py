"""The app serves a new snapshot once warm: real snapshot files, a real DuckDB database.

``ServedSnapshot`` keeps serving the snapshot it has while a background thread warms
the newly published one, then switches; the old file goes once no page load holds it.
``warm.replay`` makes the pages' recent calls again on the new snapshot.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from pathlib import Path

import duckdb
import pytest

from newsintel.store.snapshots import current, publish
from newsintel.ui import snapshot as served_module
from newsintel.ui import warm
from newsintel.ui.snapshot import ServedSnapshot, reading_served


def _database(tmp_path: Path) -> str:
    db = str(tmp_path / "db.duckdb")
    with duckdb.connect(db) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    assert publish(db) is not None
    return db


def _write_and_publish(db: str, value: int) -> None:
    with duckdb.connect(db) as con:
        con.execute("UPDATE t SET x = ?", [value])
    assert publish(db) is not None


def _value(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("SELECT x FROM t").fetchone()
    assert row is not None
    return int(row[0])


def test_the_old_snapshot_is_served_while_the_new_one_warms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(served_module, "WARM_WAIT_S", 0.1)
    db = _database(tmp_path)
    warmed: list[int] = []
    gate = threading.Event()

    def warm_up(path: str) -> None:
        warmed.append(_value(Path(path)))  # the new snapshot is readable while warming
        gate.wait(30)

    served = ServedSnapshot(db, warm_up)
    first = served.served()
    assert first is not None and first == current(db) and _value(first.path) == 1
    _write_and_publish(db, 2)
    second = current(db)
    assert second is not None and second != first
    # Published but cold: readers stay on the first, one warm-up starts (only one).
    assert served.served() == first
    assert served.served() == first
    assert warmed == [2]
    assert first.path.exists()  # held by the server: the publish's clean-up kept it
    gate.set()
    assert served.switched.wait(30)
    assert served.served() == second and _value(second.path) == 2
    assert not first.path.exists()  # superseded and held by no one: removed


def test_a_page_load_keeps_its_snapshot_across_the_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warm, "_recent", OrderedDict())  # nothing recorded to replay
    db = _database(tmp_path)
    with reading_served(db) as held:
        assert held.snapshot is not None and _value(Path(held.db)) == 1
        _write_and_publish(db, 3)
        # Another page load starts the warm-up (nothing to replay: done at once) and
        # is served the new snapshot; the first load still reads its own.
        with reading_served(db) as newer:
            assert _value(Path(newer.db)) == 3
        assert _value(Path(held.db)) == 1
    # The first load let go: its snapshot, superseded, is gone.
    assert not Path(held.db).exists()
    with reading_served(db) as later:
        assert _value(Path(later.db)) == 3


def test_replay_repeats_the_recent_calls_on_another_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(warm, "_recent", OrderedDict())
    seen: list[tuple[str, int, int]] = []

    @warm.recorded
    def lookup(db: str, theme: int, limit: int = 10) -> int:
        seen.append((db, theme, limit))
        if theme == 99:
            raise ValueError("a query that fails on the new data")
        return theme

    for theme in (1, 2, 1, 99):
        with contextlib.suppress(ValueError):
            lookup("old.duckdb", theme, limit=5)
    seen.clear()
    # Three distinct calls, most recent first; the failing one is skipped, not fatal.
    assert warm.replay("new.duckdb") == 2
    assert seen == [("new.duckdb", 99, 5), ("new.duckdb", 1, 5), ("new.duckdb", 2, 5)]


def test_replay_can_rebind_arguments_to_what_the_new_data_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(warm, "_recent", OrderedDict())
    seen: list[tuple[str, str, int]] = []

    @warm.recorded_with(lambda db, args: (f"{args[0]} on {db}", *args[1:]))
    def view(db: str, build: str, limit: int) -> None:
        seen.append((db, build, limit))

    view("old.duckdb", "build-1", 3)
    seen.clear()
    assert warm.replay("new.duckdb") == 1
    assert seen == [("new.duckdb", "build-1 on new.duckdb", 3)]


def test_topic_calls_are_replayed_for_the_build_the_topics_page_shows(demo_db) -> None:  # type: ignore[no-untyped-def]
    """A run replaces the build a recorded topic call named: the replay asks for the
    newest build of the same window, or the newest of all for a build it does not know."""
    from newsintel.store.snapshots import reading
    from newsintel.ui import data

    with reading(demo_db.db) as target:
        builds = data.topic_builds(target.db)
        assert builds, "the demo database has topic builds"
        for build in builds:
            assert data._newest_build_alike(target.db, (build.build_id, 10)) == (
                build.build_id,
                10,
            )
        assert data._newest_build_alike(target.db, ("a-build-of-another-copy", 10)) == (
            builds[0].build_id,
            10,
        )
