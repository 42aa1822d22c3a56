"""Where stories come from: counts per origin over time, and outlets apart from feeds.

Read-only queries on ``articles.origin`` and ``sources.kind`` (migration 005). Stories
count once each (distinct ``story_id``), newsletter issues never, as everywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd

from newsintel.store.connect import Connection

# Analysis frequencies -> DuckDB date_trunc parts.
_PERIODS = {"D": "day", "W": "week", "M": "month"}


def origin_filter(origins: Sequence[str], column: str = "a.origin") -> tuple[str, list[object]]:
    """SQL that keeps rows of the given origins (all rows when none), and its parameters."""
    if not origins:
        return "true", []
    return f"list_contains(?::VARCHAR[], {column})", [list(origins)]


def origin_monthly(con: Connection) -> pd.DataFrame:
    """Stories per origin per month: columns month (first day), origin, stories."""
    frame = con.execute(
        """
        SELECT date_trunc('month', published_at)::DATE AS month, origin,
               count(DISTINCT story_id) AS stories
        FROM articles WHERE NOT is_issue
        GROUP BY ALL ORDER BY month, origin
        """
    ).df()
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def origin_shares(
    con: Connection, start: date, end: date, freq: str = "W", origins: Sequence[str] = ()
) -> pd.DataFrame:
    """Each origin's share of the stories of each period in [start, end].

    Columns period (first day), origin, stories, share; periods as ``freq`` (D, W, M),
    only periods that have stories. A story found by several origins (a feed and an
    import) counts for each, so shares of a period may add up to a little over 1.
    """
    keep, params = origin_filter(origins)
    frame = con.execute(
        f"""
        WITH counts AS (
            SELECT date_trunc('{_PERIODS[freq]}', a.published_at)::DATE AS period,
                   a.origin, count(DISTINCT a.story_id) AS stories
            FROM articles a
            WHERE NOT a.is_issue AND a.published_at::DATE BETWEEN ? AND ? AND {keep}
            GROUP BY ALL
        ), totals AS (
            SELECT date_trunc('{_PERIODS[freq]}', a.published_at)::DATE AS period,
                   count(DISTINCT a.story_id) AS total
            FROM articles a
            WHERE NOT a.is_issue AND a.published_at::DATE BETWEEN ? AND ? AND {keep}
            GROUP BY ALL
        )
        SELECT c.period, c.origin, c.stories, c.stories / t.total AS share
        FROM counts c JOIN totals t USING (period)
        ORDER BY c.period, c.origin
        """,
        [start, end, *params, start, end, *params],
    ).df()
    frame["period"] = pd.to_datetime(frame["period"])
    return frame


def outlets(con: Connection) -> pd.DataFrame:
    """Sources known only through backfilled stories (``kind = 'outlet'``), most first.

    Columns name, url, stories, first_published, last_published.
    """
    return con.execute(
        """
        SELECT s.name, s.url, count(DISTINCT a.story_id) AS stories,
               min(a.published_at) AS first_published, max(a.published_at) AS last_published
        FROM sources s LEFT JOIN articles a ON a.source_id = s.source_id AND NOT a.is_issue
        WHERE s.kind = 'outlet'
        GROUP BY ALL ORDER BY stories DESC, s.name
        """
    ).df()
