"""Discovered topics: build them for a window, list the latest build."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from newsintel.config import Settings
from newsintel.errors import AnalysisError, NewsintelError
from newsintel.jobs.common import new_run_id
from newsintel.jobs.publish import publishes
from newsintel.jobs.views import scored_topics
from newsintel.store import migrate, open_db
from newsintel.store.embeddings import load_embeddings
from newsintel.store.snapshots import open_snapshot
from newsintel.store.topics import (
    build_centroids,
    database_now,
    has_topics,
    known_topic_ids,
    latest_build,
    load_stories,
    save_build,
    save_placement,
    topic_members,
    unplaced_ids,
)
from newsintel.topics.build import WINDOWS, Corpus, previous_refs
from newsintel.topics.build import build_topics as build
from newsintel.topics.cluster import ClusterParams
from newsintel.topics.emerging import listing_order
from newsintel.topics.place import BuildState, RebuildPolicy, place, rebuild_reason


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
    rebuild_reason: str | None = None  # why `newsintel run` clustered again, not placed

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class TopicPlacementReport:
    """A run that put its new stories in the last build's topics instead of rebuilding."""

    build_id: str  # the ``all`` build the stories joined
    model: str
    window: str  # always "all"
    placed: int  # stories this run placed
    placed_since_build: int  # stories placed since the build, this run's included
    n_articles: int  # stories the build clustered
    n_topics: int
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


def rebuild_policy(settings: Settings) -> RebuildPolicy:
    """The settings' rule for when ``newsintel run`` clusters every story again."""
    return RebuildPolicy(
        share=settings.topic_rebuild_share,
        max_age=timedelta(hours=settings.topic_rebuild_hours),
    )


@publishes
def refresh_topics(settings: Settings) -> TopicBuildReport | TopicPlacementReport:
    """Bring the ``all`` topics up to date with the embedded stories, as a run does.

    New stories join the nearest topic of the last build; every story is clustered again
    (``build_topics``, seed 0) when there is no build yet, when the stories placed since
    would pass ``topic_rebuild_share`` of those it clustered, or when it is older than
    ``topic_rebuild_hours`` (newsintel/topics/place.py).
    """
    started = time.perf_counter()
    model = settings.vector_model
    placed = 0
    # Decide and place under one write connection: no other writer can make a new
    # build in between.
    with open_db(settings.db) as con:
        migrate(con)
        build = latest_build(con, window="all", model=model)
        new_ids = unplaced_ids(con, build.build_id, model) if build else []
        state = BuildState(build.created_at, build.n_articles, build.placed) if build else None
        reason = rebuild_reason(state, len(new_ids), database_now(con), rebuild_policy(settings))
        if build is not None and reason is None:
            topic_ids, centroids = build_centroids(con, build.build_id)
            if not topic_ids:
                reason = f"build {build.build_id} has no topics to place stories in"
            elif new_ids:
                loaded, vectors = load_embeddings(con, model, new_ids)
                placement = place(loaded, vectors, topic_ids, centroids)
                save_placement(
                    con, build.build_id, placement.article_ids, placement.topic_ids,
                    placement.distances,
                )  # fmt: skip
                placed = len(placement.article_ids)
    if build is None or reason is not None:
        return replace(build_topics(settings, window="all", seed=0), rebuild_reason=reason)
    return TopicPlacementReport(
        build.build_id, model, "all", placed, build.placed + placed, build.n_articles,
        build.n_topics, time.perf_counter() - started,
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
