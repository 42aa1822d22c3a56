"""Composition shifts: when the mix of story origins changes inside an analysed window.

A theme's share of stories can trend only because the stories come from elsewhere:
years of GDELT titles followed by months of full-text feeds is a different population,
not a change in attention. Pure pandas; the store gives the per-period shares.
"""

from __future__ import annotations

import pandas as pd

# A change of this much in one origin's share of stories between the two halves of the
# window is worth a warning: smaller moves are ordinary week-to-week noise in the demo
# and in a feed-only database (where the share never moves at all).
ORIGIN_SHIFT_WARN = 0.2


def _half_shares(shares: pd.DataFrame, periods: list[pd.Timestamp]) -> pd.Series:
    part = shares[shares["period"].isin(periods)]
    counts = part.groupby("origin")["stories"].sum()
    return counts / counts.sum() if counts.sum() else counts


def origin_shift_warning(shares: pd.DataFrame, threshold: float = ORIGIN_SHIFT_WARN) -> str | None:
    """A warning when an origin's share of stories moves by ``threshold`` or more.

    ``shares`` has columns period, origin, stories (``store.provenance.origin_shares``).
    The periods are split into an earlier and a later half; each half's share of every
    origin is its stories over all stories of that half. None when the mix holds.
    """
    periods = sorted(shares["period"].unique())
    if len(periods) < 2:
        return None
    middle = len(periods) // 2
    early = _half_shares(shares, periods[:middle])
    late = _half_shares(shares, periods[middle:])
    change = late.reindex(early.index.union(late.index), fill_value=0.0) - early.reindex(
        early.index.union(late.index), fill_value=0.0
    )
    origin = str(change.abs().idxmax())
    if abs(float(change[origin])) < threshold:
        return None

    def mix(half: pd.Series) -> str:
        return ", ".join(f"{o} {v:.0%}" for o, v in half.sort_values(ascending=False).items())

    split = pd.Timestamp(periods[middle])
    return (
        f"the mix of story origins changes inside the window (before {split:%Y-%m-%d}: "
        f"{mix(early)}; from {split:%Y-%m-%d}: {mix(late)}): a composition shift can fake "
        "a trend; compare with --origin"
    )
