"""Read-only jobs behind the app's pages where a step computes what is shown.

They take the open read-only connection of the caller (the app reads in its own read
slots, ``ui.data``), compose store queries with a step, and write nothing. The CLI's
``topics list`` scores topics through ``scored_topics`` too, so the app and the CLI
rank them by the same path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from newsintel.embed import make_backend_embedder
from newsintel.store import topics as topic_queries
from newsintel.store.connect import Connection
from newsintel.store.topics import TopicRow
from newsintel.topics.emerging import PeriodEmergence, emergence_by_period
from newsintel.topics.projection import project_2d

if TYPE_CHECKING:
    from newsintel.embed import Embedder


def query_embedder(model: str, backend: str, device: str) -> Embedder:
    """The embedder that turns a search query into a vector, as the pipeline embeds.

    Loaded lazily on first use; the app keeps one per (model, backend, device).
    """
    return make_backend_embedder(model, backend, device=device)


@dataclass(frozen=True)
class ScoredTopics:
    """The topics of one build and their emergence in the build's latest period."""

    rows: list[TopicRow]
    scored: PeriodEmergence


def scored_topics(con: Connection, build_id: str) -> ScoredTopics:
    """Topics of ``build_id`` scored for emergence (``topics.emerging``)."""
    rows = topic_queries.topic_rows(con, build_id)
    counts = topic_queries.period_counts(con, build_id)
    return ScoredTopics(rows, emergence_by_period(counts, [r.topic_id for r in rows]))


@dataclass(frozen=True)
class TopicMap:
    """Stories placed on a plane by the first two principal components of their vectors."""

    points: pd.DataFrame  # article_id, topic_id, topic_label, title, source, published_at, x, y
    explained: tuple[float, float]  # share of the variance along x and along y
    total: int  # stories in the build; len(points) is the sample drawn


def topic_map(con: Connection, build_id: str, limit: int) -> TopicMap:
    """A deterministic sample of at most ``limit`` stories of a build, projected to 2-D.

    The projection is computed here from stored vectors (a numpy SVD of a few thousand
    rows takes milliseconds); nothing is fitted that a build did not already store.
    """
    sample = topic_queries.map_sample(con, build_id, limit)
    coords, projection = project_2d(sample.vectors)
    points = sample.points.copy()
    points["x"], points["y"] = coords[:, 0], coords[:, 1]
    explained = (float(projection.explained[0]), float(projection.explained[1]))
    return TopicMap(points, explained, sample.total)
