"""Shared shape of ``analysis_results`` rows, so every statistic maps onto one table.

Each result type (lead/lag, rolling correlation, change points, event study, impulse
response) writes its own rows through ``RowContext.row``: the pair, frequency and data
window are stated once, the test-specific columns per row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = ["RowContext", "clean_float"]


def clean_float(value: Any) -> float | None:
    """A plain float, or None for NaN/inf/None (JSON and SQL have no NaN)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class RowContext:
    """What every row of one pair's analysis shares: the pair, frequency and window."""

    x: str
    y: str
    freq: str
    window_start: date
    window_end: date

    def row(
        self,
        run_id: str,
        test: str,
        lag: int,
        *,
        n_obs: int,
        direction: str = "",
        statistic: float | None = None,
        p_value: float | None = None,
        p_adj: float | None = None,
        effect: float | None = None,
        ci_low: float | None = None,
        ci_high: float | None = None,
        params: Mapping[str, Any] | None = None,
        warnings: Iterable[str] = (),
    ) -> dict[str, Any]:
        """One row keyed by ``analysis_results`` column names (``params`` a dict)."""
        return {
            "run_id": run_id,
            "x": self.x,
            "y": self.y,
            "freq": self.freq,
            "test": test,
            "direction": direction,
            "lag": int(lag),
            "statistic": clean_float(statistic),
            "p_value": clean_float(p_value),
            "p_adj": clean_float(p_adj),
            "effect": clean_float(effect),
            "ci_low": clean_float(ci_low),
            "ci_high": clean_float(ci_high),
            "n_obs": int(n_obs),
            "window_start": self.window_start,
            "window_end": self.window_end,
            "params": dict(params or {}),
            "warnings": list(warnings),
        }
