"""The app's charts as Vega-Lite specs: text alternatives, palette, scales that fit.

Built from small frames written here; the pages' use of them (real data, real
browser) is covered by test_app_pages.py and test_app_browser.py.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from newsintel.ui import charts

WEEKS = pd.date_range("2026-01-05", periods=12, freq="W-MON")


def spec(chart: charts.ChartLike) -> dict[str, Any]:
    result: dict[str, Any] = chart.to_dict()
    return result


def layers(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every unit spec (a spec with a mark) under ``node``, nested layers included."""
    if "mark" in node:
        return [node]
    return [leaf for child in node.get("layer", []) for leaf in layers(child)]


def colours(node: Any) -> set[str]:
    """Every hex colour named anywhere in a spec (marks, scales, axes)."""
    if isinstance(node, dict):
        return set().union(*(colours(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(colours(v) for v in node)) if node else set()
    if isinstance(node, str) and node.startswith("#") and len(node) == 7:
        return {node.upper()}
    return set()


def ccf_frame(r: list[float], p_adj: list[float], band: float | None = 0.12) -> pd.DataFrame:
    lags = list(range(-(len(r) // 2), len(r) - len(r) // 2))
    return pd.DataFrame(
        {
            "lag": lags,
            "r": r,
            "ci_low": [v - 0.1 for v in r],
            "ci_high": [v + 0.1 for v in r],
            "p_adj": p_adj,
            "band": [band] * len(r),
        }
    )


def test_ccf_axis_fits_small_correlations_and_the_noise_band() -> None:
    frame = ccf_frame([0.02, -0.05, 0.11, 0.04, -0.01], [0.9, 0.8, 0.01, 0.7, 0.9])
    built = spec(charts.ccf(frame, theme_label="EV demand", series_label="Nickel", unit="week"))
    domains = {tuple(u["encoding"]["y"]["scale"]["domain"]) for u in layers(built)}
    assert len(domains) == 1
    low, high = domains.pop()
    # The widest thing drawn is the interval at lag 0 (0.21) and the band (0.12): the axis
    # reaches a little past it, far inside -1..1, so |r| = 0.1 is not a flat line.
    assert low == -high and 0.21 < high < 0.3
    band = next(u for u in layers(built) if u["mark"]["type"] == "rect")
    assert points_data(built, band) == [{"low": -0.12, "high": 0.12}]


def test_ccf_marks_significant_lags_by_shape_as_well_as_colour() -> None:
    frame = ccf_frame([0.02, 0.3, 0.01], [0.9, 0.01, 0.9])
    built = spec(charts.ccf(frame, theme_label="AI", series_label="Copper", unit="month"))
    points = next(u for u in layers(built) if u["mark"]["type"] == "point")
    shape, colour = points["encoding"]["shape"], points["encoding"]["color"]
    # A run from before the robust tests: the classic adjusted p decides, and says so.
    field = "Adjusted p < 0.05 (classic)"
    assert shape["field"] == colour["field"] == field
    assert shape["scale"] == {
        "domain": ["no", "yes", "not testable"],
        "range": ["circle", "diamond", "cross"],
    }
    rows = {row["lag"]: row[field] for row in points_data(built, points)}
    assert rows == {-1: "no", 0: "yes", 1: "no"}
    assert "1 lag significant after adjustment (adjusted p (classic)" in built["description"]


def test_ccf_marker_follows_the_robust_adjusted_p_and_names_untestable_lags() -> None:
    """Classic p_adj says lags -1 and 0; the robust test says lag +1 only, and cannot
    judge lag 0 (one spike carries it): lag 0 is a grey cross, never a diamond."""
    frame = ccf_frame([0.25, 0.3, 0.2], [0.01, 0.001, 0.2]).assign(
        p_robust_adj=[0.3, float("nan"), 0.02],
        robust=["HC3", "none: one period carries the fit", "HAC(3)"],
    )
    built = spec(charts.ccf(frame, theme_label="AI", series_label="Copper", unit="week"))
    points = next(u for u in layers(built) if u["mark"]["type"] == "point")
    field = "Robust adjusted p < 0.05"
    assert points["encoding"]["shape"]["field"] == field
    assert points["encoding"]["color"]["legend"]["title"] == field
    rows = {row["lag"]: row[field] for row in points_data(built, points)}
    assert rows == {-1: "no", 0: "not testable", 1: "yes"}
    reasons = {row["lag"]: row["robust_test"] for row in points_data(built, points)}
    assert reasons[0] == "not testable: one period carries the fit"
    titles = [t["title"] for t in points["encoding"]["tooltip"] if "title" in t]
    assert "Robust adjusted p" in titles and "Classic adjusted p" in titles
    assert "Crosses: not testable" in built["title"]["subtitle"]
    assert (
        "1 lag significant after adjustment (robust adjusted p < 0.05); "
        "1 lag not testable (one period carries the fit)."
    ) in built["description"]


def test_granger_table_verdict_follows_the_robust_adjusted_p() -> None:
    from newsintel.ui.tables import granger_table

    frame = pd.DataFrame(
        {
            "direction": ["x->y", "x->y", "y->x"],
            "lag": [1, 2, 1],
            "statistic": [9.0, 5.0, 1.0],
            "p_value": [0.0001, 0.001, 0.4],
            "p_adj": [0.001, 0.004, 0.5],
            "p_robust": [float("nan"), 0.002, 0.6],
            "p_robust_adj": [float("nan"), 0.01, 0.7],
            "robust": ["none: one period carries the fit", "HC3", "HC3"],
            "n_obs": [100, 99, 100],
            "warnings": [[], ["sparse"], None],
            "freq": ["W"] * 3,
        }
    )
    table = granger_table(frame, "AI", "Copper")
    assert list(table.columns[:8]) == [
        "question",
        "lag",
        "statistic",
        "p_value",
        "p_robust",
        "p_robust_adj",
        "p_adj",
        "verdict",
    ]
    assert table["verdict"].tolist() == [
        "not testable: one period carries the fit",
        "significant",
        "not significant",
    ]
    assert "robust" not in table.columns and table["warnings"].tolist() == ["", "sparse", ""]
    # A run from before the robust tests: the classic adjusted p, labelled.
    old = granger_table(frame.drop(columns=["p_robust", "p_robust_adj", "robust"]), "AI", "Cu")
    assert old["verdict"].tolist() == [
        "significant (classic p)",
        "significant (classic p)",
        "not significant (classic p)",
    ]


def test_cli_scan_lines_mark_the_robust_adjusted_p() -> None:
    from newsintel.cli.series import _robust_text

    tested = {"p_adj": 0.2, "p_robust_adj": 0.01, "robust": "HC3"}
    assert _robust_text(tested) == "robust p_adj=0.010 * (HC3), classic p_adj=0.200"
    untestable = {
        "p_adj": 0.001,
        "p_robust_adj": None,
        "robust": "none: one period carries the fit",
    }
    assert _robust_text(untestable) == (
        "robust: not testable (one period carries the fit), classic p_adj=0.001"
    )


def points_data(built: dict[str, Any], unit: dict[str, Any]) -> list[dict[str, Any]]:
    name = unit["data"]["name"]
    rows: list[dict[str, Any]] = built["datasets"][name]
    return rows


def test_sparse_weekly_bars_get_a_rolling_mean_on_their_own_axis() -> None:
    counts = pd.DataFrame({"week": WEEKS, "articles": [0, 1, 0, 2, 1, 0, 0, 3, 1, 0, 2, 1]})
    prices = pd.DataFrame({"week": WEEKS, "value_mean": range(100, 112)})
    built = spec(
        charts.theme_vs_series(
            counts, prices, theme_label="Humanoid robots", series_label="Copper", unit="USD/t"
        )
    )
    stories = built["layer"][0]  # bars and their mean share the left axis
    assert [u["mark"]["type"] for u in layers(stories)] == ["bar", "line"]
    mean = layers(stories)[1]
    values = [row["rolling"] for row in points_data(built, mean)]
    assert values[:4] == [0.0, 0.5, 1 / 3, 0.75]
    assert "4-week mean" in built["title"]["subtitle"]
    dense = counts.assign(articles=[9, 12, 8, 15, 11, 10, 7, 13, 9, 12, 10, 14])
    plain = spec(charts.theme_vs_series(dense, prices, theme_label="T", series_label="S", unit=""))
    assert [u["mark"]["type"] for u in layers(plain)] == ["bar", "line"]


def test_every_chart_has_a_text_alternative_and_a_colour_blind_safe_palette() -> None:
    weekly = pd.DataFrame(
        {
            "week": list(WEEKS) * 2,
            "label": ["EV demand"] * 12 + ["Nickel"] * 12,
            "theme": ["ev"] * 12 + ["ni"] * 12,
            "articles": list(range(12)) * 2,
            "share": [0.1] * 24,
        }
    )
    counts = pd.DataFrame({"week": WEEKS, "articles": range(5, 17)})
    built = {
        "theme_vs_series": charts.theme_vs_series(
            counts, pd.DataFrame({"week": WEEKS, "value_mean": range(12)}),
            theme_label="EV demand", series_label="Nickel", unit="USD/t",
        ),
        "theme_volume": charts.theme_volume(weekly, "EV demand"),
        "theme_share": charts.theme_share(weekly[weekly["theme"] == "ev"], "EV demand"),
        "source_mix": charts.source_mix(
            pd.DataFrame({"source": ["A", "B"], "stories": [3, 1]}), "EV demand"
        ),
        "ccf": charts.ccf(
            ccf_frame([0.1, 0.2, 0.0], [0.5, 0.5, 0.5]), theme_label="EV demand",
            series_label="Nickel", unit="week",
        ),
        "topic_volume": charts.topic_volume(
            pd.DataFrame({"topic_id": ["t1"] * 3, "period": WEEKS[:3], "stories": [1, 2, 3]}),
            {"t1": "batteries"}, freq="week",
        ),
        "topic_lineage": charts.topic_lineage(
            pd.DataFrame({"step": ["2026Q1", "2026Q2"], "event": ["birth", "split"]}),
            step_title="Quarter",
        ),
        "origin_monthly": charts.origin_monthly(
            pd.DataFrame({"month": WEEKS[:2], "origin": ["feed", "gdelt"], "stories": [4, 2]})
        ),
    }  # fmt: skip
    safe = {c.upper() for c in charts.OKABE_ITO} | {"#000000"}
    for name, chart in built.items():
        chart_spec = spec(chart)
        title = chart_spec["title"]["text"]
        description = chart_spec["description"]
        # The title, then one sentence saying what the marks are.
        assert description.startswith(f"{title}. "), name
        sentence = description.removeprefix(f"{title}. ")
        assert sentence.endswith(".") and sentence.count(". ") == 0, (name, sentence)
        # Data colours come from Okabe-Ito; greys (muted marks, rules, subtitles) aside.
        data_colours = {c for c in colours(chart_spec) if not _grey(c)}
        assert data_colours <= safe, (name, data_colours - safe)


def _grey(hex_colour: str) -> bool:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return max(r, g, b) - min(r, g, b) < 40


def test_the_rendered_spec_is_the_chart_with_its_data_as_arrow() -> None:
    # The app draws vega_spec's dict (built once, unvalidated) instead of the chart:
    # the same spec as to_dict() gives, every dataset as Arrow bytes under a name.
    import pyarrow as pa

    from newsintel.ui import render

    weekly = pd.DataFrame({"week": WEEKS, "share": [0.01 * i for i in range(12)]})
    chart = charts.theme_share(weekly, "EV demand")
    built = render.vega_spec(chart)
    plain = spec(chart)
    assert built["title"] == plain["title"] and built["description"] == plain["description"]
    assert [u["mark"] for u in layers(built)] == [u["mark"] for u in layers(plain)]
    assert [u["encoding"] for u in layers(built)] == [u["encoding"] for u in layers(plain)]
    assert "config" not in built  # the "none" theme, as st.altair_chart sends it
    (name, raw), *others = built["datasets"].items()
    assert not others and built["data"] == {"name": name}  # the layers share it
    table = pa.ipc.open_stream(raw).read_all().to_pandas()
    assert table["share_pct"].round(6).tolist() == [round(i * 1.0, 6) for i in range(12)]
