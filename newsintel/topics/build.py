"""One topic build, pure: corpus in, topics + assignments + lineage out (no database).

A build clusters the stories of each time window (``all``: one window), labels the
topics, and links them to earlier topics:

- ``all``: to the previous ``all`` build's topics (a rebuild keeps continuing ids);
- ``month`` / ``quarter``: each window to the one before it in the same build, by
  centroid cosine (windows share no articles). Ids then follow a topic through time,
  and a rebuild whose windows did not change gives the same ids again, because the
  clustering and the founding-member ids are deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from newsintel.topics.cluster import ClusterParams, cluster_vectors
from newsintel.topics.label import label_from, representative_rows, topic_words
from newsintel.topics.lineage import LineageEvent, LineageParams, TopicRef, link

WINDOWS = ("all", "month", "quarter")


@dataclass(frozen=True)
class Corpus:
    """The stories to cluster, sorted by article id; one vector and text per story."""

    article_ids: Sequence[str]
    vectors: np.ndarray  # float32, unit rows
    texts: Sequence[str]  # title + text
    published: Sequence[datetime]


@dataclass(frozen=True)
class Topic:
    """One topic in one window of a build."""

    topic_id: str
    window: str
    label: str
    top_words: tuple[str, ...]
    size: int
    centroid: np.ndarray
    first_seen: datetime
    last_seen: datetime
    representative_ids: tuple[str, ...]  # article ids closest to the centroid


@dataclass(frozen=True)
class LineageRow:
    """A lineage event between two windows (``from_previous_build``: a rebuild edge)."""

    window_from: str | None
    window_to: str
    event: LineageEvent
    from_previous_build: bool


@dataclass(frozen=True)
class BuildResult:
    """Everything a build stores: topics, one assignment per story, lineage, diagnostics."""

    window: str
    seed: int
    topics: tuple[Topic, ...]
    article_ids: tuple[str, ...]
    topic_ids: tuple[str, ...]  # topic of each article (same order)
    windows: tuple[str, ...]  # window of each article (same order)
    distances: np.ndarray  # cosine distance of each article to its topic's centroid
    lineage: tuple[LineageRow, ...]
    outlier_share: float
    params: dict[str, Any] = field(default_factory=dict)


def window_key(when: datetime, window: str) -> str:
    """The window an article belongs to: ``all``, ``2026-03`` or ``2026Q1``."""
    if window == "month":
        return f"{when.year:04d}-{when.month:02d}"
    if window == "quarter":
        return f"{when.year:04d}Q{(when.month - 1) // 3 + 1}"
    return "all"


def build_topics(
    corpus: Corpus,
    *,
    window: str = "all",
    seed: int = 0,
    previous: Sequence[TopicRef] = (),
    taken_ids: Sequence[str] = (),
    cluster_params: ClusterParams | None = None,
    lineage_params: LineageParams | None = None,
) -> BuildResult:
    """Cluster, label and link ``corpus``; ``previous``: the last ``all`` build's topics."""
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {', '.join(WINDOWS)}, got {window!r}")
    cp = cluster_params or ClusterParams()
    lp = lineage_params or LineageParams()
    ids = list(corpus.article_ids)
    if ids != sorted(ids):
        raise ValueError("corpus rows must be sorted by article id")
    keys = [window_key(t, window) for t in corpus.published]
    by_window: dict[str, list[int]] = {}
    for row, key in enumerate(keys):
        by_window.setdefault(key, []).append(row)

    topics: list[Topic] = []
    lineage: list[LineageRow] = []
    topic_of = [""] * len(ids)
    distances = np.zeros(len(ids), dtype=np.float32)
    taken = set(taken_ids)
    diagnostics: dict[str, Any] = {}
    earlier: Sequence[TopicRef] = previous if window == "all" else ()
    earlier_window: str | None = "all" if window == "all" and previous else None
    for key in sorted(by_window):
        rows = np.asarray(by_window[key])
        x = corpus.vectors[rows]
        clustering = cluster_vectors(x, seed=seed, params=cp)
        k = clustering.k
        labels = clustering.labels
        members = [frozenset(ids[r] for r in rows[labels == t]) for t in range(k)]
        linkage = link(earlier, clustering.centroids, members, lp, taken)
        taken.update(linkage.ids)
        lineage.extend(LineageRow(earlier_window, key, e, window == "all") for e in linkage.events)
        similarity = np.einsum("ij,ij->i", x, clustering.centroids[labels])
        words = topic_words([corpus.texts[r] for r in rows], labels, k)
        reps = representative_rows(similarity, labels, k)
        for t in range(k):
            in_topic = rows[labels == t]
            dates = [corpus.published[r] for r in in_topic]
            topics.append(
                Topic(
                    topic_id=linkage.ids[t],
                    window=key,
                    label=label_from(words[t]),
                    top_words=words[t],
                    size=len(in_topic),
                    centroid=clustering.centroids[t],
                    first_seen=min(dates),
                    last_seen=max(dates),
                    representative_ids=tuple(ids[rows[i]] for i in reps[t]),
                )
            )
        for r, t, s in zip(rows, labels, similarity, strict=True):
            topic_of[r] = linkage.ids[t]
            distances[r] = 1.0 - s
        diagnostics[key] = {"k": k, "silhouettes": [list(p) for p in clustering.silhouettes]}
        earlier = [TopicRef(linkage.ids[t], clustering.centroids[t], members[t]) for t in range(k)]
        earlier_window = key
    params: dict[str, Any] = {
        "window": window,
        "seed": seed,
        "cluster": asdict(cp),
        "lineage": asdict(lp),
        "windows": diagnostics,
    }
    unassigned = sum(1 for t in topic_of if not t)
    return BuildResult(
        window=window,
        seed=seed,
        topics=tuple(topics),
        article_ids=tuple(ids),
        topic_ids=tuple(topic_of),
        windows=tuple(keys),
        distances=distances,
        lineage=tuple(lineage),
        outlier_share=unassigned / len(ids) if ids else 0.0,
        params=params,
    )


def previous_refs(rows: Mapping[str, tuple[np.ndarray, frozenset[str]]]) -> list[TopicRef]:
    """TopicRefs from {topic id: (centroid, members)}, in id order."""
    return [TopicRef(t, c, m) for t, (c, m) in sorted(rows.items())]
