"""The app reads the newest published snapshot, never the file the pipeline writes.

Each script run (one page load) holds one snapshot for its whole duration, so every
chart of a page comes from the same data, and the next page load picks up whatever was
published meanwhile, without a restart. Cached results are keyed by the snapshot's
path, so a new snapshot is never answered from an older one's cache.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import streamlit as st

from newsintel.config import Settings
from newsintel.store.snapshots import ReadTarget, reading


@contextmanager
def reading_snapshot(settings: Settings) -> Iterator[tuple[Settings, ReadTarget]]:
    """Settings whose ``db`` is the snapshot held for this run, and that snapshot."""
    with reading(settings.db) as target:
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
