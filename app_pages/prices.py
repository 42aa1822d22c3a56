"""Prices & themes: a theme and a series on one time axis, and their stored lead/lag."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from newsintel.ui import charts, common, data, render, significance, tables
from newsintel.ui.text import escape_markdown

_UNITS = {"D": "day", "W": "week", "M": "month"}

page = common.start_page(
    "Prices & themes",
    "News attention and prices on one time axis, with the lead/lag statistics the "
    "pipeline stored. These show association in time, never cause.",
    backfill=True,
)
settings, db, span = page.settings, page.db, page.span
c1, c2, c3 = st.columns([2, 2, 3])
with c1:
    theme, label = common.theme_picker(settings)
with c2:
    picked = common.series_picker(settings)
with c3:
    weeks = common.range_weeks()
if picked is None:
    st.info(
        "No price or attention series is stored yet: import prices with `newsintel series "
        "import FILE --name SERIES`, or fetch attention series with `newsintel backfill "
        f"gdelt --since {span.first:%Y-%m-%d}`.",
        icon=":material/timeline:",
    )
    st.stop()
series_id, unit = picked
series_name = common.series_label(series_id)
start = span.start_for(weeks)

with st.container(border=True):
    counts = data.theme_stories_weekly(db, theme, start, span.last)
    values = data.series_weekly(db, series_id, start, span.last)
    common.theme_vs_series_section(
        counts,
        values,
        label=label,
        series_name=series_name,
        series_id=series_id,
        unit=unit,
        start=start,
        end=span.last,
    )

st.header("Lead and lag", anchor=False)
results = data.lead_lag(db, theme, series_id)
if results.ccf.empty and results.granger.empty:
    st.info(
        f"No stored lead/lag results for {label} and {series_name}. Run "
        f"`newsintel analyze theme:{theme} series:{series_id}` (or `newsintel run`) first.",
        icon=":material/info:",
    )
    st.stop()

# The run's frequency names the period: a monthly run's lags are months, not weeks.
any_rows = results.ccf if not results.ccf.empty else results.granger
unit = _UNITS.get(str(any_rows.iloc[0]["freq"]), "period")

if not results.ccf.empty:
    # The pre-specified test and the out-of-sample verdict come before the scan.
    primary_lines = tables.primary_lines(
        results.ccf.iloc[0].get("primary_test"),
        results.ccf.iloc[0].get("oos"),
        theme_label=label,
        series_label=series_name,
    )
    if primary_lines:
        st.markdown("**Primary result**")
        st.markdown("\n".join(f"- {escape_markdown(line)}" for line in primary_lines))
        st.caption("Below: the exploratory scan over every lag.")

if not results.ccf.empty:
    ccf = results.ccf
    first = ccf.iloc[0]
    with st.container(border=True):
        render.chart(charts.ccf, ccf, theme_label=label, series_label=series_name, unit=unit)
    # A run stored without its window (older rows) still names its run, not a crash.
    window = (
        f", {unit}s {first['window_start']:%d %b %Y} to {first['window_end']:%d %b %Y}"
        if pd.notna(first["window_start"]) and pd.notna(first["window_end"])
        else ""
    )
    notes = [
        f"Run `{escape_markdown(str(first['run_id']))}`{window}.",
        f"Positive lag k: the theme's share of all stories in one {unit} is compared with "
        f"the series k {unit}s later (the theme leads); negative lag: the series leads.",
    ]
    if first["x_diff"] or first["y_diff"]:
        notes.append(
            "Differencing (a series replaced by its changes) removed shared trends before the test."
        )
    if first["prewhiten"] is True:
        notes.append(
            "Both series were then filtered by one autoregressive model fitted to the theme "
            "series (prewhitening), so that the theme series is close to white noise and "
            "the significance band of each lag holds; it does not remove shared trends."
        )
    if first["y_diff"] == 1:
        notes.append(f"{series_name} was differenced: the test uses its changes per {unit}.")
    if first.get("partial") is not None:
        notes.append(
            f"Partial first or last {unit}s (covered by the data only in part) are "
            f"{first['partial']}, not scaled by coverage: {int(first['dropped_partial'])} here."
        )
    # The robust test decides (runs before it existed: the classic one).
    robust = "p_robust_adj" in ccf and ccf["p_robust_adj"].notna().any()
    judged = ccf["p_robust_adj"] if robust else ccf["p_adj"]
    which = "robust (HAC) test's adjusted p" if robust else "adjusted p"
    strong = ccf[judged.fillna(1.0) < 0.05]
    if strong.empty:
        notes.append(
            "No lag is significant after adjusting for the many tests run "
            f"(smallest {which} = {judged.min():.3f})."
        )
    else:
        at = int(strong["r"].abs().to_numpy().argmax())
        best, best_p = strong.iloc[at], float(judged[strong.index[at]])
        classic = f", classic adjusted p = {best['p_adj']:.3f}" if robust else ""
        notes.append(
            f"Strongest association after adjustment: lag {int(best['lag'])} {unit}s, "
            f"r = {best['r']:+.2f} ({which} = {best_p:.3f}{classic}). An "
            "association in time, not evidence that one moves the other."
        )
    untestable = [v for v in significance.verdicts(ccf) if v.startswith("not testable")]
    if untestable:
        reasons = sorted({v.split(":", 1)[1].strip() for v in untestable})
        notes.append(
            f"{len(untestable)} lag(s) are not testable by the robust test "
            f"({'; '.join(reasons)}): their classic p rests on a spike or two, so they are "
            "never marked significant."
        )
    st.markdown("\n".join(f"- {n}" for n in notes))

if not results.granger.empty:
    st.header("Granger tests", anchor=False)
    st.caption(
        "Each row asks whether, in this sample, the past of one series adds information "
        "about the other beyond that series' own past (Granger test). It is an in-sample "
        "test, not a forecast, and it says nothing about cause. Adjusted p corrects for "
        "every test in the run (Benjamini-Hochberg). The verdict follows the robust test's "
        "adjusted p (valid when volatility changes over time); the classic one is beside it. "
        "A test the robust version cannot judge (one period carries the fit, or too few "
        "effective periods) is not testable, whatever the classic p says."
    )
    st.dataframe(
        tables.granger_table(results.granger, label, series_name),
        hide_index=True,
        width="stretch",
        column_config={
            "question": st.column_config.TextColumn("Question", width="large"),
            "lag": st.column_config.NumberColumn(f"Lags ({unit}s)", format="%d"),
            "statistic": st.column_config.NumberColumn("F", format="%.2f"),
            "p_value": st.column_config.NumberColumn("Classic p", format="%.3f"),
            "p_robust": st.column_config.NumberColumn("Robust p", format="%.3f"),
            "p_robust_adj": st.column_config.NumberColumn("Robust adjusted p", format="%.3f"),
            "p_adj": st.column_config.NumberColumn("Classic adjusted p", format="%.3f"),
            "verdict": st.column_config.TextColumn("Verdict (robust adjusted p < 0.05)"),
            "n_obs": st.column_config.NumberColumn(f"{unit.capitalize()}s used", format="%d"),
            "warnings": st.column_config.TextColumn("Warnings"),
        },
    )
