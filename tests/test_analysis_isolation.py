"""A degenerate pair is stored as not analysable; runs go on past failures (issue 17)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import newsintel.jobs as jobs
import newsintel.jobs.analysis as analysis_job
import newsintel.jobs.pipeline as pipeline_job
from newsintel.cli import main
from newsintel.config import Settings
from newsintel.jobs import analyze_all, import_series, init_db, run
from newsintel.store import open_db
from tests.conftest import FakeEmbedder, make_settings


def _write(path: Path, dates: pd.DatetimeIndex, values: np.ndarray) -> Path:
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "value": values}).to_csv(path, index=False)
    return path


def _two_step_price(settings: Settings, tmp_path: Path, dates: pd.DatetimeIndex) -> None:
    """The issue's reproduction: constant but for two 1-unit steps."""
    price = np.full(len(dates), 100.0)
    price[len(dates) // 3 :] += 1
    price[2 * len(dates) // 3 :] += 1
    import_series(settings, _write(tmp_path / "flat.csv", dates, price), name="flat")


def test_two_step_price_is_stored_not_analysable(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weeks = pd.date_range("2005-01-07", periods=30, freq="W-FRI")
    counts = np.random.default_rng(1).poisson(20, 30).astype(float)
    import_series(settings, _write(tmp_path / "a.csv", weeks, counts), name="a", kind="attention")
    _two_step_price(settings, tmp_path, weeks)

    assert main(["--db", settings.db, "analyze", "series:a", "series:flat"]) == 0
    out = capsys.readouterr().out
    assert "warning: not analysable: series:flat differs from its most common value" in out
    with open_db(settings.db, read_only=True) as con:
        rows = con.execute(
            "SELECT test, n_obs, params->>'reason', warnings FROM v_analysis_results"
        ).fetchall()
    assert len(rows) == 1
    test, n_obs, reason, warnings = rows[0]
    assert test == "not_analysable" and n_obs == 29
    assert "only 2 of 29 periods" in reason
    assert warnings[0] == f"not analysable: {reason}"


def test_analyze_all_isolates_each_pair(
    demo_db: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    shutil.copy(demo_db.db, settings.db)
    with open_db(settings.db, read_only=True) as con:
        weeks = pd.DatetimeIndex(
            [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT week FROM v_theme_weekly ORDER BY 1"
                ).fetchall()
            ]
        )
    _two_step_price(settings, tmp_path, weeks + pd.Timedelta(days=4))
    real = analysis_job.pair_analysis

    def broken_for_one(s: Settings, x: str, y: str, **kw: object):  # type: ignore[no-untyped-def]
        if y == "series:lithium_carbonate" and x.endswith(("ai_regulation", "robotics")):
            raise RuntimeError("a bug in one pair")
        return real(s, x, y, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(analysis_job, "pair_analysis", broken_for_one)
    report = analyze_all(settings, freq="W", max_lag=8)
    flat = [r for r in report.results if r.y == "series:flat"]
    assert flat and all(not r.analysable for r in flat)
    assert report.not_analysable >= len(flat)
    assert any(r.analysable for r in report.results)
    assert any("unexpected RuntimeError: a bug in one pair" in f[2] for f in report.failed)
    with open_db(settings.db, read_only=True) as con:
        stored = con.execute(
            "SELECT count(*) FROM analysis_results WHERE run_id = ? AND y = 'series:flat' "
            "AND test = 'not_analysable'",
            [report.run_id],
        ).fetchone()
    assert stored is not None and stored[0] == len(flat)


def test_run_goes_on_past_a_failing_step(
    settings: Settings,
    tmp_path: Path,
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    init_db(settings)
    missing = tmp_path / "no-such-feeds.toml"
    report = run(settings, feeds_file=missing, embedder=fake_embedder)
    assert [step for step, _ in report.failures] == ["ingest"]
    assert str(missing) in report.failures[0][1]
    # The steps after the failed one ran on what the database holds.
    assert report.embed is not None and report.analysis is not None
    assert not report.ok

    monkeypatch.setattr(pipeline_job, "make_embedder", lambda s, model=None: fake_embedder)
    assert main(["--db", settings.db, "run", "--feeds", str(missing)]) == 1
    captured = capsys.readouterr()
    assert "analysis run" in captured.out
    assert "error: step ingest failed:" in captured.err


def test_unexpected_error_is_one_line_unless_debug(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(s: Settings) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(jobs, "init_db", broken)
    assert main(["--db", settings.db, "init"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "error: newsintel init failed: RuntimeError: disk on fire "
        "(run with --debug for the traceback)"
    ]
    assert main(["--debug", "--db", settings.db, "init"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert (
        err.strip().splitlines()[-1] == "error: newsintel init failed: RuntimeError: disk on fire"
    )
