"""Scoring articles against tracked themes by embedding similarity.

Each theme is represented by several prototype texts (its description and its positive
examples). An article's score for a theme is its highest cosine similarity to any of the
theme's prototypes: themes are multi-faceted (world models span JEPA, Genie and robot
video prediction), and one averaged centroid blurs such facets together. An article is a
member when its score reaches the theme's threshold and no exclusion phrase occurs in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from newsintel.embed import Embedder
from newsintel.models import ThemeDefinition

if TYPE_CHECKING:
    from newsintel.themes.classifier import ThemeClassifier


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

    def scores(self, vectors: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """(articles x themes) membership scores: probability or cosine similarity.

        ``texts`` feed the classifiers' keyword feature; without them classifiers
        see no keyword hits.
        """
        out = self.similarities(vectors)
        for index, theme in enumerate(self.themes):
            classifier = self.classifiers.get(theme.theme_id)
            if classifier is None:
                continue
            counts = keyword_counts(theme, texts) if texts is not None else np.zeros(len(vectors))
            out[:, index] = classifier.probabilities(vectors, counts)
        return out

    def members(self, scores: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Boolean (articles x themes): score at or above threshold and no exclusion hit."""
        member = scores >= self.thresholds
        for index, theme in enumerate(self.themes):
            if not theme.exclusions:
                continue
            patterns = [phrase_pattern(phrase) for phrase in theme.exclusions]
            excluded = np.array([any(p.search(text) for p in patterns) for text in texts])
            member[:, index] &= ~excluded
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


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive match for a phrase ("EV" must not match "every")."""
    return re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)", re.IGNORECASE)


def keyword_counts(theme: ThemeDefinition, texts: Sequence[str]) -> np.ndarray:
    """How many of the theme's keywords occur (as whole words) in each text."""
    return np.array([len(keyword_hits(theme, text)) for text in texts], dtype=np.float64)


def keyword_hits(theme: ThemeDefinition, text: str) -> list[str]:
    """The theme's keywords that occur in ``text`` as whole words (case-insensitive)."""
    return [k for k in theme.keywords if phrase_pattern(k).search(text)]
