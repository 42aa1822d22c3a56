"""Multiple-testing correction for the many p-values one analysis call produces."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["benjamini_hochberg"]


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values, in the order given.

    NaN p-values (tests that could not be run) stay NaN and do not count towards the
    number of tests.
    """
    from statsmodels.stats.multitest import multipletests

    values = np.asarray(pvalues, dtype="float64")
    out = np.full(values.shape, np.nan)
    present = ~np.isnan(values)
    if present.any():
        if ((values[present] < 0) | (values[present] > 1)).any():
            raise ValueError("p-values must lie in [0, 1]")
        _, adjusted, _, _ = multipletests(values[present], method="fdr_bh")
        out[present] = adjusted
    return [float(v) if not math.isnan(v) else math.nan for v in out]
