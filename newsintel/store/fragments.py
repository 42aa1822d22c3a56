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
