"""The app reads a published snapshot, never the file the pipeline writes.

Each script run (one page load) holds one snapshot for its whole duration, so every
chart of a page comes from the same data. Cached results are keyed by the snapshot's
path, so a new snapshot is never answered from an older one's cache.

When the pipeline publishes, the app goes on serving the snapshot it has while one
background thread warms the new one (``ui.warm``: the pages' recent queries, replayed
on it); then every page load reads the new one, without a restart. The first page load
of a fresh server serves the newest snapshot at once. The served snapshot is held open
(a lease) by the server, so the pipeline's clean-up never removes it under a reader;
it goes once the next one is served and no page load holds it any more.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import streamlit as st

from newsintel.config import Settings
from newsintel.store.snapshots import ReadTarget, Snapshot, current, lease, reading, remove_unused
from newsintel.ui import warm

log = logging.getLogger(__name__)

# How long the page load that finds a new snapshot waits for its warm-up.
WARM_WAIT_S = 2.0


class ServedSnapshot:
    """The snapshot of one database that this server's page loads read, and the
    switch to a newer one once ``warm_up`` has run on it (in a background thread)."""

    def __init__(self, db: str, warm_up: Callable[[str], object] = warm.replay) -> None:
        self.db = db
        self._warm_up = warm_up
        self._lock = threading.Lock()
        self._served: tuple[Snapshot, int] | None = None  # the snapshot and its lease
        self._warming: Snapshot | None = None
        self.switched = threading.Event()  # set after each switch (tests wait on it)

    def served(self) -> Snapshot | None:
        """The snapshot to read now: the one served, after starting to warm a newer one.

        The page load that starts a warm-up waits for it up to ``WARM_WAIT_S`` (a small
        database is warm by then, so its user sees the new data on that very load);
        every other page load meanwhile reads the served snapshot at once.
        """
        newest = current(self.db)
        started: threading.Thread | None = None
        with self._lock:
            if newest is None:
                return None if self._served is None else self._served[0]
            if self._served is None or not self._served[0].path.exists():
                self._adopt(newest)  # nothing warm to offer: serve it at once
            elif newest.path != self._served[0].path and self._warming is None:
                self._warming = newest
                started = threading.Thread(
                    target=self._warm_then_serve, args=(newest,), name="newsintel-warm",
                    daemon=True,
                )  # fmt: skip
                started.start()
        if started is not None:
            started.join(WARM_WAIT_S)
        with self._lock:
            return None if self._served is None else self._served[0]

    def _adopt(self, snapshot: Snapshot) -> bool:
        """Serve ``snapshot`` (the lock held); False when it is gone already."""
        fd = lease(snapshot)
        if fd is None:
            return False
        if self._served is not None:
            os.close(self._served[1])
        self._served = (snapshot, fd)
        return True

    def _warm_then_serve(self, snapshot: Snapshot) -> None:
        fd = lease(snapshot)  # held while warming: a newer publish cannot remove it
        try:
            if fd is not None:
                try:
                    self._warm_up(str(snapshot.path))
                except Exception:  # a failed warm-up only costs speed
                    log.warning("warming snapshot %s failed", snapshot.path, exc_info=True)
            with self._lock:
                self._warming = None
                if fd is not None:
                    self._adopt(snapshot)
        finally:
            if fd is not None:
                os.close(fd)
        remove_unused(self.db)
        self.switched.set()


_servers: dict[str, ServedSnapshot] = {}
_servers_lock = threading.Lock()


def served_snapshot(db: str) -> ServedSnapshot:
    """This process's ``ServedSnapshot`` of ``db`` (one per database, shared by all
    sessions)."""
    with _servers_lock:
        if db not in _servers:
            _servers[db] = ServedSnapshot(db)
        return _servers[db]


@contextmanager
def reading_served(db: str) -> Iterator[ReadTarget]:
    """Hold the snapshot the app serves for the block (``reading`` for a database
    without snapshots, or when the served one is gone)."""
    snapshot = served_snapshot(db).served()
    fd = lease(snapshot) if snapshot is not None else None
    if snapshot is None or fd is None:
        with reading(db) as target:
            yield target
        return
    try:
        yield ReadTarget(str(snapshot.path), snapshot)
    finally:
        os.close(fd)
        remove_unused(db)  # a superseded snapshot this page load was the last to hold


@contextmanager
def reading_snapshot(settings: Settings) -> Iterator[tuple[Settings, ReadTarget]]:
    """Settings whose ``db`` is the snapshot held for this run, and that snapshot."""
    with reading_served(settings.db) as target:
        yield dataclasses.replace(settings, db=target.db), target


def freshness(target: ReadTarget, timezone: str, now: datetime | None = None) -> str:
    """'Data as of 10:32' (with the day when it is not today), in ``timezone``."""
    if target.snapshot is None:
        if target.db.startswith("md:") or target.db == ":memory:":
            return "Data: live (MotherDuck and in-memory databases have no snapshots)"
        return "Data: read directly from the database (no snapshot published yet)"
    zone = ZoneInfo(timezone)
    stamp = target.snapshot.published_at.astimezone(zone)
    today = (now or datetime.now(zone)).astimezone(zone).date()
    when = f"{stamp:%H:%M}" if stamp.date() == today else f"{stamp:%d %b %Y %H:%M}"
    return f"Data as of {when}"


def show_freshness(target: ReadTarget, timezone: str) -> None:
    """The sidebar line that says how fresh the data on screen is."""
    st.sidebar.caption(
        freshness(target, timezone),
        help="The app reads the snapshot the pipeline published after its last run; "
        "a newer one shows on the next page load.",
    )
