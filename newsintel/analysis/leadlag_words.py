"""The sentences a lead/lag result reports: the primary tests and the out-of-sample
verdict first, then the exploratory scan, worded without causal claims.

Only an out-of-sample forecast gain may be worded as "helps forecast"; an in-sample
Granger test says that one series' past adds information in this sample, no more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from newsintel.analysis.ccf import CcfPoint
from newsintel.analysis.granger import GrangerPoint

__all__ = ["UNITS", "findings_lines", "headline"]

UNITS = {"D": "day(s)", "W": "week(s)", "M": "month(s)"}


def headline(
    primary: dict[str, Any] | None,
    oos: dict[str, Any] | None,
    x_name: str,
    y_name: str,
    alpha: float,
) -> tuple[str, ...]:
    """Primary tests first, then the out-of-sample verdict, then (elsewhere) the scan."""
    lines = []
    for direction, (src, dst) in (("x->y", (x_name, y_name)), ("y->x", (y_name, x_name))):
        test = (primary or {}).get(direction)
        if test is None or test["p_robust"] is None:
            continue
        verdict = "significant" if test["p_robust"] < alpha else "not significant"
        lines.append(
            f"primary test {src}->{dst} (lag {test['lag']}, chosen by "
            f"{test['criterion'].upper()} before testing): robust p={test['p_robust']:.3g}, "
            f"classic p={test['p']:.3g}, {verdict} at {alpha:g} (in-sample)"
        )
    if oos is not None and oos["mse_ratio"] is not None and oos["clark_west_p"] is not None:
        if oos["mse_ratio"] < 1 and oos["clark_west_p"] < alpha:
            lines.append(
                f"{x_name}'s past helps forecast {y_name} out-of-sample: MSE ratio "
                f"{oos['mse_ratio']:.3f}, Clark-West p={oos['clark_west_p']:.3g} over "
                f"{oos['n_forecasts']} one-step forecasts"
            )
        else:
            lines.append(
                f"out-of-sample, adding {x_name}'s past did not significantly lower the "
                f"forecast error of {y_name}: MSE ratio {oos['mse_ratio']:.3f}, Clark-West "
                f"p={oos['clark_west_p']:.3g} over {oos['n_forecasts']} forecasts"
            )
    return tuple(lines)


def findings_lines(
    result_ccf: Sequence[CcfPoint],
    granger: Sequence[GrangerPoint],
    best_lag: int | None,
    x_name: str,
    y_name: str,
    freq: str,
    alpha: float,
) -> tuple[str, ...]:
    unit = UNITS.get(freq, "period(s)")
    lines: list[str] = []
    if best_lag is not None:
        best = next(c for c in result_ccf if c.lag == best_lag)
        if best_lag > 0:
            when = f"{x_name} leads {y_name} by {best_lag} {unit}"
        elif best_lag < 0:
            when = f"{y_name} leads {x_name} by {-best_lag} {unit}"
        else:
            when = "same period"
        lines.append(
            f"cross-correlation strongest at lag {best_lag:+d} ({when}): r={best.r:.2f}, "
            f"robust (HAC) p_adj={best.p_robust_adj:.3g}, classic p_adj={best.p_adj:.3g} "
            "(prewhitened series)"
        )
    for direction, (src, dst) in (("x->y", (x_name, y_name)), ("y->x", (y_name, x_name))):
        # NaN compares False: a test without a robust p is never reported as significant.
        tested = [g for g in granger if g.direction == direction and g.p_robust_adj < alpha]
        if tested:
            g = min(tested, key=lambda point: point.p_robust_adj)
            lines.append(
                f"{src}->{dst} Granger test at lag {g.lag}: robust ({g.robust or 'n/a'}) "
                f"p_adj={g.p_robust_adj:.3g}, classic p_adj={g.p_adj:.3g} "
                f"(in this sample, {src}'s past adds information about {dst} beyond "
                f"{dst}'s own past; not a forecast test)"
            )
    if not lines:
        lines.append(
            f"no cross-correlation or Granger test is significant on its robust p-value "
            f"after Benjamini-Hochberg adjustment (alpha={alpha:g})"
        )
    return tuple(lines)
