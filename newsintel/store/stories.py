"""Story grouping in the store: the articles to group, and their new story ids.

Which articles are one story is decided in :mod:`newsintel.feeds.dedupe`; this module
only reads the candidates (with their vectors for one model) and writes the result.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    frame = pd.DataFrame({"article_id": list(story_ids), "story_id": list(story_ids.values())})
    with transaction(con):
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
