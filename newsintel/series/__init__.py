"""Commodity prices and attention series: CSV import and calendar alignment."""

from __future__ import annotations

from newsintel.series.align import (
    align_pair,
    log_counts,
    period_start,
    price_returns,
    resample,
    theme_share,
)
from newsintel.series.csv_import import ImportedSeries, read_series_csv

__all__ = [
    "ImportedSeries",
    "align_pair",
    "log_counts",
    "period_start",
    "price_returns",
    "read_series_csv",
    "resample",
    "theme_share",
]
