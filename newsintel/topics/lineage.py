"""Topic identity across rebuilds and time windows: matching and lineage events.

New clusters are matched one-to-one to earlier topics (Hungarian assignment,
``scipy.optimize.linear_sum_assignment``) on a similarity that mixes centroid cosine
with member overlap when the two sides share articles (a rebuild), and is the centroid
cosine alone when they share none (consecutive time windows). A match above the
threshold keeps the earlier id (``continue``). What is left over becomes:

- ``split``: a new cluster mostly made of one earlier topic's articles (or, between
  windows, close to an earlier topic that continued as another cluster);
- ``merge``: an earlier topic whose articles mostly went into a cluster that continues
  another topic;
- ``birth`` / ``death``: a new cluster, or an earlier topic, with no counterpart.

New ids are ``t`` + a short hash of the founding members, so they are the same on
every machine and every re-run of the same input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

BIRTH, CONTINUE, MERGE, SPLIT, DEATH = "birth", "continue", "merge", "split", "death"


@dataclass(frozen=True)
class TopicRef:
    """An earlier topic: its id, unit centroid and member article ids."""

    topic_id: str
    centroid: np.ndarray
    members: frozenset[str]


@dataclass(frozen=True)
class LineageEvent:
    """One edge of the lineage graph; parent or child is None for births and deaths."""

    event: str
    parent_topic_id: str | None
    child_topic_id: str | None
    similarity: float | None


@dataclass(frozen=True)
class LineageParams:
    """Thresholds of :func:`link`; stored with every build."""

    min_similarity: float = 0.5  # (cosine + Jaccard) / 2, when the sides share articles
    min_cosine: float = 0.7  # centroid cosine alone, when they share none
    min_share: float = 0.5  # share of articles that moved, for split and merge


@dataclass(frozen=True)
class Linkage:
    """Ids given to the new clusters (in their order) and the events that explain them."""

    ids: tuple[str, ...]
    events: tuple[LineageEvent, ...]


def founding_id(members: Iterable[str]) -> str:
    """``t`` + 10 hex digits of the SHA-1 of the sorted member ids."""
    digest = hashlib.sha1("\n".join(sorted(members)).encode("utf-8")).hexdigest()
    return "t" + digest[:10]


def _unique_id(members: Iterable[str], taken: set[str]) -> str:
    base = founding_id(members)
    candidate, suffix = base, 1
    while candidate in taken:  # a dead topic's id is never reused for another
        candidate, suffix = f"{base}-{suffix}", suffix + 1
    return candidate


def similarity_matrix(
    previous: Sequence[TopicRef], centroids: np.ndarray, members: Sequence[frozenset[str]]
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(similarity, child share, parent share) of every (earlier, new) pair.

    Child share: the part of the new cluster's shared articles that came from the
    earlier topic; parent share: the part of the earlier topic's shared articles that
    went into the new cluster. Both are None when the sides share no article.
    """
    old_c = np.stack([t.centroid for t in previous]).astype(np.float64)
    cosine = old_c @ np.asarray(centroids, dtype=np.float64).T
    universe = frozenset().union(*(t.members for t in previous)) & frozenset().union(*members)
    if not universe:
        return cosine, None, None
    old_m = [t.members & universe for t in previous]
    new_m = [m & universe for m in members]
    inter = np.array([[len(o & m) for m in new_m] for o in old_m], dtype=np.float64)
    old_n = np.array([len(o) for o in old_m], dtype=np.float64)[:, None]
    new_n = np.array([len(m) for m in new_m], dtype=np.float64)[None, :]
    jaccard = inter / np.maximum(old_n + new_n - inter, 1.0)
    return (cosine + jaccard) / 2.0, inter / np.maximum(new_n, 1.0), inter / np.maximum(old_n, 1.0)


def link(
    previous: Sequence[TopicRef],
    centroids: np.ndarray,
    members: Sequence[frozenset[str]],
    params: LineageParams | None = None,
    taken: Iterable[str] = (),
) -> Linkage:
    """Give each new cluster an id, keeping earlier ids where a topic continues.

    ``taken`` holds ids that must not be given to a new topic (ids seen before).
    """
    from scipy.optimize import linear_sum_assignment

    p = params or LineageParams()
    used = set(taken) | {t.topic_id for t in previous}
    if not previous:
        ids: list[str] = []
        for m in members:
            ids.append(_unique_id(m, used))
            used.add(ids[-1])
        return Linkage(tuple(ids), tuple(LineageEvent(BIRTH, None, i, None) for i in ids))
    if len(members) == 0:
        deaths = tuple(LineageEvent(DEATH, t.topic_id, None, None) for t in previous)
        return Linkage((), deaths)

    sim, child_share, parent_share = similarity_matrix(previous, centroids, members)
    threshold = p.min_cosine if child_share is None else p.min_similarity
    rows, cols = linear_sum_assignment(-sim)
    match_of_new: dict[int, int] = {}
    for i, j in zip(rows, cols, strict=True):
        if sim[i, j] >= threshold:
            match_of_new[int(j)] = int(i)
    matched_old = set(match_of_new.values())

    new_ids: list[str | None] = [None] * len(members)
    events: list[LineageEvent] = []
    for j, i in sorted(match_of_new.items()):
        new_ids[j] = previous[i].topic_id
        events.append(
            LineageEvent(CONTINUE, previous[i].topic_id, previous[i].topic_id, float(sim[i, j]))
        )
    for j in range(len(members)):
        if new_ids[j] is not None:
            continue
        new_ids[j] = _unique_id(members[j], used)
        used.add(new_ids[j] or "")
        if child_share is not None:
            i = int(np.argmax(child_share[:, j]))
            is_split = child_share[i, j] >= p.min_share
        else:
            i = int(np.argmax(sim[:, j]))
            is_split = sim[i, j] >= threshold and i in matched_old
        if is_split:
            events.append(LineageEvent(SPLIT, previous[i].topic_id, new_ids[j], float(sim[i, j])))
        else:
            events.append(LineageEvent(BIRTH, None, new_ids[j], None))
    for i, topic in enumerate(previous):
        if i in matched_old:
            continue
        if parent_share is not None:
            j = int(np.argmax(parent_share[i]))
            is_merge = parent_share[i, j] >= p.min_share
        else:
            j = int(np.argmax(sim[i]))
            is_merge = sim[i, j] >= threshold and j in match_of_new
        if is_merge:
            events.append(LineageEvent(MERGE, topic.topic_id, new_ids[j], float(sim[i, j])))
        else:
            events.append(LineageEvent(DEATH, topic.topic_id, None, None))
    return Linkage(tuple(i or "" for i in new_ids), tuple(events))
