"""`python -m benchmarks` at tiny sizes: every benchmark runs and its section is written.

Speed targets live in the benchmarks themselves (BENCHMARKS.md), never in tests: this
only checks that the machinery runs end to end and records what it measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import __main__ as bench_main  # noqa: E402
from benchmarks.record import HEADER, Figure, check  # noqa: E402

TINY = {
    "ingest": {"feeds": 5, "entries": 5},
    "embed": {"n": 50},
    "assign": {"n": 500},
    "analysis": {"themes": 2, "prices": 2},
    "analysis_size": {"pairs": 2},
    "topics": {"n": 800},
    "mail": {"messages": 20},
    "app": {"articles": 500},
    "gdelt": {"themes": 1, "per_theme": 100, "years": 1},
    "archive": {"pages": 30},
    "load": {"articles": 500, "sessions": 2, "cycles": 1, "feeds": 0},
    "import": {"rows": 500},
    "gkg": {"files": 3, "rows": 50},
    "ray_embed": {"n": 20},
    # One page (SQL: no charts) keeps the browser part of the tiny run short.
    "a11y": {"articles": 500, "pages": 1},
}
# The Ray benchmarks' tiny runs are in tests/test_backfill_gkg.py, on that module's one
# Ray session: a Ray start of their own costs 15-25 s each here.
RAY_BENCHMARKS = ("gkg", "ray_embed")


@pytest.mark.slow
def test_every_benchmark_writes_a_section(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    onnx_cache: str,
) -> None:
    from benchmarks import bench_embed

    # The session's onnx export (conftest), shared with tests/test_embed_onnx.py.
    monkeypatch.setattr(bench_embed, "ONNX_CACHE", onnx_cache)
    monkeypatch.setattr(bench_main, "QUICK_SIZES", TINY)
    monkeypatch.setattr(
        bench_main, "NAMES", tuple(n for n in bench_main.NAMES if n not in RAY_BENCHMARKS)
    )
    out = tmp_path / "BENCHMARKS.md"

    assert bench_main.main(["--quick", "--output", str(out)]) == 0

    text = out.read_text("utf-8")
    assert text.startswith(HEADER)
    assert text.count("\n## ") == 1
    assert "-m benchmarks --quick --output " in text
    for key in ("CPU:", "cores:", "RAM:", "torch:"):
        assert f"\n- {key} " in text
    for row in (
        "| ingest | ingest wall time |",
        "| ingest | articles stored / expected | 25 of 25 | all stored | PASS |",
        "| ingest | feeds ok | 5 of 5 | all ok | PASS |",
        "| ingest | (parse + normalise + store) / feedparser.parse |",
        "| ingest | peak RSS (VmHWM, whole process) |",
        "| embed | jobs.embed / bare encode (docs/s) |",
        "| embed | texts embedded / expected | 50 of 50 | all | PASS |",
        "| embed |   texts embedded by the second run | 0 |",
        "| analysis | lead_lag over all 4 pairs |",
        "| analysis | pairs failed (AnalysisError) | 0 of 4 |",
        "| analysis_size | GARCH null: robust false-positive rate |",
        "| assign | assign_themes time |",
        "| assign | article_themes rows written |",
        "| topics | cluster + label time |",
        "| topics | NMI vs planted |",
        "| mail | mail import wall time |",
        "| mail | stories stored / expected | 200 of 200 | all | PASS |",
        "| app | Overview render, cold (median of 3) |",
        "| app | Themes render, cold (median of 3) |",
        "| gdelt | backfill wall time (replay, interval 0) |",
        "| gdelt | second run: calls / articles added | 0 | 0 | PASS |",
        "| archive | backfill pages/s / bare trafilatura pages/s |",
        "| archive | articles stored / expected | 30 of 30 | all stored | PASS |",
        "| archive |   articles added by a second run | 0 | 0 | PASS |",
        "| load | 'locked' / 'busy' messages | 0 | 0 | PASS |",
        "| load | p95 page time, 2 sessions |",
        "| load | single-user p95 page time while the writer runs |",
        "| load | writer time under load vs idle |",
        "| import | import of 500 rows |",
        "| import | stories added / rows | 500 of 500 | all | PASS |",
        "| import | re-import adds | 0 stories | 0 | PASS |",
    ):
        assert row in text, row
    if Path("/usr/bin/chromium").exists():  # a11y records nothing without a browser
        assert "| a11y | SQL: serious/critical | 0 | 0 | PASS |" in text
    # Away from the targets' sizes a speed verdict would mean nothing.
    assert "| < 20 s | n/a |" in text
    assert "| <= 5 % | n/a |" in text
    printed = capsys.readouterr().out
    assert "ingest wall time" in printed and "lead_lag over all 4 pairs" in printed

    # A second run appends; the first section stays as it was.
    monkeypatch.setattr(bench_main, "QUICK_SIZES", {**TINY, "analysis": {"themes": 1, "prices": 1}})
    assert bench_main.main(["--quick", "--only", "analysis", "--output", str(out)]) == 0
    again = out.read_text("utf-8")
    assert again.startswith(text)
    assert again.count("\n## ") == 2
    assert "--quick --only analysis --output" in again


def test_mail_benchmark_at_tiny_size() -> None:
    from benchmarks.bench_mail import run

    result = run(messages=12)
    figures = {f.name: f for f in result.figures}
    assert figures["stories stored / expected"].value == 120
    assert figures["stories stored / expected"].verdict == "PASS"
    assert figures["mail import wall time"].verdict == "n/a"  # not the target's size
    assert figures["per message: stories / (message_from_bytes + html_to_text)"].value > 0


def test_verdicts() -> None:
    assert check("t", 3.0, "s", "< 5 s", True).verdict == "PASS"
    assert check("t", 7.0, "s", "< 5 s", False).verdict == "FAIL"
    assert check("t", 7.0, "s", "< 5 s", False, at_target_size=False).verdict == "n/a"
    assert Figure("context", 1.0, "s").verdict == ""
    assert Figure("count", 50_000, "articles").shown() == "50,000 articles"
    assert Figure("ratio", 1.234, "x").shown() == "1.23 x"


def test_gdelt_replay_at_a_tiny_size() -> None:
    from benchmarks.bench_gdelt import run

    result = run(themes=2, per_theme=300, years=1)

    figures = {f.name: f for f in result.figures}
    stored = figures["articles stored / distinct in the corpus"]
    assert stored.ok is True and stored.value == 600
    # 5 % of the first theme's stories are also the second's: listed twice, stored once.
    assert figures["  articles listed by GDELT (shared ones once per theme)"].value > 600
    assert figures["timeline days stored / expected"].ok is True
    assert figures["windows failed or capped"].value == 0
    assert figures["second run: calls / articles added"].ok is True
    assert figures["backfill wall time (replay, interval 0)"].verdict == "n/a"
    assert figures["API calls"].value > 2 * (12 + 52)  # monthly timelines, weekly lists
