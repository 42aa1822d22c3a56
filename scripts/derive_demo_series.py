"""Derive the bundled demo series in data/series/ from the public data in ../shared/data.

Each price output is the week's last close (weeks start on Monday; the date is the
day of that close), each attention output the week's sum (labelled by the Monday), of
one column of one source file; data/README.md records the origin of each. Last closes,
not weekly means: a mean of daily prices smooths returns and invents autocorrelation
in them (Working 1960), which the lead/lag tests would then read as structure. Run from the
repository root:  python scripts/derive_demo_series.py ../shared/data
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

# output name -> (source file under shared/data, column, how to aggregate a week)
SOURCES: dict[str, tuple[str, str, str]] = {
    "lithium_carbonate": ("prices/gfex_lc0_lithium_carbonate_futures_daily.csv", "close", "last"),
    "lithium_carbonate_spot": (
        "prices/cn_li2co3_lioh_spot_daily_wind_2005-2023.csv",
        "li2co3_99_cny_per_t",
        "last",
    ),
    "lithium_hydroxide_spot": (
        "prices/cn_li2co3_lioh_spot_daily_wind_2005-2023.csv",
        "lioh_56_5_cny_per_t",
        "last",
    ),
    "nickel": ("prices/shfe_ni0_nickel_futures_daily_2018on.csv", "close", "last"),
    "copper": ("prices/shfe_cu0_copper_futures_daily_2018on.csv", "close", "last"),
    "lit_etf": ("prices/lit_alb_sqm_daily_2015-2022.csv", "LIT_adj_close", "last"),
    "albemarle": ("prices/lit_alb_sqm_daily_2015-2022.csv", "ALB_adj_close", "last"),
    "sqm": ("prices/lit_alb_sqm_daily_2015-2022.csv", "SQM_adj_close", "last"),
    "gdelt_lithium_news": (
        "attention/gdelt_lithium_news_daily_volume_tone_2016-2023.csv",
        "num_news",
        "sum",
    ),
}


def weekly(frame: pd.DataFrame, column: str, how: str) -> pd.Series:
    """Weekly aggregate of a daily column: the last close, dated by its own day
    (``last``), or the sum labelled by the Monday starting the week (``sum``)."""
    series = frame.set_index(pd.to_datetime(frame["date"]))[column].astype(float).dropna()
    if how == "last":
        # Prices: the Wind spot file records days without a quote as 0 (LiOH, mid-2016);
        # a zero price is a missing value, not a price.
        series = series[series > 0]
        week = series.index.to_period("W-SUN")
        return series.groupby(week).tail(1).sort_index()
    grouped = series.resample("W-MON", label="left", closed="left")
    return grouped.sum(min_count=1).dropna()


def main(shared: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, (file, column, how) in SOURCES.items():
        result = weekly(pd.read_csv(shared / file), column, how)
        frame = pd.DataFrame({"date": result.index.date, "value": result.round(4).to_numpy()})
        frame.to_csv(out / f"{name}_weekly.csv", index=False)
        print(f"{name}: {len(frame)} weeks {frame['date'].min()} .. {frame['date'].max()}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"), Path("data/series"))
