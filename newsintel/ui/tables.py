"""DataFrames shaped for display: theme movers, price moves, lead/lag tables, topics.

Pure pandas (no streamlit), so the shaping is easy to test; pages add the formatting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from newsintel.digest.content import DigestContent
from newsintel.topics.emerging import listing_order
from newsintel.ui import significance

if TYPE_CHECKING:
    from newsintel.store.topics import TopicRow
    from newsintel.topics.emerging import Emergence

_ARROWS = {"rising": "▲ rising", "falling": "▼ falling", "steady": "steady"}


def theme_movers(content: DigestContent, weekly: pd.DataFrame) -> pd.DataFrame:
    """One row per theme: this week, last week, change, direction and a weekly trend.

    ``weekly`` (columns week, theme, articles) gives the sparkline values, oldest
    first. Rising themes come first, then falling ones, then the rest by stories.
    """
    trends = {
        str(theme): [int(v) for v in group.sort_values("week")["articles"]]
        for theme, group in weekly.groupby("theme")
    }
    order = {"rising": 0, "falling": 1, "steady": 2}
    rows = [
        {
            "theme": m.label,
            "stories": m.count,
            "previous": m.previous_count,
            "change": m.count - m.previous_count,
            "share_pct": m.share * 100.0,
            "direction": _ARROWS[m.direction],
            "trend": trends.get(m.theme, []),
            "_order": order[m.direction],
        }
        for m in content.themes
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "theme",
            "stories",
            "previous",
            "change",
            "share_pct",
            "direction",
            "trend",
            "_order",
        ],
    )
    frame = frame.sort_values(["_order", "stories", "theme"], ascending=[True, False, True])
    return frame.drop(columns="_order").reset_index(drop=True)


def price_moves(content: DigestContent) -> pd.DataFrame:
    """The latest value and last change of every current price series."""
    return pd.DataFrame(
        [
            {
                "series": m.name.replace("_", " ").capitalize(),
                "last": m.last,
                "unit": m.unit,
                "change_pct": m.change_pct,
                "date": m.last_date,
            }
            for m in content.price_moves
        ],
        columns=["series", "last", "unit", "change_pct", "date"],
    )


def granger_table(frame: pd.DataFrame, theme_label: str, series_label: str) -> pd.DataFrame:
    """Granger rows with the question each one answers in words."""
    questions = {
        "x->y": (
            f"In this sample, does the past share of {theme_label} stories add information "
            f"about {series_label} beyond its own past?"
        ),
        "y->x": (
            f"In this sample, does the past of {series_label} add information about the "
            f"share of {theme_label} stories beyond its own past?"
        ),
    }
    out = frame.copy()
    out.insert(0, "question", out["direction"].map(questions).fillna(out["direction"]))
    out["warnings"] = out["warnings"].map(lambda w: "; ".join(w) if w is not None else "")
    # The verdict follows the robust adjusted p, as best_lag does (classic for old runs).
    robust = significance.has_robust(out)
    words = {"yes": "significant", "no": "not significant"}
    verdict = significance.verdicts(out).map(lambda v: words.get(v, v))
    out["verdict"] = verdict if robust else verdict + " (classic p)"
    order = ["question", "lag", "statistic", "p_value", "p_robust", "p_robust_adj", "p_adj"]
    out = out.drop(columns=["direction", "freq", "robust"], errors="ignore")
    first = [c for c in order if c in out]
    return out[first + ["verdict"] + [c for c in out if c not in first and c != "verdict"]]


def week_rows(totals: pd.DataFrame, week: date) -> tuple[dict[str, int], dict[str, int]]:
    """Counts of ``week`` and of the week before from weekly totals (zeros when absent)."""
    weeks = pd.to_datetime(totals["week"]).dt.date

    def row(day: date) -> dict[str, int]:
        hit = totals[weeks == day]
        return {c: int(hit[c].sum()) for c in ("articles", "stories")}

    return row(week), row(week - timedelta(days=7))


def weekly_trend(totals: pd.DataFrame, column: str, last_week: date, weeks: int = 12) -> list[int]:
    """``column`` of the ``weeks`` weeks up to ``last_week``, zeros for absent weeks."""
    values = dict(zip(pd.to_datetime(totals["week"]).dt.date, totals[column], strict=True))
    days = [last_week - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    return [int(values.get(day, 0)) for day in days]


TOPIC_COLUMNS = [
    "topic_id",
    "label",
    "size",
    "latest",
    "expected",
    "growth",
    "p_value",
    "emerging",
    "top_words",
    "first_seen",
    "last_seen",
    "representatives",
]


def topic_table(rows: Sequence[TopicRow], scores: Mapping[str, Emergence]) -> pd.DataFrame:
    """One row per topic with its emergence score; emerging topics first, then by size.

    ``scores`` comes from ``topics.emerging.emergence_by_period`` (the scoring of
    ``newsintel topics list``); a topic without a score has empty score columns.
    ``top_words`` and ``representatives`` (titles) are lists.
    """
    records = []
    # As `newsintel topics list` orders them.
    for r in sorted(rows, key=lambda r: listing_order(r.topic_id, r.size, scores.get(r.topic_id))):
        e = scores.get(r.topic_id)
        records.append(
            {
                "topic_id": r.topic_id,
                "label": r.label,
                "size": r.size,
                "latest": e.latest if e else 0,
                "expected": e.expected if e else None,
                "growth": e.growth if e else None,
                "p_value": e.p_value if e else None,
                "emerging": bool(e and e.emerging),
                "top_words": list(r.top_words),
                "first_seen": r.first_seen,
                "last_seen": r.last_seen,
                "representatives": [t for t in r.representative_titles if t],
            }
        )
    return pd.DataFrame(records, columns=TOPIC_COLUMNS)


def primary_lines(
    primary_json: object, oos_json: object, *, theme_label: str, series_label: str
) -> list[str]:
    """Sentences for the pre-specified test per direction and the out-of-sample test.

    Only the out-of-sample comparison is ever worded as helping a forecast; the
    primary test is an in-sample test and says so.
    """
    import json

    def parsed(raw: object) -> dict[str, Any] | None:
        if not isinstance(raw, str) or raw in ("", "null"):
            return None
        value = json.loads(raw)
        return value if isinstance(value, dict) else None

    lines = []
    primary = parsed(primary_json) or {}
    names = {"x->y": (theme_label, series_label), "y->x": (series_label, theme_label)}
    for direction, (src, dst) in names.items():
        test = primary.get(direction)
        if not test or test.get("p_robust") is None:
            continue
        lines.append(
            f"{src} -> {dst}: one test at lag {test['lag']}, chosen by "
            f"{str(test['criterion']).upper()} before any p-value was seen; robust p = "
            f"{test['p_robust']:.3f} (classic p = {test['p']:.3f}). An in-sample test of "
            "added information, not a forecast."
        )
    oos = parsed(oos_json)
    if oos and oos.get("mse_ratio") is not None and oos.get("clark_west_p") is not None:
        ratio, p = float(oos["mse_ratio"]), float(oos["clark_west_p"])
        if ratio < 1 and p < 0.05:
            lines.append(
                f"Out-of-sample, the share of {theme_label} stories helps forecast "
                f"{series_label}: forecast error ratio {ratio:.2f}, Clark-West p = {p:.3f}, "
                f"over {oos['n_forecasts']} one-step forecasts."
            )
        else:
            lines.append(
                f"Out-of-sample, adding the share of {theme_label} stories did not "
                f"significantly lower the forecast error of {series_label} (error ratio "
                f"{ratio:.2f}, Clark-West p = {p:.3f}, {oos['n_forecasts']} forecasts)."
            )
    return lines
