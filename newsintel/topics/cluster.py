"""Seeded, deterministic clustering of unit vectors into topics.

The method, in four steps, each chosen so that the result depends only on the input
rows (in their given order) and the seed:

1. **Micro-clusters**: spherical k-means (k-means++ start, Lloyd iterations) with many
   centroids (``max_micro``) fitted on a seeded sample of at most ``fit_sample`` rows,
   then every row is assigned to its nearest micro-centroid. Memory stays O(n x d):
   similarities are computed in chunks, never as an n x n matrix.
2. **Agglomeration**: size-weighted Ward merging of the micro-clusters, one merge at a
   time, giving every cut from ``max_micro`` clusters down to one.
3. **Number of topics**: the cut with the highest mean silhouette (cosine distance) on
   a seeded sample of ``silhouette_sample`` rows, between ``min_topics`` and
   ``max_topics``; ties go to more topics. No number of classes is ever given.
4. **Refinement**: a few spherical k-means iterations on all rows from the chosen cut's
   centroids; topics smaller than ``min_topic_size`` are dissolved into their nearest
   neighbour. Every row ends in a topic, so the outlier share is zero by construction
   (BERTopic's HDBSCAN leaves a large share as outliers).

Sums over members go through a sparse one-hot product (a fixed, single-threaded
summation order) rather than threaded reductions; the random generator is numpy's
PCG64, identical on every platform. The only machine dependence left is the last bit
of BLAS dot products, which could flip an exact tie, and exact ties do not occur in
real embeddings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

_CHUNK = 16_384


@dataclass(frozen=True)
class ClusterParams:
    """Knobs of :func:`cluster_vectors`; stored with every build."""

    max_micro: int = 200  # micro-clusters of step 1 (fewer for small inputs)
    min_topics: int = 2
    max_topics: int = 60
    min_topic_size: int = 5
    fit_sample: int = 20_000  # rows the micro k-means is fitted on
    seed_sample: int = 4_000  # rows k-means++ picks its starting centres from
    silhouette_sample: int = 2_000  # rows the silhouette is computed on
    kmeans_iter: int = 30
    refine_iter: int = 10


@dataclass(frozen=True)
class Clustering:
    """Topics of a matrix: one label per row (0..k-1), unit centroids, and how k was chosen."""

    labels: np.ndarray  # int64, one per row; -1 would mean outlier (never produced)
    centroids: np.ndarray  # float32 (k x d), unit rows
    silhouettes: tuple[tuple[int, float], ...]  # (k, mean silhouette) for every cut tried
    chosen_k: int
    outlier_share: float

    @property
    def k(self) -> int:
        """Number of topics."""
        return int(self.centroids.shape[0])


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    out: np.ndarray = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return out


def assign(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nearest centroid index, cosine similarity to it) per row, computed in chunks."""
    labels = np.empty(len(x), dtype=np.int64)
    best = np.empty(len(x), dtype=np.float32)
    ct = np.ascontiguousarray(centroids.T)
    for start in range(0, len(x), _CHUNK):
        sims = x[start : start + _CHUNK] @ ct
        labels[start : start + _CHUNK] = np.argmax(sims, axis=1)
        best[start : start + _CHUNK] = sims[np.arange(len(sims)), labels[start : start + _CHUNK]]
    return labels, best


def member_sums(x: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(k x d sums of member rows, member counts); fixed summation order."""
    n = len(labels)
    onehot = sparse.csr_matrix((np.ones(n, dtype=x.dtype), (labels, np.arange(n))), shape=(k, n))
    sums = np.asarray(onehot @ x)
    return sums, np.bincount(labels, minlength=k)


def _kmeans_pp(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding with cosine distance (1 - cos), returns row indices."""
    n = len(x)
    chosen = [int(rng.integers(n))]
    dist = np.maximum(1.0 - x @ x[chosen[0]], 0.0).astype(np.float64)
    for _ in range(1, k):
        total = dist.sum()
        if total <= 0:  # fewer distinct rows than k: take unused rows in order
            unused = np.setdiff1d(np.arange(n), chosen)
            chosen.extend(int(i) for i in unused[: k - len(chosen)])
            break
        pick = int(np.searchsorted(np.cumsum(dist), rng.random() * total, side="right"))
        pick = min(pick, n - 1)
        chosen.append(pick)
        dist = np.minimum(dist, np.maximum(1.0 - x @ x[pick], 0.0))
    return np.asarray(chosen[:k])


def spherical_kmeans(
    x: np.ndarray, centroids: np.ndarray, max_iter: int, tolerance: float = 1e-3
) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd iterations on the unit sphere from ``centroids``; (labels, centroids).

    Stops when at most ``tolerance`` of the rows change topic (or after ``max_iter``).
    """
    k = len(centroids)
    labels, sims = assign(x, centroids)
    for _ in range(max_iter):
        sums, counts = member_sums(x, labels, k)
        empty = np.flatnonzero(counts == 0)
        if len(empty):
            # An empty cluster restarts at the rows farthest from their centroids.
            far = np.argsort(sims, kind="stable")[: len(empty)]
            sums[empty] = x[far]
        centroids = normalize_rows(sums)
        new_labels, sims = assign(x, centroids)
        changed = int(np.count_nonzero(new_labels != labels))
        labels = new_labels
        if changed <= tolerance * len(x):
            break
    return labels, centroids


def ward_merges(means: np.ndarray, counts: np.ndarray) -> list[tuple[int, int]]:
    """Size-weighted Ward agglomeration of clusters; the (kept, absorbed) merges in order.

    Cost of merging a and b: n_a n_b / (n_a + n_b) * |mean_a - mean_b|^2, the increase
    in within-cluster sum of squares. Ties resolve to the lowest (row, column) pair.
    """
    m = len(means)
    mu = means.astype(np.float64).copy()
    n = counts.astype(np.float64).copy()
    sq = (mu * mu).sum(axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * mu @ mu.T, 0.0)
    cost = (n[:, None] * n[None, :]) / (n[:, None] + n[None, :]) * d2
    np.fill_diagonal(cost, np.inf)
    merges: list[tuple[int, int]] = []
    for _ in range(m - 1):
        flat = int(np.argmin(cost))
        a, b = divmod(flat, m)
        a, b = min(a, b), max(a, b)
        merges.append((a, b))
        mu[a] = (n[a] * mu[a] + n[b] * mu[b]) / (n[a] + n[b])
        n[a] += n[b]
        cost[b, :] = np.inf
        cost[:, b] = np.inf
        alive = np.isfinite(cost[:, a]) | (np.arange(m) == a)
        alive[a] = False
        others = np.flatnonzero(alive)
        diff = mu[others] - mu[a]
        row = n[others] * n[a] / (n[others] + n[a]) * (diff * diff).sum(axis=1)
        cost[a, others] = row
        cost[others, a] = row
    return merges


def cuts(merges: list[tuple[int, int]], m: int, ks: Iterable[int]) -> dict[int, np.ndarray]:
    """For each k in ``ks``: the cluster (0..k-1) of each of ``m`` micro-clusters.

    Clusters are numbered by their lowest micro-cluster.
    """
    wanted = set(ks)
    parent = np.arange(m)
    result: dict[int, np.ndarray] = {}
    for step in range(m):
        k = m - step
        if k in wanted:
            _, labels = np.unique(parent, return_inverse=True)
            result[k] = labels.astype(np.int64)
        if step < len(merges):
            a, b = merges[step]
            parent[parent == b] = a
    return result


def silhouette_by_cut(
    xs: np.ndarray, micro: np.ndarray, cuts: dict[int, np.ndarray]
) -> dict[int, float]:
    """Mean cosine silhouette of sample rows ``xs`` (micro labels ``micro``) for each cut."""
    m = len(xs)
    dist = np.maximum(1.0 - xs @ xs.T, 0.0)
    n_micro = int(max(len(c) for c in cuts.values()))
    onehot = np.zeros((m, n_micro), dtype=np.float32)
    onehot[np.arange(m), micro] = 1.0
    to_micro = (dist @ onehot).astype(np.float64)  # summed distance of each row to each micro
    result: dict[int, float] = {}
    for k, micro_to_topic in cuts.items():
        agg = np.zeros((n_micro, k))
        agg[np.arange(n_micro), micro_to_topic] = 1.0
        totals = to_micro @ agg
        labels = micro_to_topic[micro]
        sizes = np.bincount(labels, minlength=k).astype(np.float64)
        own = sizes[labels]
        a = totals[np.arange(m), labels] / np.maximum(own - 1.0, 1.0)
        mean_to = totals / np.maximum(sizes, 1.0)
        mean_to[:, sizes == 0] = np.inf
        mean_to[np.arange(m), labels] = np.inf
        b = mean_to.min(axis=1)
        s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
        result[k] = float(s.mean())
    return result


def _dissolve_small(
    x: np.ndarray, labels: np.ndarray, centroids: np.ndarray, min_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Move members of topics smaller than ``min_size`` to their nearest surviving topic."""
    counts = np.bincount(labels, minlength=len(centroids))
    keep = np.flatnonzero(counts >= min_size)
    if len(keep) == 0 or len(keep) == len(centroids):
        return labels, centroids
    labels, _ = assign(x, centroids[keep])
    sums, _ = member_sums(x, labels, len(keep))
    return labels, normalize_rows(sums)


def cluster_vectors(x: np.ndarray, *, seed: int, params: ClusterParams | None = None) -> Clustering:
    """Cluster the rows of ``x`` (unit vectors) into topics; same input and seed, same result.

    Topic numbers are ordered by size (largest first), ties by first row. BLAS runs on
    one thread here: results then cannot depend on how a product was split between
    threads, and small products do not stall waiting for busy cores.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _cluster(x, seed, params or ClusterParams())


def _cluster(x: np.ndarray, seed: int, p: ClusterParams) -> Clustering:
    x = normalize_rows(x)
    n = len(x)
    if n == 0:
        return Clustering(np.zeros(0, np.int64), np.zeros((0, x.shape[1]), np.float32), (), 0, 0.0)
    if n < 2 * p.min_topic_size:
        # Too few rows to tell topics apart: one topic holds them all.
        return Clustering(
            np.zeros(n, np.int64), normalize_rows(x.mean(axis=0)[None, :]), (), 1, 0.0
        )
    rng = np.random.default_rng(seed)

    n_micro = int(min(p.max_micro, max(2, n // 10)))
    fit_rows = np.sort(rng.choice(n, size=min(n, p.fit_sample), replace=False))
    xf = x[fit_rows]
    # k-means++ is sequential (one pass per centre): seed it on a smaller sample.
    seed_rows = np.sort(rng.choice(len(xf), size=min(len(xf), p.seed_sample), replace=False))
    start = xf[seed_rows][_kmeans_pp(xf[seed_rows], n_micro, rng)]
    _, micro_centroids = spherical_kmeans(xf, start, p.kmeans_iter)
    micro, _ = assign(x, micro_centroids)
    sums, counts = member_sums(x, micro, n_micro)
    present = np.flatnonzero(counts > 0)
    if len(present) < n_micro:  # drop micro-clusters that received no row
        remap = np.full(n_micro, -1)
        remap[present] = np.arange(len(present))
        micro, sums, counts, n_micro = remap[micro], sums[present], counts[present], len(present)
    merges = ward_merges(sums / counts[:, None], counts)

    top = min(p.max_topics, n_micro, n // p.min_topic_size)
    low = min(p.min_topics, top)
    by_k = cuts(merges, n_micro, range(max(low, 1), top + 1))
    sample = np.sort(rng.choice(n, size=min(n, p.silhouette_sample), replace=False))
    scores = silhouette_by_cut(x[sample], micro[sample], {k: c for k, c in by_k.items() if k > 1})
    chosen = max(scores, key=lambda k: (round(scores[k], 4), k)) if scores else 1

    labels = by_k[chosen][micro]
    topic_sums, _ = member_sums(x, labels, chosen)
    labels, centroids = spherical_kmeans(x, normalize_rows(topic_sums), p.refine_iter)
    labels, centroids = _dissolve_small(x, labels, centroids, p.min_topic_size)

    # Renumber by size (largest first), ties by the first row of each topic.
    k = len(centroids)
    sizes = np.bincount(labels, minlength=k)
    first = np.full(k, n)
    np.minimum.at(first, labels, np.arange(n))
    order = sorted((k_ for k_ in range(k) if sizes[k_] > 0), key=lambda t: (-sizes[t], first[t]))
    renumber = np.full(k, -1, dtype=np.int64)
    renumber[order] = np.arange(len(order))
    return Clustering(
        labels=renumber[labels],
        centroids=centroids[order],
        silhouettes=tuple(sorted(scores.items())),
        chosen_k=chosen,
        outlier_share=0.0,
    )
