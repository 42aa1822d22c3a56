"""Series import and lead-lag analysis of theme and price series."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar, cast

import pandas as pd

from newsintel.analysis.pair import adjust_run, analyze_pair
from newsintel.config import Settings
from newsintel.errors import AnalysisError, NewsintelError, SeriesError
from newsintel.jobs.common import NoProgress, Progress, new_run_id
from newsintel.jobs.provenance import check_origins, with_origin_warning
from newsintel.jobs.publish import publishes
from newsintel.models import SeriesMeta
from newsintel.series.align import drop_partial, log_counts, price_returns, theme_share
from newsintel.series.csv_import import read_series_csv
from newsintel.store import migrate, open_db
from newsintel.store.analysis import save_results
from newsintel.store.series import save_series, series_meta, series_points, series_summaries
from newsintel.store.snapshots import open_snapshot
from newsintel.store.themes import theme_daily_counts, theme_ids

if TYPE_CHECKING:
    from newsintel.analysis.pair import PairResult


@dataclass(frozen=True)
class SeriesImportReport:
    series_id: str
    kind: str
    points: int
    first_date: str
    last_date: str
    warnings: tuple[str, ...]


@publishes
def import_series(
    settings: Settings,
    path: Path,
    *,
    name: str,
    date_col: str | None = None,
    value_col: str | None = None,
    unit: str = "",
    currency: str = "",
    kind: str = "price",
    origin: str = "",
    series_filter: str | None = None,
) -> SeriesImportReport:
    """Read a dated CSV series, validate it and store it under ``name`` (replacing)."""
    if kind not in ("price", "attention"):
        raise SeriesError(f"kind must be 'price' or 'attention', got {kind!r}")
    imported = read_series_csv(
        path,
        date_col=date_col,
        value_col=value_col,
        kind=cast("Literal['price', 'attention']", kind),
        series_filter=series_filter,
    )
    meta = SeriesMeta(name, kind, unit, currency, origin or f"imported from {path.name}")
    with open_db(settings.db) as con:
        migrate(con)
        count = save_series(con, meta, imported.points)
    index = imported.points.index
    return SeriesImportReport(
        name, kind, count, str(index.min().date()), str(index.max().date()), imported.warnings
    )


def load_variable(
    settings: Settings, spec: str, freq: str, origins: Sequence[str] = ()
) -> pd.Series:
    """The analysable series behind ``theme:<name>`` or ``series:<name>`` at ``freq``.

    Themes become their share of all stories per period (of ``origins`` only, when
    given: e.g. ``["gdelt"]``); prices become log returns of the period's last price;
    attention series become log counts per period.
    """
    kind, _, name = spec.partition(":")
    if kind not in ("theme", "series") or not name:
        raise AnalysisError(f"'{spec}' is not theme:<name> or series:<name>")
    with open_db(settings.db, read_only=True) as con:
        if kind == "theme":
            known = theme_ids(con)
            if name not in known:
                raise AnalysisError(f"unknown theme '{name}'; known: {', '.join(known) or 'none'}")
            daily = _news_days(
                theme_daily_counts(con, name, origins).set_index("day"), settings, freq
            )
            share = theme_share(daily["articles"], daily["total_articles"], freq)  # type: ignore[arg-type]
            return _complete(share, pd.DatetimeIndex(daily.index), freq, business_days=False)
        meta = series_meta(con, name)
        if meta is None:
            known = [s.series_id for s in series_summaries(con)]
            raise AnalysisError(f"unknown series '{name}'; known: {', '.join(known) or 'none'}")
        points = series_points(con, name)
    if meta.kind != "price":
        points = _news_days(points, settings, freq)
    observed = pd.DatetimeIndex(points.index)
    if meta.kind == "price":
        returns = price_returns(points, freq)  # type: ignore[arg-type]
        return _complete(returns, observed, freq, business_days=True, check_first=False)
    return _complete(log_counts(points, freq), observed, freq, business_days=False)  # type: ignore[arg-type]


# A daily frame or series of news counts: _news_days keeps its kind.
PandasT = TypeVar("PandasT", pd.DataFrame, pd.Series)


def _news_days(frame: PandasT, settings: Settings, freq: str) -> PandasT:
    """News dated two days later when weeks end on Friday: Saturday and Sunday then
    fall in the next Monday-labelled week (the next trading week), Monday to Friday
    stay in their own. Only weekly analyses; prices keep their own dates."""
    if freq != "W" or settings.news_week_ends != "friday":
        return frame

    shifted = frame.copy()
    shifted.index = pd.DatetimeIndex(shifted.index) + pd.Timedelta(days=2)
    return shifted


def _complete(
    values: pd.Series,
    observed: pd.DatetimeIndex,
    freq: str,
    *,
    business_days: bool,
    check_first: bool = True,
) -> pd.Series:
    """``values`` without partial first/last periods; the count rides in ``attrs`` to
    the analysis, which reports it under ``periods.dropped_partial``."""
    kept, dropped = drop_partial(
        values,
        observed,
        freq,  # type: ignore[arg-type]
        business_days=business_days,
        check_first=check_first,
    )
    kept = kept.copy()
    kept.attrs["dropped_partial"] = dropped
    return kept


@publishes
def analyze(
    settings: Settings,
    x: str,
    y: str,
    *,
    freq: str = "W",
    max_lag: int = 8,
    run_id: str | None = None,
    store: bool = True,
    split: date | None = None,
    origins: Sequence[str] = (),
) -> PairResult:
    """Lead/lag of two variables (positive lag: x leads y) and the statistics beside it
    (rolling, change points, event study, impulse response); stored with a run id.

    The run is this one pair, so p-values are adjusted over this pair's tests. A pair
    whose data cannot carry the analysis is stored as one ``not_analysable`` row.
    """
    result = pair_analysis(settings, x, y, freq=freq, max_lag=max_lag, split=split, origins=origins)
    if store:
        with open_db(settings.db) as con:
            save_results(con, result.to_rows(run_id or new_run_id()))
    return result


def describe_variable(settings: Settings, spec: str, freq: str) -> str:
    """In words, the quantity ``load_variable`` makes of ``spec`` at ``freq``."""
    period = {"D": "day", "W": "week", "M": "month"}.get(freq, freq)
    kind, _, name = spec.partition(":")
    weekly_note = (
        " (weeks end on Friday, the market close: weekend stories count toward the next week)"
        if freq == "W" and settings.news_week_ends == "friday"
        else ""
    )
    if kind == "theme":
        return f"share of all stories per {period}{weekly_note}"
    with open_snapshot(settings.db) as con:
        meta = series_meta(con, name)
    if meta is not None and meta.kind == "price":
        return (
            f"log return between the last prices of consecutive observed {period}s "
            "(no filling: periods without a price are absent)"
        )
    return f"log(1 + sum of counts) per {period}{weekly_note}"


class Variables:
    """``load_variable`` and ``describe_variable``, each spec read once.

    ``analyze_all`` pairs every theme with every price: without this, each theme was
    read from the database once per price and each price once per theme (128 opens of
    the file and 128 of a snapshot for the demo's 8 x 8 pairs, a third of its analysis
    time). Callers get a copy, so no pair can change another's input. Failures are not
    kept: a spec that failed is read (and fails) again, as before.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._series: dict[tuple[str, str, tuple[str, ...]], pd.Series] = {}
        self._words: dict[tuple[str, str], str] = {}

    def series(self, spec: str, freq: str, origins: Sequence[str] = ()) -> pd.Series:
        key = (spec, freq, tuple(origins))
        if key not in self._series:
            self._series[key] = load_variable(self.settings, spec, freq, origins)
        return self._series[key].copy()

    def description(self, spec: str, freq: str) -> str:
        if (spec, freq) not in self._words:
            self._words[(spec, freq)] = describe_variable(self.settings, spec, freq)
        return self._words[(spec, freq)]


def pair_analysis(
    settings: Settings,
    x: str,
    y: str,
    *,
    freq: str = "W",
    max_lag: int = 8,
    split: date | None = None,
    origins: Sequence[str] = (),
    variables: Variables | None = None,
) -> PairResult:
    """Every statistic of one pair, p-values adjusted within the pair; nothing stored.

    ``origins`` restricts theme variables to stories of those origins; a warning is
    added when the origins' mix shifts inside the analysed window. ``variables``
    shares the variables read for earlier pairs (see ``Variables``).
    """
    if freq not in ("D", "W", "M"):
        raise AnalysisError(f"freq must be D, W or M, got {freq!r}")
    if max_lag < 1:
        raise AnalysisError("max-lag must be at least 1")
    origins = check_origins(origins)
    variables = variables or Variables(settings)
    result = analyze_pair(
        variables.series(x, freq, origins),
        variables.series(y, freq, origins),
        max_lag=max_lag,
        x_name=x,
        y_name=y,
        freq=freq,
        x_input=variables.description(x, freq),
        y_input=variables.description(y, freq),
        criterion=settings.lag_criterion,
        split=split,
    )
    return with_origin_warning(settings, result, freq, origins)


@dataclass(frozen=True)
class AnalyzeAllReport:
    run_id: str
    pairs: int
    failed: tuple[tuple[str, str, str], ...]
    results: tuple[PairResult, ...]

    @property
    def not_analysable(self) -> int:
        """Pairs stored as ``not_analysable`` (their data could not carry the tests)."""
        return sum(1 for r in self.results if not r.analysable)


@publishes
def analyze_all(
    settings: Settings,
    *,
    freq: str = "W",
    max_lag: int = 8,
    progress: Progress | None = None,
    origins: Sequence[str] = (),
) -> AnalyzeAllReport:
    """Every tracked theme against every price series, stored under one run id.

    p-values are adjusted (Benjamini-Hochberg) once over every test of every pair, so
    ``p_adj`` reflects all that the run tested; rows are stored after that, together.
    """
    progress = progress or NoProgress()
    with open_db(settings.db, read_only=True) as con:
        themes = theme_ids(con)
        prices = [s.series_id for s in series_summaries(con, "price")]
    run_id = new_run_id()
    variables = Variables(settings)
    results: list[PairResult] = []
    failed: list[tuple[str, str, str]] = []
    progress.start("analysing theme x price pairs", len(themes) * len(prices))
    for theme in themes:
        for price in prices:
            try:
                results.append(
                    pair_analysis(
                        settings,
                        f"theme:{theme}",
                        f"series:{price}",
                        freq=freq,
                        max_lag=max_lag,
                        origins=origins,
                        variables=variables,
                    )
                )
            except NewsintelError as exc:
                # Series that barely overlap the articles are expected; record, go on.
                failed.append((theme, price, str(exc)))
            except Exception as exc:  # one pair must never stop the run
                failed.append((theme, price, f"unexpected {type(exc).__name__}: {exc}"))
            progress.advance()
    progress.finish()
    results = adjust_run(results)
    with open_db(settings.db) as con:
        save_results(con, [row for r in results for row in r.to_rows(run_id)])
    return AnalyzeAllReport(run_id, len(results), tuple(failed), tuple(results))
