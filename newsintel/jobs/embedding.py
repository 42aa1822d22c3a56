"""Embedding articles and grouping near-duplicates into stories."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np

from newsintel.config import Settings
from newsintel.embed import article_text, make_backend_embedder
from newsintel.feeds.dedupe import StoryCandidate, near_duplicate_stories, title_key
from newsintel.jobs.common import NoProgress, Progress
from newsintel.jobs.publish import publishes
from newsintel.store import migrate, open_db
from newsintel.store.embeddings import (
    embedding_count,
    ids_missing_embedding,
    save_embeddings,
    texts_for,
)
from newsintel.store.stories import set_story_ids, story_candidates

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
    settings: Settings, model: str, threshold: float = 0.92, window_days: int = 3
) -> StoriesReport:
    """Give copies of one story one ``story_id``: the id of the group's earliest article.

    Articles are one story when their titles normalise alike (from different sources)
    or their ``model`` embeddings have cosine >= ``threshold``, published within
    ``window_days``; chains of such pairs form one group. Recomputed over every story
    each time, so the result depends only on the stored articles and vectors.
    """
    with open_db(settings.db) as con:
        migrate(con)
        rows, vectors = story_candidates(con, model)
    candidates = [
        StoryCandidate(article_id, source_id, published_at, title_key(title), origin, url_key)
        for article_id, source_id, published_at, title, origin, url_key in rows
    ]
    story_ids = near_duplicate_stories(
        candidates,
        vectors if vectors.shape[1] else None,
        threshold=threshold,
        window=timedelta(days=window_days),
    )
    with open_db(settings.db) as con:
        changed = set_story_ids(con, story_ids)
    return StoriesReport(model, len(candidates), len(set(story_ids.values())), changed)
