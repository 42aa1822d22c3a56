"""Topic quality on a real corpus: newsintel's topics against BERTopic's, same embeddings.

``python -m benchmarks.eval_topics [--bertopic-runs 2] [--no-bertopic]``

The corpus is the AG News test set (../shared/data/eval/ag_news_test.csv: 7,600
items, four classes). Title and description are embedded once with the bundled
all-MiniLM-L6-v2 (cached in /tmp), then both methods cluster the same vectors and
neither is told the number of classes:

- newsintel: :func:`newsintel.topics.build.build_topics` (seed 0), labels included;
- BERTopic with its defaults: ``BERTopic().fit_transform(docs, embeddings)`` (UMAP +
  HDBSCAN + c-TF-IDF; its outliers, topic -1, count as one more cluster, as usual).

Figures: NMI and ARI against the four classes, topics found, outlier share, topic
coherence (mean NPMI over the pairs of each topic's top 10 words, from document
co-occurrence in this corpus, tokens as sklearn's CountVectorizer makes them), topic
diversity (unique share of all top-10 words) and clustering time. With
``--bertopic-runs 2`` BERTopic runs twice and the ARI between its two runs shows how
much its topics move between runs (newsintel is run twice as well and must agree
exactly). BERTopic's defaults keep stop words in its top words, which lowers its
coherence and diversity; that is what a user of the defaults gets.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

# ../shared beside the repository, as CI lays it out.
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eval" / "ag_news_test.csv"
CLASSES = DATA.parent / "ag_news_classes.txt"
CACHE_DIR = Path("/tmp")
SEED = 0


def load_corpus(path: Path = DATA) -> tuple[list[str], np.ndarray]:
    """(texts 'title. description', class index 0..3) of the AG News CSV (no header)."""
    from newsintel.embed import article_text

    texts: list[str] = []
    labels: list[int] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if not row or not row[0].strip().isdigit():
                continue
            labels.append(int(row[0]) - 1)
            texts.append(article_text(row[1], row[2]))
    return texts, np.asarray(labels)


def embeddings_for(texts: Sequence[str], model: str | None = None) -> np.ndarray:
    """Vectors of ``texts`` with the bundled model, cached in /tmp by the texts' hash."""
    from newsintel.config import DEFAULT_MODEL
    from newsintel.embed import SentenceTransformerEmbedder

    model = model or DEFAULT_MODEL
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    cache = CACHE_DIR / f"newsintel-eval-topics-{model}-{digest}.npy"
    if cache.exists():
        cached: np.ndarray = np.load(cache)
        return cached
    vectors = SentenceTransformerEmbedder(model).encode(list(texts))
    np.save(cache, vectors)
    return vectors


def npmi_coherence(texts: Sequence[str], topics: Sequence[Sequence[str]]) -> float:
    """Mean over topics of the mean NPMI of their word pairs (document co-occurrence)."""
    from sklearn.feature_extraction.text import CountVectorizer

    words = sorted({w for t in topics for w in t})
    if not words:
        return float("nan")
    vectorizer = CountVectorizer(vocabulary=words, binary=True, lowercase=True)
    x = vectorizer.transform(texts).astype(np.float64)
    n = x.shape[0]
    co = (x.T @ x).toarray() / n
    p = np.diag(co)
    index = {w: i for i, w in enumerate(words)}
    scores = []
    for topic in topics:
        ids = [index[w] for w in topic]
        pairs = []
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                pij = co[ids[a], ids[b]]
                if pij <= 0:
                    pairs.append(-1.0)
                elif pij >= 1:
                    pairs.append(1.0)
                else:
                    pmi = np.log(pij / (p[ids[a]] * p[ids[b]]))
                    pairs.append(float(pmi / -np.log(pij)))
        if pairs:
            scores.append(float(np.mean(pairs)))
    return float(np.mean(scores)) if scores else float("nan")


def diversity(topics: Sequence[Sequence[str]]) -> float:
    """Unique share of all top words (1.0: no word repeats across topics)."""
    all_words = [w for t in topics for w in t]
    return len(set(all_words)) / len(all_words) if all_words else float("nan")


def _scores(
    name: str,
    truth: np.ndarray,
    labels: np.ndarray,
    texts: Sequence[str],
    top_words: Sequence[Sequence[str]],
    seconds: float,
    outliers: float,
) -> dict[str, Any]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {
        "method": name,
        "nmi": round(float(normalized_mutual_info_score(truth, labels)), 4),
        "ari": round(float(adjusted_rand_score(truth, labels)), 4),
        "topics": len(top_words),
        "outlier_share": round(outliers, 4),
        "npmi": round(npmi_coherence(texts, top_words), 4),
        "diversity": round(diversity(top_words), 4),
        "seconds": round(seconds, 2),
    }


def run_newsintel(texts: Sequence[str], vectors: np.ndarray) -> tuple[np.ndarray, list[Any], float]:
    """(label per text, topics, seconds) from newsintel's build on the given vectors."""
    from newsintel.topics.build import Corpus, build_topics

    ids = [f"ag{i:05d}" for i in range(len(texts))]  # zero-padded: sorted = input order
    corpus = Corpus(ids, vectors, list(texts), [datetime(2024, 1, 1)] * len(texts))
    started = time.perf_counter()
    result = build_topics(corpus, window="all", seed=SEED)
    seconds = time.perf_counter() - started
    labels = np.unique(np.asarray(result.topic_ids), return_inverse=True)[1]
    return labels, list(result.topics), seconds


def run_bertopic(
    texts: Sequence[str], vectors: np.ndarray
) -> tuple[np.ndarray, list[list[str]], float]:
    """(topic per text, top-10 words per topic, seconds) from BERTopic with its defaults."""
    from bertopic import BERTopic

    started = time.perf_counter()
    model = BERTopic()
    topics, _ = model.fit_transform(list(texts), vectors)
    seconds = time.perf_counter() - started
    found = sorted({t for t in topics if t != -1})
    words = [[w for w, _s in (model.get_topic(t) or [])][:10] for t in found]
    return np.asarray(topics), words, seconds


def evaluate(*, bertopic_runs: int = 1, limit: int | None = None) -> dict[str, Any]:
    """Run both methods on the corpus; figures as a dict (also printed as Markdown)."""
    from sklearn.metrics import adjusted_rand_score

    texts, truth = load_corpus()
    if limit:
        texts, truth = texts[:limit], truth[:limit]
    vectors = embeddings_for(texts)

    labels, topics, seconds = run_newsintel(texts, vectors)
    again, _, _ = run_newsintel(texts, vectors)
    ours = _scores("newsintel", truth, labels, texts, [t.top_words for t in topics], seconds, 0.0)
    ours["identical_on_rerun"] = bool(np.array_equal(labels, again))
    results: dict[str, Any] = {"corpus": DATA.name, "n": len(texts), "newsintel": ours}
    results["newsintel_topics"] = [
        {"topic_id": t.topic_id, "size": t.size, "top_words": list(t.top_words)} for t in topics
    ]
    if bertopic_runs:
        runs = [run_bertopic(texts, vectors) for _ in range(bertopic_runs)]
        b_labels, b_words, b_seconds = runs[0]
        theirs = _scores(
            "BERTopic (defaults)", truth, b_labels, texts, b_words, b_seconds,
            float(np.mean(b_labels == -1)),
        )  # fmt: skip
        if len(runs) > 1:
            theirs["ari_between_runs"] = round(float(adjusted_rand_score(b_labels, runs[1][0])), 4)
        results["bertopic"] = theirs
        results["time_ratio"] = round(ours["seconds"] / max(theirs["seconds"], 1e-9), 3)
    print(markdown(results))
    return results


def markdown(results: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    columns = ("method", "nmi", "ari", "topics", "outlier_share", "npmi", "diversity", "seconds")
    rows = [results["newsintel"]] + ([results["bertopic"]] if "bertopic" in results else [])
    lines = [
        f"Topics on {results['corpus']} ({results['n']} items, 4 classes; not given to either)",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
    extra = [f"newsintel identical on re-run: {results['newsintel']['identical_on_rerun']}"]
    if "bertopic" in results and "ari_between_runs" in results["bertopic"]:
        extra.append(f"BERTopic ARI between two runs: {results['bertopic']['ari_between_runs']}")
    if "time_ratio" in results:
        extra.append(f"newsintel time / BERTopic time: {results['time_ratio']}")
    return "\n".join([*lines, "", *extra])


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the evaluation and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval_topics", description=__doc__)
    parser.add_argument("--bertopic-runs", type=int, default=1, help="BERTopic runs (0: none)")
    parser.add_argument("--no-bertopic", action="store_true", help="skip BERTopic")
    parser.add_argument("--limit", type=int, help="only the first N items (quick look)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    evaluate(bertopic_runs=0 if args.no_bertopic else args.bertopic_runs, limit=args.limit)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
