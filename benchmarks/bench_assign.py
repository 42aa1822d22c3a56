"""Theme assignment benchmark: ``jobs.assign_themes`` over a million stored embeddings.

A fresh DuckDB file gets ``n`` articles (the sample feeds' titles and descriptions,
cycled, so the keyword and exclusion matching sees realistic text) and one random unit
vector (384-d float32, seeded) per article, written through Arrow in batches. The
assignment is then timed end to end: loading vectors and texts, the bundled
classifiers (with their keyword feature) and prototype similarity, exclusions, and
writing ``n x themes`` rows to ``article_themes``.

The embedder is a stub named like the bundled model, so the bundled classifiers
apply; it encodes only the themes' prototype texts, as seeded random unit vectors.
The real model would add its load time (seconds) and nothing that grows with ``n``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from benchmarks.record import BenchResult, Figure, check, peak_rss_mb

N = 1_000_000
DIM = 384
SECONDS_TARGET = 30.0
WRITE_BATCH = 100_000


class PrototypeStub:
    """An Embedder for prototypes only: seeded random unit vectors, the bundled name."""

    def __init__(self, model_name: str, dimension: int = DIM, seed: int = 0) -> None:
        self._name, self._dim, self._rng = model_name, dimension, np.random.default_rng(seed)

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return unit_vectors(self._rng, len(texts), self._dim)


def unit_vectors(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    """``n`` random unit vectors, float32."""
    matrix = rng.standard_normal((n, dim), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix


def fill(db: str, n: int, model: str, seed: int = 0) -> None:
    """Store ``n`` articles with one random vector each, in batches through Arrow."""
    import pyarrow as pa

    from benchmarks.bench_embed import sample_pairs
    from newsintel.store import migrate, open_db
    from newsintel.store.feeds import upsert_source

    pairs = sample_pairs()
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1)
    with open_db(db) as con:
        migrate(con)
        upsert_source(con, "bench-assign", "Benchmark articles", "bench://assign")
        for begin in range(0, n, WRITE_BATCH):
            k = np.arange(begin, min(n, begin + WRITE_BATCH))
            ids = [f"a{i:07d}" for i in k]
            chosen = [pairs[i % len(pairs)] for i in k]
            articles = pa.table(
                {
                    "article_id": ids,
                    "title": [f"{title} #{i}" for (title, _), i in zip(chosen, k, strict=True)],
                    "text": [text for _, text in chosen],
                    "published_at": [start + timedelta(minutes=int(i)) for i in k],
                }
            )
            matrix = unit_vectors(rng, len(k))
            vectors = pa.table(
                {
                    "article_id": ids,
                    "vector": pa.FixedSizeListArray.from_arrays(
                        pa.array(matrix.reshape(-1)), DIM
                    ).cast(pa.list_(pa.float32())),
                }
            )
            con.register("bench_articles", articles)
            con.register("bench_vectors", vectors)
            con.execute(
                "INSERT INTO articles (article_id, source_id, story_id, title, text, "
                "published_at, fetched_at, content_hash) SELECT article_id, 'bench-assign', "
                "article_id, title, text, published_at, published_at, article_id "
                "FROM bench_articles"
            )
            con.execute(
                "INSERT INTO embeddings (article_id, model, dim, vector) "
                "SELECT article_id, ?, ?, vector FROM bench_vectors",
                [model, DIM],
            )
            con.unregister("bench_articles")
            con.unregister("bench_vectors")


def run(n: int = N) -> BenchResult:
    """Fill a fresh database with ``n`` vectors, then time one ``assign_themes``."""
    from newsintel.config import DEFAULT_MODEL, load_settings
    from newsintel.jobs import assign_themes
    from newsintel.store import open_db

    with tempfile.TemporaryDirectory(prefix="newsintel-bench-") as tmp:
        settings = load_settings(env={}, config_file=None, db=str(Path(tmp) / "assign.duckdb"))
        started = time.perf_counter()
        fill(settings.db, n, DEFAULT_MODEL)
        fill_s = time.perf_counter() - started
        rss_before = peak_rss_mb()

        load_before = os.getloadavg()[0]
        cpu_started = time.process_time()
        started = time.perf_counter()
        report = assign_themes(settings, embedder=PrototypeStub(DEFAULT_MODEL))
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        load_after = os.getloadavg()[0]
        rss_peak = peak_rss_mb()

        with open_db(settings.db, read_only=True) as con:
            row = con.execute("SELECT count(*) FROM article_themes").fetchone()
        rows = int(row[0]) if row else 0

    at_size = n == N
    themes = len(report.members)
    figures = (
        check("assign_themes time", seconds, "s", f"< {SECONDS_TARGET:g} s at 1M",
              seconds < SECONDS_TARGET, at_target_size=at_size),
        Figure("  articles per second", n / seconds if seconds else 0.0, "/s"),
        Figure("  CPU time, all threads", cpu_seconds, "s"),
        Figure("process peak RSS", rss_peak, "MB"),
        Figure("  peak RSS before assigning", rss_before, "MB"),
        Figure("article_themes rows written", rows, f"of {n * themes:,}", "all",
               rows == n * themes),
        Figure("memberships", sum(report.members.values()), ""),
        Figure("fill time (not timed)", fill_s, "s"),
    )  # fmt: skip
    notes = (
        f"{n:,} random unit vectors ({DIM}-d float32, seeded) and sample-text articles "
        f"in a fresh DuckDB file; {themes} themes, method(s): {report.method}",
        "embedder: a stub named like the bundled model (so the bundled classifiers "
        "apply) that encodes only the prototype texts, as seeded random unit vectors",
        "peak RSS is the process's high-water mark (VmHWM), filling included",
        f"1-minute load average {load_before:.2f} before assigning, {load_after:.2f} after",
    )
    return BenchResult("assign", {"n": n, "dim": DIM}, figures, notes)


if __name__ == "__main__":  # pragma: no cover
    import sys

    from benchmarks.record import table

    print(table([run(int(sys.argv[1]) if len(sys.argv) > 1 else N)]))
