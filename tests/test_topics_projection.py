"""The 2-D map of embeddings: PCA of unit vectors (newsintel.topics.projection)."""

from __future__ import annotations

import numpy as np
import pytest

from newsintel.topics.projection import fit_pca, project_2d, unit_rows


def _cloud(n: int = 400, d: int = 16, seed: int = 0) -> np.ndarray:
    """Unit vectors spread most along one axis, less along a second, little elsewhere."""
    rng = np.random.default_rng(seed)
    base = np.zeros(d)
    base[0] = 1.0
    x = base + rng.normal(size=(n, d)) * np.r_[0.0, 0.8, 0.3, [0.05] * (d - 3)]
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_shape_and_explained_variance_order() -> None:
    x = _cloud()
    coords, projection = project_2d(x)
    assert coords.shape == (400, 2)
    assert projection.components.shape == (2, 16)
    assert np.allclose(projection.components @ projection.components.T, np.eye(2), atol=1e-9)
    first, second = projection.explained
    assert 1.0 >= first >= second > 0.0 and first + second <= 1.0 + 1e-12
    # Coordinates are centred and their variances follow the same order.
    assert np.allclose(coords.mean(axis=0), 0.0, atol=1e-9)
    assert coords[:, 0].var() >= coords[:, 1].var()


def test_the_strongest_axis_is_found() -> None:
    _coords, projection = project_2d(_cloud())
    # The cloud varies most along dimension 1, then dimension 2.
    assert np.argmax(np.abs(projection.components[0])) == 1
    assert np.argmax(np.abs(projection.components[1])) == 2
    assert projection.explained[0] > 0.6


def test_same_input_same_map_and_a_fixed_sign() -> None:
    x = _cloud(seed=3)
    a, pa_ = project_2d(x)
    b, _pb = project_2d(x.copy())
    assert np.array_equal(a, b)
    for row in pa_.components:
        assert row[np.argmax(np.abs(row))] > 0
    # Negating every vector mirrors the data, yet the axes keep their sign convention.
    _c, pn = project_2d(-x)
    for row in pn.components:
        assert row[np.argmax(np.abs(row))] > 0
    assert np.allclose(np.abs(pn.components), np.abs(pa_.components), atol=1e-6)


def test_rows_are_scaled_to_unit_length_first() -> None:
    x = _cloud(n=50)
    scaled = x * np.linspace(0.5, 7.0, 50)[:, None]
    a, _ = project_2d(x)
    b, _ = project_2d(scaled)
    assert np.allclose(a, b, atol=1e-5)
    assert np.allclose(np.linalg.norm(unit_rows(scaled), axis=1), 1.0)
    zero = unit_rows(np.zeros((2, 3)))
    assert np.array_equal(zero, np.zeros((2, 3)))


def test_transform_places_new_vectors_on_the_fitted_axes() -> None:
    x = _cloud()
    projection = fit_pca(x[:300])
    coords = projection.transform(x[300:])
    assert coords.shape == (100, 2)
    assert np.allclose(coords, (unit_rows(x[300:]) - projection.mean) @ projection.components.T)


@pytest.mark.parametrize("n", [0, 1])
def test_too_few_rows_give_zero_axes(n: int) -> None:
    coords, projection = project_2d(np.ones((n, 8)))
    assert coords.shape == (n, 2)
    assert np.array_equal(projection.explained, np.zeros(2))
    assert not coords.any()


def test_fewer_dimensions_than_axes_pads_with_a_zero_axis() -> None:
    x = np.array([[1.0], [-1.0], [1.0]])
    coords, projection = project_2d(x)
    assert coords.shape == (3, 2) and not coords[:, 1].any()
    assert projection.explained[0] == pytest.approx(1.0) and projection.explained[1] == 0.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="2-D"):
        project_2d(np.ones(5))
    with pytest.raises(ValueError, match="n_components"):
        fit_pca(np.ones((3, 3)), 0)
