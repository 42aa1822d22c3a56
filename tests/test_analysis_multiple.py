"""benjamini_hochberg matches statsmodels and handles the edges."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.multitest import multipletests

from newsintel.analysis.multiple import benjamini_hochberg


def test_matches_statsmodels() -> None:
    pvalues = [0.001, 0.2, 0.03, 0.04, 0.9, 0.012]
    _, expected, _, _ = multipletests(pvalues, method="fdr_bh")
    assert benjamini_hochberg(pvalues) == pytest.approx(list(expected))


def test_hand_computed_example() -> None:
    # Sorted p: 0.01, 0.02, 0.03 with m=3 -> 0.03, 0.03, 0.03.
    assert benjamini_hochberg([0.03, 0.01, 0.02]) == pytest.approx([0.03, 0.03, 0.03])


def test_nan_kept_and_not_counted() -> None:
    adjusted = benjamini_hochberg([0.01, math.nan, 0.04])
    assert math.isnan(adjusted[1])
    assert adjusted[0] == pytest.approx(0.02)
    assert adjusted[2] == pytest.approx(0.04)


def test_empty_and_invalid() -> None:
    assert benjamini_hochberg([]) == []
    with pytest.raises(ValueError):
        benjamini_hochberg([1.5])
