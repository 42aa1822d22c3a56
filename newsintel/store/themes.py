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
    article_ids: Sequence[str],
    theme_ids: Sequence[str],
    methods: Sequence[str],
    scores: np.ndarray,
    members: np.ndarray,
) -> int:
    """Replace every theme score of these articles with the given ones.

    ``scores`` and ``members`` are (articles x themes) matrices; ``methods`` names how
    each theme was scored. Rows from earlier runs (another model, a method since
    replaced) are removed, so article_themes always holds the current assignment.
    Returns rows written.
    """
    n_articles, n_themes = len(article_ids), len(theme_ids)
    if scores.shape != (n_articles, n_themes) or members.shape != scores.shape:
        raise ValueError("scores and members must be (articles x themes)")
    if len(methods) != n_themes:
        raise ValueError("one method per theme is required")
    table = pa.table(
        {
            "article_id": np.repeat(np.asarray(article_ids, dtype=object), n_themes),
            "theme_id": np.tile(np.asarray(theme_ids, dtype=object), n_articles),
            "method": np.tile(np.asarray(methods, dtype=object), n_articles),
            "score": scores.astype(np.float64).reshape(-1),
            "is_member": members.astype(bool).reshape(-1),
        }
    )
    with transaction(con):
        con.register("incoming_scores", table)
        con.execute(
            "DELETE FROM article_themes "
            "WHERE article_id IN (SELECT DISTINCT article_id FROM incoming_scores)"
        )
        con.execute(
            "INSERT INTO article_themes (article_id, theme_id, method, score, is_member) "
            "SELECT article_id, theme_id, method, score, is_member FROM incoming_scores"
        )
        con.unregister("incoming_scores")
    return n_articles * n_themes


def article_theme_scores(con: Connection, article_id: str) -> list[tuple[str, str, float, bool]]:
    """(theme_id, method, score, is_member) of one article, best score first."""
    rows = con.execute(
        "SELECT theme_id, method, score, is_member FROM article_themes WHERE article_id = ? "
        "ORDER BY score DESC",
        [article_id],
    ).fetchall()
    return [(r[0], r[1], float(r[2]), bool(r[3])) for r in rows]


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


def theme_daily_counts(con: Connection, theme_id: str) -> pd.DataFrame:
    """Daily stories of a theme and of all themes: columns day, articles, total_articles."""
    frame = con.execute(
        "SELECT day, articles, total_articles FROM v_theme_daily WHERE theme = ? ORDER BY day",
        [theme_id],
    ).df()
    frame["day"] = pd.to_datetime(frame["day"])
    return frame
