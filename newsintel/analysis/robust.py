"""Inference that holds when errors are heteroskedastic or autocorrelated.

Weekly commodity returns are strongly heteroskedastic (volatility clusters; the
lithium spot's weekly volatility grew eightfold 2017-2023) and a third of a thin spot
series' returns are exactly zero. The classic F-test and the Fisher band assume
constant-variance, independent errors, and over-reject then. Here, beside them:

- Wald tests with HC3 covariance (MacKinnon & White 1985: the small-sample
  heteroskedasticity-consistent choice), switching to Newey-West HAC when the
  residuals are autocorrelated (a heteroskedasticity-robust portmanteau test,
  ``robust_portmanteau_p``, p < 0.01);
- a HAC t-test for each cross-correlation (the slope of standardised y on x);
- leave-one-period-out influence, and the smallest |r| a test could detect.

All in numpy: a run tests thousands of regressions, and statsmodels' result objects
cost more than the arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "RobustWald",
    "corr_variance",
    "hac_bandwidth",
    "ljung_box_p",
    "min_detectable_r",
    "robust_corr_p",
    "robust_corr_p_leave_one_out",
    "robust_corr_test",
    "robust_portmanteau_p",
    "robust_wald",
]

# The portmanteau p below which residuals count as autocorrelated: then HAC, not HC3.
# The test is the heteroskedasticity-robust one: Ljung-Box's variance assumes
# homoskedastic residuals, so under volatility clustering it flagged about a fifth of
# independent GARCH pairs' CCF products at 1% (docs/FINDINGS.md, null size), and the
# needless HAC (liberal in small samples) pushed the robust CCF's size above 5%.
_AUTOCORR_P = 0.01

# Above this leverage one period carries (nearly all of) its own fitted value: a
# sparse theme that is constant but for one spike. Its residual is then fitted to about zero, so no
# sandwich estimator (HC3 included: 0 / (1 - h) is still 0) sees the noise the slope
# rests on, and a single coincident week read as p ~ 1e-28 on the demo's sparse
# themes. The robust p-value is undefined there (NaN, left out of the BH family); the
# classic test and the sparse-data warning stay.
_MAX_LEVERAGE = 0.9

# The same failure with two or three spikes: when the x side of a correlation rests on
# fewer effective periods than this (Kish's (sum z^2)^2 / sum z^4, n/3 for normal data,
# about 2 for two spikes in 187 weeks), the spikes' residuals may happen to sit near
# their fit and the sandwich variance collapses (p = 1e-7 at r = 0.04 on the demo's
# world models vs copper). The robust p-value is undefined (NaN) there as well.
_MIN_EFFECTIVE_PERIODS = 3.0


@dataclass(frozen=True)
class RobustWald:
    """Wald test of some coefficients being zero: statistic/df is F-like."""

    statistic: float
    p: float
    kind: str  # "HC3", "HAC(<bandwidth>)", or "none: ..." when undefined


def hac_bandwidth(n: int) -> int:
    """Newey-West's rule of thumb, floor(4 (n/100)^(2/9)), at least 1."""
    return max(1, int(4 * (n / 100) ** (2 / 9)))


def ljung_box_p(resid: np.ndarray, lags: int) -> float:
    """Ljung-Box Q p-value of ``resid`` up to ``lags`` (chi-square with ``lags`` df)."""
    e = np.asarray(resid, dtype="float64") - float(np.mean(resid))
    n = e.size
    denom = float(e @ e)
    lags = min(lags, n - 2)
    if denom <= 0 or lags < 1:
        return math.nan
    q = 0.0
    for k in range(1, lags + 1):
        rho = float(e[k:] @ e[:-k]) / denom
        q += rho * rho / (n - k)
    return float(stats.chi2.sf(n * (n + 2) * q, lags))


def robust_portmanteau_p(resid: np.ndarray, lags: int) -> float:
    """Portmanteau p-value of ``resid`` up to ``lags`` that stays valid when the
    residuals are heteroskedastic (volatility clusters) but uncorrelated.

    Each autocovariance sum_t e_t e_{t-k} is standardised by its own robust variance
    sum_t e_t^2 e_{t-k}^2 instead of Ljung-Box's n * var(e)^2 (Lobato, Nankervis and
    Savin 2001, "Testing for autocorrelation using a modified Box-Pierce Q test";
    Francq, Roy and Zakoian 2005); the sum of the ``lags`` squares is chi-square with
    ``lags`` degrees of freedom under no autocorrelation.
    """
    e = np.asarray(resid, dtype="float64") - float(np.mean(resid))
    lags = min(lags, e.size - 2)
    if lags < 1:
        return math.nan
    q = 0.0
    for k in range(1, lags + 1):
        cross = e[k:] * e[:-k]
        denom = float(cross @ cross)
        if denom <= 0:
            return math.nan
        q += float(cross.sum()) ** 2 / denom
    return float(stats.chi2.sf(q, lags))


def _meat_hac(scores: np.ndarray, bandwidth: int) -> np.ndarray:
    """Newey-West sum of score cross-products with Bartlett weights."""
    meat: np.ndarray = scores.T @ scores
    for lag in range(1, bandwidth + 1):
        weight = 1 - lag / (bandwidth + 1)
        gamma = scores[lag:].T @ scores[:-lag]
        meat += weight * (gamma + gamma.T)
    return meat


def _hac_scaled(resid: np.ndarray, leverage: np.ndarray, k: int) -> np.ndarray:
    """Residuals scaled for their leverage before the Newey-West sum: e_t / (1 - h_t)^(d_t/2)
    with d_t = min(4, h_t / mean h) (HC4, Cribari-Neto 2004, "Asymptotic inference under
    heteroskedasticity of unknown form", CSDA 45: 215-233).

    A period with high leverage (a spike of a sparse theme, 0.5 < h < 0.9) pulls the
    fit to itself, so its raw residual understates its noise and the HAC variance with
    it: one such point at n = 60 put the HAC correlation test's size at 12-13%.
    HC3's 1/(1 - h) (MacKinnon & White 1985), applied inside the HAC sum, brought it to
    7-7.5%; HC4's stronger scaling of the high-leverage point only, to about 4%, with
    ordinary points (h near its mean) scaled about as HC2 would
    (tests/test_analysis_robust.py::test_hac_corrects_a_large_leverage_point).
    """
    mean = k / resid.size
    power = np.minimum(4.0, leverage / mean) / 2
    scaled: np.ndarray = resid / np.clip(1 - leverage, 1e-12, None) ** power
    return scaled


def robust_wald(target: np.ndarray, design: np.ndarray, tested: slice) -> RobustWald:
    """Wald test that the ``tested`` columns of ``design`` have zero coefficients.

    HC3 covariance; HAC (Newey-West, Bartlett kernel, rule-of-thumb bandwidth) when
    the residuals fail the robust portmanteau test. The p-value uses F(q, n - k) for W/q, the usual
    small-sample reading of a robust Wald statistic.
    """
    n, k = design.shape
    xtx_inv = np.linalg.pinv(design.T @ design)
    coef = xtx_inv @ design.T @ target
    resid = target - design @ coef
    df_resid = n - k
    if df_resid < 1:
        return RobustWald(math.nan, math.nan, "none")
    lb = robust_portmanteau_p(resid, min(10, max(1, n // 5)))
    leverage = np.einsum("ij,jk,ik->i", design, xtx_inv, design)
    if float(leverage.max()) > _MAX_LEVERAGE:
        return RobustWald(math.nan, math.nan, "none: one period carries the fit")
    if not math.isnan(lb) and lb < _AUTOCORR_P:
        bandwidth = hac_bandwidth(n)
        scores = design * _hac_scaled(resid, leverage, k)[:, None]
        cov = xtx_inv @ _meat_hac(scores, bandwidth) @ xtx_inv * n / df_resid
        kind = f"HAC({bandwidth})"
    else:
        scale = resid / np.clip(1 - leverage, 1e-12, None)
        scores = design * scale[:, None]
        cov = xtx_inv @ (scores.T @ scores) @ xtx_inv
        kind = "HC3"
    b = coef[tested]
    v = cov[tested, tested]
    q = b.size
    try:
        w = float(b @ np.linalg.solve(v, b))
    except np.linalg.LinAlgError:
        return RobustWald(math.nan, math.nan, kind)
    if not math.isfinite(w) or w < 0:
        return RobustWald(math.nan, math.nan, kind)
    return RobustWald(w, float(stats.f.sf(w / q, q, df_resid)), kind)


def effective_periods(z: np.ndarray) -> float:
    """Kish's effective sample size of a standardised regressor: (sum z^2)^2 / sum z^4."""
    squares = np.asarray(z, dtype="float64") ** 2
    fourth = float(squares @ squares)
    return float(squares.sum()) ** 2 / fourth if fourth > 0 else 0.0


def robust_corr_p(a: np.ndarray, b: np.ndarray) -> float:
    """Robust t-test p-value of corr(a, b) = 0 (``robust_corr_test`` without its kind)."""
    return robust_corr_test(a, b)[0]


def robust_corr_test(a: np.ndarray, b: np.ndarray) -> tuple[float, str]:
    """Robust t-test of corr(a, b) = 0: the slope of standardised b on a, and which
    variance it used ("HC3", "HAC(<bandwidth>)", or "none: <why>" with a NaN p).

    With both sides standardised the slope is r; its HC3 standard error (Newey-West
    HAC when the products a_t b_t are autocorrelated, by the robust portmanteau
    test) keeps the test valid when they are heteroskedastic (the Fisher band's
    1/sqrt(n) assumes homoskedastic, independent products). t has n - 2 degrees of
    freedom.
    """
    n = a.size
    if n < 6:
        return math.nan, "none: fewer than 6 pairs"
    sa, sb = float(a.std()), float(b.std())
    if sa == 0 or sb == 0:
        return math.nan, "none: a series is constant"
    za = (a - a.mean()) / sa
    zb = (b - b.mean()) / sb
    r = float(za @ zb) / n
    resid = zb - r * za
    leverage = za**2 / n + 1 / n
    if float(leverage.max()) > _MAX_LEVERAGE:
        return math.nan, "none: one period carries the fit"
    if effective_periods(za) < _MIN_EFFECTIVE_PERIODS:
        # A spike or two carry the slope: see _MIN_EFFECTIVE_PERIODS.
        return math.nan, f"none: fewer than {_MIN_EFFECTIVE_PERIODS:g} effective periods"
    hac = robust_portmanteau_p(za * resid, min(10, max(1, n // 5))) < _AUTOCORR_P
    var, kind = corr_variance(za, resid, leverage, hac=hac)
    if not var > 0:
        return math.nan, "none: no variance"
    t = r / math.sqrt(var)
    return float(2 * stats.t.sf(abs(t), n - 2)), kind


def corr_variance(
    za: np.ndarray, resid: np.ndarray, leverage: np.ndarray, *, hac: bool
) -> tuple[float, str]:
    """Var(r) of the standardised slope from its products za_t * resid_t, each scaled
    for its leverage: HC3 (``hac`` false), or Newey-West over HC4-scaled residuals."""
    n = za.size
    if hac:
        bandwidth = hac_bandwidth(n)
        products = za * _hac_scaled(resid, leverage, 2)
        meat = float(_meat_hac(products[:, None], bandwidth)[0, 0])
        # Var(r) = meat / (sum za^2)^2 = meat / n^2, with a small-sample scaling.
        return meat / n**2 * n / (n - 2), f"HAC({bandwidth})"
    # Products not autocorrelated (the usual case after prewhitening): HC3, whose
    # leverage correction keeps the size where a few large |x| dominate; HAC's
    # extra lags only add noise to the standard error then.
    scaled = za * resid / np.clip(1 - leverage, 1e-12, None)
    return float(scaled @ scaled) / n**2, "HC3"


def robust_corr_p_leave_one_out(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``robust_corr_p`` of (a, b) with each point left out in turn (NaN where undefined).

    When the full sample's products are not autocorrelated (HC3, the usual case after
    prewhitening) all n fits are computed at once, each with HC3: the portmanteau choice
    is not re-made per fit (one point rarely flips it, and re-making it cost a loop of n
    tests). When they are autocorrelated, each fit is ``robust_corr_p`` itself.
    """
    n = a.size
    out = np.full(n, np.nan)
    if n < 7:
        return out
    sa, sb = float(a.std()), float(b.std())
    if sa == 0 or sb == 0:
        return out
    za, zb = (a - a.mean()) / sa, (b - b.mean()) / sb
    full_r = float(za @ zb) / n
    if robust_portmanteau_p(za * (zb - full_r * za), min(10, max(1, n // 5))) < _AUTOCORR_P:
        keep = np.ones(n, dtype=bool)
        for i in range(n):
            keep[i] = False
            out[i] = robust_corr_p(a[keep], b[keep])
            keep[i] = True
        return out
    # Row i holds every point but i.
    rows = np.arange(n)[:, None]
    cols = np.arange(n - 1)[None, :]
    index = cols + (cols >= rows)
    av, bv = a[index], b[index]
    m = n - 1
    sda, sdb = av.std(axis=1, keepdims=True), bv.std(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        xa = (av - av.mean(axis=1, keepdims=True)) / sda
        xb = (bv - bv.mean(axis=1, keepdims=True)) / sdb
        r = (xa * xb).sum(axis=1) / m
        products = xa * (xb - r[:, None] * xa)
        leverage = xa**2 / m + 1 / m
        scaled = products / np.clip(1 - leverage, 1e-12, None)
        var = (scaled * scaled).sum(axis=1) / m**2
        t = r / np.sqrt(var)
    valid = (sda[:, 0] > 0) & (sdb[:, 0] > 0) & (var > 0)
    valid &= leverage.max(axis=1) <= _MAX_LEVERAGE
    with np.errstate(all="ignore"):
        squares = xa**2
        effective = squares.sum(axis=1) ** 2 / (squares * squares).sum(axis=1)
    valid &= effective >= _MIN_EFFECTIVE_PERIODS
    out[valid] = 2 * stats.t.sf(np.abs(t[valid]), m - 2)
    return out


def min_detectable_r(n: int, alpha: float, tests: int, power: float = 0.8) -> float:
    """Smallest |r| a two-sided test detects with ``power`` at ``n`` points, when the
    per-test level is ``alpha / tests`` (Bonferroni: BH's level for the strongest of
    ``tests``), by the Fisher z approximation."""
    if n <= 3 or tests < 1:
        return math.nan
    z_alpha = stats.norm.isf(alpha / tests / 2)
    z_power = stats.norm.ppf(power)
    return float(math.tanh((z_alpha + z_power) / math.sqrt(n - 3)))
