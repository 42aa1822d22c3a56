"""The app's cached, read-only data layer.

Every function takes the connection string of what to read first: the snapshot that
app.py holds for the page load (``ui.snapshot``), never the file the pipeline writes.
It opens one short read-only connection for its batch of queries
(``store.dashboard.read_batch``); where a step computes what is shown (the digest, a
query's vector, topic emergence, the topic map) the batch is a read-only job
(``jobs.digest_content``, ``jobs.views``), so the app and the CLI share one path. It
caches the result keyed by that path, so a newly published snapshot is read on the
next page load. No connection is ever kept. The functions pages call to show what is
stored are ``@recorded``: ``ui.warm`` replays their recent calls on a new snapshot
before the app serves it (not the SQL page's or the searches' queries: a user's own).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
import streamlit as st

from newsintel.config import Settings, stored_model_name
from newsintel.jobs import views
from newsintel.jobs.common import utcnow
from newsintel.jobs.digest_content import build_digest
from newsintel.jobs.views import TopicMap
from newsintel.store import dashboard as q
from newsintel.store import digest as digest_queries
from newsintel.store import topics as topic_queries
from newsintel.store.archive import ArchiveBackfill, unfinished_backfills
from newsintel.store.connect import Connection
from newsintel.store.sql import QueryResult, SqlLimits, run_readonly_query
from newsintel.store.topics import StoredBuild
from newsintel.ui import tables
from newsintel.ui.warm import recorded, recorded_with

if TYPE_CHECKING:
    from newsintel.digest.content import DigestContent
    from newsintel.embed import Embedder


# A snapshot never changes, so results keyed by its path stay valid: they are kept an
# hour (and at most ENTRIES per function), not a minute. At 1M stories a page's first
# load runs seconds of queries, and a minute's TTL had every session pay for them
# again each minute. A database read without a snapshot (MotherDuck, a file never
# published) changes under the same key: app.py calls expire_live, so its results
# are at most LIVE_TTL_S old, as before.
TTL_S = 3600
LIVE_TTL_S = 60
ENTRIES = 128
T = TypeVar("T")

# All sessions share this server process, and a cache miss (a new snapshot, an expired
# entry) in 25 sessions at once is computed once per query (Streamlit locks per key)
# but many queries can miss together. They run a few at a time, each on one DuckDB
# thread, so the app's queries take at most all but one core: the pipeline keeps one.
_READ_SLOTS = threading.BoundedSemaphore(max(1, (os.cpu_count() or 1) - 1))


def _read(db: str, work: Callable[[Connection], T]) -> T:
    """``store.dashboard.read_batch`` in one of the app's read slots, on one thread."""

    def one_thread(con: Connection) -> T:
        q.use_one_thread(con)
        return work(con)

    with _READ_SLOTS:
        return q.read_batch(db, one_thread)


@dataclass(frozen=True)
class DataWindow:
    """The first and last publication day in the database (None when it is empty)."""

    first: date | None
    last: date | None


def clear() -> None:
    """Forget every cached result (the sidebar's refresh button)."""
    st.cache_data.clear()


_live = {"cleared": time.monotonic()}
_live_lock = threading.Lock()


def expire_live() -> None:
    """Forget every cached result once a minute while the app reads a live database.

    For databases without snapshots only: one clock for all sessions, which all read
    the same database, so no result is older than LIVE_TTL_S.
    """
    with _live_lock:
        if time.monotonic() - _live["cleared"] < LIVE_TTL_S:
            return
        _live["cleared"] = time.monotonic()
    st.cache_data.clear()


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def window(db: str) -> DataWindow:
    """The span of the stored stories."""
    first, last = _read(db, q.data_window)
    return DataWindow(first, last)


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def gdelt_backfill_progress(db: str) -> tuple[int, int, date | None]:
    """(windows done, windows asked, earliest start not done) of the GDELT backfill."""
    return q.read_batch(db, q.gdelt_backfill_progress)


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def archive_backfills(db: str) -> list[ArchiveBackfill]:
    """Outlet-archive backfills not finished or with failed pages (store.archive)."""
    return q.read_batch(db, unfinished_backfills)


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def themes(db: str) -> pd.DataFrame:
    """Themes and labels (columns theme, label)."""
    return _read(db, q.theme_list)


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def series(db: str) -> pd.DataFrame:
    """Series with kind, unit and coverage (see store.dashboard.series_list)."""
    return _read(db, q.series_list)


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def sample_only(db: str) -> bool:
    """True when every source is a bundled sample feed."""
    return _read(db, digest_queries.sample_only)


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def weekly_totals(db: str, start: date, end: date) -> pd.DataFrame:
    """Articles and stories per week (columns week, articles, stories)."""
    return _read(db, lambda con: q.weekly_totals(con, start, end))


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def theme_weekly(
    db: str, start: date, end: date, theme_ids: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Weekly stories and share per theme (see store.dashboard.theme_weekly)."""
    frame = _read(db, lambda con: q.theme_weekly(con, start, end, theme_ids))
    frame["week"] = pd.to_datetime(frame["week"])
    return frame


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def theme_stories_weekly(db: str, theme: str, start: date, end: date) -> pd.DataFrame:
    """Weekly stories of one theme (columns week, articles): what a chart of it needs."""
    frame = _read(db, lambda con: q.theme_weekly_stories(con, theme, start, end))
    frame["week"] = pd.to_datetime(frame["week"])
    return frame


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def series_weekly(db: str, series_id: str, start: date, end: date) -> pd.DataFrame:
    """Weekly mean and last value of a series (columns week, value_mean, value_last...)."""
    frame = _read(db, lambda con: q.series_weekly(con, series_id, start, end))
    frame["week"] = pd.to_datetime(frame["week"])
    return frame


@recorded
def digest(db: str, price_series: str) -> DigestContent:
    """What this week's digest would say, built by the digest's own code."""
    # Keyed by the day too: a snapshot kept past midnight on Sunday starts a new week.
    return _digest(db, price_series, utcnow().date())


@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def _digest(db: str, price_series: str, day: date) -> DigestContent:
    return _read(
        db,
        lambda con: build_digest(con, "weekly", None, price_series=price_series, now=utcnow()),
    )


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def theme_detail(db: str, theme: str, start: date, end: date, limit: int = 10) -> q.ThemeDetail:
    """The ``limit`` best stories of ``theme`` in [start, end], its source mix and peak week.

    One read for the three: the theme's stories are looked up once (see
    store.dashboard.theme_detail); the peak week comes with up to 50 of its stories.
    """
    return _read(db, lambda con: q.theme_detail(con, theme, start, end, limit, 50))


@dataclass(frozen=True)
class LeadLag:
    """Stored lead/lag results of one theme/series pair (empty frames: none stored)."""

    ccf: pd.DataFrame
    granger: pd.DataFrame


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def lead_lag(db: str, theme: str, series_id: str) -> LeadLag:
    """CCF and Granger rows of the newest run for theme:<theme> vs series:<series_id>."""
    x, y = f"theme:{theme}", f"series:{series_id}"
    return _read(db, lambda con: LeadLag(q.ccf_results(con, x, y), q.granger_results(con, x, y)))


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def source_health(db: str) -> pd.DataFrame:
    """Feed health, one row per source (see store.dashboard.source_health)."""
    return _read(db, q.source_health)


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def mailbox_health(db: str) -> pd.DataFrame:
    """IMAP mailbox health, one row per mailbox (see store.mail.mailbox_health_frame)."""
    from newsintel.store.mail import mailbox_health_frame

    return _read(db, mailbox_health_frame)


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def origin_monthly(db: str) -> pd.DataFrame:
    """Stories per origin per month (see store.provenance.origin_monthly)."""
    from newsintel.store import provenance

    return _read(db, provenance.origin_monthly)


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def outlets(db: str) -> pd.DataFrame:
    """Outlets known only through backfilled stories (see store.provenance.outlets)."""
    from newsintel.store import provenance

    return _read(db, provenance.outlets)


@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def keyword_search(db: str, keyword: str, start: date, end: date, limit: int = 50) -> pd.DataFrame:
    """Stories containing ``keyword`` in [start, end], newest first."""
    return _read(db, lambda con: q.keyword_search(con, keyword, start, end, limit))


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def embedded_count(db: str, model: str) -> int:
    """Stories with a stored vector of ``model``."""
    return _read(db, lambda con: q.embedded_count(con, model))


@st.cache_resource(show_spinner="Loading the embedding model…")
def _embedder(model: str, backend: str, device: str) -> Embedder:
    # A model is safe to share between sessions; a DuckDB connection is not kept at all.
    return views.query_embedder(model, backend, device)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=256)
def _query_vector(model: str, backend: str, device: str, text: str) -> list[float]:
    vector = _embedder(model, backend, device).encode([text])[0]
    return [float(v) for v in vector]


@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def semantic_search(
    db: str,
    model: str,
    backend: str,
    device: str,
    query: str,
    start: date,
    end: date,
    keyword: str = "",
    limit: int = 20,
) -> pd.DataFrame:
    """Stories most similar in meaning to ``query``, embedded as the pipeline embeds.

    The query goes through the same model and backend as the stored vectors and is
    compared with the vectors stored under that pair's name (``stored_model_name``).
    """
    vector = _query_vector(model, backend, device, query)
    stored = stored_model_name(model, backend)
    return _read(
        db,
        lambda con: q.semantic_search(
            con, stored, vector, start, end, keyword=keyword, limit=limit
        ),
    )


# --- discovered topics ------------------------------------------------------------------

MAP_POINTS = 5_000  # most stories drawn on the topic map (a deterministic sample)


def _newest_build_alike(db: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """A recorded topic call, for the build the Topics page shows on ``db``: the newest
    build of the recorded build's window (a pipeline run replaces the build the call
    named), or the newest build of all when ``db`` does not know the recorded one."""
    newest = topic_builds(db)
    if not newest:
        return args
    known = _read(db, lambda con: list(topic_queries.builds(con, limit=50)))
    window = next((b.window for b in known if b.build_id == args[0]), newest[0].window)
    chosen = next((b for b in newest if b.window == window), newest[0])
    return (chosen.build_id, *args[1:])


@recorded
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def topic_builds(db: str) -> list[StoredBuild]:
    """The newest topic build of each window kind, newest first ([] when there is none)."""
    return _read(
        db,
        lambda con: topic_queries.latest_builds(con) if topic_queries.has_topics(con) else [],
    )


@dataclass(frozen=True)
class TopicOverview:
    """The topics of one build with their emergence in its latest month."""

    topics: pd.DataFrame  # see ui.tables.topic_table
    latest_period: str  # the month judged, '2026-08' ('' without stories)


@recorded_with(_newest_build_alike)
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def topic_overview(db: str, build_id: str) -> TopicOverview:
    """Topics of ``build_id``, emerging first, scored as ``newsintel topics list`` scores them."""
    topics = _read(db, lambda con: views.scored_topics(con, build_id))
    scores = topics.scored.scores
    return TopicOverview(tables.topic_table(topics.rows, scores), topics.scored.latest_period)


@recorded_with(_newest_build_alike)
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def topic_volume(db: str, build_id: str, freq: str = "month") -> pd.DataFrame:
    """Stories per topic per week or month (columns topic_id, period, stories)."""
    frame = _read(db, lambda con: topic_queries.topic_volume(con, build_id, freq))
    frame["period"] = pd.to_datetime(frame["period"])
    return frame


@recorded_with(_newest_build_alike)
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def topic_stories(db: str, build_id: str, topic_id: str | None, limit: int = 10) -> pd.DataFrame:
    """The stories closest to their topic's centre (see store.topics.topic_stories)."""
    return _read(db, lambda con: topic_queries.topic_stories(con, build_id, topic_id, limit))


@recorded_with(_newest_build_alike)
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def topic_lineage(db: str, build_id: str) -> pd.DataFrame:
    """Labelled lineage events over windows or builds (see store.topics.topic_lineage)."""
    return _read(db, lambda con: topic_queries.topic_lineage(con, build_id))


@recorded_with(_newest_build_alike)
@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def topic_map(db: str, build_id: str, limit: int = MAP_POINTS) -> TopicMap:
    """A deterministic sample of at most ``limit`` stories of a build, projected to 2-D."""
    return _read(db, lambda con: views.topic_map(con, build_id, limit))


def sql_limits(settings: Settings) -> SqlLimits:
    """The time, memory and thread limits of the SQL page's queries."""
    return SqlLimits.from_settings(settings)


@st.cache_data(ttl=TTL_S, max_entries=ENTRIES, show_spinner=False)
def run_sql(
    db: str, query: str, max_rows: int = 10_000, limits: SqlLimits | None = None
) -> QueryResult:
    """An ad-hoc read-only query in the sandbox of ``store.sql`` (rows possibly truncated).

    ``db`` is the snapshot this page load holds, so no writer can lock it; a query that
    hits a limit raises QueryLimitError, shown as a message by the router.
    """
    return run_readonly_query(db, query, max_rows=max_rows, limits=limits)
