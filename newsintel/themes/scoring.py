"""Scoring articles against tracked themes by embedding similarity.

Each theme is represented by several prototype texts (its description and its positive
examples). An article's score for a theme is its highest cosine similarity to any of the
theme's prototypes: themes are multi-faceted (world models span JEPA, Genie and robot
video prediction), and one averaged centroid blurs such facets together. An article is a
member when its score reaches the theme's threshold and no exclusion phrase occurs in it.
"""

from __future__ import annotations

import functools
import os
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
        matcher = PhraseMatcher(texts) if texts is not None and self.classifiers else None
        # Converted once, not once per classifier (the classifiers work in float64).
        wide = np.asarray(vectors, dtype=np.float64) if self.classifiers else vectors
        if matcher is not None:
            matcher.prefetch(
                [k for t in self.themes if t.theme_id in self.classifiers for k in t.keywords]
            )
        for index, theme in enumerate(self.themes):
            classifier = self.classifiers.get(theme.theme_id)
            if classifier is None:
                continue
            counts = (
                keyword_counts(theme, texts, matcher)
                if texts is not None
                else np.zeros(len(vectors))
            )
            out[:, index] = classifier.probabilities(wide, counts)
        return out

    def members(self, scores: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Boolean (articles x themes): score at or above threshold and no exclusion hit."""
        member = scores >= self.thresholds
        matcher = PhraseMatcher(texts)
        matcher.prefetch([phrase for theme in self.themes for phrase in theme.exclusions])
        for index, theme in enumerate(self.themes):
            excluded = np.zeros(len(texts), dtype=bool)
            for phrase in theme.exclusions:
                excluded |= matcher.hits(phrase)
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


@functools.lru_cache(maxsize=4096)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive match for a phrase ("EV" must not match "every")."""
    return re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)", re.IGNORECASE)


# Non-ASCII characters that re.IGNORECASE matches to ASCII letters (İ, ı, long s, Kelvin).
_IGNORECASE_ASCII = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}


class PhraseMatcher:
    """Finds which of many texts contain a phrase, as ``phrase_pattern`` does, fast.

    A Python regex search per phrase and text costs minutes at a million articles. For
    an ASCII phrase in an ASCII text, ``phrase_pattern`` (case-insensitive, no word
    character on either side) means exactly: the lowercased phrase occurs in the
    lowercased text with no [0-9a-z_] on either side. pyarrow tests that over the whole
    batch at once (RE2). For other texts that test can only over-match, once the four
    non-ASCII characters that Python's IGNORECASE equates with ASCII letters are mapped
    to them (checked over every code point), so the Python regex confirms its hits.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        self._texts = texts
        array = pa.array(texts, type=pa.large_string())
        self._ascii = np.asarray(pc.string_is_ascii(array).to_numpy(zero_copy_only=False))
        lower = pc.ascii_lower(array)
        for special, letter in _IGNORECASE_ASCII.items():
            lower = pc.replace_substring(lower, special, letter)
        self._lower = lower
        self._found: dict[str, np.ndarray] = {}

    def prefetch(self, phrases: Sequence[str]) -> None:
        """Match many phrases at once: pyarrow releases the GIL, so threads use every core."""
        from concurrent.futures import ThreadPoolExecutor

        todo = [p for p in dict.fromkeys(phrases) if p not in self._found]
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            for phrase, found in zip(todo, pool.map(self._match, todo), strict=True):
                self._found[phrase] = found

    def hits(self, phrase: str) -> np.ndarray:
        """Boolean per text: the phrase occurs as a whole word (case-insensitive)."""
        found = self._found.get(phrase)
        return found.copy() if found is not None else self._match(phrase)

    def _match(self, phrase: str) -> np.ndarray:
        import pyarrow.compute as pc

        out = np.zeros(len(self._texts), dtype=bool)
        if phrase.isascii():
            literal = "".join(
                c if c.isalnum() or c == " " else f"\\x{{{ord(c):x}}}" for c in phrase.lower()
            )
            found = pc.match_substring_regex(
                self._lower, f"(?:^|[^0-9a-z_]){literal}(?:$|[^0-9a-z_])"
            )
            found_np = np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
            out |= found_np & self._ascii
            rest = np.flatnonzero(found_np & ~self._ascii)
        else:
            rest = np.arange(len(self._texts))
        pattern = phrase_pattern(phrase)
        for i in rest:
            out[i] = pattern.search(self._texts[int(i)]) is not None
        return out


def keyword_counts(
    theme: ThemeDefinition, texts: Sequence[str], matcher: PhraseMatcher | None = None
) -> np.ndarray:
    """How many of the theme's keywords occur (as whole words) in each text."""
    matcher = matcher or PhraseMatcher(texts)
    counts = np.zeros(len(texts), dtype=np.float64)
    for keyword in theme.keywords:
        counts += matcher.hits(keyword)
    return counts


def keyword_hits(theme: ThemeDefinition, text: str) -> list[str]:
    """The theme's keywords that occur in ``text`` as whole words (case-insensitive)."""
    return [k for k in theme.keywords if phrase_pattern(k).search(text)]
