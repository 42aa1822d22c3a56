"""Stationarity checks (ADF and KPSS) and differencing until a series is stationary.

The two tests have opposite null hypotheses: ADF's null is a unit root, KPSS's null is
stationarity around a constant. A series is called stationary only when both agree
(ADF rejects, KPSS does not); correlations and Granger tests on anything else are
prone to spurious results, so ``make_stationary`` differences it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd

from newsintel.errors import AnalysisError

__all__ = ["MAX_DIFFERENCES", "StationarityReport", "check_stationarity", "make_stationary"]

Verdict = Literal["stationary", "non-stationary", "conflicting", "inconclusive"]

MAX_DIFFERENCES = 2
# Below this many points the tests have next to no power and statsmodels may fail.
_MIN_OBS = 10


@dataclass(frozen=True)
class StationarityReport:
    """ADF and KPSS results for one series.

    ``verdict`` is ``stationary`` (ADF rejects a unit root, KPSS does not reject
    stationarity), ``non-stationary`` (the reverse), ``conflicting`` (both reject, often
    a trend or a break) or ``inconclusive`` (neither rejects: too little data to tell).
    KPSS p-values come from a table and are clipped to [0.01, 0.10].
    """

    n_obs: int
    adf_statistic: float
    adf_p: float
    adf_lags: int
    kpss_statistic: float
    kpss_p: float
    alpha: float
    verdict: Verdict

    @property
    def is_stationary(self) -> bool:
        """True when both tests agree the series is stationary."""
        return self.verdict == "stationary"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready values."""
        return {
            "n_obs": self.n_obs,
            "adf_statistic": self.adf_statistic,
            "adf_p": self.adf_p,
            "adf_lags": self.adf_lags,
            "kpss_statistic": self.kpss_statistic,
            "kpss_p": self.kpss_p,
            "alpha": self.alpha,
            "verdict": self.verdict,
        }


def _values(series: pd.Series | np.ndarray) -> np.ndarray:
    raw: np.ndarray = np.asarray(series, dtype="float64")
    values: np.ndarray = raw[~np.isnan(raw)]
    if not np.isfinite(values).all():
        raise AnalysisError("the series has infinite values; a stationarity test needs finite ones")
    if values.size < _MIN_OBS:
        raise AnalysisError(
            f"a stationarity test needs at least {_MIN_OBS} observations, got {values.size}"
        )
    if np.ptp(values) == 0:
        raise AnalysisError("the series is constant; there is nothing to test")
    return values


def check_stationarity(
    series: pd.Series | np.ndarray, *, alpha: float = 0.05
) -> StationarityReport:
    """Run ADF (lags by AIC) and KPSS (level, automatic lags) on ``series``.

    Reports are cached by the series' values: a run of many pairs tests each series
    (and its differences) once, not once per pair. The tests are deterministic, so a
    cached report is the one a fresh run would give.
    """
    values = _values(series)
    return _report(values.tobytes(), alpha)


@lru_cache(maxsize=256)
def _report(raw: bytes, alpha: float) -> StationarityReport:
    from statsmodels.tsa.stattools import adfuller, kpss

    values = np.frombuffer(raw, dtype="float64").copy()
    with warnings.catch_warnings():
        # KPSS warns when its statistic is beyond its p-value table; the clipped
        # p-value is still on the right side of any usual alpha, which is all we use.
        warnings.simplefilter("ignore")
        try:
            adf = adfuller(values, autolag="AIC", regression="c")
            kpss_stat, kpss_p, *_ = kpss(values, regression="c", nlags="auto")
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            # ArithmeticError: KPSS's automatic bandwidth overflows (inf -> int) on a
            # series that is constant but for a step or two, common in sparse windows.
            raise AnalysisError(f"stationarity test failed: {type(exc).__name__}: {exc}") from exc
    adf_p = float(adf[1])
    kpss_pv = float(kpss_p)
    adf_rejects = adf_p < alpha
    kpss_rejects = kpss_pv < alpha
    verdict: Verdict
    if adf_rejects and not kpss_rejects:
        verdict = "stationary"
    elif kpss_rejects and not adf_rejects:
        verdict = "non-stationary"
    elif adf_rejects and kpss_rejects:
        verdict = "conflicting"
    else:
        verdict = "inconclusive"
    return StationarityReport(
        n_obs=int(values.size),
        adf_statistic=float(adf[0]),
        adf_p=adf_p,
        adf_lags=int(adf[2]),
        kpss_statistic=float(kpss_stat),
        kpss_p=kpss_pv,
        alpha=alpha,
        verdict=verdict,
    )


def make_stationary(
    series: pd.Series, *, alpha: float = 0.05, max_differences: int = MAX_DIFFERENCES
) -> tuple[pd.Series, int, StationarityReport]:
    """Difference ``series`` until it tests stationary, at most ``max_differences`` times.

    Returns the (possibly differenced) series without its leading NaNs, the number of
    differences taken and the report on the returned series. If it is still not
    stationary after the last difference, the report says so; callers should warn.
    """
    current = series.astype("float64").dropna()
    report = check_stationarity(current, alpha=alpha)
    differences = 0
    while not report.is_stationary and differences < max_differences:
        candidate = current.diff().dropna()
        values = np.asarray(candidate, dtype="float64")
        if values.size < _MIN_OBS or np.ptp(values) == 0:
            break
        try:
            candidate_report = check_stationarity(candidate, alpha=alpha)
        except AnalysisError:
            # The tests cannot judge the difference (e.g. all but a few values are 0):
            # keep the last series they could judge; the caller warns when it is not
            # stationary.
            break
        current = candidate
        differences += 1
        report = candidate_report
    return current, differences, report
