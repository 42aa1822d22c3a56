"""Embedding vectors: which articles lack one, and moving vectors in and out.

Vectors cross the boundary as numpy float32 matrices through Arrow, never as Python
lists, so a million rows move without a per-row Python loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa

from newsintel.store.connect import Connection, transaction


def ids_missing_embedding(con: Connection, model: str) -> list[str]:
    """Ids of stories with no vector for ``model``, oldest first (issues are not embedded)."""
    rows = con.execute(
        """
        SELECT a.article_id FROM articles a
        WHERE NOT a.is_issue AND NOT EXISTS (
            SELECT 1 FROM embeddings e WHERE e.article_id = a.article_id AND e.model = ?)
        ORDER BY a.published_at, a.article_id
        """,
        [model],
    ).fetchall()
    return [row[0] for row in rows]


def texts_for(con: Connection, article_ids: Sequence[str]) -> list[tuple[str, str, str]]:
    """(article_id, title, text) for the given ids, in the given order."""
    rows = con.execute(
        "SELECT article_id, title, text FROM articles WHERE article_id IN (SELECT unnest(?))",
        [list(article_ids)],
    ).fetchall()
    by_id = {row[0]: (row[0], row[1], row[2]) for row in rows}
    return [by_id[i] for i in article_ids if i in by_id]


def save_embeddings(
    con: Connection, model: str, article_ids: Sequence[str], vectors: np.ndarray
) -> int:
    """Store one vector per article for ``model``; existing (article, model) rows are kept."""
    if len(article_ids) != len(vectors):
        raise ValueError("one vector per article id is required")
    if not len(article_ids):
        return 0
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = matrix.shape[1]
    flat = pa.array(matrix.reshape(-1), type=pa.float32())
    table = pa.table(
        {
            "article_id": pa.array(list(article_ids), type=pa.string()),
            "vector": pa.ListArray.from_arrays(
                pa.array(np.arange(0, len(matrix) * dim + 1, dim, dtype=np.int32)), flat
            ),
        }
    )
    with transaction(con):
        con.register("incoming_vectors", table)
        con.execute(
            """
            INSERT INTO embeddings (article_id, model, dim, vector)
            SELECT i.article_id, ?, ?, i.vector FROM incoming_vectors i
            WHERE NOT EXISTS (SELECT 1 FROM embeddings e
                              WHERE e.article_id = i.article_id AND e.model = ?)
            """,
            [model, dim, model],
        )
        con.unregister("incoming_vectors")
    return len(article_ids)


def _to_matrix(table: pa.Table) -> tuple[list[str], np.ndarray]:
    ids = table.column("article_id").to_pylist()
    if not ids:
        return [], np.zeros((0, 0), dtype=np.float32)
    vectors = table.column("vector").combine_chunks()
    flat = vectors.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return ids, flat.reshape(len(ids), -1)


def load_embeddings(
    con: Connection, model: str, article_ids: Sequence[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """(ids, float32 matrix) of stored vectors for ``model``, optionally only some ids."""
    # con.sql(...).to_arrow_table() streams columns straight to Arrow; execute() would
    # materialise Python rows first and copy them again.
    if article_ids is None:
        relation = con.sql(
            "SELECT article_id, vector FROM embeddings WHERE model = ? ORDER BY article_id",
            params=[model],
        )
    else:
        relation = con.sql(
            "SELECT article_id, vector FROM embeddings WHERE model = ? "
            "AND article_id IN (SELECT unnest(?)) ORDER BY article_id",
            params=[model, list(article_ids)],
        )
    return _to_matrix(relation.to_arrow_table())


def iter_embeddings(
    con: Connection, model: str, batch_size: int = 50_000
) -> Iterator[tuple[list[str], np.ndarray]]:
    """Stream (ids, matrix) batches of every vector for ``model``, in id order."""
    ids = [
        row[0]
        for row in con.execute(
            "SELECT article_id FROM embeddings WHERE model = ? ORDER BY article_id", [model]
        ).fetchall()
    ]
    for start in range(0, len(ids), batch_size):
        yield load_embeddings(con, model, ids[start : start + batch_size])


def embedding_count(con: Connection, model: str | None = None) -> int:
    """Number of stored vectors, for one model or all."""
    if model is None:
        row = con.execute("SELECT count(*) FROM embeddings").fetchone()
    else:
        row = con.execute("SELECT count(*) FROM embeddings WHERE model = ?", [model]).fetchone()
    return int(row[0]) if row else 0
