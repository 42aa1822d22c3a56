"""Theme scores in the store: replacing an article's scores, and streaming vectors with texts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from factories import stored_article

from newsintel.errors import StoreError
from newsintel.models import SourceUpdate
from newsintel.store import connect, migrate
from newsintel.store.embeddings import iter_article_vectors, save_embeddings
from newsintel.store.feeds import save_feed_result, upsert_source
from newsintel.store.themes import has_theme_scores, save_theme_scores

THEMES = ["lithium", "robots"]
METHODS = ["embedding:m", "embedding:m"]


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(str(tmp_path / "store.duckdb"))
    migrate(connection)
    yield connection
    connection.close()


def rows(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute(
        "SELECT article_id, theme_id, method, score, is_member, assigned_at < '2001-01-01' "
        "FROM article_themes ORDER BY ALL"
    ).fetchall()


def test_scores_replace_changed_and_stale_rows_and_keep_unchanged_ones(con) -> None:  # type: ignore[no-untyped-def]
    assert not has_theme_scores(con)
    scores = np.array([[0.75, 0.25], [0.125, 0.5]], dtype=np.float32)
    assert save_theme_scores(con, ["a1", "a2"], THEMES, METHODS, scores, scores > 0.4) == 4
    assert has_theme_scores(con)
    # A row of a method no longer used, a row of another article; every row marked old.
    con.execute(
        "INSERT INTO article_themes (article_id, theme_id, method, score, is_member) "
        "VALUES ('a1', 'lithium', 'embedding:old', 0.5, true), ('a3', 'robots', 'x', 0.1, false)"
    )
    con.execute("UPDATE article_themes SET assigned_at = '2000-01-01'")
    changed = np.array([[0.75, 0.375], [0.125, 0.5]], dtype=np.float32)
    save_theme_scores(con, pa.array(["a1", "a2"]), THEMES, METHODS, changed, changed > 0.4)
    assert rows(con) == [
        ("a1", "lithium", "embedding:m", 0.75, True, True),  # unchanged: kept as it was
        ("a1", "robots", "embedding:m", 0.375, False, False),  # changed: written anew
        ("a2", "lithium", "embedding:m", 0.125, False, True),
        ("a2", "robots", "embedding:m", 0.5, True, True),
        ("a3", "robots", "x", 0.1, False, True),  # not re-scored: untouched
    ]


def test_first_scores_are_appended_and_duplicates_refused(con) -> None:  # type: ignore[no-untyped-def]
    scores = np.array([[0.75, 0.25]], dtype=np.float32)
    save_theme_scores(con, ["a1"], THEMES, METHODS, scores, scores > 0.5, replace=False)
    assert len(rows(con)) == 2
    with pytest.raises(duckdb.ConstraintException):
        save_theme_scores(con, ["a1"], THEMES, METHODS, scores, scores > 0.5, replace=False)
    assert len(rows(con)) == 2  # the failed batch left nothing behind
    with pytest.raises(ValueError, match="articles x themes"):
        save_theme_scores(con, ["a1", "a2"], THEMES, METHODS, scores, scores > 0.5)
    with pytest.raises(ValueError, match="one method per theme"):
        save_theme_scores(con, ["a1"], THEMES, METHODS[:1], scores, scores > 0.5)


def test_iter_article_vectors_streams_every_vector_with_its_text(con) -> None:  # type: ignore[no-untyped-def]
    upsert_source(con, "wire", "Wire", "https://wire.example/feed")
    when = datetime(2026, 1, 5)
    articles = [
        stored_article(
            f"a{i}",
            source_id="wire",
            url=None,
            title=f"Title {i}",
            text=f"Body {i} ünïcode",
            published_at=when,
        )
        for i in range(7)
    ]
    save_feed_result(con, SourceUpdate("wire", "ok", when, 200), articles)
    vectors = np.arange(7 * 3, dtype=np.float32).reshape(7, 3)
    save_embeddings(con, "m", [a.article_id for a in articles], vectors)
    save_embeddings(con, "m", ["orphan"], np.ones((1, 3), dtype=np.float32))  # no article
    save_embeddings(con, "other", ["a1"], np.ones((1, 5), dtype=np.float32))

    batches = list(iter_article_vectors(con, "m", batch_size=3))
    assert all(len(b) <= 3 for b in batches)
    ids = [i for b in batches for i in b.ids.to_pylist()]
    assert sorted(ids) == [f"a{i}" for i in range(7)]
    for batch in batches:
        assert batch.vectors.dtype == np.float32 and batch.vectors.shape == (len(batch), 3)
        for row, article_id in enumerate(batch.ids.to_pylist()):
            i = int(article_id[1:])
            np.testing.assert_array_equal(batch.vectors[row], vectors[i])
            assert batch.titles[row].as_py() == f"Title {i}"
            assert batch.texts[row].as_py() == f"Body {i} ünïcode"
    assert list(iter_article_vectors(con, "unknown")) == []

    save_embeddings(con, "m", ["a9"], np.ones((1, 4), dtype=np.float32))
    with pytest.raises(StoreError, match="different dimensions"):
        list(iter_article_vectors(con, "m"))
