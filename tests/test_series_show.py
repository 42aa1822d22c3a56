"""`newsintel series show`: metadata, coverage, first/last points, gaps, last 8 weeks."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from newsintel.cli import main
from newsintel.config import Settings
from newsintel.jobs import import_series
from newsintel.store import open_db
from newsintel.store.series import series_detail


@pytest.fixture
def with_gap(settings: Settings, tmp_path: Path) -> Settings:
    """Trading days of 2024 with no quotes from 2024-03-04 to 2024-03-29."""
    days = pd.bdate_range("2024-01-01", "2024-06-28")
    days = days[(days < pd.Timestamp("2024-03-04")) | (days > pd.Timestamp("2024-03-29"))]
    frame = pd.DataFrame(
        {"date": days.strftime("%Y-%m-%d"), "close": [100.0 + i for i in range(len(days))]}
    )
    frame.to_csv(tmp_path / "px.csv", index=False)
    import_series(
        settings, tmp_path / "px.csv", name="px", unit="USD/t", currency="USD", origin="test"
    )
    return settings


def test_show_json_gives_coverage_gaps_and_last_weeks(
    with_gap: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", with_gap.db, "series", "show", "px", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["series"], data["kind"], data["unit"], data["currency"]) == (
        "px",
        "price",
        "USD/t",
        "USD",
    )
    assert data["first"] == {"date": "2024-01-01", "value": 100.0}
    assert data["last"]["date"] == "2024-06-28"
    assert data["last"]["value"] == 100.0 + data["points"] - 1
    assert data["median_step_days"] == 1.0
    # Weekends are not gaps; the missing March is, once.
    assert data["gaps"] == [{"after": "2024-03-01", "before": "2024-04-01", "days": 31}]
    assert data["warnings"] == ["no points for 31 days between 2024-03-01 and 2024-04-01"]
    weeks = [w["week"] for w in data["weekly"]]
    assert len(weeks) == 8 and weeks == sorted(weeks) and weeks[-1] == "2024-06-24"
    last = data["weekly"][-1]
    assert last["n_points"] == 5 and last["value_last"] == data["last"]["value"]


def test_weekly_summary_matches_the_view(with_gap: Settings) -> None:
    with open_db(with_gap.db, read_only=True) as con:
        detail = series_detail(con, "px", weeks=3)
        view = con.execute(
            "SELECT week, value_mean, n_points FROM v_series_weekly WHERE series = 'px' "
            "ORDER BY week DESC LIMIT 3"
        ).fetchall()
    assert detail is not None
    assert [(w.week, w.value_mean, w.n_points) for w in detail.weeks] == view[::-1]


def test_show_text_and_unknown_series(
    with_gap: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", with_gap.db, "series", "show", "px"]) == 0
    out = capsys.readouterr().out
    assert "2024-01-01 .. 2024-06-28" in out
    assert "warning: no points for 31 days" in out
    assert main(["--db", with_gap.db, "series", "show", "gold"]) == 1
    assert "unknown series 'gold'" in capsys.readouterr().err
