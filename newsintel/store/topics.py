"""Discovered topics: the stories to cluster, builds, topics, assignments and lineage.

Large columns (100k assignments, centroids) go in through Arrow tables, never row by
row. Every read takes a build id, and :func:`latest_build` says which one is current.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from newsintel.store.connect import Connection, transaction
from newsintel.store.embeddings import load_embeddings

if TYPE_CHECKING:
    from newsintel.topics.build import BuildResult


@dataclass(frozen=True)
class Stories:
    """Embedded stories (no newsletter issues) in article-id order."""

    article_ids: list[str]
    vectors: np.ndarray
    texts: list[str]
    published: list[datetime]


@dataclass(frozen=True)
class StoredBuild:
    """One row of topic_builds."""

    build_id: str
    created_at: datetime
    model: str
    seed: int
    window: str
    n_articles: int
    n_topics: int
    outlier_share: float
    params: dict[str, Any]


@dataclass(frozen=True)
class TopicRow:
    """One topic of a build, summed over its windows (label from its latest window)."""

    topic_id: str
    label: str
    top_words: tuple[str, ...]
    size: int
    windows: int
    first_seen: datetime | None
    last_seen: datetime | None
    representatives: tuple[str, ...]
    representative_titles: tuple[str, ...]


def load_stories(con: Connection, model: str) -> Stories:
    """Every story embedded with ``model``: ids, vectors, title + text, publication time."""
    rows = con.execute(
        """
        SELECT a.article_id, a.title, a.text, a.published_at FROM articles a
        WHERE NOT a.is_issue AND EXISTS (
            SELECT 1 FROM embeddings e WHERE e.article_id = a.article_id AND e.model = ?)
        ORDER BY a.article_id
        """,
        [model],
    ).fetchall()
    ids = [r[0] for r in rows]
    loaded, vectors = load_embeddings(con, model, ids) if ids else ([], np.zeros((0, 0)))
    if loaded != ids:  # both are ordered by article id; a mismatch is a bug, not bad data
        raise RuntimeError("stories and their vectors are out of step")
    texts = [f"{r[1]} {r[2]}" for r in rows]
    return Stories(ids, np.asarray(vectors, dtype=np.float32), texts, [r[3] for r in rows])


def _build(row: tuple[Any, ...]) -> StoredBuild:
    return StoredBuild(
        row[0], row[1], row[2], int(row[3]), row[4], int(row[5]), int(row[6]), float(row[7]),
        json.loads(row[8]),
    )  # fmt: skip


_BUILD_COLUMNS = (
    "build_id, created_at, model, seed, time_window, n_articles, n_topics, outlier_share, params"
)


def latest_build(
    con: Connection, *, window: str | None = None, model: str | None = None
) -> StoredBuild | None:
    """The newest build (optionally of one window kind and model), or None."""
    row = con.execute(
        f"SELECT {_BUILD_COLUMNS} FROM topic_builds "
        "WHERE (? IS NULL OR time_window = ?) AND (? IS NULL OR model = ?) "
        "ORDER BY created_at DESC, build_id DESC LIMIT 1",
        [window, window, model, model],
    ).fetchone()
    return _build(row) if row else None


def topic_members(
    con: Connection, build_id: str, time_window: str
) -> dict[str, tuple[np.ndarray, frozenset[str]]]:
    """{topic id: (centroid, member article ids)} of one window of a build."""
    centroids = {
        r[0]: np.asarray(r[1], dtype=np.float32)
        for r in con.execute(
            "SELECT topic_id, centroid FROM topics WHERE build_id = ? AND time_window = ?",
            [build_id, time_window],
        ).fetchall()
    }
    members: dict[str, set[str]] = {t: set() for t in centroids}
    for topic_id, article_id in con.execute(
        "SELECT topic_id, article_id FROM article_topics WHERE build_id = ? AND time_window = ?",
        [build_id, time_window],
    ).fetchall():
        members.setdefault(topic_id, set()).add(article_id)
    return {t: (c, frozenset(members[t])) for t, c in centroids.items()}


def known_topic_ids(con: Connection) -> list[str]:
    """Every topic id any build has used (new topics never reuse one)."""
    return [r[0] for r in con.execute("SELECT DISTINCT topic_id FROM topics").fetchall()]


def save_build(
    con: Connection,
    build_id: str,
    model: str,
    result: BuildResult,
    *,
    from_build_id: str | None,
    seconds: float,
) -> None:
    """Store one build: its row, topics, assignments and lineage, in one transaction."""
    assignments = pa.table(
        {
            "article_id": pa.array(result.article_ids, type=pa.string()),
            "topic_id": pa.array(result.topic_ids, type=pa.string()),
            "time_window": pa.array(result.windows, type=pa.string()),
            "distance": pa.array(result.distances.astype(np.float64)),
        }
    )
    with transaction(con):
        con.execute(
            "INSERT INTO topic_builds (build_id, model, seed, time_window, params, n_articles,"
            " n_topics, outlier_share, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                build_id,
                model,
                result.seed,
                result.window,
                json.dumps(result.params, sort_keys=True),
                len(result.article_ids),
                len({t.topic_id for t in result.topics}),
                result.outlier_share,
                seconds,
            ],
        )
        con.executemany(
            "INSERT INTO topics (build_id, topic_id, time_window, label, top_words, size,"
            " centroid, first_seen, last_seen, representative_ids, params)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    build_id,
                    t.topic_id,
                    t.window,
                    t.label,
                    list(t.top_words),
                    t.size,
                    [float(v) for v in t.centroid],
                    t.first_seen,
                    t.last_seen,
                    list(t.representatives),
                    json.dumps({"window": result.window, "seed": result.seed}),
                ]
                for t in result.topics
            ],
        )
        con.register("incoming_topics", assignments)
        con.execute(
            "INSERT INTO article_topics (article_id, build_id, topic_id, time_window, distance)"
            " SELECT article_id, ?, topic_id, time_window, distance FROM incoming_topics",
            [build_id],
        )
        con.unregister("incoming_topics")
        if result.lineage:
            con.executemany(
                "INSERT INTO topic_lineage (build_id, from_build_id, window_from, window_to,"
                " parent_topic_id, child_topic_id, event, similarity)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [
                        build_id,
                        from_build_id if row.from_previous_build else None,
                        row.window_from,
                        row.window_to,
                        row.event.parent_topic_id,
                        row.event.child_topic_id,
                        row.event.event,
                        row.event.similarity,
                    ]
                    for row in result.lineage
                ],
            )


def topic_rows(con: Connection, build_id: str) -> list[TopicRow]:
    """Topics of a build, largest first, with their representative articles' titles."""
    rows = con.execute(
        """
        SELECT topic_id,
               arg_max(label, time_window), arg_max(top_words, time_window), sum(size),
               count(*), min(first_seen), max(last_seen),
               arg_max(representative_ids, time_window)
        FROM topics WHERE build_id = ? GROUP BY topic_id ORDER BY sum(size) DESC, topic_id
        """,
        [build_id],
    ).fetchall()
    wanted = sorted({a for r in rows for a in r[7]})
    titles = dict(
        con.execute(
            "SELECT article_id, title FROM articles WHERE article_id IN (SELECT unnest(?))",
            [wanted],
        ).fetchall()
    )
    return [
        TopicRow(
            r[0], r[1], tuple(r[2]), int(r[3]), int(r[4]), r[5], r[6], tuple(r[7]),
            tuple(titles.get(a, "") for a in r[7]),
        )
        for r in rows
    ]  # fmt: skip


def period_counts(con: Connection, build_id: str) -> list[tuple[str, str, int]]:
    """(topic id, month 'YYYY-MM', stories) for every topic and month of a build."""
    rows = con.execute(
        """
        SELECT m.topic_id, strftime(a.published_at, '%Y-%m') AS period, count(*)
        FROM article_topics m JOIN articles a USING (article_id)
        WHERE m.build_id = ? GROUP BY ALL ORDER BY ALL
        """,
        [build_id],
    ).fetchall()
    return [(r[0], r[1], int(r[2])) for r in rows]


def lineage_rows(con: Connection, build_id: str) -> list[dict[str, Any]]:
    """The lineage events recorded by a build, as plain dicts."""
    cursor = con.execute(
        "SELECT from_build_id, window_from, window_to, parent_topic_id, child_topic_id, event,"
        " similarity FROM topic_lineage WHERE build_id = ?"
        " ORDER BY window_to, event, parent_topic_id NULLS FIRST, child_topic_id NULLS FIRST",
        [build_id],
    )
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def builds(con: Connection, limit: int = 20) -> Sequence[StoredBuild]:
    """The newest builds first."""
    rows = con.execute(
        f"SELECT {_BUILD_COLUMNS} FROM topic_builds ORDER BY created_at DESC, build_id DESC "
        "LIMIT ?",
        [limit],
    ).fetchall()
    return [_build(r) for r in rows]


def has_topics(con: Connection) -> bool:
    """Whether the database has the topic tables (an older schema, opened read-only, lacks them)."""
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'topic_builds'"
    ).fetchone()
    return bool(row and row[0])
