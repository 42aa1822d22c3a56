"""Theme assignment keeps stored scores while themes, classifiers and model are unchanged.

On a real DuckDB file: a run after new stories arrive scores only those stories and
ends with exactly the scores a full assignment gives; any change to what scoring reads
(a threshold, a keyword, a trained classifier, the model) rescores everything, and so
does a run after an interrupted full one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from interrupt import interrupt_on_call

from newsintel.config import Settings
from newsintel.jobs import assign_themes, embed, ingest, sample_sources, train_themes
from newsintel.store import open_db

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
LABELLED = ROOT / "data" / "eval" / "themes_labelled.jsonl"


def stored_scores(settings: Settings) -> list[tuple[object, ...]]:
    with open_db(settings.db, read_only=True) as con:
        return con.execute(
            "SELECT article_id, theme_id, method, score, is_member FROM article_themes ORDER BY ALL"
        ).fetchall()


def scalar(settings: Settings, sql: str) -> object:
    with open_db(settings.db, read_only=True) as con:
        row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def same_scores(got: list[tuple[object, ...]], want: list[tuple[object, ...]]) -> bool:
    """Equal rows, scores to float32 rounding (BLAS sums a batch in its own order)."""
    keys = [(r[0], r[1], r[2], r[4]) for r in got] == [(r[0], r[1], r[2], r[4]) for r in want]
    return keys and all(abs(a[3] - b[3]) < 1e-6 for a, b in zip(got, want, strict=True))  # type: ignore[operator]


def full_assignment_of(
    settings: Settings, tmp_path: Path, fake_embedder
) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    """The scores a from-scratch assignment gives on a copy of the database."""
    copy = replace(settings, db=str(tmp_path / "full-copy.duckdb"))
    shutil.copy(settings.db, copy.db)
    with open_db(copy.db) as con:
        con.execute("DELETE FROM article_themes")
        con.execute("DELETE FROM theme_assignment")
    assign_themes(copy, embedder=fake_embedder, batch_size=5)
    return stored_scores(copy)


def with_threshold(themes_file: Path, out: Path, theme: str, threshold: float) -> Path:
    """A copy of themes_file in which one theme has its own threshold."""
    text = themes_file.read_text("utf-8")
    start = text.index(f'name = "{theme}"')
    end = text.find("[[themes]]", start)
    end = len(text) if end < 0 else end
    block = re.sub(r"(?m)^threshold = .*\n", "", text[start:end])
    out.write_text(
        text[:start] + block.rstrip("\n") + f"\nthreshold = {threshold}\n\n" + text[end:]
    )
    return out


def test_new_stories_alone_are_scored_and_match_a_full_assignment(  # type: ignore[no-untyped-def]
    settings: Settings, fake_embedder, tmp_path: Path
) -> None:
    sources = sample_sources(SAMPLE)
    ingest(settings, sources=sources[:3], force=True)
    embed(settings, embedder=fake_embedder)
    first = assign_themes(settings, embedder=fake_embedder, batch_size=5)
    old = int(scalar(settings, "SELECT count(*) FROM embeddings"))  # type: ignore[call-overload]
    assert first.articles == old and first.kept == 0
    stamp = scalar(settings, "SELECT max(assigned_at) FROM article_themes")

    ingest(settings, sources=sources[3:], force=True)
    embed(settings, embedder=fake_embedder)
    total = int(scalar(settings, "SELECT count(*) FROM embeddings"))  # type: ignore[call-overload]
    assert total > old
    second = assign_themes(settings, embedder=fake_embedder, batch_size=5)
    assert (second.articles, second.kept) == (total - old, old)
    # The old rows were not rewritten; every article has one row per theme.
    assert scalar(
        settings, f"SELECT count(*) FROM article_themes WHERE assigned_at <= '{stamp}'"
    ) == old * len(second.members)
    assert same_scores(
        stored_scores(settings), full_assignment_of(settings, tmp_path, fake_embedder)
    )
    # Members are counted over every stored score, not only this run's.
    assert second.members == {
        theme: scalar(
            settings,
            f"SELECT count(*) FROM article_themes WHERE is_member AND theme_id = '{theme}'",
        )
        for theme in second.members
    }
    assert sum(second.members.values()) > 0

    nothing_new = assign_themes(settings, embedder=fake_embedder)
    assert (nothing_new.articles, nothing_new.kept) == (0, total)
    assert nothing_new.members == second.members


def test_a_changed_theme_or_classifier_rescores_every_story(  # type: ignore[no-untyped-def]
    settings: Settings, fake_embedder, tmp_path: Path
) -> None:
    settings = replace(settings, theme_classifiers_file=str(tmp_path / "classifiers.json"))
    ingest(settings, sources=sample_sources(SAMPLE), force=True)
    embed(settings, embedder=fake_embedder)
    total = int(scalar(settings, "SELECT count(*) FROM embeddings"))  # type: ignore[call-overload]
    assign_themes(settings, embedder=fake_embedder)
    before = assign_themes(settings, embedder=fake_embedder)
    assert before.articles == 0

    # A stricter threshold for one theme: every story is scored again, and fewer are in.
    stricter = with_threshold(
        Path(settings.themes_file), tmp_path / "themes.toml", "lithium_batteries", 0.95
    )
    changed = replace(settings, themes_file=str(stricter))
    after = assign_themes(changed, embedder=fake_embedder)
    assert (after.articles, after.kept) == (total, 0)
    assert after.members["lithium_batteries"] < before.members["lithium_batteries"]
    assert same_scores(stored_scores(changed), full_assignment_of(changed, tmp_path, fake_embedder))
    assert assign_themes(changed, embedder=fake_embedder).articles == 0

    # Trained classifiers change how themes are scored: everything again.
    train_themes(changed, LABELLED, split="calibrate", embedder=fake_embedder)
    trained = assign_themes(changed, embedder=fake_embedder)
    assert (trained.articles, trained.method) == (total, "classifier:fake-bow-64")
    assert scalar(changed, "SELECT count(DISTINCT method) FROM article_themes") == 1

    # Another model: everything again.
    class OtherModel(type(fake_embedder)):  # type: ignore[misc]
        model_name = "fake-bow-64-v2"

    other = OtherModel()
    embed(changed, embedder=other)
    assert assign_themes(changed, embedder=other).articles == total
    assert scalar(changed, "SELECT count(DISTINCT method) FROM article_themes") == 1

    # Asked for, a full run rescores even when nothing changed.
    assert assign_themes(changed, embedder=other, full=True).articles == total


def test_a_run_after_an_interrupted_full_one_is_full(  # type: ignore[no-untyped-def]
    settings: Settings, fake_embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import newsintel.jobs.themes as themes_job

    ingest(settings, sources=sample_sources(SAMPLE), force=True)
    embed(settings, embedder=fake_embedder)
    total = int(scalar(settings, "SELECT count(*) FROM embeddings"))  # type: ignore[call-overload]
    assign_themes(settings, embedder=fake_embedder)
    original = stored_scores(settings)

    # A changed threshold starts a full run that is cut after two batches: half the
    # stories now carry scores of the new themes.
    stricter = with_threshold(
        Path(settings.themes_file), tmp_path / "themes.toml", "lithium_batteries", 0.95
    )
    changed = replace(settings, themes_file=str(stricter))
    interrupt_on_call(monkeypatch, themes_job, "save_theme_scores", call=3)
    with pytest.raises(KeyboardInterrupt):
        assign_themes(changed, embedder=fake_embedder, batch_size=5)
    monkeypatch.undo()
    assert stored_scores(settings) != original
    assert scalar(settings, "SELECT count(*) FROM theme_assignment") == 0

    # Back on the original themes, the next run cannot keep the mixed scores.
    report = assign_themes(settings, embedder=fake_embedder)
    assert (report.articles, report.kept) == (total, 0)
    assert same_scores(stored_scores(settings), original)


def test_cli_themes_assign_says_what_it_kept_and_takes_full(  # type: ignore[no-untyped-def]
    settings: Settings, tmp_path: Path
) -> None:
    """The real command with the real model: a second run scores nothing new."""
    config = tmp_path / "newsintel.toml"
    config.write_text(
        f'db = "{settings.db}"\nthemes_file = "{settings.themes_file}"\n'
        f'sample_dir = "{settings.sample_dir}"\n'
    )
    command = [sys.executable, "-m", "newsintel", "--config", str(config)]

    def cli(*args: str) -> str:
        done = subprocess.run(
            [*command, *args], capture_output=True, text=True, cwd=tmp_path, timeout=600
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("ingest", "--feeds", str(SAMPLE / "feeds.toml"))
    cli("embed")
    total = int(scalar(settings, "SELECT count(*) FROM embeddings"))  # type: ignore[call-overload]
    assert cli("themes", "assign").startswith(f"scored {total} articles (")
    again = cli("themes", "assign")
    assert again.startswith("scored 0 articles (")
    assert f"kept the scores of {total} (themes unchanged)" in again
    assert cli("themes", "assign", "--full").startswith(f"scored {total} articles (")
