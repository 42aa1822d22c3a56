"""Themes: assign them to articles, train their classifiers, explain one article."""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from newsintel.config import Settings
from newsintel.embed import article_text
from newsintel.errors import ThemeError
from newsintel.jobs.common import NoProgress, Progress
from newsintel.jobs.embedding import make_embedder
from newsintel.jobs.publish import publishes
from newsintel.store import migrate, open_db
from newsintel.store.embeddings import (
    embedding_count,
    iter_article_vectors,
    load_embeddings,
    texts_for,
)
from newsintel.store.snapshots import open_snapshot
from newsintel.store.themes import (
    assignment_fingerprint,
    forget_assignment,
    has_theme_scores,
    member_counts,
    record_assignment,
    save_theme_scores,
    save_themes,
)
from newsintel.themes.classifier import (
    load_classifiers,
    read_labelled,
    save_classifiers,
    train_classifier,
)
from newsintel.themes.definitions import load_themes
from newsintel.themes.matching import article_texts, keyword_hits, phrase_pattern
from newsintel.themes.scoring import ThemeScorer, build_scorer, prototype_texts

if TYPE_CHECKING:
    from concurrent.futures import Future

    from newsintel.embed import Embedder


@dataclass(frozen=True)
class AssignReport:
    """What an assignment did. ``articles``: articles scored by this run; ``kept``: those
    whose stored scores were kept (same themes, classifiers and model); ``members``:
    articles in each theme afterwards, over every stored score."""

    method: str
    articles: int
    members: dict[str, int] = field(default_factory=dict)
    kept: int = 0


def load_scorer(
    settings: Settings, embedder: Embedder, themes_file: Path | None = None
) -> ThemeScorer:
    """Themes from themes.toml with their prototypes embedded and classifiers loaded."""
    themes = load_themes(themes_file or Path(settings.themes_file))
    classifiers = load_classifiers(Path(settings.theme_classifiers_file), embedder.model_name)
    return build_scorer(themes, embedder, classifiers)


# Concurrent writer transactions of assign_themes. Most of a write is DuckDB updating
# the primary-key index of article_themes, one thread per transaction; two overlap
# (1M articles on two cores: 25 s with one writer, 21 s with two, 23 s with three).
_ASSIGN_WRITERS = 2


@publishes
def assign_themes(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    themes_file: Path | None = None,
    batch_size: int = 50_000,
    full: bool = False,
    progress: Progress | None = None,
) -> AssignReport:
    """Score embedded articles against every tracked theme and store the scores.

    A theme with a trained classifier for the embedding model uses it; the others are
    scored by similarity to their prototypes. When the stored scores were all computed
    with the same themes, classifiers and model (the scorer's fingerprint, kept in
    theme_assignment), only articles without scores are scored; otherwise, or with
    ``full``, every article is, and earlier assignments are replaced.

    Vectors and texts stream from one query in batches; while one batch is scored, the
    previous ones are written by two writer threads (DuckDB works without holding the
    GIL). Each batch is one transaction, so an interrupted run leaves every article with
    its old or its new scores, and running again completes it; a re-run rewrites only
    what changed.
    """
    progress = progress or NoProgress()
    embedder = embedder or make_embedder(settings)
    scorer = load_scorer(settings, embedder, themes_file)
    theme_ids = scorer.theme_ids
    methods = [scorer.method(t) for t in theme_ids]
    fingerprint = scorer.fingerprint
    model = embedder.model_name
    total = 0
    with open_db(settings.db) as con:
        migrate(con)
        save_themes(con, scorer.themes)
        new_only = not full and assignment_fingerprint(con) == fingerprint
        if not new_only:
            # Until this run ends, stored scores come from two fingerprints: an
            # interrupted run must be followed by a full one.
            forget_assignment(con)
        # Nothing stored yet, or only articles without scores: rows are appended
        # without looking for old ones.
        append = new_only or not has_theme_scores(con)
        todo = embedding_count(con, model, unscored_only=new_only)
        progress.start("assigning themes" + (" to new articles" if new_only else ""), todo)
        # Writers on their own connections (the reading one is busy with the stream).
        writers = [con.cursor() for _ in range(_ASSIGN_WRITERS)]
        try:
            # One BLAS thread: the classifiers' products are small, and the other core
            # is busy writing (OpenBLAS's spinning threads would slow both down).
            with (
                ThreadPoolExecutor(max_workers=len(writers)) as pool,
                threadpool_limits(limits=1, user_api="blas"),
            ):
                # At most one batch in flight per writer: memory stays bounded. The
                # oldest write is awaited first, so writers[i % n] is free again.
                pending: deque[Future[int]] = deque()
                batches = iter_article_vectors(con, model, batch_size, unscored_only=new_only)
                for i, batch in enumerate(batches):
                    matcher = scorer.phrase_matcher(article_texts(batch.titles, batch.texts))
                    scores = scorer.scores(batch.vectors, matcher=matcher)
                    member = scorer.members(scores, matcher=matcher)
                    if len(pending) == len(writers):
                        pending.popleft().result()
                    pending.append(
                        pool.submit(
                            save_theme_scores, writers[i % len(writers)], batch.ids,
                            theme_ids, methods, scores, member, replace=not append,
                        )
                    )  # fmt: skip
                    total += len(batch)
                    progress.advance(len(batch))
                while pending:
                    pending.popleft().result()
        finally:
            for writer in writers:
                writer.close()
        embedded = embedding_count(con, model)
        record_assignment(con, fingerprint, model, embedded)
        counts = member_counts(con, theme_ids)
    progress.finish()
    kept = embedded - total if new_only else 0
    return AssignReport(", ".join(sorted(set(methods))), total, counts, kept)


@dataclass(frozen=True)
class TrainReport:
    out: str
    model: str
    articles: int
    positives: dict[str, int]


def train_themes(
    settings: Settings,
    labelled_file: Path,
    *,
    split: str | None = None,
    out: Path | None = None,
    embedder: Embedder | None = None,
) -> TrainReport:
    """Train one classifier per theme on labelled articles and save them as JSON."""
    themes = load_themes(Path(settings.themes_file))
    items = read_labelled(labelled_file, split)
    embedder = embedder or make_embedder(settings)
    vectors = embedder.encode([item.text for item in items])
    texts = [item.text for item in items]
    classifiers = []
    positives: dict[str, int] = {}
    for theme in themes:
        labels = np.array([theme.theme_id in item.themes for item in items])
        prototypes = prototype_texts(theme)
        classifiers.append(
            train_classifier(
                theme,
                embedder.model_name,
                vectors,
                texts,
                labels,
                embedder.encode(prototypes),
                prototypes,
            )
        )
        positives[theme.theme_id] = int(labels.sum())
    target = out or Path(settings.theme_classifiers_file)
    source = f"{labelled_file.name}" + (f" (split {split})" if split else "")
    save_classifiers(target, classifiers, source)
    return TrainReport(str(target), embedder.model_name, len(items), positives)


@dataclass(frozen=True)
class ThemeExplanation:
    theme_id: str
    label: str
    member: bool
    score: float
    threshold: float
    method: str
    similarity: float
    closest_prototype: str
    keywords: tuple[str, ...]
    exclusions: tuple[str, ...]

    def reason(self) -> str:
        """One sentence saying why the article is or is not in the theme."""
        verdict = "in" if self.member else "not in"
        kind = "probability" if self.method.startswith("classifier") else "similarity"
        why = f"{kind} {self.score:.2f} {'>=' if self.score >= self.threshold else '<'} "
        why += f"threshold {self.threshold:.2f}"
        if self.exclusions:
            why += f"; excluded by {', '.join(self.exclusions)}"
        if self.keywords:
            why += f"; keywords: {', '.join(self.keywords)}"
        why += f"; closest example ({self.similarity:.2f}): {self.closest_prototype!r}"
        return f"{verdict} {self.label}: {why}"


@dataclass(frozen=True)
class ArticleExplanation:
    article_id: str
    title: str
    themes: tuple[ThemeExplanation, ...]


def explain_article(
    settings: Settings, article_id: str, *, embedder: Embedder | None = None
) -> ArticleExplanation:
    """Why an article got (or missed) each theme: scores, thresholds, evidence."""
    embedder = embedder or make_embedder(settings)
    with open_snapshot(settings.db) as con:
        rows = texts_for(con, [article_id])
        if not rows:
            raise ThemeError(f"no article with id '{article_id}'")
        ids, matrix = load_embeddings(con, embedder.model_name, [article_id])
    if not ids:
        raise ThemeError(
            f"article '{article_id}' has no embedding for {embedder.model_name}: "
            "run `newsintel embed`"
        )
    _id, title, body = rows[0]
    text = article_text(title, body)
    scorer = load_scorer(settings, embedder)
    scores = scorer.scores(matrix, [text])[0]
    members = scorer.members(scores[None, :], [text])[0]
    sims = matrix[0] @ scorer.prototypes.T
    explanations = []
    for index, theme in enumerate(scorer.themes):
        cols = [i for i, owner in enumerate(scorer.owner) if owner == index]
        best = max(cols, key=lambda i: sims[i])
        explanations.append(
            ThemeExplanation(
                theme_id=theme.theme_id,
                label=theme.label,
                member=bool(members[index]),
                score=float(scores[index]),
                threshold=float(scorer.thresholds[index]),
                method=scorer.method(theme.theme_id),
                similarity=float(sims[best]),
                closest_prototype=prototype_texts(theme)[cols.index(best)],
                keywords=tuple(keyword_hits(theme, text)),
                exclusions=tuple(p for p in theme.exclusions if phrase_pattern(p).search(text)),
            )
        )
    explanations.sort(key=lambda e: (not e.member, -e.score))
    return ArticleExplanation(article_id, title, tuple(explanations))
