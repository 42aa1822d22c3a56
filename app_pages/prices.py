"""Prices & themes: a theme and a series on one time axis, and their stored lead/lag."""

from __future__ import annotations

import streamlit as st

from newsintel.ui import charts, common, context, data, tables
from newsintel.ui.text import escape_markdown

settings = context.current_settings()
db = settings.db
span = common.data_window_or_stop(settings)
assert span.first is not None and span.last is not None

st.title("Prices & themes")
st.caption(
    "News attention and prices on one time axis, with the lead/lag statistics the "
    "pipeline stored. These show association in time, never cause."
)
c1, c2, c3 = st.columns([2, 2, 3])
with c1:
    theme, label = common.theme_picker(settings)
with c2:
    picked = common.series_picker(settings)
with c3:
    weeks = common.range_weeks()
if picked is None:
    st.info("No price or attention series is stored yet: run `newsintel series import`.")
    st.stop()
series_id, unit = picked
series_name = common.series_label(series_id)
start = span.start_for(weeks)

with st.container(border=True):
    counts = data.theme_stories_weekly(db, theme, start, span.last)
    values = data.series_weekly(db, series_id, start, span.last)
    st.altair_chart(
        charts.theme_vs_series(
            counts, values, theme_label=label, series_label=series_name, unit=unit
        ),
        width="stretch",
    )

st.subheader("Lead and lag", anchor=False)
results = data.lead_lag(db, theme, series_id)
if results.ccf.empty and results.granger.empty:
    st.info(
        f"No stored lead/lag results for {label} and {series_name}. Run "
        f"`newsintel analyze theme:{theme} series:{series_id}` (or `newsintel run`) first.",
        icon=":material/info:",
    )
    st.stop()

if not results.ccf.empty:
    ccf = results.ccf
    first = ccf.iloc[0]
    with st.container(border=True):
        st.altair_chart(
            charts.ccf(ccf, theme_label=label, series_label=series_name, unit="week"),
            width="stretch",
        )
    notes = [
        f"Run `{escape_markdown(str(first['run_id']))}`, weeks "
        f"{first['window_start']:%d %b %Y} to {first['window_end']:%d %b %Y}.",
        "Positive lag k: theme volume in one week is compared with the series k weeks "
        "later (the theme leads); negative lag: the series leads.",
    ]
    if first["prewhiten"] is True:
        notes.append("Both series were prewhitened so that shared trends do not pass as links.")
    if first["y_diff"] == 1:
        notes.append(f"{series_name} was differenced: the test uses its weekly changes.")
    strong = ccf[ccf["p_adj"].fillna(1.0) < 0.05]
    if strong.empty:
        smallest = ccf["p_adj"].min()
        notes.append(
            "No lag is significant after adjusting for the many tests run "
            f"(smallest adjusted p = {smallest:.3f})."
        )
    else:
        best = strong.iloc[int(strong["r"].abs().to_numpy().argmax())]
        notes.append(
            f"Strongest association after adjustment: lag {int(best['lag'])} weeks, "
            f"r = {best['r']:+.2f} (adjusted p = {best['p_adj']:.3f}). An association in "
            "time, not evidence that one moves the other."
        )
    st.markdown("\n".join(f"- {n}" for n in notes))

if not results.granger.empty:
    st.subheader("Granger tests", anchor=False)
    st.caption(
        "Each row asks whether the past of one series improves a forecast of the other "
        "beyond its own past. A small p says it helped predict; it says nothing about cause. "
        "Adjusted p corrects for every test in the run (Benjamini-Hochberg)."
    )
    st.dataframe(
        tables.granger_table(results.granger, label, series_name),
        hide_index=True,
        width="stretch",
        column_config={
            "question": st.column_config.TextColumn("Question", width="large"),
            "lag": st.column_config.NumberColumn("Lags (weeks)", format="%d"),
            "statistic": st.column_config.NumberColumn("F", format="%.2f"),
            "p_value": st.column_config.NumberColumn("p", format="%.3f"),
            "p_adj": st.column_config.NumberColumn("Adjusted p", format="%.3f"),
            "n_obs": st.column_config.NumberColumn("Weeks used", format="%d"),
            "warnings": st.column_config.TextColumn("Warnings"),
        },
    )
