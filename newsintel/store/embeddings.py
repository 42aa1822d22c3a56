"""Embedding vectors: which articles lack one, and moving vectors in and out.

Vectors cross the boundary as numpy float32 matrices through Arrow, never as Python
lists, so a million rows move without a per-row Python loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from newsintel.errors import StoreError
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


def vector_matrix(vectors: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A column of stored vectors (FLOAT[] or FLOAT[dim]) as a float32 (rows x dim) matrix.

    Empty: a (0, 0) matrix. The values move as one flat buffer, no Python list per row.
    """
    if not len(vectors):
        return np.zeros((0, 0), dtype=np.float32)
    if isinstance(vectors, pa.ChunkedArray):
        vectors = vectors.combine_chunks()
    flat = vectors.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=np.float32).reshape(len(vectors), -1)


def _to_matrix(table: pa.Table) -> tuple[list[str], np.ndarray]:
    return table.column("article_id").to_pylist(), vector_matrix(table.column("vector"))


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


@dataclass(frozen=True)
class ArticleVectors:
    """A batch of stored vectors with the title and text of their articles."""

    ids: pa.Array  # article ids (strings)
    vectors: np.ndarray  # float32, one row per id
    titles: pa.Array
    texts: pa.Array

    def __len__(self) -> int:
        return len(self.ids)


# Articles with no stored theme score (a scored article has one row per theme).
_UNSCORED = " AND NOT EXISTS (SELECT 1 FROM article_themes t WHERE t.article_id = e.article_id)"


def iter_article_vectors(
    con: Connection, model: str, batch_size: int = 50_000, *, unscored_only: bool = False
) -> Iterator[ArticleVectors]:
    """Stream every vector of ``model`` with its article's title and text, in batches.

    One query, read as Arrow record batches: no per-batch look-ups, no Python object per
    row. Rows come in no particular order. Vectors without an article are skipped;
    ``unscored_only`` also skips articles that have theme scores. The connection must not
    run other statements until the iteration ends.
    """
    dims = con.execute("SELECT DISTINCT dim FROM embeddings WHERE model = ?", [model]).fetchall()
    if not dims:
        return
    if len(dims) > 1:
        found = ", ".join(str(d[0]) for d in sorted(dims))
        raise StoreError(f"vectors of model {model} have different dimensions ({found})")
    dim = int(dims[0][0])
    # FLOAT[dim] (a fixed-size list) reaches Arrow as one flat float buffer, twice as fast
    # as FLOAT[] with its offsets.
    relation = con.sql(
        f"SELECT e.article_id, e.vector::FLOAT[{dim}] AS vector, a.title, a.text "
        "FROM embeddings e JOIN articles a USING (article_id) WHERE e.model = ?"
        + (_UNSCORED if unscored_only else ""),
        params=[model],
    )
    try:
        for batch in relation.to_arrow_reader(batch_size):
            if not batch.num_rows:
                continue
            yield ArticleVectors(
                batch.column(0), vector_matrix(batch.column(1)), batch.column(2), batch.column(3)
            )
    except duckdb.Error as exc:
        raise StoreError(f"cannot read the vectors of model {model}: {exc}") from None


def embedding_count(
    con: Connection, model: str | None = None, *, unscored_only: bool = False
) -> int:
    """Number of stored vectors, for one model or all; ``unscored_only``: of articles
    without theme scores (what ``iter_article_vectors(..., unscored_only=True)`` yields)."""
    if model is None:
        row = con.execute("SELECT count(*) FROM embeddings").fetchone()
    elif unscored_only:
        row = con.execute(
            "SELECT count(*) FROM embeddings e JOIN articles a USING (article_id) "
            "WHERE e.model = ?" + _UNSCORED,
            [model],
        ).fetchone()
    else:
        row = con.execute("SELECT count(*) FROM embeddings WHERE model = ?", [model]).fetchone()
    return int(row[0]) if row else 0
