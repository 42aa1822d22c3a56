"""read_series_csv: accepted shapes, default column picking and every rejection."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from newsintel.errors import SeriesError
from newsintel.series.csv_import import read_series_csv

FIXTURES = Path(__file__).parent / "fixtures" / "series"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _dates(points: pd.Series) -> list[str]:
    return [d.date().isoformat() for d in points.index]


def test_iso_dates_value_column_and_thousands_separator() -> None:
    imported = read_series_csv(FIXTURES / "iso_daily.csv")
    assert imported.value_col == "value"
    assert imported.date_col == "date"
    assert _dates(imported.points) == ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    assert imported.points.tolist() == [100.5, 101.0, 1234.5, 99.0]
    assert imported.points.dtype == "float64"
    assert isinstance(imported.points.index, pd.DatetimeIndex)
    assert imported.points.index.is_monotonic_increasing
    assert imported.warnings == ()


def test_compact_dates_and_only_numeric_column_picked() -> None:
    imported = read_series_csv(FIXTURES / "compact_dates.csv")
    assert imported.date_col == "trade_date"
    assert imported.value_col == "close"
    assert _dates(imported.points) == ["2024-01-02", "2024-01-03", "2024-01-04"]


def test_monthly_dates_labelled_first_of_month() -> None:
    imported = read_series_csv(FIXTURES / "monthly.csv", kind="attention")
    assert imported.monthly
    assert imported.date_col == "Month"
    assert _dates(imported.points) == ["2023-01-01", "2023-02-01", "2023-03-01"]


def test_day_first_slash_dates_when_unambiguous() -> None:
    imported = read_series_csv(FIXTURES / "dmy_dates.csv")
    assert _dates(imported.points) == ["2024-01-13", "2024-01-14", "2024-01-15"]


def test_date_col_and_value_col_case_insensitive(tmp_path: Path) -> None:
    imported = read_series_csv(FIXTURES / "two_numeric.csv", date_col="DATE", value_col="Close")
    assert imported.value_col == "close"
    assert imported.points.tolist() == [2.0, 3.0]


def test_unsorted_rows_sorted_with_warning() -> None:
    imported = read_series_csv(FIXTURES / "unsorted.csv")
    assert imported.points.tolist() == [1.0, 2.0, 3.0]
    assert any("sorted" in w for w in imported.warnings)


def test_gap_is_a_warning_not_an_error() -> None:
    imported = read_series_csv(FIXTURES / "gap.csv")
    assert len(imported.points) == 6
    assert len(imported.warnings) == 1
    assert "2024-01-05 to 2024-02-20" in imported.warnings[0]


def test_blank_values_skipped_with_warning() -> None:
    imported = read_series_csv(FIXTURES / "blank_value.csv")
    assert imported.points.tolist() == [1.0, 3.0]
    assert "1 blank value" in imported.warnings[0]
    assert "2024-01-03" in imported.warnings[0]


def test_long_format_with_series_filter() -> None:
    imported = read_series_csv(FIXTURES / "long_format.csv", series_filter="cu")
    assert imported.points.tolist() == [2.0, 4.0]


@pytest.mark.parametrize(
    ("fixture", "kwargs", "expected"),
    [
        ("does_not_exist.csv", {}, "not found"),
        ("empty.csv", {}, "empty"),
        ("header_only.csv", {}, "no data rows"),
        ("iso_daily.csv", {"value_col": "close"}, "no value column 'close'"),
        ("iso_daily.csv", {"date_col": "day"}, "columns are: 'date', 'value'"),
        ("two_numeric.csv", {}, "several numeric columns ('open', 'close'); choose one with"),
        ("non_numeric.csv", {}, "row 3: value 'abc' in column 'value' is not a number"),
        ("duplicate_dates.csv", {}, "duplicate date 2024-01-03"),
        ("zero_price.csv", {}, "row 3: price 0 in 'value' is not positive"),
        ("ambiguous_dates.csv", {}, "ambiguous"),
        ("bad_date.csv", {}, "row 3: '2024-13-03' in column 'date' is not a valid date"),
        ("mixed_dates.csv", {}, "row 3: date '01/03/2024'"),
        ("no_date_col.csv", {}, "no date column found"),
        ("long_format.csv", {}, "holds 2 series in column 'series' ('lc', 'cu')"),
        ("long_format.csv", {"series_filter": "ni"}, "no rows with series = 'ni'"),
        ("iso_daily.csv", {"series_filter": "ni"}, "has no series column"),
        ("iso_daily.csv", {"kind": "volume"}, "unknown series kind 'volume'"),
    ],
)
def test_rejections_name_the_problem(fixture: str, kwargs: dict[str, str], expected: str) -> None:
    with pytest.raises(SeriesError) as info:
        read_series_csv(FIXTURES / fixture, **kwargs)  # type: ignore[arg-type]
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_zero_allowed_for_attention() -> None:
    imported = read_series_csv(FIXTURES / "zero_price.csv", kind="attention")
    assert imported.points.tolist() == [1.0, 0.0, 3.0]


PRICES = SHARED / "prices" / "cn_li2co3_lioh_spot_daily_wind_2005-2023.csv"
ATTENTION = SHARED / "attention" / "gdelt_lithium_news_daily_volume_tone_2016-2023.csv"
TRENDS = SHARED / "attention" / "google_trends_lithium_news_monthly_2012-2024.csv"


@pytest.mark.skipif(not PRICES.exists(), reason="shared real data not present")
def test_real_price_file_needs_and_accepts_value_col() -> None:
    with pytest.raises(SeriesError, match="--value-col"):
        read_series_csv(PRICES)
    imported = read_series_csv(PRICES, value_col="li2co3_99_cny_per_t")
    assert len(imported.points) > 3000
    assert imported.points.index[0] == pd.Timestamp("2005-01-04")
    assert (imported.points > 0).all()


@pytest.mark.skipif(not ATTENTION.exists(), reason="shared real data not present")
def test_real_attention_file_with_value_col() -> None:
    imported = read_series_csv(ATTENTION, value_col="num_news", kind="attention")
    assert imported.points.index[0] == pd.Timestamp("2016-01-01")
    assert len(imported.points) > 2500
    tone = read_series_csv(ATTENTION, value_col="tone_mean", kind="attention")
    assert (tone.points < 0).any()


@pytest.mark.skipif(not TRENDS.exists(), reason="shared real data not present")
def test_real_monthly_trends_file_defaults() -> None:
    imported = read_series_csv(TRENDS, kind="attention")
    assert imported.monthly
    assert imported.points.index[0] == pd.Timestamp("2012-01-01")
