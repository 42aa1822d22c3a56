"""Themes: volume and share over time, top stories, the stories of its peak week, source mix."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from newsintel.ui import charts, common, data, render

page = common.start_page(
    "Themes",
    "Stories are counted once per story (syndicated copies collapse). A story belongs to "
    "a theme when the theme's trained classifier (its embedding and keyword hits) scores "
    "it above the calibrated threshold; a theme without a classifier uses similarity to "
    "its description and examples. `newsintel themes explain ID` shows why.",
)
settings, db, span = page.settings, page.db, page.span
left, right = st.columns([2, 3])
with left:
    theme, label = common.theme_picker(settings)
with right:
    weeks = common.range_weeks()
start = span.start_for(weeks)

weekly = data.theme_weekly(db, start, span.last)
volume_col, share_col = st.columns(2)
with volume_col, st.container(border=True):
    render.chart(charts.theme_volume, weekly, label)
with share_col, st.container(border=True):
    mine = weekly[weekly["theme"] == theme]
    if mine.empty or not mine["articles"].any():
        common.no_stories_notice(label, start, span.last)  # not an empty chart
    else:
        render.chart(charts.theme_share, mine, label)

detail = data.theme_detail(db, theme, start, span.last, 10)
stories_col, mix_col = st.columns([3, 2])
with stories_col:
    st.header(f"Top stories: {label}", anchor=False)
    st.caption(f"Most similar to the theme, {start:%d %b %Y} to {span.last:%d %b %Y}.")
    top = detail.top
    if top.empty:
        st.caption("No stories of this theme in the window.")
    else:
        common.stories_table(top, with_score=True)
with mix_col:
    st.header("Source mix", anchor=False)
    mix = detail.mix
    if mix.empty:
        st.caption("No stories of this theme in the window.")
    else:
        render.chart(charts.source_mix, mix, label)

st.header("Stories of the peak week", anchor=False)
peak = detail.peak
if peak is None:
    st.caption("No stories of this theme in the window.")
else:
    week_end = peak.week + timedelta(days=6)
    st.caption(
        f"The busiest week for {label} in this window was {peak.week:%d %b} to "
        f"{week_end:%d %b %Y}, with {len(peak.stories)} stories:"
    )
    common.stories_table(peak.stories, with_score=True)
