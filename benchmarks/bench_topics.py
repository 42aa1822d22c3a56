"""Topics benchmark: cluster and label 100,000 synthetic stories (embeddings given).

The vectors imitate sentence embeddings of news: 384 dimensions, unit length, 60
topics grouped in 12 broader subjects (so neighbouring topics overlap, as real ones
do), with a cosine of about 0.5 between a story and its topic centre, and topics of
uneven size. Each story's text mixes its topic's distinctive words with common words.
The timed core is :func:`newsintel.topics.build.build_topics` (clustering, choosing the
number of topics, class-based TF-IDF labels, representatives), the whole of
``newsintel topics build`` except reading and writing the database. Targets: under
60 s on 2 CPU cores and under 4 GB peak memory. Seeded: every run sees the same data.

``python -m benchmarks.bench_topics [N]`` prints the figures.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from benchmarks.record import peak_rss_mb

N = 100_000
DIM = 384
TOPICS = 60
SUBJECTS = 12
SEED = 20240601
TARGET_S = 60.0
TARGET_MB = 4096.0
_COMMON = [
    *("market", "report", "company", "week", "year", "plan", "people", "industry", "update"),
    *("deal", "growth", "price", "share", "group", "firm", "analyst", "level", "state"),
]


def synthetic_corpus(n: int = N, *, topics: int = TOPICS, seed: int = SEED) -> tuple[Any, Any]:
    """(newsintel Corpus sorted by id, planted topic of each row), seeded."""
    from newsintel.topics.build import Corpus

    rng = np.random.default_rng(seed)
    subjects = rng.normal(size=(SUBJECTS, DIM))
    subjects /= np.linalg.norm(subjects, axis=1, keepdims=True)
    own = rng.normal(size=(topics, DIM))
    own /= np.linalg.norm(own, axis=1, keepdims=True)
    centers = 0.6 * subjects[np.arange(topics) % SUBJECTS] + 0.8 * own
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    weights = rng.pareto(1.5, size=topics) + 1.0
    truth = rng.choice(topics, size=n, p=weights / weights.sum())
    vectors = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 20_000):  # in blocks: float64 noise for all rows is 300 MB
        rows = slice(start, min(n, start + 20_000))
        noise = rng.normal(size=(rows.stop - rows.start, DIM)) * (1.7 / np.sqrt(DIM))
        block = centers[truth[rows]] + noise
        vectors[rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
    vocab = [[f"w{t}x{j}" for j in range(8)] for t in range(topics)]
    texts = []
    for t in truth:
        distinctive = rng.choice(vocab[t], size=6)
        common = rng.choice(_COMMON, size=14)
        texts.append(" ".join([*distinctive, *common]))
    ids = [f"a{i:07d}" for i in range(n)]
    start_day = datetime(2024, 1, 1)
    published = [start_day + timedelta(days=int(d)) for d in rng.integers(0, 730, size=n)]
    return Corpus(ids, vectors, texts, published), truth


def run(n: int = N, *, seed: int = SEED, topics: int = TOPICS) -> dict[str, Any]:
    """Time the clustering + labelling core on ``n`` synthetic stories; figures as a dict."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from newsintel.topics.build import build_topics

    corpus, truth = synthetic_corpus(n, topics=topics, seed=seed)
    tracemalloc.start()
    started = time.perf_counter()
    result = build_topics(corpus, window="all", seed=0)
    seconds = time.perf_counter() - started
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = peak_rss_mb()
    found = np.unique(np.asarray(result.topic_ids), return_inverse=True)[1]
    at_size = n == N
    return {
        "n": n,
        "dim": DIM,
        "planted_topics": topics,
        "topics_found": len(result.topics),
        "seconds": round(seconds, 2),
        "target_s": TARGET_S,
        "seconds_ok": (seconds < TARGET_S) if at_size else None,
        "traced_peak_mb": round(traced_peak / 2**20, 1),
        "process_peak_rss_mb": round(rss_mb, 1),
        "target_mb": TARGET_MB,
        "memory_ok": (rss_mb < TARGET_MB) if at_size else None,
        "outlier_share": result.outlier_share,
        "nmi": round(float(normalized_mutual_info_score(truth, found)), 4),
        "ari": round(float(adjusted_rand_score(truth, found)), 4),
        "seed": seed,
    }


if __name__ == "__main__":  # pragma: no cover
    figures = run(int(sys.argv[1]) if len(sys.argv) > 1 else N)
    for key, value in figures.items():
        print(f"{key:>22}: {value}")
