"""SQL fragments that more than one store module uses: written once, here.

A neutral home, so that query modules share a rule without importing each other.
"""

from __future__ import annotations

# Only these schemes become clickable links: a feed could carry javascript: or data:.
# Expects the articles table under the alias ``a``.
SAFE_URL = "CASE WHEN a.url ILIKE 'http://%' OR a.url ILIKE 'https://%' THEN a.url END"


def in_days(column: str = "a.published_at") -> str:
    """SQL: ``column`` falls on a day in [start, end] (parameters: start, end).

    A range on the raw timestamp: the same rows as ``column::DATE BETWEEN ? AND ?``,
    but the scan can skip row groups by their min/max (zone maps), which it cannot do
    through a cast.
    """
    return f"{column} >= ?::DATE AND {column} < ?::DATE + INTERVAL 1 DAY"


def in_weeks(column: str = "a.published_at") -> str:
    """SQL: ``column`` falls in the weeks [week of start, week of end] (parameters: start, end).

    The way v_theme_weekly filters ``week BETWEEN date_trunc('week', start) AND end``:
    every article of the week that contains ``end`` counts, also the days after ``end``.
    """
    return (
        f"{column} >= date_trunc('week', ?::DATE) "
        f"AND {column} < date_trunc('week', ?::DATE) + INTERVAL 7 DAY"
    )


def weekly_story_counts(themes: str) -> str:
    """SQL: the weekly story-count rule as common table expressions, for a WITH clause.

    The rule of v_theme_weekly (migration 001, released, so its text stays as it is; a
    test compares the two): weeks are ISO weeks (Monday first), newsletter issues never
    count, and a story counts once per week however many copies it has (syndication,
    newsletter duplicates), both in the week's total and in a theme's count. Weeks
    without any story are absent. Unlike the view, the weeks are restricted before the
    counting (``in_weeks``, parameters: start, end), so a window reads only its weeks.

    Defines ``stories`` (article_id, story_id, week), ``totals`` (week, total_articles)
    and ``hits`` (week, theme_id, articles) for the member themes that the SQL condition
    ``themes`` on ``m.theme_id`` picks (its parameters follow start and end).
    """
    return f"""
        stories AS (
            SELECT a.article_id, a.story_id, date_trunc('week', a.published_at)::DATE AS week
            FROM articles a WHERE NOT a.is_issue AND {in_weeks()}
        ), totals AS (
            SELECT week, count(DISTINCT story_id) AS total_articles FROM stories GROUP BY 1
        ), hits AS (
            SELECT s.week, m.theme_id, count(DISTINCT s.story_id) AS articles
            FROM article_themes m JOIN stories s USING (article_id)
            WHERE m.is_member AND {themes}
            GROUP BY 1, 2
        )"""
