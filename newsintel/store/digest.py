"""Queries behind the digest, and the digest_log that keeps a re-run from sending twice."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from newsintel.store.connect import Connection
from newsintel.store.fragments import in_days


def latest_article_day(con: Connection) -> date | None:
    """The publication day of the newest article, or None for an empty database."""
    row = con.execute("SELECT max(published_at)::DATE FROM articles").fetchone()
    return row[0] if row and row[0] is not None else None


def period_totals(con: Connection, start: date, end: date) -> tuple[int, int, int]:
    """(articles, distinct stories, sources) published in [start, end]."""
    row = con.execute(
        "SELECT count(*), count(DISTINCT story_id), count(DISTINCT source_id) FROM articles "
        f"WHERE NOT is_issue AND {in_days('published_at')}",
        [start, end],
    ).fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)


def theme_period_counts(con: Connection, unit: str, start: date, end: date) -> pd.DataFrame:
    """Stories per theme per ``unit`` ('day' or 'week') in [start, end], zeros included.

    Columns: period (date), theme, label, articles, total_articles.
    """
    if unit not in ("day", "week"):
        raise ValueError("unit must be 'day' or 'week'")
    return con.execute(
        f"""
        WITH periods AS (
            SELECT DISTINCT date_trunc('{unit}', published_at)::DATE AS period
            FROM articles
            WHERE NOT is_issue AND {in_days("published_at")}
        ), totals AS (
            SELECT date_trunc('{unit}', published_at)::DATE AS period,
                   count(DISTINCT story_id) AS total_articles
            FROM articles
            WHERE NOT is_issue AND {in_days("published_at")}
            GROUP BY 1
        ), hits AS (
            SELECT date_trunc('{unit}', a.published_at)::DATE AS period, m.theme_id,
                   count(DISTINCT a.story_id) AS articles
            FROM article_themes m JOIN articles a USING (article_id)
            WHERE m.is_member
              AND {in_days("a.published_at")}
            GROUP BY 1, 2
        )
        SELECT p.period, t.theme_id AS theme, t.label,
               coalesce(h.articles, 0) AS articles, coalesce(tt.total_articles, 0) AS total_articles
        FROM periods p CROSS JOIN themes t
        LEFT JOIN hits h ON h.period = p.period AND h.theme_id = t.theme_id
        LEFT JOIN totals tt ON tt.period = p.period
        ORDER BY p.period, t.theme_id
        """,
        [start, end, start, end, start, end],
    ).df()


def top_stories_by_theme(
    con: Connection, start: date, end: date, limit: int = 3
) -> dict[str, list[tuple[str, str, str, datetime]]]:
    """Every theme's best-scoring stories: theme -> [(title, url, source, published_at)].

    One row per story within a theme (syndicated copies and newsletter duplicates are
    collapsed), at most ``limit`` per theme, best first. Themes without a story in the
    window are absent. One query for all themes: the window is scanned once.
    """
    rows = con.execute(
        f"""
        WITH members AS (
            SELECT m.theme_id, a.title, a.url, a.source_id, a.published_at, m.score,
                   row_number() OVER (PARTITION BY m.theme_id, a.story_id
                                      ORDER BY m.score DESC, a.published_at) AS rank_in_story
            FROM article_themes m JOIN articles a USING (article_id)
            WHERE m.is_member AND a.url IS NOT NULL
              AND {in_days("a.published_at")}
        ), ranked AS (
            SELECT *, row_number() OVER (PARTITION BY theme_id
                                         ORDER BY score DESC, published_at DESC) AS rank
            FROM members WHERE rank_in_story = 1
        )
        SELECT r.theme_id, r.title, r.url, s.name, r.published_at
        FROM ranked r LEFT JOIN sources s ON s.source_id = r.source_id
        WHERE r.rank <= ?
        ORDER BY r.theme_id, r.rank
        """,
        [start, end, limit],
    ).fetchall()
    stories: dict[str, list[tuple[str, str, str, datetime]]] = {}
    for theme, title, url, source, published in rows:
        stories.setdefault(str(theme), []).append((title, url, source or "", published))
    return stories


def price_points_until(con: Connection, end: date, kind: str = "price") -> pd.DataFrame:
    """The last two points on or before ``end`` of every series of a kind.

    Columns: series, unit, currency, date, value, rank (1 = latest).
    """
    return con.execute(
        """
        SELECT * FROM (
            SELECT p.series_id AS series, s.unit, s.currency, p.date, p.value,
                   row_number() OVER (PARTITION BY p.series_id ORDER BY p.date DESC) AS rank
            FROM series_points p JOIN series s USING (series_id)
            WHERE s.kind = ? AND p.date <= ?
        ) WHERE rank <= 2 ORDER BY series, rank
        """,
        [kind, end],
    ).df()


def significant_results(con: Connection, max_p_adj: float = 0.05) -> pd.DataFrame:
    """Lead/lag results (ccf, Granger) of the latest run that survive the adjustment of
    the robust tests (``p_robust_adj``; the classic ``p_adj`` for runs before the robust
    tests existed); ``oos`` is the pair's out-of-sample comparison (JSON text, or null)."""
    return con.execute(
        """
        WITH rows AS (
            SELECT *, CASE WHEN json_type(params) = 'VARCHAR' THEN json(params ->> '$')
                           ELSE params END AS p
            FROM analysis_results
            WHERE run_id = (SELECT max(run_id) FROM analysis_results)
              AND test IN ('ccf', 'granger')
        ), judged AS (
            SELECT *, coalesce(TRY_CAST(json_extract(p, '$.p_robust_adj') AS DOUBLE),
                               CASE WHEN json_extract(p, '$.p_robust_adj') IS NULL
                                    THEN p_adj END) AS p_robust_adj
            FROM rows
        )
        SELECT x, y, freq, test, direction, lag, p_value, p_adj, p_robust_adj, effect, n_obs,
               warnings, CAST(json_extract(p, '$.oos') AS VARCHAR) AS oos
        FROM judged
        WHERE p_robust_adj < ?
        ORDER BY p_robust_adj, x, y, test, lag
        """,
        [max_p_adj],
    ).df()


def weekly_theme_counts(con: Connection, theme: str, start: date, end: date) -> pd.DataFrame:
    """Weekly stories of one theme (columns week, articles)."""
    return con.execute(
        "SELECT week, articles FROM v_theme_weekly WHERE theme = ? AND week BETWEEN ? AND ? "
        "ORDER BY week",
        [theme, start, end],
    ).df()


def weekly_series_values(con: Connection, series: str, start: date, end: date) -> pd.DataFrame:
    """Weekly mean of one series (columns week, value)."""
    return con.execute(
        "SELECT week, value_mean AS value FROM v_series_weekly WHERE series = ? "
        "AND week BETWEEN ? AND ? ORDER BY week",
        [series, start, end],
    ).df()


def series_unit(con: Connection, series: str) -> str | None:
    """The unit of a series, or None if it is unknown."""
    row = con.execute("SELECT unit FROM series WHERE series_id = ?", [series]).fetchone()
    return row[0] if row else None


def theme_label(con: Connection, theme: str) -> str | None:
    """The label of a theme, or None if it is unknown."""
    row = con.execute("SELECT label FROM themes WHERE theme_id = ?", [theme]).fetchone()
    return row[0] if row else None


def sample_only(con: Connection) -> bool:
    """True when every configured feed is a bundled sample feed (tagged 'sample').

    Outlets of backfilled stories (``kind = 'outlet'``, e.g. the demo's real GDELT
    history) do not count: the feed stories are still fictional and must say so.
    """
    row = con.execute(
        "SELECT count(*) > 0 AND bool_and(list_contains(tags, 'sample')) FROM sources "
        "WHERE kind = 'feed'"
    ).fetchone()
    return bool(row and row[0])


def already_sent(con: Connection, period: str, period_start: date, recipient: str) -> bool:
    """True if this period's digest was delivered to this recipient before."""
    row = con.execute(
        "SELECT count(*) FROM digest_log WHERE period = ? AND period_start = ? "
        "AND recipient = ? AND status = 'sent'",
        [period, period_start, recipient],
    ).fetchone()
    return bool(row and row[0])


def record_delivery(
    con: Connection,
    period: str,
    period_start: date,
    recipient: str,
    *,
    status: str,
    message_id: str | None,
    error: str | None,
) -> None:
    """Record a send attempt; a failed attempt is replaced by the next one."""
    con.execute(
        """
        INSERT OR REPLACE INTO digest_log
            (period, period_start, recipient, status, message_id, error, attempted_at)
        VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP)
        """,
        [period, period_start, recipient, status, message_id, error],
    )
