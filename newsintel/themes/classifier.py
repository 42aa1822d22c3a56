"""Trained theme classifiers: logistic regression on embeddings plus keyword evidence.

Similarity to a few prototypes is a good start but confuses neighbours (robotics news
that is not about world models, rare earths that are not lithium). With labelled
articles, a per-theme logistic regression on the embedding, plus one feature counting
the theme's keywords as whole words, separates them much better (see BENCHMARKS.md).
The theme's own description and examples join the positives, so a theme with few
labelled articles still knows what it means.

Classifiers are tied to the embedding model they were trained on; they are saved as
plain JSON (weights, bias, model name, training counts) so that they can be shipped,
reviewed and reproduced.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from newsintel.config import base_model_name
from newsintel.embed import article_text
from newsintel.errors import ThemeError
from newsintel.models import ThemeDefinition
from newsintel.themes.matching import keyword_counts

# A keyword hit is worth this much of one embedding dimension's scale, and at most
# KEYWORD_CAP hits count: enough to tip borderline cases, not to override meaning.
KEYWORD_SCALE = 0.5
KEYWORD_CAP = 2
REGULARISATION_C = 2.0
DECISION_THRESHOLD = 0.5


@dataclass(frozen=True)
class LabelledText:
    """One labelled article: its text and the themes it belongs to."""

    text: str
    themes: frozenset[str]


@dataclass(frozen=True)
class ThemeClassifier:
    """Logistic regression weights for one theme on one embedding model."""

    theme_id: str
    model: str
    weights: tuple[float, ...]  # embedding dimensions, then the keyword feature
    bias: float
    threshold: float
    positives: int
    negatives: int

    def probabilities(self, vectors: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """P(member) for each article from its unit vector and keyword hit count."""
        # The same as _features(vectors, counts) @ weights, without copying the vectors
        # into a wider matrix (that copy dominated theme assignment at 1M articles).
        weights = np.asarray(self.weights, dtype=np.float64)
        keyword = np.minimum(counts, KEYWORD_CAP) * KEYWORD_SCALE
        dense = np.asarray(vectors, dtype=np.float64) @ weights[:-1]
        logits = dense + keyword * weights[-1] + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float64)


def _features(vectors: np.ndarray, counts: np.ndarray) -> np.ndarray:
    keyword = np.minimum(counts, KEYWORD_CAP) * KEYWORD_SCALE
    return np.hstack([np.asarray(vectors, dtype=np.float64), keyword[:, None]])


def train_classifier(
    theme: ThemeDefinition,
    model: str,
    vectors: np.ndarray,
    texts: Sequence[str],
    labels: np.ndarray,
    prototype_vectors: np.ndarray,
    prototype_texts: Sequence[str],
) -> ThemeClassifier:
    """Fit one theme's classifier on labelled articles plus the theme's prototypes.

    ``labels`` marks the articles that belong to the theme.
    """
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(labels, dtype=bool)
    if labels.sum() == 0 or labels.all():
        raise ThemeError(
            f"theme '{theme.theme_id}' needs both positive and negative labelled articles"
        )
    features = np.vstack(
        [
            _features(vectors, keyword_counts(theme, texts)),
            _features(prototype_vectors, keyword_counts(theme, prototype_texts)),
        ]
    )
    target = np.concatenate([labels, np.ones(len(prototype_vectors), dtype=bool)])
    # lbfgs has no random component: the same input gives the same weights.
    fitted = LogisticRegression(C=REGULARISATION_C, class_weight="balanced", max_iter=5000).fit(
        features, target
    )
    return ThemeClassifier(
        theme_id=theme.theme_id,
        model=model,
        weights=tuple(float(w) for w in fitted.coef_[0]),
        bias=float(fitted.intercept_[0]),
        threshold=DECISION_THRESHOLD,
        positives=int(target.sum()),
        negatives=int((~target).sum()),
    )


def save_classifiers(path: Path, classifiers: Sequence[ThemeClassifier], source: str) -> None:
    """Write classifiers as JSON, with where their training data came from."""
    payload = {
        "trained_on": source,
        "classifiers": [
            {**asdict(c), "weights": [round(w, 7) for w in c.weights]} for c in classifiers
        ],
    }
    try:
        path.write_text(json.dumps(payload, indent=1) + "\n", "utf-8")
    except OSError as exc:
        raise ThemeError(f"cannot write theme classifiers to {path}: {exc.strerror}") from None


def load_classifiers(path: Path, model: str) -> dict[str, ThemeClassifier]:
    """Classifiers for ``model`` by theme id; empty when the file is missing.

    Vectors of an ONNX backend (``model+onnx``, ``model+onnx-int8``) approximate the
    model's own (mean cosine >= 0.99), so without classifiers trained on them the
    model's classifiers apply: theme members stay the same for nearly every article.
    """
    if not path.exists():
        return {}
    try:
        payload = json.loads(path.read_text("utf-8"))
        entries = payload["classifiers"]
        found = [
            ThemeClassifier(
                theme_id=e["theme_id"],
                model=e["model"],
                weights=tuple(e["weights"]),
                bias=float(e["bias"]),
                threshold=float(e["threshold"]),
                positives=int(e["positives"]),
                negatives=int(e["negatives"]),
            )
            for e in entries
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ThemeError(f"theme classifiers file {path} is invalid: {exc}") from None
    exact = {c.theme_id: c for c in found if c.model == model}
    base = base_model_name(model)
    if exact or base == model:
        return exact
    return {c.theme_id: c for c in found if c.model == base}


def read_labelled(path: Path, split: str | None = None) -> list[LabelledText]:
    """Labelled articles from JSON lines with title, text, themes (and optional split)."""
    items: list[LabelledText] = []
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as exc:
        raise ThemeError(f"cannot read labelled file {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            title, text, themes = record["title"], record["text"], record["themes"]
        except (ValueError, KeyError, TypeError):
            raise ThemeError(
                f"{path}:{number}: each line must be JSON with title, text and themes"
            ) from None
        if split is not None and record.get("split", split) != split:
            continue
        items.append(LabelledText(article_text(title, text), frozenset(themes)))
    if not items:
        where = f" for split {split}" if split else ""
        raise ThemeError(f"no labelled articles in {path}{where}")
    return items
