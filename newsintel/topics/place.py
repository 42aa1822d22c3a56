"""Between rebuilds: new stories join the nearest topic of the last build.

Re-clustering every story was the dearest step of a scheduled ``newsintel run`` (32 to 55 s
at 1M stories) while a run adds a few hundred. So a run places its new stories in the
current ``all`` build's topics, each in the topic whose centroid is nearest (the rule a
build's own refinement ends with), and re-clusters only when enough has changed:

- no ``all`` build of the model yet;
- the stories placed since the build would exceed ``share`` of the stories it clustered
  (new subjects show as new topics only after a rebuild, so this bounds how much
  unclustered news the topics can hold);
- the build is older than ``max_age``.

Pure code: the decision and the nearest-centroid rule; the database side is
``newsintel.store.topics`` and the composition ``newsintel.jobs.topics``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from newsintel.topics.cluster import assign, normalize_rows


@dataclass(frozen=True)
class RebuildPolicy:
    """When placing new stories is no longer enough and topics are clustered again."""

    share: float = 0.05  # placed stories, as a share of the build's clustered ones
    max_age: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class BuildState:
    """What the decision reads of the current ``all`` build."""

    created_at: datetime
    clustered: int  # stories the build clustered
    placed: int  # stories placed into it since


def rebuild_reason(
    state: BuildState | None, unplaced: int, now: datetime, policy: RebuildPolicy
) -> str | None:
    """Why the topics must be clustered again, or None when placing ``unplaced`` will do."""
    if state is None:
        return "no topic build of all stories for this model yet"
    age = now - state.created_at
    if age >= policy.max_age:
        limit = policy.max_age.total_seconds() / 3600
        hours = age.total_seconds() / 3600
        return f"the last build is {hours:.1f} h old (rebuilt after {limit:g} h)"
    placed = state.placed + unplaced
    if placed > policy.share * state.clustered:
        return (
            f"{placed} stories placed since the last build, more than {policy.share:.0%} "
            f"of the {state.clustered} it clustered"
        )
    return None


@dataclass(frozen=True)
class Placement:
    """The topic of each placed story and its cosine distance to that topic's centroid."""

    article_ids: tuple[str, ...]
    topic_ids: tuple[str, ...]
    distances: np.ndarray  # float32, one per story


def place(
    article_ids: Sequence[str],
    vectors: np.ndarray,
    topic_ids: Sequence[str],
    centroids: np.ndarray,
) -> Placement:
    """Each story in the topic with the nearest centroid (cosine), as a build assigns."""
    if len(article_ids) != len(vectors):
        raise ValueError(f"{len(article_ids)} ids for {len(vectors)} vectors")
    if not len(topic_ids) or len(topic_ids) != len(centroids):
        raise ValueError(f"{len(topic_ids)} topic ids for {len(centroids)} centroids")
    if not len(article_ids):
        return Placement((), (), np.zeros(0, dtype=np.float32))
    labels, similarity = assign(normalize_rows(vectors), normalize_rows(centroids))
    return Placement(
        tuple(article_ids),
        tuple(topic_ids[i] for i in labels),
        (1.0 - similarity).astype(np.float32),
    )
