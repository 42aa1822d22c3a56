"""Shared fixtures: settings on a temporary database, the real model, a demo database."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
# Real public data for tests (see ../shared/data/README.md), laid beside the repository.
# Tests that read it skip when it is missing on a developer's machine; on CI (CI set)
# a missing folder fails the run at once instead of skipping those tests silently.
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The app lowers its own threads' priority (newsintel.ui.priority); under AppTest those
# are this test process's threads, which must keep their share of a shared machine.
os.environ.setdefault("NEWSINTEL_APP_NICE", "0")

from newsintel.config import Settings, load_settings  # noqa: E402

pytest_plugins = ["feedserver", "imapserver"]


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("CI") and not SHARED_DATA.is_dir():
        raise pytest.UsageError(
            f"{SHARED_DATA} is missing: CI lays ../shared beside the repository, and the "
            "tests that read real data would otherwise skip without a word"
        )


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings on a fresh database in tmp_path, repository data files, no env or toml."""
    values: dict[str, object] = {
        "db": str(tmp_path / "newsintel.duckdb"),
        "feeds_file": str(ROOT / "data" / "feeds.toml"),
        "themes_file": str(ROOT / "data" / "themes.toml"),
        "sample_dir": str(ROOT / "data" / "sample"),
    }
    values.update(overrides)
    return load_settings(env={}, config_file=None, **values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


class FakeEmbedder:
    """Deterministic bag-of-words vectors: fast stand-in for unit tests around the model.

    Texts that share words get similar vectors, so theme scoring still behaves sensibly.
    Never the only test of a feature: the real model is tested beside it.
    """

    model_name = "fake-bow-64"
    dimension = 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts_seen = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts_seen += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                digest = hashlib.sha256(word.strip(".,:;!?'\"").encode()).digest()
                out[row, digest[0] % self.dimension] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
        return out


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_embedder():  # type: ignore[no-untyped-def]
    """The bundled all-MiniLM-L6-v2, loaded once per test session."""
    from newsintel.embed import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    assert embedder.dimension == 384
    return embedder


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One ONNX model cache for the session: the fp32 export and the int8 quantization
    (about 15 s together on CI) happen once, for whichever test asks first (the embed
    benchmark's tiny run, tests/test_embed_onnx.py), not once per test module."""
    return str(tmp_path_factory.mktemp("models"))


# What `jobs.demo` reported for each session demo database (see the demo_report fixture).
_DEMO_REPORTS: dict[str, object] = {}


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Settings:  # type: ignore[no-untyped-def]
    """A demo database built once from bundled data with the real model (read-only use)."""
    from newsintel.jobs import demo

    folder = tmp_path_factory.mktemp("demo")
    settings = make_settings(folder)
    _DEMO_REPORTS[settings.db] = demo(settings, embedder=real_embedder)
    return settings


@pytest.fixture(scope="session")
def demo_report(demo_db: Settings):  # type: ignore[no-untyped-def]
    """The DemoReport of the session demo database's build (no second demo build)."""
    return _DEMO_REPORTS[demo_db.db]
