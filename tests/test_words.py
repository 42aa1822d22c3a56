"""No user-facing text claims cause, or forecasting without out-of-sample evidence.

Reads every string a user can see: the app pages, the UI package, the digest (its
templates and the sentences its builder writes), the CLI's reports, the analysis
findings and the README. Python files are read through their string literals (f-string
parts included, docstrings and comments left out: those address developers). A causal
word is allowed only where the same sentence negates it ("never cause", "not evidence
of cause"); "helps forecast" only beside out-of-sample evidence (issue 17, section 5).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PY_SOURCES = [
    *sorted((ROOT / "app_pages").glob("*.py")),
    *sorted((ROOT / "newsintel" / "ui").glob("*.py")),
    *sorted((ROOT / "newsintel" / "digest").glob("*.py")),
    *sorted((ROOT / "newsintel" / "cli").glob("*.py")),
    *sorted((ROOT / "newsintel" / "analysis").glob("*.py")),
    ROOT / "app.py",
]
TEXT_SOURCES = [
    *sorted((ROOT / "newsintel" / "digest" / "templates").glob("*")),
    ROOT / "README.md",
]

CAUSAL = re.compile(
    r"\b(drives?|drove|driven by|driving|causes|caused|causing|causal(?:ly)?|because of|"
    r"leads? to|impacts?|improves? (?:the )?predictions?|improved (?:the )?predictions?|"
    r"helps? predict|helped predict)\b",
    re.IGNORECASE,
)
FORECAST = re.compile(r"\bhelps? (?:to )?forecast", re.IGNORECASE)
NEGATION = re.compile(r"\b(never|not|no|nothing about|without|rather than)\b", re.IGNORECASE)
OOS = re.compile(r"out[- ]of[- ]sample", re.IGNORECASE)


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _python_strings(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text("utf-8"))
    skip = _docstrings(tree)
    # An f-string's literal parts are read once, joined, not one by one.
    skip |= {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            # The literal parts of an f-string, with a placeholder where values go.
            yield "".join(
                v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
                for v in node.values
            )
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        ):
            yield node.value


def _sentences(text: str) -> Iterator[str]:
    yield from (s for s in re.split(r"(?<=[.!?;:])\s+|\n\s*\n", text) if s.strip())


def user_texts() -> Iterator[tuple[str, str]]:
    for path in PY_SOURCES:
        for literal in _python_strings(path):
            yield str(path.relative_to(ROOT)), literal
    for path in TEXT_SOURCES:
        yield str(path.relative_to(ROOT)), path.read_text("utf-8")


def problems(where: str, text: str) -> list[str]:
    """Every causal or forecasting claim in ``text`` that its sentence does not qualify."""
    found = []
    for sentence in _sentences(text):
        for match in CAUSAL.finditer(sentence):
            if not NEGATION.search(sentence[: match.start()]):
                found.append(f"{where}: {match.group(0)!r} in {sentence.strip()[:160]!r}")
        if FORECAST.search(sentence) and not OOS.search(sentence):
            found.append(f"{where}: 'helps forecast' without out-of-sample in {sentence[:160]!r}")
    return found


def test_sources_exist() -> None:
    assert all(p.exists() for p in PY_SOURCES + TEXT_SOURCES)
    assert len(list(user_texts())) > 500


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("Attention drives lithium prices.", True),
        ("Lithium rose because of the news.", True),
        ("Past values of x improved the prediction of y.", True),
        ("Theme share helps forecast returns.", True),
        ("Theme share helps forecast returns out-of-sample (Clark-West p=0.01).", False),
        ("These show association in time, never cause.", False),
        ("An association in time, not evidence that one drives the other.", False),
        ("Prices moved 3% this week.", False),
    ],
)
def test_the_checker_itself(text: str, bad: bool) -> None:
    assert bool(problems("example", text)) is bad


def test_no_causal_wording_in_user_facing_text() -> None:
    found = [p for where, text in user_texts() for p in problems(where, text)]
    assert not found, "\n".join(found)


def test_digest_words_follow_the_sign_of_r(tmp_path: Path) -> None:
    from datetime import date

    from newsintel.jobs.digest_content import findings
    from newsintel.store import migrate, open_db
    from newsintel.store.analysis import save_results

    base = {
        "run_id": "r1",
        "x": "theme:lithium",
        "y": "series:lithium_carbonate",
        "freq": "M",
        "test": "ccf",
        "direction": "",
        "n_obs": 60,
        "window_start": date(2017, 1, 1),
        "window_end": date(2023, 12, 1),
        "params": {},
        "warnings": [],
        "p_value": 0.001,
    }
    rows = [
        base | {"lag": 2, "effect": -0.4, "p_adj": 0.01},
        base | {"lag": -1, "effect": 0.3, "p_adj": 0.02},
        base | {"lag": 0, "effect": -0.3, "p_adj": 0.03},
    ]
    with open_db(str(tmp_path / "db.duckdb")) as con:
        migrate(con)
        save_results(con, rows)
        summaries = [f.summary for f in findings(con)]
    assert summaries[0].startswith(
        "Moves in theme:lithium were followed 2 months later by moves in the opposite "
        "direction in series:lithium_carbonate"
    )
    assert summaries[1].startswith(
        "Moves in series:lithium_carbonate were followed 1 month later by moves in the same "
        "direction in theme:lithium"
    )
    assert summaries[2].startswith(
        "theme:lithium and series:lithium_carbonate moved in opposite directions in the same month"
    )
    assert not any(problems("digest", s) for s in summaries)


def test_only_out_of_sample_evidence_reads_helps_forecast() -> None:
    import json

    from newsintel.ui.tables import primary_lines

    primary = json.dumps(
        {"x->y": {"lag": 2, "criterion": "aic", "p": 0.01, "p_robust": 0.02, "robust": "HC3"}}
    )
    good = json.dumps({"mse_ratio": 0.9, "clark_west_p": 0.01, "n_forecasts": 120})
    weak = json.dumps({"mse_ratio": 0.99, "clark_west_p": 0.3, "n_forecasts": 120})
    lines = primary_lines(primary, good, theme_label="Lithium", series_label="Spot")
    assert lines[0].startswith("Lithium -> Spot: one test at lag 2, chosen by AIC")
    assert "not a forecast" in lines[0]
    assert "helps forecast Spot" in lines[1]
    weak_lines = primary_lines(primary, weak, theme_label="Lithium", series_label="Spot")
    assert "did not significantly lower the forecast error" in weak_lines[1]
    assert not any("helps forecast" in line for line in weak_lines)
    assert primary_lines(None, None, theme_label="a", series_label="b") == []
    assert not [p for line in lines + weak_lines for p in problems("page", line)]
