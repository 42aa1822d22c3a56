"""Scoring articles against tracked themes: trained classifiers, else similarity.

A theme with a trained classifier for the current model (``newsintel themes train``,
see ``classifier.py``) is scored by it: a probability from the article's embedding and
the number of the theme's keywords it contains, with the classifier's calibrated
threshold. A theme without one falls back to its prototype texts (description and
positive examples): the score is the article's highest cosine similarity to any of
them, since themes are multi-faceted (world models span JEPA, Genie and robot video
prediction) and one averaged centroid blurs such facets together. Either way an
article is a member when its score reaches the threshold and no exclusion phrase
occurs in it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from newsintel.embed import Embedder
from newsintel.models import ThemeDefinition
from newsintel.themes.matching import PhraseMatcher, matched_keyword_counts, phrase_pattern

if TYPE_CHECKING:
    import pyarrow as pa

    from newsintel.themes.classifier import ThemeClassifier

__all__ = [
    "PhraseMatcher",
    "ThemeScorer",
    "build_scorer",
    "phrase_pattern",
    "prototype_texts",
]

# Part of every fingerprint: raise it when a change to this module or to matching.py
# changes scores or membership, so stored scores are recomputed rather than kept.
SCORING_VERSION = 1

# Rows converted to float64 at a time for the classifiers: small enough for the copy to
# stay in cache, large enough for BLAS (a multiple of 8 rows, as its kernels block rows).
_CLASSIFIER_ROWS = 4096


def prototype_texts(theme: ThemeDefinition) -> list[str]:
    """The texts that stand for a theme: its description, then its examples."""
    return [theme.description, *theme.examples]


@dataclass(frozen=True)
class ThemeScorer:
    """Everything needed to score article vectors against every theme.

    A theme with a trained classifier for the embedding model is scored by the
    classifier's probability; any other theme by its best prototype similarity.
    """

    themes: tuple[ThemeDefinition, ...]
    prototypes: np.ndarray  # (prototypes x dim), unit vectors
    owner: np.ndarray  # theme index of each prototype row
    model: str = ""
    classifiers: Mapping[str, ThemeClassifier] = field(default_factory=dict)

    @property
    def theme_ids(self) -> list[str]:
        return [t.theme_id for t in self.themes]

    def method(self, theme_id: str) -> str:
        """How a theme is scored: ``classifier:<model>`` or ``embedding:<model>``."""
        kind = "classifier" if theme_id in self.classifiers else "embedding"
        return f"{kind}:{self.model}"

    @property
    def fingerprint(self) -> str:
        """A digest of everything a stored score depends on besides the article.

        The model, each theme as scoring reads it (id, prototype texts, keywords,
        exclusions, threshold; not its label or backfill queries), each classifier's
        weights and threshold, and SCORING_VERSION. Scores stored under the same
        fingerprint would be computed again the same, so they can be kept.
        """
        described = {
            "version": SCORING_VERSION,
            "model": self.model,
            "themes": [
                {
                    "id": t.theme_id,
                    "prototypes": prototype_texts(t),
                    "keywords": list(t.keywords),
                    "exclusions": list(t.exclusions),
                    "threshold": t.threshold,
                }
                for t in self.themes
            ],
            "classifiers": {
                theme_id: {
                    "model": c.model,
                    "weights": list(c.weights),
                    "bias": c.bias,
                    "threshold": c.threshold,
                }
                for theme_id, c in sorted(self.classifiers.items())
            },
        }
        text = json.dumps(described, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def thresholds(self) -> np.ndarray:
        """The membership threshold of each theme, in theme order."""
        return np.array(
            [
                self.classifiers[t.theme_id].threshold
                if t.theme_id in self.classifiers
                else t.threshold
                for t in self.themes
            ],
            dtype=np.float32,
        )

    def similarities(self, vectors: np.ndarray) -> np.ndarray:
        """(articles x themes) matrix of the best cosine similarity to each theme."""
        sims = np.asarray(vectors, dtype=np.float32) @ self.prototypes.T
        out = np.full((sims.shape[0], len(self.themes)), -1.0, dtype=np.float32)
        for index in range(len(self.themes)):
            cols = self.owner == index
            out[:, index] = sims[:, cols].max(axis=1)
        return out

    def phrases(self) -> list[str]:
        """Every phrase that scoring and membership match: keywords, then exclusions."""
        keywords = [k for t in self.themes if t.theme_id in self.classifiers for k in t.keywords]
        return keywords + [p for t in self.themes for p in t.exclusions]

    def phrase_matcher(self, texts: Sequence[str] | pa.Array) -> PhraseMatcher:
        """A PhraseMatcher over ``texts`` with every phrase of :meth:`phrases` matched.

        Pass it to :meth:`scores` and :meth:`members` so that the texts are read once.
        """
        matcher = PhraseMatcher(texts)
        matcher.prefetch(self.phrases())
        return matcher

    def scores(
        self,
        vectors: np.ndarray,
        texts: Sequence[str] | None = None,
        *,
        matcher: PhraseMatcher | None = None,
    ) -> np.ndarray:
        """(articles x themes) membership scores: probability or cosine similarity.

        ``texts`` (or a ``matcher`` over them) feed the classifiers' keyword feature;
        without them classifiers see no keyword hits.
        """
        n = len(vectors)
        if any(t.theme_id not in self.classifiers for t in self.themes):
            out = self.similarities(vectors)
        else:
            out = np.empty((n, len(self.themes)), dtype=np.float32)
        if not self.classifiers:
            return out
        if matcher is None and texts is not None:
            matcher = self.phrase_matcher(texts)
        columns = [
            (
                index,
                self.classifiers[t.theme_id],
                matched_keyword_counts(t, matcher) if matcher is not None else np.zeros(n),
            )
            for index, t in enumerate(self.themes)
            if t.theme_id in self.classifiers
        ]
        # The classifiers work in float64: convert a block of rows at a time into one
        # reused buffer rather than the whole batch (a copy that cost more than the
        # arithmetic at a million articles).
        wide = np.empty((min(n, _CLASSIFIER_ROWS), vectors.shape[1]), dtype=np.float64)
        for start in range(0, n, _CLASSIFIER_ROWS):
            stop = min(n, start + _CLASSIFIER_ROWS)
            block = wide[: stop - start]
            np.copyto(block, vectors[start:stop])
            for index, classifier, counts in columns:
                out[start:stop, index] = classifier.probabilities(block, counts[start:stop])
        return out

    def members(
        self,
        scores: np.ndarray,
        texts: Sequence[str] | None = None,
        *,
        matcher: PhraseMatcher | None = None,
    ) -> np.ndarray:
        """Boolean (articles x themes): score at or above threshold and no exclusion hit."""
        member = scores >= self.thresholds
        if not any(t.exclusions for t in self.themes):
            return member
        if matcher is None:
            if texts is None:
                raise ValueError("members needs the texts (or a matcher over them)")
            matcher = self.phrase_matcher(texts)
        for index, theme in enumerate(self.themes):
            for phrase in theme.exclusions:
                member[:, index] &= ~matcher.hits(phrase)
        return member


def build_scorer(
    themes: Sequence[ThemeDefinition],
    embedder: Embedder,
    classifiers: Mapping[str, ThemeClassifier] | None = None,
) -> ThemeScorer:
    """Embed every theme's prototype texts once; use classifiers where given."""
    texts: list[str] = []
    owner: list[int] = []
    for index, theme in enumerate(themes):
        for text in prototype_texts(theme):
            texts.append(text)
            owner.append(index)
    vectors = embedder.encode(texts)
    known = {t.theme_id for t in themes}
    return ThemeScorer(
        tuple(themes),
        vectors,
        np.array(owner),
        embedder.model_name,
        {k: v for k, v in (classifiers or {}).items() if k in known},
    )
