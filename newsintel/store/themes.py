"""Tracked themes, per-article theme scores, and theme counts over time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from newsintel.models import ThemeDefinition
from newsintel.store.connect import Connection, transaction


@dataclass(frozen=True)
class ThemeSummary:
    """A stored theme with how many stories it holds."""

    theme_id: str
    label: str
    description: str
    threshold: float
    stories: int
    last_published_at: object


def save_themes(con: Connection, themes: Sequence[ThemeDefinition]) -> None:
    """Create or update theme definitions (themes no longer defined are kept)."""
    with transaction(con):
        for t in themes:
            con.execute(
                """
                INSERT INTO themes (theme_id, label, description, examples, keywords,
                                    exclusions, threshold)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (theme_id) DO UPDATE SET
                    label = excluded.label, description = excluded.description,
                    examples = excluded.examples, keywords = excluded.keywords,
                    exclusions = excluded.exclusions, threshold = excluded.threshold,
                    updated_at = now()::TIMESTAMP
                """,
                [
                    t.theme_id,
                    t.label,
                    t.description,
                    list(t.examples),
                    list(t.keywords),
                    list(t.exclusions),
                    t.threshold,
                ],
            )


def save_theme_scores(
    con: Connection,
    article_ids: Sequence[str] | pa.Array,
    theme_ids: Sequence[str],
    methods: Sequence[str],
    scores: np.ndarray,
    members: np.ndarray,
    *,
    replace: bool = True,
) -> int:
    """Make these articles' theme scores exactly the given ones, in one transaction.

    ``scores`` and ``members`` are (articles x themes) matrices; ``methods`` names how
    each theme was scored. Rows from earlier runs (another model, a method since
    replaced, a changed score) are removed, so article_themes always holds the current
    assignment; a row that is already stored as given is kept as it is (with its
    ``assigned_at``), so a re-run rewrites only what changed. ``replace=False`` says
    that none of these articles has stored scores yet (a first assignment): the rows are
    appended without looking for old ones (the primary key still refuses duplicates).
    Returns the number of (article, theme) scores given.
    """
    n_articles, n_themes = len(article_ids), len(theme_ids)
    if scores.shape != (n_articles, n_themes) or members.shape != scores.shape:
        raise ValueError("scores and members must be (articles x themes)")
    if len(methods) != n_themes:
        raise ValueError("one method per theme is required")
    ids = article_ids if isinstance(article_ids, pa.Array) else pa.array(article_ids, pa.string())
    # One row per (article, theme), built in Arrow: no Python object per row.
    rows = pa.array(np.repeat(np.arange(n_articles, dtype=np.int64), n_themes))
    cols = pa.array(np.tile(np.arange(n_themes, dtype=np.int64), n_articles))
    table = pa.table(
        {
            "article_id": ids.take(rows),
            "theme_id": pa.array(list(theme_ids), pa.string()).take(cols),
            "method": pa.array(list(methods), pa.string()).take(cols),
            "score": np.ascontiguousarray(scores, dtype=np.float64).reshape(-1),
            "is_member": np.ascontiguousarray(members, dtype=bool).reshape(-1),
        }
    )
    # Registered outside the transaction: unregistering works after a failed statement.
    con.register("incoming_scores", table)
    try:
        with transaction(con):
            if replace:
                # Remove what differs from the incoming rows (changed scores, themes or
                # methods no longer given); what is left of these articles is exactly
                # the unchanged rows, which the insert then skips.
                con.execute(
                    """
                    DELETE FROM article_themes
                    WHERE article_id IN (SELECT article_id FROM incoming_scores)
                      AND NOT EXISTS (
                        SELECT 1 FROM incoming_scores i
                        WHERE i.article_id = article_themes.article_id
                          AND i.theme_id = article_themes.theme_id
                          AND i.method = article_themes.method
                          AND i.score = article_themes.score
                          AND i.is_member = article_themes.is_member)
                    """
                )
            con.execute(
                "INSERT INTO article_themes (article_id, theme_id, method, score, is_member) "
                "SELECT article_id, theme_id, method, score, is_member FROM incoming_scores"
                + (" ON CONFLICT DO NOTHING" if replace else "")
            )
    finally:
        con.unregister("incoming_scores")
    return n_articles * n_themes


def has_theme_scores(con: Connection) -> bool:
    """Whether any article has a stored theme score."""
    return con.execute("SELECT EXISTS (SELECT 1 FROM article_themes)").fetchall() == [(True,)]


def assignment_fingerprint(con: Connection) -> str | None:
    """The fingerprint every stored score was computed with (None: unknown or mixed)."""
    row = con.execute("SELECT fingerprint FROM theme_assignment").fetchone()
    return str(row[0]) if row else None


def forget_assignment(con: Connection) -> None:
    """Say that the stored scores no longer share one fingerprint (a full run starts)."""
    con.execute("DELETE FROM theme_assignment")


def record_assignment(con: Connection, fingerprint: str, model: str, articles: int) -> None:
    """Say that every embedded article's scores were computed with ``fingerprint``."""
    with transaction(con):
        con.execute("DELETE FROM theme_assignment")
        con.execute(
            "INSERT INTO theme_assignment (fingerprint, model, articles) VALUES (?, ?, ?)",
            [fingerprint, model, articles],
        )


def member_counts(con: Connection, theme_ids: Sequence[str]) -> dict[str, int]:
    """How many articles each theme holds (members by their stored scores)."""
    rows = con.execute(
        "SELECT theme_id, count(*) FILTER (WHERE is_member) FROM article_themes "
        "WHERE theme_id IN (SELECT unnest(?)) GROUP BY theme_id",
        [list(theme_ids)],
    ).fetchall()
    found = {str(theme): int(count) for theme, count in rows}
    return {theme: found.get(theme, 0) for theme in theme_ids}


def theme_summaries(con: Connection) -> list[ThemeSummary]:
    """Every theme with its story count, most stories first."""
    rows = con.execute(
        """
        SELECT t.theme_id, t.label, t.description, t.threshold,
               count(DISTINCT a.story_id) AS stories, max(a.published_at)
        FROM themes t
        LEFT JOIN article_themes m ON m.theme_id = t.theme_id AND m.is_member
        LEFT JOIN articles a ON a.article_id = m.article_id
        GROUP BY ALL ORDER BY stories DESC, t.theme_id
        """
    ).fetchall()
    return [ThemeSummary(*row) for row in rows]


def theme_ids(con: Connection) -> list[str]:
    """Ids of every stored theme."""
    return [row[0] for row in con.execute("SELECT theme_id FROM themes ORDER BY 1").fetchall()]


def theme_daily_counts(con: Connection, theme_id: str, origins: Sequence[str] = ()) -> pd.DataFrame:
    """Daily stories of a theme and of all themes: columns day, articles, total_articles.

    With ``origins`` (e.g. ``["gdelt"]``) only stories of those origins count, in the
    theme and in the total alike, so the share stays a share of like with like.
    """
    if not origins:
        frame = con.execute(
            "SELECT day, articles, total_articles FROM v_theme_daily WHERE theme = ? ORDER BY day",
            [theme_id],
        ).df()
    else:
        from newsintel.store.provenance import origin_filter

        keep, params = origin_filter(origins)
        # v_theme_daily's counting rule (distinct stories, no issues, every day with a
        # story), restricted to the chosen origins.
        frame = con.execute(
            f"""
            WITH totals AS (
                SELECT a.published_at::DATE AS day, count(DISTINCT a.story_id) AS total_articles
                FROM articles a WHERE NOT a.is_issue AND {keep} GROUP BY 1
            ), hits AS (
                SELECT a.published_at::DATE AS day, count(DISTINCT a.story_id) AS articles
                FROM article_themes t JOIN articles a USING (article_id)
                WHERE t.is_member AND t.theme_id = ? AND NOT a.is_issue AND {keep}
                GROUP BY 1
            )
            SELECT d.day, coalesce(h.articles, 0) AS articles, d.total_articles
            FROM totals d LEFT JOIN hits h USING (day) ORDER BY d.day
            """,
            [*params, theme_id, *params],
        ).df()
    frame["day"] = pd.to_datetime(frame["day"])
    return frame
