"""Read-only queries behind the web app, and the short read-only session that runs them.

The app never holds a connection: every batch of queries opens one read-only connection
through :func:`read_batch`, which retries for a bounded time while a pipeline job holds
the write lock (DuckDB allows one writer process or many readers) and maps every
duckdb error to one of ours, so the UI can show a message instead of a traceback.

Every query function takes an open connection and plain values and returns a pandas
DataFrame (or plain values); none of them writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

import duckdb
import pandas as pd

from newsintel.errors import DatabaseLockedError, StoreError
from newsintel.store.connect import Connection, connect
from newsintel.store.fragments import SAFE_URL, in_days, in_weeks, weekly_story_counts

T = TypeVar("T")

# The newest run that holds a pair: a later run for other pairs must not hide it.
_LATEST_RUN_OF_PAIR = (
    "(SELECT run_id FROM analysis_results WHERE x = ? AND y = ? "
    "ORDER BY created_at DESC, run_id DESC LIMIT 1)"
)

# Stories in a date window whose title or text contains a keyword ('' matches all);
# '!' escapes ILIKE wildcards so that user text matches literally.
_ARTICLE_FILTER = """
    NOT a.is_issue AND a.published_at::DATE BETWEEN ? AND ?
    AND (? = '' OR a.title ILIKE '%' || ? || '%' ESCAPE '!'
         OR a.text ILIKE '%' || ? || '%' ESCAPE '!')
"""


_IN_DAYS = in_days()
_IN_WEEKS = in_weeks()


def use_one_thread(con: Connection) -> None:
    """Let ``con``'s queries run on one DuckDB thread (the app's read slots, ui.data)."""
    con.execute("SET threads = 1")


def read_batch(
    db: str,
    work: Callable[[Connection], T],
    *,
    attempts: int = 3,
    lock_wait_s: float = 2.0,
    pause_s: float = 0.5,
) -> T:
    """Run ``work`` on a fresh read-only connection and close it again.

    A lock held by a writer is waited on for ``lock_wait_s`` per attempt, for at most
    ``attempts`` attempts; then DatabaseLockedError is raised. duckdb errors raised by
    ``work`` (e.g. a table missing from an uninitialised database) become StoreError.
    """
    for attempt in range(1, attempts + 1):
        try:
            con = connect(db, read_only=True, lock_wait_s=lock_wait_s)
        except DatabaseLockedError:
            if attempt == attempts:
                raise
            time.sleep(pause_s)
            continue
        try:
            return work(con)
        except duckdb.Error as exc:
            raise StoreError(f"could not read database {db}: {exc}") from None
        finally:
            con.close()
    raise DatabaseLockedError(f"database {db} is locked")  # pragma: no cover - loop returns


# --- the data window ------------------------------------------------------------------


def data_window(con: Connection) -> tuple[date | None, date | None]:
    """(first, last) publication day of the stories, or (None, None) with no articles."""
    row = con.execute(
        "SELECT min(published_at)::DATE, max(published_at)::DATE FROM articles WHERE NOT is_issue"
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def gdelt_backfill_progress(con: Connection) -> tuple[int, int, date | None]:
    """GDELT windows done and asked so far, and the earliest window start not yet done.

    A window not done is still to be fetched (or re-asked after a failure): the history
    before and around it is incomplete until ``newsintel backfill gdelt`` finishes.
    """
    row = con.execute(
        "SELECT count(*) FILTER (WHERE done), count(*), "
        "min(window_start) FILTER (WHERE NOT done) FROM gdelt_windows"
    ).fetchone()
    assert row is not None
    missing = row[2].date() if row[2] is not None else None
    return int(row[0]), int(row[1]), missing


def weekly_totals(con: Connection, start: date, end: date) -> pd.DataFrame:
    """Articles and distinct stories per ISO week in [start, end].

    Columns: week, articles, stories. Newsletter issues are left out, as in every count.
    """
    return con.execute(
        f"""
        SELECT date_trunc('week', a.published_at)::DATE AS week, count(*) AS articles,
               count(DISTINCT a.story_id) AS stories
        FROM articles a WHERE NOT a.is_issue AND {_IN_DAYS}
        GROUP BY 1 ORDER BY 1
        """,
        [start, end],
    ).df()


# --- themes ---------------------------------------------------------------------------


def theme_list(con: Connection) -> pd.DataFrame:
    """Every theme with its label (columns theme, label), ordered by label."""
    return con.execute("SELECT theme_id AS theme, label FROM themes ORDER BY label, theme_id").df()


def theme_weekly(
    con: Connection, start: date, end: date, themes: Sequence[str] | None = None
) -> pd.DataFrame:
    """Weekly stories and share of every theme (or only ``themes``) in [start, end].

    Columns: week, theme, label, articles, total_articles, share (0..1). Weeks without
    any story at all are absent, as in v_theme_weekly.
    """
    wanted = list(themes) if themes is not None else None
    # v_theme_weekly's rule, restricted to the weeks asked for before the counting, not
    # after: the view counts every week of the table and only then filters on ``week``.
    return con.execute(
        f"""
        WITH picked AS (
            SELECT theme_id, label FROM themes
            WHERE ?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], theme_id)
        ), {weekly_story_counts("m.theme_id IN (SELECT theme_id FROM picked)")}
        SELECT w.week, t.theme_id AS theme, t.label, coalesce(h.articles, 0) AS articles,
               w.total_articles, coalesce(h.articles, 0) / w.total_articles AS share
        FROM totals w CROSS JOIN picked t
        LEFT JOIN hits h ON h.week = w.week AND h.theme_id = t.theme_id
        ORDER BY w.week, t.label
        """,
        [wanted, wanted, start, end],
    ).df()


def theme_weekly_stories(con: Connection, theme: str, start: date, end: date) -> pd.DataFrame:
    """Weekly stories of one theme in [start, end] (columns week, articles).

    The ``articles`` column of :func:`theme_weekly` for one theme, same weeks and zeros,
    without the weekly totals (a distinct count over every story) that it also computes.
    """
    # ``totals`` is defined but not referenced, so it is never computed.
    return con.execute(
        f"""
        WITH {weekly_story_counts("m.theme_id = ?")}
        SELECT w.week, coalesce(h.articles, 0) AS articles
        FROM (SELECT DISTINCT week FROM stories) w LEFT JOIN hits h USING (week)
        ORDER BY w.week
        """,
        [start, end, theme],
    ).df()


# A theme's stories, one row per member article (not newsletter issues), over every
# week that [start, end] touches (the peak week may start before ``start``): the
# expensive join, which theme_detail() stores once in a temporary table for the top
# stories, peak week and source mix. Parameters: theme, start, end.
_MEMBERS = f"""
    SELECT a.article_id, a.story_id, a.source_id, a.published_at, m.score
    FROM article_themes m JOIN articles a USING (article_id)
    WHERE m.is_member AND m.theme_id = ? AND NOT a.is_issue AND {_IN_WEEKS}
"""
_X_IN_DAYS = in_days("x.published_at")
_X_IN_WEEKS = in_weeks("x.published_at")


def _top_stories(con: Connection, start: date, end: date, limit: int) -> pd.DataFrame:
    # Stories are ranked on ids, scores and dates alone; titles, URLs and source names
    # are read for the ``limit`` winners only, not for every member of the window.
    return con.execute(
        f"""
        WITH best AS (
            SELECT x.article_id, x.published_at, x.score FROM theme_members x
            WHERE {_X_IN_DAYS}
            QUALIFY row_number() OVER (PARTITION BY x.story_id
                                       ORDER BY x.score DESC, x.published_at) = 1
            ORDER BY x.score DESC, x.published_at DESC
            LIMIT ?
        )
        SELECT a.title, s.name AS source, a.published_at, {SAFE_URL} AS url, b.score,
               a.title_derived
        FROM best b
        -- Joining on the date too lets the scan skip row groups outside the winners' dates.
        JOIN articles a ON a.article_id = b.article_id AND a.published_at = b.published_at
        LEFT JOIN sources s ON s.source_id = a.source_id
        ORDER BY b.score DESC, b.published_at DESC
        """,
        [start, end, limit],
    ).df()


def _peak_week(con: Connection, start: date, end: date) -> date | None:
    # Distinct stories per week, as v_theme_weekly counts them, for this theme only.
    row = con.execute(
        f"""
        SELECT date_trunc('week', x.published_at)::DATE AS week FROM theme_members x
        WHERE {_X_IN_WEEKS}
        GROUP BY 1 ORDER BY count(DISTINCT x.story_id) DESC, week DESC LIMIT 1
        """,
        [start, end],
    ).fetchone()
    return row[0] if row else None


def _source_mix(con: Connection, start: date, end: date) -> pd.DataFrame:
    return con.execute(
        f"""
        SELECT coalesce(s.name, x.source_id) AS source, count(DISTINCT x.story_id) AS stories
        FROM theme_members x LEFT JOIN sources s ON s.source_id = x.source_id
        WHERE {_X_IN_DAYS}
        GROUP BY 1 ORDER BY stories DESC, source
        """,
        [start, end],
    ).df()


@dataclass(frozen=True)
class PeakWeek:
    """The week with the most stories of a theme (the latest on ties) and its stories."""

    week: date
    stories: pd.DataFrame  # columns as ThemeDetail.top


@dataclass(frozen=True)
class ThemeDetail:
    """What the Themes page shows of one theme in a window, read in one pass.

    ``top``: the best-scoring stories in [start, end], one row per story (columns
    title, source, published_at, url (None unless http/https), score, title_derived).
    ``mix``: stories
    per source (columns source, stories), most first. ``peak``: None without any story.
    """

    top: pd.DataFrame
    mix: pd.DataFrame
    peak: PeakWeek | None


def theme_detail(
    con: Connection,
    theme: str,
    start: date,
    end: date,
    top_limit: int = 10,
    peak_limit: int = 50,
) -> ThemeDetail:
    """Top stories, source mix, peak week and its stories of a theme in [start, end].

    The join of the theme's members with their articles (the expensive part) runs once,
    into a temporary table that the four queries read.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE theme_members AS " + _MEMBERS, [theme, start, end])
    try:
        top = _top_stories(con, start, end, top_limit)
        mix = _source_mix(con, start, end)
        week = _peak_week(con, start, end)
        peak = (
            None
            if week is None
            else PeakWeek(week, _top_stories(con, week, week + timedelta(days=6), peak_limit))
        )
    finally:
        con.execute("DROP TABLE IF EXISTS theme_members")
    return ThemeDetail(top, mix, peak)


# --- series and analysis --------------------------------------------------------------


def series_list(con: Connection) -> pd.DataFrame:
    """Every series with its metadata and coverage.

    Columns: series, kind, unit, currency, points, first_date, last_date; price series
    first, then by name.
    """
    return con.execute(
        """
        SELECT s.series_id AS series, s.kind, s.unit, s.currency, count(p.date) AS points,
               min(p.date) AS first_date, max(p.date) AS last_date
        FROM series s LEFT JOIN series_points p USING (series_id)
        GROUP BY ALL ORDER BY s.kind DESC, s.series_id
        """
    ).df()


def series_weekly(con: Connection, series: str, start: date, end: date) -> pd.DataFrame:
    """Weekly mean and last value of one series in [start, end].

    Columns: week, value_mean, value_last, unit, currency.
    """
    return con.execute(
        """
        SELECT week, value_mean, value_last, unit, currency FROM v_series_weekly
        WHERE series = ? AND week BETWEEN date_trunc('week', ?::DATE) AND ?
        ORDER BY week
        """,
        [series, start, end],
    ).df()


def ccf_results(con: Connection, x: str, y: str) -> pd.DataFrame:
    """Cross-correlation per lag from the newest analysis run holding the pair (x, y).

    Columns: run_id, created_at, freq, lag, r, ci_low, ci_high, p_value, p_adj,
    p_robust and p_robust_adj (the robust test's p and adjusted p; null for runs before
    issue 17, and where the robust test is undefined), robust (its variance, or
    "none: <why>" where undefined; null for older runs),
    dropped_partial and partial (how many partial first/last periods, and what was done
    with them: "dropped"; null for older runs), n_obs, band
    (half-width of the 95% white-noise band the run used; may be null), prewhiten,
    x_diff and y_diff (times each side was differenced before the test; 0 when the run did
    not record it, so that they never reach a page as a null that has no truth value),
    primary_test and oos (JSON text of the pre-specified tests and the out-of-sample
    comparison; null for runs before issue 17),
    window_start, window_end, warnings. A positive lag means x leads y.
    """
    return con.execute(
        f"""
        WITH rows AS (
            -- params may hold the JSON object itself or a JSON string that encodes it.
            SELECT *, CASE WHEN json_type(params) = 'VARCHAR' THEN json(params ->> '$')
                           ELSE params END AS p
            FROM analysis_results
            WHERE x = ? AND y = ? AND test = 'ccf' AND run_id = {_LATEST_RUN_OF_PAIR}
        )
        SELECT run_id, created_at, freq, lag, effect AS r, ci_low, ci_high, p_value, p_adj, n_obs,
               TRY_CAST(json_extract(p, '$.p_robust') AS DOUBLE) AS p_robust,
               TRY_CAST(json_extract(p, '$.p_robust_adj') AS DOUBLE) AS p_robust_adj,
               CAST(json_extract_string(p, '$.robust') AS VARCHAR) AS robust,
               TRY_CAST(json_extract(p, '$.periods.dropped_partial') AS INTEGER)
                   AS dropped_partial,
               CAST(json_extract_string(p, '$.periods.partial') AS VARCHAR) AS partial,
               TRY_CAST(json_extract(p, '$.ccf_band') AS DOUBLE) AS band,
               TRY_CAST(json_extract(p, '$.prewhiten') AS BOOLEAN) AS prewhiten,
               coalesce(TRY_CAST(json_extract(p, '$.transforms.x.differences') AS INTEGER), 0)
                   AS x_diff,
               coalesce(TRY_CAST(json_extract(p, '$.transforms.y.differences') AS INTEGER), 0)
                   AS y_diff,
               CAST(json_extract(p, '$.primary') AS VARCHAR) AS primary_test,
               CAST(json_extract(p, '$.oos') AS VARCHAR) AS oos,
               window_start, window_end, warnings
        FROM rows ORDER BY lag
        """,
        [x, y, x, y],
    ).df()


def granger_results(con: Connection, x: str, y: str) -> pd.DataFrame:
    """Granger tests from the newest analysis run holding the pair (x, y).

    Columns: direction (x->y or y->x), lag, statistic (F), p_value, p_adj (classic),
    p_robust, p_robust_adj, robust (as in ``ccf_results``), n_obs, warnings, freq.
    """
    return con.execute(
        f"""
        WITH rows AS (
            SELECT *, CASE WHEN json_type(params) = 'VARCHAR' THEN json(params ->> '$')
                           ELSE params END AS p
            FROM analysis_results
            WHERE x = ? AND y = ? AND test = 'granger' AND run_id = {_LATEST_RUN_OF_PAIR}
        )
        SELECT direction, lag, statistic, p_value, p_adj,
               TRY_CAST(json_extract(p, '$.p_robust') AS DOUBLE) AS p_robust,
               TRY_CAST(json_extract(p, '$.p_robust_adj') AS DOUBLE) AS p_robust_adj,
               CAST(json_extract_string(p, '$.robust') AS VARCHAR) AS robust,
               n_obs, warnings, freq
        FROM rows ORDER BY direction, lag
        """,
        [x, y, x, y],
    ).df()


# --- sources and articles -------------------------------------------------------------


def source_health(con: Connection) -> pd.DataFrame:
    """Feed health from v_source_health, one row per fetched source (feeds, mailboxes;
    not the outlets of backfilled stories, see store.provenance.outlets), failing first."""
    return con.execute(
        """
        SELECT name, url, tags, last_status, last_error, last_http_status, last_fetch_at,
               last_success_at, consecutive_failures, next_check_at, fetch_count,
               not_modified_rate, articles
        FROM v_source_health
        WHERE kind <> 'outlet'
        ORDER BY consecutive_failures DESC, coalesce(last_status, '') = 'ok', name
        """
    ).df()


def keyword_search(
    con: Connection, keyword: str, start: date, end: date, limit: int = 50
) -> pd.DataFrame:
    """Stories in [start, end] whose title or text contains ``keyword``, newest first.

    Case-insensitive; ``%`` and ``_`` match literally; an empty keyword matches every
    story. Columns: published_at, title, source, url, snippet, title_derived (the title
    was made from the URL).
    """
    needle = _like_literal(keyword)
    return con.execute(
        f"""
        SELECT a.published_at, a.title, s.name AS source, {SAFE_URL} AS url,
               left(a.text, 240) AS snippet, a.title_derived
        FROM articles a LEFT JOIN sources s ON s.source_id = a.source_id
        WHERE {_ARTICLE_FILTER}
        ORDER BY a.published_at DESC LIMIT ?
        """,
        [start, end, needle, needle, needle, limit],
    ).df()


def semantic_search(
    con: Connection,
    model: str,
    vector: Sequence[float],
    start: date,
    end: date,
    *,
    keyword: str = "",
    limit: int = 20,
) -> pd.DataFrame:
    """Stories ranked by cosine similarity of their stored ``model`` vector to ``vector``.

    The keyword and date filters of :func:`keyword_search` narrow the candidates first.
    Columns: similarity, published_at, title, source, url, snippet, title_derived.
    """
    needle = _like_literal(keyword)
    return con.execute(
        f"""
        SELECT list_cosine_similarity(e.vector, ?::FLOAT[]) AS similarity,
               a.published_at, a.title, s.name AS source, {SAFE_URL} AS url,
               left(a.text, 240) AS snippet, a.title_derived
        FROM embeddings e JOIN articles a ON a.article_id = e.article_id
        LEFT JOIN sources s ON s.source_id = a.source_id
        WHERE e.model = ? AND {_ARTICLE_FILTER}
        ORDER BY similarity DESC, a.published_at DESC LIMIT ?
        """,
        [[float(v) for v in vector], model, start, end, needle, needle, needle, limit],
    ).df()


def embedded_count(con: Connection, model: str) -> int:
    """How many stories have a stored vector of ``model`` (0: semantic search is off)."""
    row = con.execute("SELECT count(*) FROM embeddings WHERE model = ?", [model]).fetchone()
    return int(row[0]) if row else 0


def _like_literal(text: str) -> str:
    """Escape ILIKE wildcards with '!' so that user text matches literally."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
