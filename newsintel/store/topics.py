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
import pandas as pd
import pyarrow as pa

from newsintel.store.connect import Connection, transaction
from newsintel.store.embeddings import load_embeddings, vector_matrix
from newsintel.store.fragments import SAFE_URL

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
    n_articles: int  # stories it clustered
    n_topics: int
    outlier_share: float
    params: dict[str, Any]
    placed: int = 0  # stories placed into its topics since (nearest centroid)


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
    representative_ids: tuple[str, ...]
    representative_titles: tuple[str, ...]


# The stories topics are made of (`a`: articles): no newsletter issues, and a vector of
# the model given as the parameter.
_EMBEDDED_STORY = """
    NOT a.is_issue
    AND EXISTS (SELECT 1 FROM embeddings e WHERE e.article_id = a.article_id AND e.model = ?)
"""


def load_stories(con: Connection, model: str) -> Stories:
    """Every story embedded with ``model``: ids, vectors, title + text, publication time."""
    rows = con.execute(
        "SELECT a.article_id, a.title, a.text, a.published_at FROM articles a "
        f"WHERE {_EMBEDDED_STORY} ORDER BY a.article_id",
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
        json.loads(row[8]), int(row[9] or 0),
    )  # fmt: skip


_BUILD_COLUMNS = (
    "build_id, created_at, model, seed, time_window, n_articles, n_topics, outlier_share, params,"
    " placed"
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


def build_centroids(
    con: Connection, build_id: str, time_window: str = "all"
) -> tuple[list[str], np.ndarray]:
    """(topic ids, unit centroid matrix) of one window of a build, in topic id order."""
    rows = con.execute(
        "SELECT topic_id, centroid FROM topics WHERE build_id = ? AND time_window = ? "
        "ORDER BY topic_id",
        [build_id, time_window],
    ).fetchall()
    if not rows:
        return [], np.zeros((0, 0), dtype=np.float32)
    return [r[0] for r in rows], np.asarray([r[1] for r in rows], dtype=np.float32)


def topic_members(
    con: Connection, build_id: str, time_window: str
) -> dict[str, tuple[np.ndarray, frozenset[str]]]:
    """{topic id: (centroid, member article ids)} of one window of a build."""
    ids, matrix = build_centroids(con, build_id, time_window)
    centroids = dict(zip(ids, matrix, strict=True))
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


# Story assignments are kept for the newest build of each window kind and model only:
# what the app, v_article_topics and the next rebuild's lineage read. A scheduled run
# rebuilds every time stories arrive, one row per story each time (migration 016).
_PRUNE_SUPERSEDED_ASSIGNMENTS = """
    DELETE FROM article_topics WHERE build_id NOT IN (
        SELECT build_id FROM topic_builds
        QUALIFY row_number() OVER (PARTITION BY time_window, model
                                   ORDER BY created_at DESC, build_id DESC) = 1
    )
"""


def save_build(
    con: Connection,
    build_id: str,
    model: str,
    result: BuildResult,
    *,
    from_build_id: str | None,
    seconds: float,
) -> None:
    """Store one build: its row, topics, assignments and lineage, in one transaction.

    The assignments of the build it supersedes (same window kind and model) are removed
    in the same transaction; that build's row, topics and lineage stay.
    """
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
                    list(t.representative_ids),
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
        con.execute(_PRUNE_SUPERSEDED_ASSIGNMENTS)
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


# --- between rebuilds: new stories join the nearest topic (newsintel/topics/place.py) ---


def unplaced_ids(con: Connection, build_id: str, model: str) -> list[str]:
    """Stories embedded with ``model`` that have no topic in ``build_id``, by article id."""
    rows = con.execute(
        f"""
        SELECT a.article_id FROM articles a
        WHERE {_EMBEDDED_STORY}
          AND NOT EXISTS (SELECT 1 FROM article_topics m
                          WHERE m.build_id = ? AND m.article_id = a.article_id)
        ORDER BY a.article_id
        """,
        [model, build_id],
    ).fetchall()
    return [r[0] for r in rows]


def save_placement(
    con: Connection,
    build_id: str,
    article_ids: Sequence[str],
    topic_ids: Sequence[str],
    distances: np.ndarray,
) -> None:
    """Add placed stories to an ``all`` build, in one transaction: their rows, their
    topics' sizes and first and last dates, and the build's ``placed`` count."""
    incoming = pa.table(
        {
            "article_id": pa.array(article_ids, type=pa.string()),
            "topic_id": pa.array(topic_ids, type=pa.string()),
            "distance": pa.array(np.asarray(distances, dtype=np.float64)),
        }
    )
    with transaction(con):
        con.register("incoming_placements", incoming)
        con.execute(
            "INSERT INTO article_topics (article_id, build_id, topic_id, time_window, distance)"
            " SELECT article_id, ?, topic_id, 'all', distance FROM incoming_placements",
            [build_id],
        )
        con.execute(
            """
            UPDATE topics SET size = topics.size + p.n,
                first_seen = least(topics.first_seen, p.first_seen),
                last_seen = greatest(topics.last_seen, p.last_seen)
            FROM (SELECT i.topic_id, count(*) AS n, min(a.published_at) AS first_seen,
                         max(a.published_at) AS last_seen
                  FROM incoming_placements i JOIN articles a USING (article_id)
                  GROUP BY i.topic_id) p
            WHERE topics.build_id = ? AND topics.time_window = 'all'
              AND topics.topic_id = p.topic_id
            """,
            [build_id],
        )
        con.unregister("incoming_placements")
        con.execute(
            "UPDATE topic_builds SET placed = coalesce(placed, 0) + ? WHERE build_id = ?",
            [len(article_ids), build_id],
        )


def database_now(con: Connection) -> datetime:
    """The database's clock, as ``topic_builds.created_at`` was stamped with it."""
    row = con.execute("SELECT now()::TIMESTAMP").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


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


# --- what the app's Topics page reads -------------------------------------------------

# The label of every topic id as of its newest appearance (ids persist across builds).
_LABELS = """
    SELECT topic_id, arg_max(label, build_id || '/' || time_window) AS label
    FROM topics GROUP BY topic_id
"""


@dataclass(frozen=True)
class MapSample:
    """Stories of a build for the topic map: one row of ``points`` per row of ``vectors``."""

    points: pd.DataFrame  # article_id, topic_id, topic_label, title, source, published_at
    vectors: np.ndarray  # float32, one stored embedding per point
    total: int  # stories in the build (the sample is at most the limit of them)


def latest_builds(con: Connection) -> list[StoredBuild]:
    """The newest build of each window kind (``all``, ``month``, ``quarter``), newest first."""
    rows = con.execute(
        f"SELECT {_BUILD_COLUMNS} FROM topic_builds "
        "QUALIFY row_number() OVER (PARTITION BY time_window "
        "ORDER BY created_at DESC, build_id DESC) = 1 "
        "ORDER BY created_at DESC, build_id DESC"
    ).fetchall()
    return [_build(r) for r in rows]


def topic_stories(
    con: Connection, build_id: str, topic_id: str | None = None, limit: int = 10
) -> pd.DataFrame:
    """The stories closest to their topic's centroid: the ``limit`` best of every topic.

    ``topic_id`` narrows it to one topic. Columns: topic_id, rank (1 = most typical),
    title, source, published_at, url (http(s) only, else null), distance.
    """
    return con.execute(
        f"""
        SELECT m.topic_id,
               row_number() OVER (PARTITION BY m.topic_id
                                  ORDER BY m.distance, m.article_id) AS rank,
               a.title, s.name AS source, a.published_at, {SAFE_URL} AS url, m.distance
        FROM article_topics m
        JOIN articles a ON a.article_id = m.article_id
        LEFT JOIN sources s ON s.source_id = a.source_id
        WHERE m.build_id = ? AND (? IS NULL OR m.topic_id = ?)
        QUALIFY rank <= ?
        ORDER BY m.topic_id, rank
        """,
        [build_id, topic_id, topic_id, limit],
    ).df()


def topic_volume(con: Connection, build_id: str, freq: str = "month") -> pd.DataFrame:
    """Stories per topic per week (Monday) or month (its first day) in a build.

    Columns: topic_id, period (DATE), stories. Stories are distinct ``story_id``, so
    syndicated copies count once; periods without a story of a topic are absent.
    """
    if freq not in ("week", "month"):
        raise ValueError(f"freq must be week or month, got {freq!r}")
    return con.execute(
        """
        SELECT m.topic_id, date_trunc(?, a.published_at)::DATE AS period,
               count(DISTINCT a.story_id) AS stories
        FROM article_topics m JOIN articles a ON a.article_id = m.article_id
        WHERE m.build_id = ? GROUP BY ALL ORDER BY period, m.topic_id
        """,
        [freq, build_id],
    ).df()


def topic_lineage(con: Connection, build_id: str, max_builds: int = 24) -> pd.DataFrame:
    """Lineage events over time, labelled, for the Topics page.

    A ``month`` or ``quarter`` build: its own events, one step per window (``2026-03``).
    An ``all`` build: the rebuild events of it and the ``all`` builds of the same model
    before it (at most ``max_builds``), one step per build, named by its UTC time.
    Columns: step, build_id, event, parent_topic_id, parent_label, child_topic_id,
    child_label, similarity; oldest step first.
    """
    return con.execute(
        f"""
        WITH this AS (SELECT * FROM topic_builds WHERE build_id = ?),
        scope AS (  -- builds in the order latest_build and builds() use
            SELECT b.build_id, b.created_at, this.time_window AS kind
            FROM topic_builds b, this
            WHERE b.build_id = this.build_id
               OR (this.time_window = 'all' AND b.time_window = 'all'
                   AND b.model = this.model
                   AND (b.created_at < this.created_at
                        OR (b.created_at = this.created_at AND b.build_id < this.build_id)))
            ORDER BY b.created_at DESC, b.build_id DESC LIMIT ?
        ),
        labels AS ({_LABELS})
        SELECT CASE WHEN s.kind = 'all'  -- a build id starts with its UTC time
                    THEN strftime(strptime(left(l.build_id, 15), '%Y%m%dT%H%M%S'),
                                  '%Y-%m-%d %H:%M:%S')
                    ELSE l.window_to END AS step,
               l.build_id, l.event,
               l.parent_topic_id, p.label AS parent_label,
               l.child_topic_id, c.label AS child_label,
               l.similarity
        FROM topic_lineage l
        JOIN scope s ON s.build_id = l.build_id
        LEFT JOIN labels p ON p.topic_id = l.parent_topic_id
        LEFT JOIN labels c ON c.topic_id = l.child_topic_id
        ORDER BY s.created_at, l.build_id, l.window_to, l.event,
                 l.parent_topic_id NULLS FIRST, l.child_topic_id NULLS FIRST
        """,
        [build_id, max_builds],
    ).df()


def map_sample(con: Connection, build_id: str, limit: int = 5_000) -> MapSample:
    """At most ``limit`` stories of a build with their vectors, for a 2-D map.

    The sample is deterministic: the stories whose ``md5(article_id)`` sorts first, so
    the same build always gives the same points, and a topic's share of the sample is
    its share of the build, give or take chance.
    """
    (total,) = con.execute(
        "SELECT count(*) FROM article_topics WHERE build_id = ?", [build_id]
    ).fetchall()[0]
    # Straight to Arrow: the vectors come out as one flat float column, not Python lists.
    table = con.sql(
        """
        WITH picked AS (
            SELECT article_id, topic_id FROM article_topics WHERE build_id = ?
            ORDER BY md5(article_id), article_id LIMIT ?
        ),
        labels AS (  -- as topic_rows labels a topic: from its latest window
            SELECT topic_id, arg_max(label, time_window) AS label
            FROM topics WHERE build_id = ? GROUP BY topic_id
        )
        SELECT p.article_id, p.topic_id, coalesce(lb.label, p.topic_id) AS topic_label,
               a.title, s.name AS source, a.published_at, e.vector
        FROM picked p
        JOIN topic_builds b ON b.build_id = ?
        JOIN embeddings e ON e.article_id = p.article_id AND e.model = b.model
        JOIN articles a ON a.article_id = p.article_id
        LEFT JOIN sources s ON s.source_id = a.source_id
        LEFT JOIN labels lb ON lb.topic_id = p.topic_id
        ORDER BY p.article_id
        """,
        params=[build_id, limit, build_id, build_id],
    ).to_arrow_table()
    points = table.drop_columns(["vector"]).to_pandas()
    return MapSample(points, vector_matrix(table.column("vector")), int(total))
