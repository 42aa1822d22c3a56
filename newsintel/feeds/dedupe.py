"""Which articles are the same story: title keys and near-duplicate grouping (pure).

A story syndicated to several feeds, or rewritten under a new headline, arrives as
several articles with different ids. Two signals join them: the same normalised title
from another source within a few days (cheap, decided at ingest), and nearly the same
embedding within a few days (decided after embedding). Groups are closed under chains
(A~B and B~C puts A, B and C together) with union-find, and every group is named after
its earliest member, so the result depends only on the articles, never on their order.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from newsintel.feeds.identity import normalise_title

# Short titles ("Weekly update", "Podcast: episode 12") repeat across feeds without
# being the same story; only titles this long are trusted as a story's fingerprint.
MIN_TITLE_KEY_WORDS = 4
DEFAULT_THRESHOLD = 0.92
DEFAULT_WINDOW = timedelta(days=3)
# Rows compared at once: bounds the similarity block to BLOCK x (rows in the window).
_BLOCK = 1024


def title_key(title: str) -> str | None:
    """The normalised title used to match syndicated copies; None when too short to trust."""
    key = normalise_title(title)
    return key if len(key.split()) >= MIN_TITLE_KEY_WORDS else None


@dataclass(frozen=True)
class StoryCandidate:
    """An article as the grouping sees it."""

    article_id: str
    source_id: str
    published_at: datetime
    title_key: str | None
    # A copy from the same source counts when it came another way (archive vs feed):
    # the outlet's archive page and the same post in its feed have different ids.
    origin: str = "feed"
    # The canonical URL: one page is one story whatever ids its copies got (a feed's
    # GUID, a backfill's URL), at any distance in time.
    url_key: str | None = None


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, index: int) -> int:
        root = index
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[index] != root:  # path compression keeps chains short
            self.parent[index], index = root, self.parent[index]
        return root

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            # The smaller index (the earlier article, as callers sort) stays the root.
            low, high = sorted((root_a, root_b))
            self.parent[high] = low


def _order(candidates: Sequence[StoryCandidate]) -> list[int]:
    return sorted(
        range(len(candidates)),
        key=lambda i: (candidates[i].published_at, candidates[i].article_id),
    )


def title_pairs(
    candidates: Sequence[StoryCandidate], window: timedelta = DEFAULT_WINDOW
) -> list[tuple[int, int]]:
    """Index pairs with the same title key, from different sources (or one source by
    different origins), within ``window``."""
    by_key: dict[str, list[int]] = {}
    for index in _order(candidates):
        key = candidates[index].title_key
        if key:
            by_key.setdefault(key, []).append(index)
    pairs: list[tuple[int, int]] = []
    for members in by_key.values():
        for position, a in enumerate(members):
            for b in members[position + 1 :]:
                if candidates[b].published_at - candidates[a].published_at > window:
                    break  # members are in time order: later ones are further still
                first, second = candidates[a], candidates[b]
                if first.source_id != second.source_id or first.origin != second.origin:
                    pairs.append((a, b))
    return pairs


def url_pairs(candidates: Sequence[StoryCandidate]) -> list[tuple[int, int]]:
    """Index pairs that share a canonical URL: each copy paired with the first one."""
    first: dict[str, int] = {}
    pairs: list[tuple[int, int]] = []
    for index in _order(candidates):
        key = candidates[index].url_key
        if key:
            pairs.append((first.setdefault(key, index), index))
    return [(a, b) for a, b in pairs if a != b]


def embedding_pairs(
    times: npt.NDArray[np.datetime64],
    vectors: npt.NDArray[np.float32],
    threshold: float = DEFAULT_THRESHOLD,
    window: timedelta = DEFAULT_WINDOW,
) -> list[tuple[int, int]]:
    """Index pairs (i < j in time order) whose unit vectors have cosine >= ``threshold``
    and whose times lie within ``window`` of each other.

    ``times`` must be sorted ascending. Each block of rows is compared only with the
    rows inside its time window, so memory stays bounded on large databases.
    """
    count = len(times)
    if count < 2:
        return []
    span = np.timedelta64(int(window.total_seconds() * 1e6), "us")
    stamps = times.astype("datetime64[us]")
    pairs: list[tuple[int, int]] = []
    for begin in range(0, count, _BLOCK):
        end = min(begin + _BLOCK, count)
        # Pairs are found from their earlier member, so look forward only.
        stop = int(np.searchsorted(stamps, stamps[end - 1] + span, side="right"))
        sims = vectors[begin:end] @ vectors[begin:stop].T
        close = np.abs(stamps[begin:end, None] - stamps[None, begin:stop]) <= span
        later = np.arange(begin, end)[:, None] < np.arange(begin, stop)[None, :]
        rows, cols = np.nonzero((sims >= threshold) & close & later)
        pairs.extend(zip((rows + begin).tolist(), (cols + begin).tolist(), strict=True))
    return pairs


def embedding_pairs_of(
    times: npt.NDArray[np.datetime64],
    vectors: npt.NDArray[np.float32],
    rows: npt.NDArray[np.intp],
    threshold: float = DEFAULT_THRESHOLD,
    window: timedelta = DEFAULT_WINDOW,
) -> list[tuple[int, int]]:
    """The pairs of :func:`embedding_pairs` that have an end in ``rows``, (earlier, later).

    Each of ``rows`` is compared with every row within ``window`` of it, before or
    after: the cost is ``len(rows)`` times the rows of a window, not every row's window.
    ``times`` must be sorted ascending.
    """
    if len(times) < 2 or not len(rows):
        return []
    span = np.timedelta64(int(window.total_seconds() * 1e6), "us")
    stamps = times.astype("datetime64[us]")
    rows = np.sort(np.asarray(rows, dtype=np.intp))
    found: set[tuple[int, int]] = set()
    for block in _nearby_blocks(stamps, rows, span):
        begin = int(np.searchsorted(stamps, stamps[block[0]] - span, side="left"))
        stop = int(np.searchsorted(stamps, stamps[block[-1]] + span, side="right"))
        sims = vectors[block] @ vectors[begin:stop].T
        close = np.abs(stamps[block, None] - stamps[None, begin:stop]) <= span
        other = block[:, None] != np.arange(begin, stop)[None, :]
        hits, cols = np.nonzero((sims >= threshold) & close & other)
        for a, b in zip(block[hits].tolist(), (cols + begin).tolist(), strict=True):
            found.add((a, b) if a < b else (b, a))
    return sorted(found)


def _nearby_blocks(
    stamps: npt.NDArray[np.datetime64], rows: npt.NDArray[np.intp], span: np.timedelta64
) -> list[npt.NDArray[np.intp]]:
    """``rows`` (sorted) cut into blocks of at most _BLOCK rows lying within ``span`` of
    the block's first row, so that a block's windows together span three windows at
    most rather than the whole time range."""
    blocks: list[npt.NDArray[np.intp]] = []
    row_stamps = stamps[rows]
    start = 0
    while start < len(rows):
        last = int(np.searchsorted(row_stamps, row_stamps[start] + span, side="right"))
        stop = min(max(last, start + 1), start + _BLOCK)
        blocks.append(rows[start:stop])
        start = stop
    return blocks


def group_stories(
    candidates: Sequence[StoryCandidate],
    pairs: Sequence[tuple[int, int]],
) -> dict[str, str]:
    """story_id for every candidate: the id of the earliest article of its group.

    Groups are the connected components of ``pairs`` (indexes into ``candidates``);
    "earliest" is by (published_at, article_id), so ties break the same way every run.
    """
    order = _order(candidates)
    rank = {index: position for position, index in enumerate(order)}
    groups = _UnionFind(len(candidates))
    for a, b in pairs:
        groups.union(rank[a], rank[b])
    return {
        candidates[index].article_id: candidates[order[groups.find(rank[index])]].article_id
        for index in range(len(candidates))
    }


def story_pairs(
    candidates: Sequence[StoryCandidate],
    vectors: npt.NDArray[np.float32] | None,
    threshold: float,
    window: timedelta,
    changed: Collection[str] | None = None,
) -> list[tuple[int, int]]:
    """Index pairs of one story by every signal: title keys, canonical URLs and, when
    given, embeddings (row i of ``vectors`` belongs to ``candidates[i]``, unit length).

    With ``changed`` (article ids), only the pairs with a changed end: embeddings are
    then compared for the changed articles alone.
    """
    pairs = title_pairs(candidates, window) + url_pairs(candidates)
    if changed is not None:
        flags = [c.article_id in changed for c in candidates]
        pairs = [(a, b) for a, b in pairs if flags[a] or flags[b]]
    if vectors is not None and len(candidates) > 1:
        order = _order(candidates)
        times = np.array([candidates[i].published_at for i in order], dtype="datetime64[us]")
        # Candidates read from the store come in time order already: no copy then.
        ordered = vectors if order == list(range(len(order))) else vectors[order]
        if changed is None:
            sorted_pairs = embedding_pairs(times, ordered, threshold, window)
        else:
            rows = np.array(
                [position for position, i in enumerate(order) if flags[i]], dtype=np.intp
            )
            sorted_pairs = embedding_pairs_of(times, ordered, rows, threshold, window)
        pairs += [(order[a], order[b]) for a, b in sorted_pairs]
    return pairs


def near_duplicate_stories(
    candidates: Sequence[StoryCandidate],
    vectors: npt.NDArray[np.float32] | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    window: timedelta = DEFAULT_WINDOW,
) -> dict[str, str]:
    """story_id for every candidate from all signals: title keys, canonical URLs and,
    when given, embeddings (row i of ``vectors`` belongs to ``candidates[i]``, unit length)."""
    return group_stories(candidates, story_pairs(candidates, vectors, threshold, window))


def merge_changed_stories(
    candidates: Sequence[StoryCandidate],
    vectors: npt.NDArray[np.float32] | None,
    grouped_story: Mapping[str, str],
    root_times: Mapping[str, datetime],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    window: timedelta = DEFAULT_WINDOW,
    changed: Collection[str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Fold articles new to the grouping into the stories already grouped.

    ``candidates`` are the changed articles (never grouped, or grouped before their
    vector existed) and every article that can pair with one: all within ``window`` of
    one, and all sharing its canonical URL. ``grouped_story`` gives the stored story of
    each candidate that was grouped before, ``root_times`` the publication time of each
    such story's id (its earliest article). Every pair that the whole graph gained since
    the last grouping has a changed end, so it is among the pairs of ``candidates``;
    pairs only merge groups, so uniting stored stories along them gives the components
    of the whole graph: the result of ``near_duplicate_stories`` over every article,
    at the cost of the neighbourhood of what changed. ``changed`` names the changed
    articles (None: all pairs of ``candidates`` are looked at): a pair without a changed
    end joins articles that were grouped together already, so only the changed
    articles' pairs are looked for.

    Returns (stored story id -> new story id, for stories merged into an earlier one;
    never-grouped article id -> its story id).
    """
    pairs = story_pairs(candidates, vectors, threshold, window, changed)
    # Nodes: one per stored story (named by its id) and one per never-grouped article.
    node_of: list[tuple[str, str]] = []
    for candidate in candidates:
        story = grouped_story.get(candidate.article_id)
        node_of.append(("story", story) if story is not None else ("new", candidate.article_id))
    names = sorted(set(node_of))
    index = {name: position for position, name in enumerate(names)}
    groups = _UnionFind(len(names))
    for a, b in pairs:
        groups.union(index[node_of[a]], index[node_of[b]])
    published = {c.article_id: c.published_at for c in candidates}

    def when(name: tuple[str, str]) -> tuple[datetime, str]:
        kind, ident = name
        return (root_times[ident] if kind == "story" else published[ident]), ident

    members: dict[int, list[tuple[str, str]]] = {}
    for name in names:
        members.setdefault(groups.find(index[name]), []).append(name)
    merged: dict[str, str] = {}
    fresh: dict[str, str] = {}
    for component in members.values():
        earliest = min(component, key=when)[1]
        for kind, ident in component:
            if kind == "new":
                fresh[ident] = earliest
            elif ident != earliest:
                merged[ident] = earliest
    return merged, fresh
