"""A 2-D map of story embeddings: principal components of the unit vectors.

PCA by a thin SVD of the centred matrix (numpy only), so the map is a linear view
of the embedding space: distances along the axes mean something, and the same
vectors always give the same picture. An SVD fixes each axis only up to its sign, so
every axis is flipped to make its largest loading positive; without that the map
could mirror itself from one BLAS build to another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Projection:
    """A fitted linear map from the embedding space to ``components.shape[0]`` axes."""

    mean: np.ndarray  # (d,) mean of the fitted unit vectors
    components: np.ndarray  # (n_components, d) orthonormal axes, strongest first
    explained: np.ndarray  # (n_components,) share of the total variance along each axis

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """Coordinates of ``vectors`` (rows scaled to unit length first) on the axes."""
        unit = unit_rows(vectors)
        if unit.shape[0] == 0:
            return np.zeros((0, self.components.shape[0]))
        out: np.ndarray = (unit - self.mean) @ self.components.T
        return out


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length as float64 (zero rows stay zero)."""
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D matrix of vectors, got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    out: np.ndarray = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return out


def fit_pca(vectors: np.ndarray, n_components: int = 2) -> Projection:
    """The first ``n_components`` principal axes of the unit-length rows of ``vectors``.

    Axes beyond the data's rank (one row, or fewer dimensions than axes) are zero with
    zero explained variance, so the result always has ``n_components`` axes.
    """
    if n_components < 1:
        raise ValueError("n_components must be at least 1")
    x = unit_rows(vectors)
    n, d = x.shape
    components = np.zeros((n_components, d))
    explained = np.zeros(n_components)
    mean = x.mean(axis=0) if n else np.zeros(d)
    if n >= 2 and d >= 1:
        centred = x - mean
        _u, singular, vt = np.linalg.svd(centred, full_matrices=False)
        variance = singular**2
        total = float(variance.sum())
        keep = min(n_components, vt.shape[0])
        components[:keep] = vt[:keep]
        if total > 0:
            explained[:keep] = variance[:keep] / total
        for row in components:
            # Deterministic sign: the loading largest in magnitude is positive (the
            # first such loading when two are equal).
            pivot = int(np.argmax(np.abs(row)))
            if row[pivot] < 0:
                row *= -1.0
    return Projection(mean=mean, components=components, explained=explained)


def project_2d(vectors: np.ndarray) -> tuple[np.ndarray, Projection]:
    """(n x 2 coordinates, the fitted projection) of ``vectors`` by PCA."""
    projection = fit_pca(vectors, 2)
    return projection.transform(vectors), projection
