"""Embedding articles and grouping near-duplicates into stories."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from newsintel.config import Settings
from newsintel.embed import article_text, make_backend_embedder
from newsintel.feeds.dedupe import (
    StoryCandidate,
    merge_changed_stories,
    near_duplicate_stories,
    title_key,
)
from newsintel.jobs.common import NoProgress, Progress
from newsintel.jobs.publish import publishes
from newsintel.store import migrate, open_db
from newsintel.store.connect import Connection
from newsintel.store.embeddings import (
    embedding_count,
    ids_missing_embedding,
    save_embeddings,
    texts_for,
)
from newsintel.store.stories import (
    ChangedCandidates,
    changed_candidates,
    grouping_is_current,
    record_full_grouping,
    save_changed_grouping,
    set_story_ids,
    story_candidates,
    story_counts,
)

if TYPE_CHECKING:
    from newsintel.embed import Embedder


@dataclass(frozen=True)
class EmbedReport:
    model: str
    device: str
    embedded: int
    already_embedded: int
    seconds: float

    @property
    def docs_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


def make_embedder(settings: Settings, model: str | None = None) -> Embedder:
    """The configured embedder: torch or onnx backend (loaded lazily on first use)."""
    return make_backend_embedder(
        model or settings.model,
        settings.embed_backend,
        device=settings.device,
        batch_size=settings.embed_batch_size,
    )


@publishes
def embed(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    model: str | None = None,
    chunk_size: int = 2048,
    progress: Progress | None = None,
) -> EmbedReport:
    """Embed articles that have no vector for the model; streams in chunks.

    Only one chunk of texts and vectors is in memory at a time, and each chunk is
    written in its own short transaction, so an interrupted run loses at most a chunk.
    """
    progress = progress or NoProgress()
    embedder = embedder or make_embedder(settings, model)
    name = embedder.model_name
    started = time.monotonic()
    with open_db(settings.db) as con:
        migrate(con)
        missing = ids_missing_embedding(con, name)
        already = embedding_count(con, name)
    device = getattr(embedder, "resolved_device", "n/a") if missing else "n/a"
    progress.start(f"embedding with {name}", len(missing))
    for begin in range(0, len(missing), chunk_size):
        chunk = missing[begin : begin + chunk_size]
        with open_db(settings.db) as con:
            rows = texts_for(con, chunk)
        vectors = _encode_once_each(
            embedder, [article_text(title, text) for _id, title, text in rows]
        )
        with open_db(settings.db) as con:
            save_embeddings(con, name, [r[0] for r in rows], vectors)
        progress.advance(len(rows))
    progress.finish()
    return EmbedReport(name, str(device), len(missing), already, time.monotonic() - started)


def _encode_once_each(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """``embedder.encode(texts)``, each distinct text encoded once.

    Imported histories repeat texts: the demo's GDELT export gives 6,663 stories only
    their URL-derived titles, and 1,088 of the demo's 7,004 texts are repeats. A repeat
    gets the vector of its first copy; vectors can differ from an encode of the whole
    list only in the last float bits (batch mates change padding), as between chunks.
    """
    first: dict[str, int] = {}
    where = [first.setdefault(text, len(first)) for text in texts]
    if len(first) == len(texts):
        return embedder.encode(texts)
    return embedder.encode(list(first))[np.asarray(where, dtype=np.intp)]


@dataclass(frozen=True)
class StoriesReport:
    model: str
    articles: int
    stories: int
    changed: int  # articles whose story_id this run changed


@publishes
def group_near_duplicates(
    settings: Settings,
    model: str,
    threshold: float = 0.92,
    window_days: int = 3,
    *,
    full: bool = False,
) -> StoriesReport:
    """Give copies of one story one ``story_id``: the id of the group's earliest article.

    Articles are one story when their titles normalise alike (from different sources)
    or their ``model`` embeddings have cosine >= ``threshold``, published within
    ``window_days``, or they share a canonical URL; chains of such pairs form one group.
    The result depends only on the stored articles and vectors: the first run (and any
    run with another model, threshold or window, or ``full``) groups every story; later
    runs fold in only the articles new to the grouping, compared with their neighbours,
    which gives the same groups (feeds.dedupe.merge_changed_stories) without reading a
    million vectors every half hour.
    """
    window = timedelta(days=window_days)
    with open_db(settings.db) as con:
        migrate(con)
        if not full and grouping_is_current(con, model, threshold, window_days):
            found = changed_candidates(con, model, window_days)
            if found is not None:
                return _fold_in(con, found, model, threshold, window_days)
        rows, vectors = story_candidates(con, model)
    candidates = [_candidate(row) for row in rows]
    story_ids = near_duplicate_stories(
        candidates, vectors if vectors.shape[1] else None, threshold=threshold, window=window
    )
    with open_db(settings.db) as con:
        changed = set_story_ids(con, story_ids)
        record_full_grouping(con, model, threshold, window_days)
    return StoriesReport(model, len(candidates), len(set(story_ids.values())), changed)


def _candidate(row: tuple[str, str, datetime, str, str, str | None]) -> StoryCandidate:
    article_id, source_id, published_at, title, origin, url_key = row
    return StoryCandidate(article_id, source_id, published_at, title_key(title), origin, url_key)


def _fold_in(
    con: Connection, found: ChangedCandidates, model: str, threshold: float, window_days: int
) -> StoriesReport:
    """Merge the changed articles into the stored stories (see group_near_duplicates)."""
    merged, fresh = merge_changed_stories(
        [_candidate(row) for row in found.rows],
        found.vectors if found.vectors.shape[1] else None,
        found.grouped_story,
        found.root_times,
        threshold=threshold,
        window=timedelta(days=window_days),
        changed=found.changed_ids,
    )
    changed = save_changed_grouping(con, merged, fresh, model, threshold, window_days)
    articles, stories = story_counts(con)
    return StoriesReport(model, articles, stories, changed)
