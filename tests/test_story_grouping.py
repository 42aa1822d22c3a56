"""A run groups only what changed, and gets the groups a full regrouping would.

`group_near_duplicates` regrouped every stored story each run (at 1M stories that is a
million vectors read and compared every half hour). It now folds in the articles new to
the grouping; these tests check the promise that makes that safe: the story ids equal
those of grouping everything again, after every batch, with vectors arriving late, and
with a pair that merges two stories grouped earlier.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from newsintel.config import Settings
from newsintel.feeds.dedupe import (
    StoryCandidate,
    embedding_pairs,
    embedding_pairs_of,
    merge_changed_stories,
    near_duplicate_stories,
)
from newsintel.feeds.sources import FeedSource
from newsintel.jobs import embedding as embedding_jobs
from newsintel.jobs import group_near_duplicates, ingest
from newsintel.store import open_db
from newsintel.store.embeddings import save_embeddings

MODEL = "test-grouping-model"
WINDOW = timedelta(days=3)
WORDS = [
    "lithium",
    "brine",
    "output",
    "expands",
    "copper",
    "smelter",
    "strike",
    "ends",
    "nickel",
    "mine",
    "restarts",
]


def _unit(rng: np.random.Generator, centre: np.ndarray, noise: float) -> np.ndarray:
    v = centre + noise * rng.normal(size=centre.shape)
    return (v / np.linalg.norm(v)).astype(np.float32)


def _world(seed: int, n: int) -> tuple[list[StoryCandidate], np.ndarray]:
    """Articles with colliding titles, shared URLs and clustered vectors (chains likely)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, 16))
    start = datetime(2025, 1, 1)
    candidates, vectors = [], []
    for i in range(n):
        words = rng.choice(WORDS[:6], size=4, replace=False)
        candidates.append(
            StoryCandidate(
                article_id=f"a{i:03d}",
                source_id=f"s{rng.integers(3)}",
                published_at=start + timedelta(hours=int(rng.integers(0, 24 * 20))),
                title_key=" ".join(words) if rng.random() < 0.3 else None,
                url_key=f"https://x.example/{rng.integers(40)}" if rng.random() < 0.2 else None,
            )
        )
        vectors.append(_unit(rng, centres[rng.integers(6)], 0.12 if rng.random() < 0.5 else 2.0))
    return candidates, np.array(vectors)


@pytest.mark.parametrize("seed", range(6))
def test_pairs_of_some_rows_are_the_pairs_with_an_end_among_them(seed: int) -> None:
    candidates, vectors = _world(seed, 120)
    order = sorted(range(len(candidates)), key=lambda i: candidates[i].published_at)
    times = np.array([candidates[i].published_at for i in order], dtype="datetime64[us]")
    ordered = vectors[order]
    every = embedding_pairs(times, ordered, 0.92, WINDOW)
    assert every  # the world has near-duplicates
    rows = np.array(sorted(random.Random(seed).sample(range(len(order)), 17)))
    chosen = set(rows.tolist())
    want = sorted(p for p in every if p[0] in chosen or p[1] in chosen)
    assert embedding_pairs_of(times, ordered, rows, 0.92, WINDOW) == want
    assert embedding_pairs_of(times, ordered, np.arange(len(order)), 0.92, WINDOW) == sorted(every)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("only_changed", [False, True])
def test_folding_in_batches_gives_the_full_grouping(seed: int, only_changed: bool) -> None:
    candidates, vectors = _world(seed, 90)
    everything = near_duplicate_stories(candidates, vectors, threshold=0.92, window=WINDOW)
    assert len(set(everything.values())) < len(candidates)  # the world has copies
    order = list(range(len(candidates)))
    random.Random(seed).shuffle(order)  # arrival order is not publication order
    story: dict[str, str] = {}  # what the store holds for grouped articles
    for cut in range(0, len(order), 25):
        new = {candidates[i].article_id for i in order[cut : cut + 25]}
        near = [i for i, c in enumerate(candidates) if c.article_id in story or c.article_id in new]
        times = {candidates[i].article_id: candidates[i].published_at for i in near}
        merged, fresh = merge_changed_stories(
            [candidates[i] for i in near],
            vectors[near],
            {a: s for a, s in story.items()},
            {s: times[s] for s in set(story.values())},
            threshold=0.92,
            window=WINDOW,
            changed=new if only_changed else None,
        )
        story = {a: merged.get(s, s) for a, s in story.items()} | fresh
        seen = [candidates[i] for i in near]
        assert story == near_duplicate_stories(seen, vectors[near], threshold=0.92, window=WINDOW)
    assert story == everything


# -- through the store, with real feeds and a real DuckDB file ------------------------------


def _rss(items: list[tuple[str, str, datetime, str]]) -> str:
    body = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><title>{title}</title>"
        f"<link>{link}</link><pubDate>{when:%a, %d %b %Y %H:%M:%S} GMT</pubDate>"
        f"<description>{title}.</description></item>"
        for guid, title, when, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed</title><link>https://feed.example.com/</link>{body}</channel></rss>"
    )


def _no_full_read(*_args: object) -> None:
    raise AssertionError("a run with nothing but new articles read every story")


def _stories(settings: Settings) -> dict[str, str]:
    with open_db(settings.db, read_only=True) as con:
        rows = con.execute("SELECT guid, story_id FROM articles WHERE NOT is_issue").fetchall()
    return {str(g): str(s) for g, s in rows}


def _add_vectors(settings: Settings, guids: set[str], centre_of: dict[str, int]) -> None:
    rng = np.random.default_rng(len(guids))
    centres = np.random.default_rng(7).normal(size=(12, 16))
    with open_db(settings.db) as con:
        rows = con.execute("SELECT article_id, guid FROM articles").fetchall()
        pick = [(str(a), str(g)) for a, g in rows if g in guids]
        vectors = np.array([_unit(rng, centres[centre_of[g]], 0.05) for _a, g in pick])
        save_embeddings(con, MODEL, [a for a, _g in pick], vectors)


def test_runs_fold_in_new_and_late_embedded_articles_as_a_full_regrouping_would(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rnd = random.Random(3)
    start = datetime(2025, 3, 3, tzinfo=UTC)
    batches: list[list[tuple[str, str, datetime, str]]] = []
    centre_of: dict[str, int] = {}
    for b in range(4):
        batch = []
        for i in range(15):
            guid = f"item-{b}-{i}-guid"
            when = start + timedelta(hours=rnd.randrange(24 * 12))
            title = " ".join(rnd.sample(WORDS, 5)) if rnd.random() < 0.5 else f"Report {guid}"
            link = f"https://news.example.com/story/{rnd.randrange(150)}"
            batch.append((guid, title, when, link))
            centre_of[guid] = rnd.randrange(12)
        batches.append(batch)
    embedded_late: set[str] = set()
    for b, batch in enumerate(batches):
        path = tmp_path / f"feed{b}.xml"
        path.write_text(_rss(batch), "utf-8")
        ingest(
            settings,
            sources=[FeedSource(f"outlet{b % 3}", f"outlet{b % 3}", str(path))],
            force=True,
        )
        guids = {g for g, *_ in batch}
        late = {g for g in guids if rnd.random() < 0.3}
        _add_vectors(settings, (guids - late) | embedded_late, centre_of)
        embedded_late = late  # these get their vector one batch later
        if b:  # after the first run, the fold never reads every story
            monkeypatch.setattr(embedding_jobs, "story_candidates", _no_full_read)
        folded = group_near_duplicates(settings, MODEL)
        monkeypatch.undo()
        after_fold = _stories(settings)
        full = group_near_duplicates(settings, MODEL, full=True)
        assert full.changed == 0, f"batch {b}: a full regrouping changed {full.changed}"
        assert _stories(settings) == after_fold
        assert (folded.articles, folded.stories) == (full.articles, full.stories)
    assert len(set(after_fold.values())) < len(after_fold)  # copies were found


def test_another_threshold_regroups_everything(settings: Settings, tmp_path: Path) -> None:
    when = datetime(2025, 3, 3, 8, tzinfo=UTC)
    path = tmp_path / "feed.xml"
    path.write_text(
        _rss(
            [
                ("guid-one-0001", "One", when, "https://n.example/1"),
                ("guid-two-0002", "Two", when, "https://n.example/2"),
            ]
        ),
        "utf-8",
    )
    ingest(settings, sources=[FeedSource("o", "o", str(path))], force=True)
    _add_vectors(
        settings, {"guid-one-0001", "guid-two-0002"}, {"guid-one-0001": 0, "guid-two-0002": 0}
    )  # near-identical vectors
    assert group_near_duplicates(settings, MODEL).stories == 1
    assert group_near_duplicates(settings, MODEL, threshold=0.9999).stories == 2
    assert group_near_duplicates(settings, MODEL).stories == 1


def test_a_page_seen_again_months_later_joins_its_story_in_a_fold(
    settings: Settings, tmp_path: Path
) -> None:
    first = datetime(2025, 3, 3, 8, tzinfo=UTC)
    link = "https://n.example/atacama-brine"
    batches = [
        [("item-a-guid", "Atacama brine output to rise", first, link)],
        # The same page under another title, 60 days on, with an unrelated vector: only
        # its URL ties it to the first, so the fold must look beyond the time window.
        [("item-b-guid", "Producers weigh the salar plan", first + timedelta(days=60), link)],
        # An unrelated story two days after the first, close by vector: joins by embedding.
        [
            (
                "item-c-guid",
                "Chile lifts lithium quota",
                first + timedelta(days=2),
                "https://n.example/c",
            )
        ],
    ]
    centres = {"item-a-guid": 0, "item-b-guid": 1, "item-c-guid": 0}
    for number, batch in enumerate(batches):
        path = tmp_path / f"f{number}.xml"
        path.write_text(_rss(batch), "utf-8")
        ingest(settings, sources=[FeedSource(f"o{number}", f"o{number}", str(path))], force=True)
        _add_vectors(settings, {batch[0][0]}, centres)
        group_near_duplicates(settings, MODEL)
    story = _stories(settings)
    assert story["item-a-guid"] == story["item-b-guid"] == story["item-c-guid"]
    assert group_near_duplicates(settings, MODEL, full=True).changed == 0
