"""Discovered topics: build them for a window, list the latest build."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newsintel.config import Settings
from newsintel.errors import AnalysisError, NewsintelError
from newsintel.jobs.common import new_run_id
from newsintel.jobs.publish import publishes
from newsintel.jobs.views import scored_topics
from newsintel.store import migrate, open_db
from newsintel.store.snapshots import open_snapshot
from newsintel.store.topics import (
    has_topics,
    known_topic_ids,
    latest_build,
    load_stories,
    save_build,
    topic_members,
)
from newsintel.topics.build import WINDOWS, Corpus, previous_refs
from newsintel.topics.build import build_topics as build
from newsintel.topics.cluster import ClusterParams
from newsintel.topics.emerging import listing_order


@dataclass(frozen=True)
class TopicBuildReport:
    """What ``newsintel topics build`` did."""

    build_id: str
    model: str
    window: str
    seed: int
    n_articles: int
    n_topics: int
    outlier_share: float
    events: dict[str, int]  # lineage events by kind
    previous_build: str | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": round(self.seconds, 3)}


@publishes
def build_topics(
    settings: Settings,
    *,
    window: str = "all",
    seed: int = 0,
    cluster_params: ClusterParams | None = None,
) -> TopicBuildReport:
    """Cluster the embedded stories into topics, link them to the last build, store them.

    Deterministic: the same stories, model and seed give the same topics and ids.
    """
    if window not in WINDOWS:
        raise NewsintelError(f"window must be one of {', '.join(WINDOWS)}, got {window!r}")
    started = time.perf_counter()
    with open_db(settings.db) as con:
        migrate(con)
        stories = load_stories(con, settings.vector_model)
        previous = latest_build(con, window="all", model=settings.vector_model)
        refs = (
            previous_refs(topic_members(con, previous.build_id, "all"))
            if previous and window == "all"
            else []
        )
        taken = known_topic_ids(con)
    if not stories.article_ids:
        raise AnalysisError(
            f"no embedded stories for model {settings.vector_model}: run `newsintel embed` first"
        )
    corpus = Corpus(stories.article_ids, stories.vectors, stories.texts, stories.published)
    result = build(
        corpus, window=window, seed=seed, previous=refs, taken_ids=taken,
        cluster_params=cluster_params,
    )  # fmt: skip
    build_id = new_run_id()
    seconds = time.perf_counter() - started
    from_build = previous.build_id if previous and window == "all" else None
    with open_db(settings.db) as con:
        save_build(
            con, build_id, settings.vector_model, result, from_build_id=from_build, seconds=seconds
        )
    events: dict[str, int] = {}
    for row in result.lineage:
        events[row.event.event] = events.get(row.event.event, 0) + 1
    return TopicBuildReport(
        build_id, settings.vector_model, window, seed, len(result.article_ids),
        len({t.topic_id for t in result.topics}), result.outlier_share, events, from_build,
        seconds,
    )  # fmt: skip


@dataclass(frozen=True)
class TopicListing:
    """One topic of the latest build with its growth against its own baseline."""

    topic_id: str
    label: str
    top_words: tuple[str, ...]
    size: int
    first_seen: datetime | None
    last_seen: datetime | None
    representatives: tuple[str, ...]  # titles of the 3 articles closest to the centroid
    latest: int  # stories in the latest month
    expected: float | None  # stories its earlier share predicts for that month
    growth: float | None  # (latest + 1) / (expected + 1)
    p_value: float | None  # one-sided Poisson test of latest >= expected
    emerging: bool


@dataclass(frozen=True)
class TopicListReport:
    build_id: str
    model: str
    window: str
    created_at: datetime
    latest_period: str
    topics: tuple[TopicListing, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "build_id": self.build_id,
            "model": self.model,
            "window": self.window,
            "created_at": self.created_at,
            "latest_period": self.latest_period,
            "topics": [{**t.__dict__, "top_words": list(t.top_words)} for t in self.topics],
        }


def list_topics(settings: Settings) -> TopicListReport:
    """Topics of the latest build, emerging ones first (then by size)."""
    with open_snapshot(settings.db) as con:
        build = latest_build(con) if has_topics(con) else None
        if build is None:
            raise AnalysisError("no topics yet: run `newsintel topics build` first")
        # The same scoring as the app's Topics page (ui.data.topic_overview).
        topics = scored_topics(con, build.build_id)
    rows, scored = topics.rows, topics.scored
    scores = scored.scores
    listings = []
    for r in sorted(rows, key=lambda r: listing_order(r.topic_id, r.size, scores.get(r.topic_id))):
        e = scores.get(r.topic_id)
        listings.append(
            TopicListing(
                r.topic_id, r.label, r.top_words, r.size, r.first_seen, r.last_seen,
                r.representative_titles, e.latest if e else 0, e.expected if e else None,
                e.growth if e else None, e.p_value if e else None, bool(e and e.emerging),
            )
        )  # fmt: skip
    return TopicListReport(
        build.build_id, build.model, build.window, build.created_at,
        scored.latest_period, tuple(listings),
    )  # fmt: skip
