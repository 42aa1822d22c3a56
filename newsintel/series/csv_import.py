"""Read one dated numeric series (a price or an attention measure) from a CSV file.

The file is read as text and every cell is checked by hand, so that a bad file is
rejected with a message naming the row, the column or the value at fault instead of
being silently coerced to NaN by pandas.

Supported shapes:

* wide: one date column and one or more numeric columns; ``value_col`` picks one;
* long: a ``series`` / ``name`` / ``symbol`` / ``ticker`` column holding several
  series; ``series_filter`` keeps the rows of one of them (without it the import is
  refused, listing the series found).

Dates may be ``YYYY-MM-DD`` (optionally followed by a time), ``YYYY/MM/DD``,
``YYYYMMDD``, ``YYYY-MM`` (monthly, labelled by the first day of the month) or
``DD/MM/YYYY`` / ``MM/DD/YYYY`` when the file itself shows which one it is (some day
above 12); a slash date whose order cannot be told is rejected.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from newsintel.errors import SeriesError

__all__ = ["ImportedSeries", "read_series_csv"]

SeriesKind = Literal["price", "attention"]

# Names tried, in order, when no date column is given ("date" itself wins first).
_DATE_NAMES = ("date", "trade_date", "day", "month", "week", "time", "datetime", "timestamp")
# Names of a column that marks a long-format file (one row per series per date).
_SERIES_NAMES = ("series", "name", "symbol", "ticker")
# Cells read as "no value": dropped with a warning rather than rejected, because
# vendors leave holidays and suspended days blank.
_MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "#n/a"})
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
# A gap longer than this many days (and than 3x the usual spacing) is worth a warning.
_GAP_DAYS = 10
_MAX_LISTED = 5

_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$")
_SLASH_YMD = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_SLASH_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass(frozen=True)
class ImportedSeries:
    """A validated series ready to store.

    ``points`` holds float values indexed by a sorted, unique, day-normalised
    DatetimeIndex named ``date``. ``warnings`` are plain sentences for the user (gaps,
    dropped blank cells); they never stop the import.
    """

    points: pd.Series
    warnings: tuple[str, ...]
    date_col: str
    value_col: str
    monthly: bool


def read_series_csv(
    path: Path,
    *,
    date_col: str | None = None,
    value_col: str | None = None,
    kind: SeriesKind = "price",
    series_filter: str | None = None,
) -> ImportedSeries:
    """Read, validate and return one series from the CSV file at ``path``.

    Raises SeriesError with a one-line message naming the problem: missing or empty
    file, unknown or ambiguous column, bad date, non-numeric value, duplicate date, or a
    non-positive value when ``kind`` is ``"price"``.
    """
    if kind not in ("price", "attention"):
        raise SeriesError(f"unknown series kind {kind!r}; use price or attention")
    frame = _read_text_frame(path)
    columns = list(frame.columns)
    warnings: list[str] = []

    frame = _select_series_rows(frame, path, series_filter)
    dcol = _pick_date_column(columns, date_col, path)
    vcol = _pick_value_column(frame, columns, dcol, value_col, path)

    dates, monthly = _parse_dates(frame[dcol].tolist(), dcol)
    values = _parse_values(frame[vcol].tolist(), vcol)

    keep = ~np.isnan(values)
    if not keep.any():
        raise SeriesError(f"column {vcol!r} in {path.name} has no values")
    dropped = int((~keep).sum())
    if dropped:
        first = dates[int(np.argmin(keep))].date().isoformat()
        warnings.append(f"{dropped} blank value(s) in {vcol!r} skipped (first on {first})")

    if kind == "price":
        bad = np.flatnonzero(keep & (values <= 0))
        if bad.size:
            row = int(bad[0])
            raise SeriesError(
                f"row {_line(row)}: price {values[row]:g} in {vcol!r} is not positive "
                "(prices must be > 0; import it with kind 'attention' if that is intended)"
            )

    index = pd.DatetimeIndex(dates)[keep]
    points = pd.Series(values[keep], index=index, dtype="float64")
    if not index.is_monotonic_increasing:
        warnings.append("rows were not in date order; they have been sorted")
        points = points.sort_index(kind="stable")
    dup = points.index.duplicated()
    if dup.any():
        first_dup = points.index[dup][0]
        label = first_dup.strftime("%Y-%m") if monthly else first_dup.date().isoformat()
        raise SeriesError(
            f"duplicate date {label} in {path.name} (each date must appear once; "
            "for a file with several series use --series-filter)"
        )
    points.index.name = "date"
    warnings.extend(_gap_warnings(pd.DatetimeIndex(points.index), monthly))
    return ImportedSeries(
        points=points,
        warnings=tuple(warnings),
        date_col=dcol,
        value_col=vcol,
        monthly=monthly,
    )


def _line(row: int) -> int:
    """File line number of data row ``row`` (1 for the header, so data starts at 2)."""
    return row + 2


def _read_text_frame(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise SeriesError(f"series file not found: {path}")
    if not path.is_file():
        raise SeriesError(f"not a file: {path}")
    if path.stat().st_size == 0:
        raise SeriesError(f"series file is empty: {path}")
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark that would
        # otherwise become part of the first column's name.
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True
        )
    except pd.errors.EmptyDataError as exc:
        raise SeriesError(f"series file is empty: {path}") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SeriesError(f"cannot read {path.name} as CSV: {first_line}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise SeriesError(f"series file has a header but no data rows: {path}")
    return frame


def _find_column(columns: list[str], wanted: str) -> str | None:
    """Exact name first, then a unique case-insensitive match."""
    if wanted in columns:
        return wanted
    matches = [c for c in columns if c.lower() == wanted.lower()]
    return matches[0] if len(matches) == 1 else None


def _unknown_column(kind: str, wanted: str, columns: list[str], path: Path) -> SeriesError:
    listed = ", ".join(repr(c) for c in columns)
    return SeriesError(f"no {kind} column {wanted!r} in {path.name}; columns are: {listed}")


def _select_series_rows(frame: pd.DataFrame, path: Path, series_filter: str | None) -> pd.DataFrame:
    columns = list(frame.columns)
    series_col = next(
        (c for name in _SERIES_NAMES if (c := _find_column(columns, name)) is not None), None
    )
    if series_col is None:
        if series_filter is not None:
            names = ", ".join(_SERIES_NAMES)
            raise SeriesError(
                f"--series-filter given but {path.name} has no series column ({names})"
            )
        return frame
    names_found = frame[series_col].str.strip()
    distinct = list(dict.fromkeys(names_found))
    if series_filter is None:
        if len(distinct) == 1:
            return frame
        shown = ", ".join(repr(n) for n in distinct[:_MAX_LISTED])
        more = f" and {len(distinct) - _MAX_LISTED} more" if len(distinct) > _MAX_LISTED else ""
        raise SeriesError(
            f"{path.name} holds {len(distinct)} series in column {series_col!r} ({shown}{more}); "
            "pick one with --series-filter or give a file in wide form"
        )
    selected = frame[names_found == series_filter.strip()]
    if selected.empty:
        shown = ", ".join(repr(n) for n in distinct[:_MAX_LISTED])
        raise SeriesError(
            f"no rows with {series_col} = {series_filter!r} in {path.name}; series are: {shown}"
        )
    return selected.reset_index(drop=True)


def _pick_date_column(columns: list[str], date_col: str | None, path: Path) -> str:
    if date_col is not None:
        found = _find_column(columns, date_col)
        if found is None:
            raise _unknown_column("date", date_col, columns, path)
        return found
    for name in _DATE_NAMES:
        found = _find_column(columns, name)
        if found is not None:
            return found
    listed = ", ".join(repr(c) for c in columns)
    raise SeriesError(
        f"no date column found in {path.name} (columns: {listed}); name it with --date-col"
    )


def _is_numeric_column(cells: list[str]) -> bool:
    present = [c for c in cells if c.strip().lower() not in _MISSING]
    return bool(present) and all(_to_float(c) is not None for c in present)


def _pick_value_column(
    frame: pd.DataFrame, columns: list[str], dcol: str, value_col: str | None, path: Path
) -> str:
    if value_col is not None:
        found = _find_column(columns, value_col)
        if found is None:
            raise _unknown_column("value", value_col, columns, path)
        if found == dcol:
            raise SeriesError(f"column {found!r} cannot be both the date and the value column")
        return found
    found = _find_column(columns, "value")
    if found is not None and found != dcol:
        return found
    series_cols = {c.lower() for c in _SERIES_NAMES}
    candidates = [
        c
        for c in columns
        if c != dcol and c.lower() not in series_cols and _is_numeric_column(frame[c].tolist())
    ]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        listed = ", ".join(repr(c) for c in columns)
        raise SeriesError(f"no numeric value column in {path.name} (columns: {listed})")
    listed = ", ".join(repr(c) for c in candidates)
    raise SeriesError(
        f"{path.name} has several numeric columns ({listed}); choose one with --value-col"
    )


def _to_float(cell: str) -> float | None:
    """Parse one value cell; None when it is not a finite number."""
    text = cell.strip()
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _parse_values(cells: list[str], vcol: str) -> np.ndarray:
    out = np.empty(len(cells), dtype="float64")
    for row, cell in enumerate(cells):
        if cell.strip().lower() in _MISSING:
            out[row] = np.nan
            continue
        number = _to_float(cell)
        if number is None:
            raise SeriesError(
                f"row {_line(row)}: value {cell.strip()!r} in column {vcol!r} is not a number"
            )
        out[row] = number
    return out


def _slash_order(cells: list[str], dcol: str) -> str:
    """Decide whether ``a/b/YYYY`` dates are day-first or month-first from the data."""
    firsts, seconds = [], []
    for cell in cells:
        match = _SLASH_DMY.match(cell)
        if match:
            firsts.append(int(match.group(1)))
            seconds.append(int(match.group(2)))
    day_first = any(v > 12 for v in firsts)
    month_first = any(v > 12 for v in seconds)
    if day_first and not month_first:
        return "dmy"
    if month_first and not day_first:
        return "mdy"
    raise SeriesError(
        f"dates in column {dcol!r} like {cells[0]!r} are ambiguous (day/month or month/day); "
        "convert them to YYYY-MM-DD"
    )


def _parse_dates(cells: list[str], dcol: str) -> tuple[list[pd.Timestamp], bool]:
    """Parse a date column as one format, detected from its first cell."""
    stripped = [c.strip() for c in cells]
    for row, cell in enumerate(stripped):
        if not cell:
            raise SeriesError(f"row {_line(row)}: empty date in column {dcol!r}")
    first = stripped[0]
    slash_order = _slash_order(stripped, dcol) if _SLASH_DMY.match(first) else ""
    monthly = bool(_YEAR_MONTH.match(first))
    out: list[pd.Timestamp] = []
    for row, cell in enumerate(stripped):
        ymd = _match_date(cell, first, slash_order)
        if ymd is None:
            raise SeriesError(
                f"row {_line(row)}: date {cell!r} in column {dcol!r} does not match the "
                f"format of the first row ({first!r})"
            )
        try:
            out.append(pd.Timestamp(year=ymd[0], month=ymd[1], day=ymd[2]))
        except ValueError as exc:
            raise SeriesError(
                f"row {_line(row)}: {cell!r} in column {dcol!r} is not a valid date"
            ) from exc
    return out, monthly


def _match_date(cell: str, first: str, slash_order: str) -> tuple[int, int, int] | None:
    """Year, month, day of ``cell`` if it has the same format as ``first``."""
    for pattern in (_ISO_DAY, _SLASH_YMD, _COMPACT, _YEAR_MONTH):
        if pattern.match(first):
            match = pattern.match(cell)
            if match is None:
                return None
            parts = [int(g) for g in match.groups()]
            return (parts[0], parts[1], parts[2] if len(parts) == 3 else 1)
    if slash_order:
        match = _SLASH_DMY.match(cell)
        if match is None:
            return None
        a, b, year = (int(g) for g in match.groups())
        return (year, b, a) if slash_order == "dmy" else (year, a, b)
    return None


def _gap_warnings(index: pd.DatetimeIndex, monthly: bool) -> list[str]:
    if len(index) < 3:
        return []
    if monthly:
        months = index.year * 12 + index.month
        steps = np.diff(np.asarray(months))
        limit = 1
        unit = "month(s)"
    else:
        steps = np.diff(np.asarray(index.values, dtype="datetime64[D]")).astype(int)
        # Daily data skips weekends and holidays; weekly data steps by 7 days. Only a
        # gap well beyond the usual spacing is worth mentioning.
        limit = max(_GAP_DAYS, 3 * int(np.median(steps)))
        unit = "days"
    where = np.flatnonzero(steps > limit)
    if where.size == 0:
        return []
    fmt = "%Y-%m" if monthly else "%Y-%m-%d"
    listed = [
        f"{index[i].strftime(fmt)} to {index[i + 1].strftime(fmt)} ({steps[i]} {unit})"
        for i in where[:_MAX_LISTED]
    ]
    more = f" and {where.size - _MAX_LISTED} more" if where.size > _MAX_LISTED else ""
    return [f"{where.size} gap(s) in the data: " + "; ".join(listed) + more]
