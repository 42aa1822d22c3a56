"""Tracked theme definitions and scoring with the real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from newsintel.errors import ThemeError
from newsintel.models import ThemeDefinition
from newsintel.themes.definitions import load_themes
from newsintel.themes.matching import keyword_hits
from newsintel.themes.scoring import build_scorer

ROOT = Path(__file__).resolve().parent.parent


def test_default_themes_cover_the_product() -> None:
    themes = {t.theme_id: t for t in load_themes(ROOT / "data" / "themes.toml")}
    assert {"world_models", "ai_health", "lithium_batteries"} <= set(themes)
    assert len(themes) >= 8
    for theme in themes.values():
        assert theme.examples, theme.theme_id
        assert 0 < theme.threshold < 1
        # Every bundled theme can be backfilled from GDELT.
        assert theme.gdelt_query and theme.gdelt_query.count("(") == theme.gdelt_query.count(")")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[themes]]\nname = "Bad Name"\ndescription = "x"\n', "theme name 'Bad Name' is invalid"),
        ('[[themes]]\nname = "ok"\n', "theme 'ok' needs a non-empty 'description'"),
        ('[[themes]]\nname = "ok"\ndescription = "d"\nthreshold = 2\n', "between 0 and 1"),
        ('[[themes]]\nname = "ok"\ndescription = "d"\nexamples = "one"\n', "list of non-empty"),
        (
            '[[themes]]\nname = "a"\ndescription = "d"\n'
            '[[themes]]\nname = "a"\ndescription = "e"\n',
            "defined twice",
        ),
        ('[[themes]]\nname = "ok"\ndescription = "d"\ngdelt_query = " "\n', "'gdelt_query'"),
        ("title = 1\n", "has no \\[\\[themes\\]\\] tables"),
        ("[[themes]\n", "is not valid TOML"),
    ],
)
def test_bad_theme_files_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "themes.toml"
    path.write_text(text)
    with pytest.raises(ThemeError, match=message):
        load_themes(path)


def test_missing_theme_file(tmp_path: Path) -> None:
    with pytest.raises(ThemeError, match="does not exist"):
        load_themes(tmp_path / "nope.toml")


def test_real_model_puts_articles_in_the_right_themes(real_embedder) -> None:  # type: ignore[no-untyped-def]
    themes = load_themes(ROOT / "data" / "themes.toml")
    scorer = build_scorer(themes, real_embedder)
    texts = {
        "lithium_batteries": "Lithium hydroxide prices slide as Australian spodumene output rises",
        "world_models": "New JEPA model learns intuitive physics by predicting video in latents",
        "ai_health": "Hospital tests an AI chatbot that answers patients' questions on lab results",
    }
    vectors = real_embedder.encode(list(texts.values()))
    scores = scorer.scores(vectors)
    members = scorer.members(scores, list(texts.values()))
    for row, expected in enumerate(texts):
        column = scorer.theme_ids.index(expected)
        assert members[row, column], (expected, scores[row])
        assert scores[row].argmax() == column


def test_exclusion_vetoes_membership(fake_embedder) -> None:  # type: ignore[no-untyped-def]
    theme = ThemeDefinition(
        "lithium", "Lithium", "lithium mining news", exclusions=("lithium grease",), threshold=0.1
    )
    scorer = build_scorer([theme], fake_embedder)
    texts = ["lithium mining news today", "lithium grease for bikes and lithium mining news"]
    scores = scorer.scores(fake_embedder.encode(texts))
    assert (scores[:, 0] > 0.1).all()
    assert scorer.members(scores, texts)[:, 0].tolist() == [True, False]


def test_keyword_hits_are_case_insensitive_whole_words() -> None:
    theme = ThemeDefinition("wm", "World models", "d", keywords=("JEPA", "Genie"))
    assert keyword_hits(theme, "Meta's v-jepa and genie 3") == ["JEPA", "Genie"]
    ev = ThemeDefinition("ev", "EV", "d", keywords=("EV", "EV sales"))
    assert keyword_hits(ev, "Every level of the seven stories") == []
    assert keyword_hits(ev, "EV sales rose; the EV market grew") == ["EV", "EV sales"]


def test_scores_take_the_best_prototype_of_each_theme(fake_embedder) -> None:  # type: ignore[no-untyped-def]
    theme = ThemeDefinition("t", "T", "alpha beta", examples=("gamma delta",), threshold=0.5)
    scorer = build_scorer([theme], fake_embedder)
    score = scorer.scores(fake_embedder.encode(["gamma delta"]))
    np.testing.assert_allclose(score[0, 0], 1.0, atol=1e-6)
