"""Provenance jobs: checking origins and warning when their mix shifts in an analysis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from newsintel.config import Settings
from newsintel.errors import AnalysisError
from newsintel.models import ORIGINS
from newsintel.store import open_db

if TYPE_CHECKING:
    from newsintel.analysis.pair import PairResult


def check_origins(origins: Sequence[str]) -> tuple[str, ...]:
    """``origins`` as a tuple, each one known; an unknown one is a one-line error."""
    for origin in origins:
        if origin not in ORIGINS:
            raise AnalysisError(f"unknown origin '{origin}'; known: {', '.join(ORIGINS)}")
    return tuple(dict.fromkeys(origins))


def with_origin_warning(
    settings: Settings, result: PairResult, freq: str, origins: Sequence[str] = ()
) -> PairResult:
    """``result`` with a warning added when the mix of origins of the stories behind
    its theme variable(s) shifts inside the analysed window (see ``series.origins``),
    and the origin filter recorded in its settings.

    Pairs without a theme (two series), and pairs that were not analysable, are
    returned unchanged.
    """
    from newsintel.analysis.pair import PairAnalysis
    from newsintel.series.origins import origin_shift_warning
    from newsintel.store.provenance import origin_shares

    if not isinstance(result, PairAnalysis) or not any(
        spec.startswith("theme:") for spec in (result.x, result.y)
    ):
        return result
    if origins:
        result = replace(result, settings={**result.settings, "origins": list(origins)})
    ll = result.lead_lag
    with open_db(settings.db, read_only=True) as con:
        shares = origin_shares(con, ll.window_start, ll.window_end, freq, origins)
    warning = origin_shift_warning(shares)
    if warning is None:
        return result
    return replace(result, lead_lag=replace(ll, warnings=(*ll.warnings, warning)))
