"""The headline numbers of docs/FINDINGS.md, recomputed from the shared real data.

scripts/findings.py runs the same analysis through the CLI and prints every number the
document quotes; this test pins the headline ones, so a change to the statistics that
moves them fails here and the document is re-run. Skipped where ../shared/data (or
NEWSINTEL_SHARED_DATA) is absent.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
import pytest

from newsintel.analysis.pair import PairAnalysis
from newsintel.config import Settings
from newsintel.jobs import import_series, pair_analysis

SHARED = Path(
    os.environ.get(
        "NEWSINTEL_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)
ATTENTION = SHARED / "attention" / "gdelt_lithium_news_daily_volume_tone_2016-2023.csv"
PRICES = SHARED / "prices" / "cn_li2co3_lioh_spot_daily_wind_2005-2023.csv"
END = "2023-05-19"

pytestmark = pytest.mark.skipif(
    not (ATTENTION.exists() and PRICES.exists()), reason="shared real data not present"
)


def _analysed(settings: Settings, tmp_path: Path, start: str) -> PairAnalysis:
    """gdelt -> li2co3 weekly, max lag 8, both series trimmed as scripts/findings.py does."""
    news = pd.read_csv(ATTENTION)[["date", "num_news"]]
    spot = pd.read_csv(PRICES)[["date", "li2co3_99_cny_per_t"]]
    for frame, name, kind in ((news, "gdelt", "attention"), (spot, "li2co3", "price")):
        frame = frame[(frame["date"] >= start) & (frame["date"] <= END)]
        frame = frame[frame.iloc[:, 1] != 0]  # zero marks a day without a quote
        path = tmp_path / f"{name}.csv"
        frame.set_axis(["date", "value"], axis=1).to_csv(path, index=False)
        import_series(settings, path, name=name, kind=kind)
    result = pair_analysis(settings, "series:gdelt", "series:li2co3", freq="W", max_lag=8)
    assert isinstance(result, PairAnalysis)
    return result


def test_whole_window_finds_nothing_robust_or_out_of_sample(
    settings: Settings, tmp_path: Path
) -> None:
    result = _analysed(settings, tmp_path, "2017-01-01")
    ll = result.lead_lag
    assert ll.n_obs == 292 and ll.best_lag is None
    assert ll.periods == {
        "used": 292,
        "dropped_partial": 1,
        "partial": "dropped",
        "lost_to_gaps": 21,
        "lost_to_join": 40,
    }
    assert any("1 partial first or last period(s)" in w for w in result.warnings)
    assert ll.primary is not None
    assert ll.primary["x->y"]["lag"] == 6
    assert ll.primary["x->y"]["p_robust"] == pytest.approx(0.217, abs=0.002)
    assert min(c.p_robust_adj for c in ll.ccf) > 0.7
    assert ll.oos is not None and ll.oos["mse_ratio"] == pytest.approx(0.973, abs=0.002)
    assert ll.oos["clark_west_p"] > 0.05


def test_price_to_news_result_is_robust_but_fragile(settings: Settings, tmp_path: Path) -> None:
    _analysed(settings, tmp_path, "2017-01-01")
    result = pair_analysis(settings, "series:li2co3", "series:gdelt", freq="W", max_lag=8)
    assert isinstance(result, PairAnalysis)
    ll = result.lead_lag
    lag1 = next(c for c in ll.ccf if c.lag == 1)
    assert lag1.r == pytest.approx(-0.161, abs=0.002)
    assert lag1.p_adj > 0.2 and lag1.p_robust_adj == pytest.approx(0.0187, abs=0.0005)
    assert ll.best_lag == 1 and ll.best_lag_classic is None
    assert ll.fragile() | {"p_range": None} == {
        "fragile": True,
        "period": "2023-05-08",
        "test": "ccf",
        "lag": 1,
        "p_robust": pytest.approx(lag1.p_robust),
        "p_range": None,
    }


def test_boom_finds_no_news_to_price_relation(settings: Settings, tmp_path: Path) -> None:
    ll = _analysed(settings, tmp_path, "2021-01-01").lead_lag
    assert ll.n_obs == 120 and ll.best_lag is None
    assert ll.primary is not None
    assert ll.primary["x->y"]["p_robust"] == pytest.approx(0.822, abs=0.002)
    assert min(c.p_robust_adj for c in ll.ccf) > 0.4
    assert ll.oos is not None and ll.oos["mse_ratio"] == pytest.approx(0.995, abs=0.002)


def test_boom_price_filter_ccf_finds_news_six_weeks_earlier(
    settings: Settings, tmp_path: Path
) -> None:
    _analysed(settings, tmp_path, "2021-01-01")
    result = pair_analysis(settings, "series:li2co3", "series:gdelt", freq="W", max_lag=8)
    assert isinstance(result, PairAnalysis)
    ll = result.lead_lag
    lag = next(c for c in ll.ccf if c.lag == -6)
    assert lag.r == pytest.approx(0.299, abs=0.002)
    # The robust test is undefined there: the filtered price side rests on fewer than
    # 3 effective weeks (robust.effective_periods), so the classic p_adj is all there is.
    assert lag.p_adj > 0.1 and math.isnan(lag.p_robust_adj)
    same_week = next(c for c in ll.ccf if c.lag == 0)
    assert same_week.r == pytest.approx(0.290, abs=0.002)
    assert same_week.p_robust_adj == pytest.approx(0.0134, abs=5e-4)
    # Neither Granger direction confirms it.
    assert ll.primary is not None and ll.primary["y->x"]["p_robust"] > 0.5
    assert ll.fragile()["fragile"] is True and ll.fragile()["period"] == "2023-05-08"
