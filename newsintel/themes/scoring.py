"""Scoring articles against tracked themes by embedding similarity.

Each theme is represented by several prototype texts (its description and its positive
examples). An article's score for a theme is its highest cosine similarity to any of the
theme's prototypes: themes are multi-faceted (world models span JEPA, Genie and robot
video prediction), and one averaged centroid blurs such facets together. An article is a
member when its score reaches the theme's threshold and no exclusion phrase occurs in it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newsintel.embed import Embedder
from newsintel.models import ThemeDefinition


def prototype_texts(theme: ThemeDefinition) -> list[str]:
    """The texts that stand for a theme: its description, then its examples."""
    return [theme.description, *theme.examples]


@dataclass(frozen=True)
class ThemeScorer:
    """Prototype vectors of every theme, ready to score article vectors."""

    themes: tuple[ThemeDefinition, ...]
    prototypes: np.ndarray  # (prototypes x dim), unit vectors
    owner: np.ndarray  # theme index of each prototype row

    @property
    def theme_ids(self) -> list[str]:
        return [t.theme_id for t in self.themes]

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """(articles x themes) matrix of the best cosine similarity to each theme."""
        sims = np.asarray(vectors, dtype=np.float32) @ self.prototypes.T
        out = np.full((sims.shape[0], len(self.themes)), -1.0, dtype=np.float32)
        for index in range(len(self.themes)):
            cols = self.owner == index
            out[:, index] = sims[:, cols].max(axis=1)
        return out

    def members(self, scores: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Boolean (articles x themes): score at or above threshold and no exclusion hit."""
        thresholds = np.array([t.threshold for t in self.themes], dtype=np.float32)
        member = scores >= thresholds
        for index, theme in enumerate(self.themes):
            if not theme.exclusions:
                continue
            patterns = [phrase_pattern(phrase) for phrase in theme.exclusions]
            excluded = np.array([any(p.search(text) for p in patterns) for text in texts])
            member[:, index] &= ~excluded
        return member


def build_scorer(themes: Sequence[ThemeDefinition], embedder: Embedder) -> ThemeScorer:
    """Embed every theme's prototype texts once."""
    texts: list[str] = []
    owner: list[int] = []
    for index, theme in enumerate(themes):
        for text in prototype_texts(theme):
            texts.append(text)
            owner.append(index)
    vectors = embedder.encode(texts)
    return ThemeScorer(tuple(themes), vectors, np.array(owner))


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive match for a phrase ("EV" must not match "every")."""
    return re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)", re.IGNORECASE)


def keyword_hits(theme: ThemeDefinition, text: str) -> list[str]:
    """The theme's keywords that occur in ``text`` as whole words (case-insensitive)."""
    return [k for k in theme.keywords if phrase_pattern(k).search(text)]
