"""Statistics on aligned series, wrapped into our own frozen result dataclasses.

statsmodels is imported inside the functions that need it, so importing this package
(for the result types, say) stays cheap.
"""

from __future__ import annotations

from newsintel.analysis.ccf import CcfPoint
from newsintel.analysis.changepoints import ChangePoints, Segment, detect_change_points
from newsintel.analysis.events import EventStudy, event_study
from newsintel.analysis.granger import GrangerPoint
from newsintel.analysis.irf import ImpulseResponse, var_impulse_response
from newsintel.analysis.leadlag import LeadLagResult, lead_lag
from newsintel.analysis.multiple import benjamini_hochberg
from newsintel.analysis.pair import PairAnalysis, adjust_run, analyze_pair
from newsintel.analysis.rolling import (
    RollingCorrelation,
    RollingGranger,
    rolling_correlation,
    rolling_granger,
)
from newsintel.analysis.rows import RowContext
from newsintel.analysis.stationarity import StationarityReport, check_stationarity, make_stationary

__all__ = [
    "CcfPoint",
    "ChangePoints",
    "EventStudy",
    "GrangerPoint",
    "ImpulseResponse",
    "LeadLagResult",
    "PairAnalysis",
    "RollingCorrelation",
    "RollingGranger",
    "RowContext",
    "Segment",
    "StationarityReport",
    "adjust_run",
    "analyze_pair",
    "benjamini_hochberg",
    "check_stationarity",
    "detect_change_points",
    "event_study",
    "lead_lag",
    "make_stationary",
    "rolling_correlation",
    "rolling_granger",
    "var_impulse_response",
]
