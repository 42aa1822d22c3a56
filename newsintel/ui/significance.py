"""Which p-value marks a lag significant on the Prices page, and what an untestable lag says.

``best_lag`` follows the robust adjusted p (HAC/HC3 tests, BH over the run's robust
family), so the CCF chart's marker and the Granger table follow it too, with the
classic adjusted p beside it, labelled. A robust p that is undefined (NaN: one period
carries the fit, or fewer than 3 effective periods) reads "not testable" with the
reason, never "significant": the classic p of such a lag rests on a spike or two.
Runs stored before the robust tests existed have no robust columns; for them the
classic adjusted p decides, and the label says so.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["NOT_TESTABLE", "has_robust", "untestable_reason", "verdicts"]

NOT_TESTABLE = "not testable"
_ALPHA = 0.05


def has_robust(frame: pd.DataFrame) -> bool:
    """Whether the run stored robust tests (any robust p or any robust kind)."""
    for column in ("p_robust_adj", "robust"):
        if column in frame and frame[column].notna().any():
            return True
    return False


def untestable_reason(kind: object) -> str:
    """The reason in a stored robust kind ("none: one period carries the fit")."""
    text = str(kind) if isinstance(kind, str) else ""
    reason = text.split(":", 1)[1].strip() if text.startswith("none:") else ""
    return reason or "the robust test is undefined here"


def verdicts(frame: pd.DataFrame) -> pd.Series:
    """Per row: "yes" (adjusted p < 0.05), "no", or "not testable: <reason>".

    By the robust adjusted p where the run has robust tests (a row without one is not
    testable); by the classic adjusted p for runs from before them.
    """
    if not has_robust(frame):
        return frame["p_adj"].map(lambda p: "yes" if pd.notna(p) and p < _ALPHA else "no")
    kinds = frame["robust"] if "robust" in frame else pd.Series(None, index=frame.index)

    def one(p: object, kind: object) -> str:
        if isinstance(p, float | int) and pd.notna(p):
            return "yes" if float(p) < _ALPHA else "no"
        return f"{NOT_TESTABLE}: {untestable_reason(kind)}"

    return pd.Series(
        [one(p, k) for p, k in zip(frame["p_robust_adj"], kinds, strict=True)],
        index=frame.index,
        dtype="object",
    )
