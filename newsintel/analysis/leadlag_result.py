"""The result of one lead/lag call: its tests, adjusted p-values, JSON and stored rows.

``LeadLagResult`` is what ``leadlag.lead_lag`` returns and what a run adjusts
(``with_p_adj`` for the classic family, ``with_robust_adj`` for the robust one); the
best lag and the fragility verdict follow the adjustment, so they are decided here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from newsintel.analysis.ccf import CcfPoint
from newsintel.analysis.granger import GrangerPoint
from newsintel.analysis.leadlag_words import findings_lines, headline
from newsintel.analysis.robust import min_detectable_r
from newsintel.errors import AnalysisError

__all__ = ["LeadLagResult", "best_lag_of", "judge_fragile", "num"]


@dataclass(frozen=True)
class LeadLagResult:
    """Everything one ``lead_lag`` call computed; maps onto ``analysis_results`` rows.

    ``n_obs`` counts the aligned dates of the inputs (``window_start``..``window_end``);
    ``n_stationary`` the points left after differencing (used by the Granger tests),
    ``n_used`` those left after prewhitening too (used by the CCF). ``ccf_band`` is the
    half-width of the 95% white-noise band, 1.96/sqrt(n_used). ``findings`` are plain
    sentences about the adjusted-significant results, worded without causal claims.
    ``best_lag`` follows the robust adjusted p-values (the test the issue asks to
    trust); ``best_lag_classic`` is the same choice on the classic ``p_adj``.
    """

    x: str
    y: str
    freq: str
    n_obs: int
    window_start: date
    window_end: date
    ccf: tuple[CcfPoint, ...]
    granger: tuple[GrangerPoint, ...]
    best_lag: int | None
    lag_order_aic: int | None
    lag_order_bic: int | None
    transforms: dict[str, Any]
    warnings: tuple[str, ...]
    max_lag: int
    prewhitened: bool
    n_stationary: int
    n_used: int
    ccf_band: float
    alpha: float
    findings: tuple[str, ...]
    # How many p-values the Benjamini-Hochberg adjustment ran over (the whole run's).
    bh_tests: int = 0
    # Leave-one-period-out p-values of the strongest CCF lag (see ``leadlag._influence``).
    influence: dict[str, Any] | None = None
    # The robust family's size (HC3/HAC Granger and HAC CCF p-values of the run).
    robust_tests: int = 0
    # The pre-specified test per direction (see ``leadlag._primary``) and the out-of-sample
    # forecast comparison of y with and without x's lags (None: too few points).
    primary: dict[str, Any] | None = None
    oos: dict[str, Any] | None = None
    # Calendar accounting (used, dropped_partial, lost_to_gaps, lost_to_join), filled
    # in by ``analyze_pair``, which sees the inputs before they are joined.
    periods: dict[str, Any] | None = None
    best_lag_classic: int | None = None

    def p_values(self) -> list[float]:
        """Unadjusted p-values of every test, CCF lags first, then Granger tests."""
        return [c.p for c in self.ccf] + [g.p for g in self.granger]

    def robust_p_values(self) -> list[float]:
        """Robust p-values in the same order (their own BH family)."""
        return [c.p_robust for c in self.ccf] + [g.p_robust for g in self.granger]

    def with_robust_adj(self, adjusted: Sequence[float], tests: int) -> LeadLagResult:
        """A copy with robust adjusted p-values over a family of ``tests``; the
        influence verdict (``fragile``) follows the new adjustment."""
        if len(adjusted) != len(self.ccf) + len(self.granger):
            raise AnalysisError("adjusted p-values do not match the tests of this result")
        ccf = tuple(
            replace(c, p_robust_adj=p)
            for c, p in zip(self.ccf, adjusted[: len(self.ccf)], strict=True)
        )
        granger = tuple(
            replace(g, p_robust_adj=p)
            for g, p in zip(self.granger, adjusted[len(self.ccf) :], strict=True)
        )
        influence = judge_fragile(self.influence, ccf, self.alpha)
        best_lag = best_lag_of(ccf, self.alpha)
        return replace(
            self,
            ccf=ccf,
            granger=granger,
            influence=influence,
            robust_tests=tests,
            best_lag=best_lag,
            findings=headline(self.primary, self.oos, self.x, self.y, self.alpha)
            + findings_lines(ccf, granger, best_lag, self.x, self.y, self.freq, self.alpha),
        )

    def power(self) -> dict[str, Any]:
        """The smallest |r| the CCF could detect (80% power) at ``n_used`` points, at
        the per-test level the run's adjustment leaves (alpha over the family size)."""
        tests = max(self.robust_tests, self.bh_tests, 1)
        return {
            "min_detectable_r": num(min_detectable_r(self.n_used, self.alpha, tests)),
            "n": self.n_used,
            "alpha": self.alpha,
            "tests": tests,
            "power": 0.8,
        }

    def fragile(self) -> dict[str, Any]:
        """Whether one period makes or breaks the strongest result, and which."""
        if self.influence is None:
            return {"fragile": None, "period": None, "reason": "no CCF lag to test"}
        return {
            "fragile": self.influence.get("fragile"),
            "period": self.influence.get("period"),
            "test": "ccf",
            "lag": self.influence["lag"],
            "p_robust": self.influence["p_robust"],
            "p_range": self.influence["p_range"],
        }

    def with_p_adj(self, adjusted: Sequence[float], bh_tests: int) -> LeadLagResult:
        """A copy with ``adjusted`` p-values (in ``p_values()`` order) from an
        adjustment over ``bh_tests`` tests; ``best_lag_classic`` follows them (the
        robust ``best_lag`` and the findings follow ``with_robust_adj``)."""
        if len(adjusted) != len(self.ccf) + len(self.granger):
            raise AnalysisError("adjusted p-values do not match the tests of this result")
        ccf = [
            replace(c, p_adj=p) for c, p in zip(self.ccf, adjusted[: len(self.ccf)], strict=True)
        ]
        granger = [
            replace(g, p_adj=p)
            for g, p in zip(self.granger, adjusted[len(self.ccf) :], strict=True)
        ]
        return replace(
            self,
            ccf=tuple(ccf),
            granger=tuple(granger),
            best_lag_classic=best_lag_of(ccf, self.alpha, robust=False),
            findings=headline(self.primary, self.oos, self.x, self.y, self.alpha)
            + findings_lines(ccf, granger, self.best_lag, self.x, self.y, self.freq, self.alpha),
            bh_tests=bh_tests,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (dates as ISO strings, NaN as None)."""
        return {
            "x": self.x,
            "y": self.y,
            "freq": self.freq,
            "n_obs": self.n_obs,
            "n_stationary": self.n_stationary,
            "n_used": self.n_used,
            "window": [self.window_start.isoformat(), self.window_end.isoformat()],
            "max_lag": self.max_lag,
            "prewhitened": self.prewhitened,
            "ccf_band": self.ccf_band,
            "ccf": [
                {
                    "lag": c.lag,
                    "r": num(c.r),
                    "ci": [num(c.ci_low), num(c.ci_high)],
                    "p": num(c.p),
                    "p_adj": num(c.p_adj),
                    "p_robust": num(c.p_robust),
                    "p_robust_adj": num(c.p_robust_adj),
                    "robust": c.robust,
                    "n_pairs": c.n_pairs,
                }
                for c in self.ccf
            ],
            "granger": [
                {
                    "direction": g.direction,
                    "lag": g.lag,
                    "statistic": num(g.statistic),
                    "p": num(g.p),
                    "p_adj": num(g.p_adj),
                    "p_robust": num(g.p_robust),
                    "p_robust_adj": num(g.p_robust_adj),
                    "robust": g.robust,
                }
                for g in self.granger
            ],
            "best_lag": self.best_lag,
            "best_lag_classic": self.best_lag_classic,
            "best_lag_rule": "largest |r| among CCF lags with p_robust_adj < alpha "
            "(best_lag_classic: the same on p_adj)",
            "lag_order": {"aic": self.lag_order_aic, "bic": self.lag_order_bic},
            "transforms": self.transforms,
            "alpha": self.alpha,
            "bh_tests": self.bh_tests,
            "robust_tests": self.robust_tests,
            "families": {
                "p_adj": "Benjamini-Hochberg over every classic CCF and Granger p of the run",
                "p_robust_adj": (
                    "Benjamini-Hochberg over every robust (HAC CCF, HC3/HAC Granger) p of the run"
                ),
            },
            "primary": self.primary,
            "exploratory": {
                "tests": "every CCF lag and every Granger lag order in the scan",
                "bh_family": "p_adj: every classic p of the run; p_robust_adj: every "
                "robust p of the run",
            },
            "oos": self.oos,
            "power": self.power(),
            "fragile": self.fragile(),
            "periods": self.periods,
            "findings": list(self.findings),
            "warnings": list(self.warnings),
        }

    def params(self) -> dict[str, Any]:
        """The run's settings and derived choices, stored with every row."""
        return {
            "max_lag": self.max_lag,
            "prewhiten": self.prewhitened,
            "alpha": self.alpha,
            "n_stationary": self.n_stationary,
            "n_used": self.n_used,
            "ccf_band": self.ccf_band,
            "best_lag": self.best_lag,
            "best_lag_classic": self.best_lag_classic,
            "lag_order_aic": self.lag_order_aic,
            "lag_order_bic": self.lag_order_bic,
            "transforms": self.transforms,
            "bh_tests": self.bh_tests,
            "robust_tests": self.robust_tests,
            "power": self.power(),
            "fragile": self.fragile(),
            "primary": self.primary,
            "oos": self.oos,
            "periods": self.periods,
        }

    def to_rows(self, run_id: str) -> list[dict[str, Any]]:
        """One ``analysis_results`` row per CCF lag and per Granger test.

        CCF rows: ``effect`` = r, ``statistic`` = its t value, CI = Fisher-z interval,
        ``direction`` = ''. Granger rows: ``statistic`` = F, ``direction`` = x->y or
        y->x, ``lag`` = number of lags in the test. ``n_obs`` is the number of
        observations that test used; ``params`` is a JSON string.
        """
        params = self.params()
        base = {
            "run_id": run_id,
            "x": self.x,
            "y": self.y,
            "freq": self.freq,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "warnings": list(self.warnings),
        }
        rows: list[dict[str, Any]] = []
        for c in self.ccf:
            rows.append(
                base
                | {
                    "test": "ccf",
                    "direction": "",
                    "lag": c.lag,
                    "statistic": num(c.statistic),
                    "p_value": num(c.p),
                    "p_adj": num(c.p_adj),
                    "effect": num(c.r),
                    "ci_low": num(c.ci_low),
                    "ci_high": num(c.ci_high),
                    "n_obs": c.n_pairs,
                    "params": json.dumps(
                        params
                        | {
                            "p_robust": num(c.p_robust),
                            "p_robust_adj": num(c.p_robust_adj),
                            "robust": c.robust,
                        }
                    ),
                }
            )
        for g in self.granger:
            rows.append(
                base
                | {
                    "test": "granger",
                    "direction": g.direction,
                    "lag": g.lag,
                    "statistic": num(g.statistic),
                    "p_value": num(g.p),
                    "p_adj": num(g.p_adj),
                    "effect": None,
                    "ci_low": None,
                    "ci_high": None,
                    "n_obs": g.n_obs,
                    "params": json.dumps(
                        params
                        | {
                            "p_robust": num(g.p_robust),
                            "p_robust_adj": num(g.p_robust_adj),
                            "robust": g.robust,
                        }
                    ),
                }
            )
        return rows


def num(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def judge_fragile(
    influence: dict[str, Any] | None, ccf: Sequence[CcfPoint], alpha: float
) -> dict[str, Any] | None:
    """Fragile: leaving one period out flips the adjusted decision at ``alpha``.

    The adjusted p of the left-out fits is read with the same factor the run's BH
    adjustment applied to the full-sample p (p_robust_adj / p_robust).
    """
    if influence is None:
        return None
    point = next((c for c in ccf if c.lag == influence["lag"]), None)
    if point is None or math.isnan(point.p_robust_adj) or point.p_robust <= 0:
        return influence
    factor = point.p_robust_adj / point.p_robust
    significant = point.p_robust_adj < alpha
    lo, hi = influence["p_range"]
    if significant:
        flips = min(1.0, hi * factor) >= alpha
        period = influence["period_max"]
    else:
        flips = min(1.0, lo * factor) < alpha
        period = influence["period_min"]
    return influence | {"fragile": bool(flips), "period": period if flips else None}


def best_lag_of(ccf: Sequence[CcfPoint], alpha: float, *, robust: bool = True) -> int | None:
    """The lag with the largest |r| among CCF lags whose robust adjusted p (or, with
    ``robust=False``, classic adjusted p) is below ``alpha``."""
    significant = [
        c for c in ccf if not math.isnan(p := c.p_robust_adj if robust else c.p_adj) and p < alpha
    ]
    return max(significant, key=lambda c: abs(c.r)).lag if significant else None
