"""Story grouping in the store: the articles to group, and their new story ids.

Which articles are one story is decided in :mod:`newsintel.feeds.dedupe`; this module
only reads the candidates (with their vectors for one model) and writes the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from newsintel.store.connect import Connection, transaction
from newsintel.store.embeddings import load_embeddings


def story_candidates(
    con: Connection, model: str
) -> tuple[list[tuple[str, str, datetime, str, str, str | None]], npt.NDArray[np.float32]]:
    """Every story (newsletter issues excluded) and its unit vector for ``model``.

    Returns (article_id, source_id, published_at, title, origin, url_key) rows ordered by
    (published_at, article_id), and a matrix with one row per row; articles not
    embedded with ``model`` get a zero row, so they match nothing by embedding.
    """
    rows = con.execute(
        "SELECT article_id, source_id, published_at, title, coalesce(origin, 'feed'), url_key "
        "FROM articles "
        "WHERE NOT is_issue ORDER BY published_at, article_id"
    ).fetchall()
    ids, vectors = load_embeddings(con, model)
    matrix = np.zeros((len(rows), vectors.shape[1]), dtype=np.float32)
    if ids:
        position = {row[0]: index for index, row in enumerate(rows)}
        target = np.array([position.get(article_id, -1) for article_id in ids], dtype=np.int64)
        found = target >= 0  # vectors of issues or deleted articles are not candidates
        matrix[target[found]] = vectors[found]
    return [(str(r[0]), str(r[1]), r[2], str(r[3]), str(r[4]), r[5]) for r in rows], matrix


def set_story_ids(con: Connection, story_ids: Mapping[str, str]) -> int:
    """Give each article in ``story_ids`` (article id -> story id) its story id.

    Written in one transaction; returns the number of articles whose story id changed.
    """
    if not story_ids:
        return 0
    with transaction(con):
        return _write_story_ids(con, story_ids)


def _write_story_ids(con: Connection, story_ids: Mapping[str, str]) -> int:
    if not story_ids:
        return 0
    frame = pd.DataFrame({"article_id": list(story_ids), "story_id": list(story_ids.values())})
    con.register("new_story_ids", frame)
    changed = con.execute(
        """
        SELECT count(*) FROM articles a JOIN new_story_ids n USING (article_id)
        WHERE a.story_id <> n.story_id
        """
    ).fetchone()
    con.execute(
        """
        UPDATE articles SET story_id = n.story_id
        FROM new_story_ids n
        WHERE articles.article_id = n.article_id AND articles.story_id <> n.story_id
        """
    )
    con.unregister("new_story_ids")
    return int(changed[0]) if changed else 0


@dataclass(frozen=True)
class ChangedCandidates:
    """What an incremental grouping needs: the changed articles and their neighbourhood.

    ``rows`` and ``vectors`` as in ``story_candidates`` but only for the neighbourhood;
    ``grouped_story`` maps each of those grouped before to its stored story id;
    ``root_times`` gives each such story id's publication time; ``changed_ids`` are the
    articles new to the grouping (or newly embedded).
    """

    rows: list[tuple[str, str, datetime, str, str, str | None]]
    vectors: npt.NDArray[np.float32]
    grouped_story: dict[str, str]
    root_times: dict[str, datetime]
    changed_ids: frozenset[str]

    @property
    def changed(self) -> int:
        return len(self.changed_ids)


def grouping_is_current(con: Connection, model: str, threshold: float, window_days: int) -> bool:
    """True when every recorded grouping used this model, threshold and window (and one
    exists), so that only what changed needs grouping."""
    row = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE model <> ? OR threshold <> ? "
        "OR window_days <> ?) FROM story_grouping",
        [model, threshold, window_days],
    ).fetchone()
    return row is not None and row[0] > 0 and row[1] == 0


def changed_candidates(con: Connection, model: str, window_days: int) -> ChangedCandidates | None:
    """The articles new to the grouping and every article that can pair with one.

    None when a stored story's first article is missing (then regroup everything).
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE grouping_changed AS
        SELECT a.article_id, a.published_at, a.url_key,
               (e.article_id IS NOT NULL) AS with_vector
        FROM articles a
        LEFT JOIN embeddings e ON e.article_id = a.article_id AND e.model = ?
        LEFT JOIN story_grouping g ON g.article_id = a.article_id
        WHERE NOT a.is_issue
          AND (g.article_id IS NULL OR (e.article_id IS NOT NULL AND NOT g.with_vector))
        """,
        [model],
    )
    # Every article that can pair with a changed one: within the window, or the same page.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE grouping_near AS
        SELECT DISTINCT a.article_id FROM articles a JOIN grouping_changed c
          ON a.published_at BETWEEN c.published_at - INTERVAL {int(window_days)} DAY
                                AND c.published_at + INTERVAL {int(window_days)} DAY
        WHERE NOT a.is_issue
        UNION
        SELECT a.article_id FROM articles a JOIN grouping_changed c ON a.url_key = c.url_key
        WHERE NOT a.is_issue
        """
    )
    changed = frozenset(
        str(row[0]) for row in con.execute("SELECT article_id FROM grouping_changed").fetchall()
    )
    rows = con.execute(
        "SELECT a.article_id, a.source_id, a.published_at, a.title, "
        "coalesce(a.origin, 'feed'), a.url_key, a.story_id, g.article_id IS NOT NULL "
        "FROM articles a JOIN grouping_near USING (article_id) "
        "LEFT JOIN story_grouping g USING (article_id) "
        "ORDER BY a.published_at, a.article_id"
    ).fetchall()
    grouped_story = {str(r[0]): str(r[6]) for r in rows if r[7]}
    roots = sorted(set(grouped_story.values()))
    root_times = {
        str(article_id): published_at
        for article_id, published_at in con.execute(
            "SELECT article_id, published_at FROM articles WHERE article_id IN (SELECT unnest(?))",
            [roots],
        ).fetchall()
    }
    if len(root_times) < len(roots):
        return None
    ids, vectors = load_embeddings(con, model, [str(r[0]) for r in rows])
    matrix = np.zeros((len(rows), vectors.shape[1]), dtype=np.float32)
    if ids:
        position = {str(row[0]): index for index, row in enumerate(rows)}
        matrix[[position[i] for i in ids]] = vectors
    return ChangedCandidates(
        [(str(r[0]), str(r[1]), r[2], str(r[3]), str(r[4]), r[5]) for r in rows],
        matrix,
        grouped_story,
        root_times,
        changed,
    )


def save_changed_grouping(
    con: Connection,
    merged: Mapping[str, str],
    fresh: Mapping[str, str],
    model: str,
    threshold: float,
    window_days: int,
) -> int:
    """Write an incremental grouping in one transaction; the articles whose story changed.

    Stories in ``merged`` (old story id -> new) move whole; ``fresh`` articles get their
    story; every changed article (``grouping_changed``) is recorded as grouped.
    """
    with transaction(con):
        changed = 0
        if merged:
            frame = pd.DataFrame({"old": list(merged), "new": list(merged.values())})
            con.register("merged_stories", frame)
            row = con.execute(
                "SELECT count(*) FROM articles a JOIN merged_stories m ON a.story_id = m.old "
                "WHERE NOT a.is_issue AND a.article_id NOT IN (SELECT unnest(?))",
                [list(fresh)],
            ).fetchone()
            changed += int(row[0]) if row else 0
            con.execute(
                "UPDATE articles SET story_id = m.new FROM merged_stories m "
                "WHERE articles.story_id = m.old AND NOT articles.is_issue"
            )
            con.unregister("merged_stories")
        changed += _write_story_ids(con, fresh)
        _record_grouped(
            con,
            "SELECT article_id, with_vector FROM grouping_changed",
            [],
            model,
            threshold,
            window_days,
            replace_all=False,
        )
    return changed


def record_full_grouping(con: Connection, model: str, threshold: float, window_days: int) -> None:
    """After grouping every story: record each (non-issue) article as grouped."""
    with transaction(con):
        _record_grouped(
            con,
            "SELECT a.article_id, e.article_id IS NOT NULL AS with_vector FROM articles a "
            "LEFT JOIN embeddings e ON e.article_id = a.article_id AND e.model = ? "
            "WHERE NOT a.is_issue",
            [model],
            model,
            threshold,
            window_days,
            replace_all=True,
        )


def _record_grouped(
    con: Connection,
    source_sql: str,
    params: list[object],
    model: str,
    threshold: float,
    window_days: int,
    *,
    replace_all: bool,
) -> None:
    if replace_all:
        con.execute("DELETE FROM story_grouping")
    con.execute(
        "INSERT OR REPLACE INTO story_grouping "
        "(article_id, model, threshold, window_days, with_vector) "
        f"SELECT s.article_id, ?, ?, ?, s.with_vector FROM ({source_sql}) s",
        [model, threshold, window_days, *params],
    )


def story_counts(con: Connection) -> tuple[int, int]:
    """(articles, distinct stories) among non-issue articles."""
    row = con.execute(
        "SELECT count(*), count(DISTINCT story_id) FROM articles WHERE NOT is_issue"
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)
