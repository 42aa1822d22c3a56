"""Overview: what moved this week, why, and does it relate to prices?"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from newsintel.ui import common, data, tables
from newsintel.ui.text import digest_markdown

page = common.start_page("What moved this week")
settings, db, span = page.settings, page.db, page.span
content = data.digest(db, settings.price_series)
in_progress = " (week in progress)" if span.last < content.period_end else ""
st.caption(
    f"Week of {content.period_start:%A %d %B %Y}, stories up to {span.last:%d %B %Y}"
    f"{in_progress}. Counts are distinct stories: syndicated copies count once."
)
common.backfill_notice(settings)
if data.sample_only(db):
    st.info(
        "All feeds are bundled sample feeds: their articles are sample data written for "
        "the demo, not real news. Imported history (the Sources page shows it by origin) "
        "is real.",
        icon=":material/science:",
    )

# Headline figures: this week against the week before, with the last 12 weeks as a trend.
totals = data.weekly_totals(db, content.period_start - timedelta(weeks=11), content.period_end)
now_row, before_row = tables.week_rows(totals, content.period_start)
cols = st.columns(4)
for col, label, column in (
    (cols[0], "Articles this week", "articles"),
    (cols[1], "Stories this week", "stories"),
):
    # The 12-week trend is text, not st.metric's sparkline: that SVG has no text
    # alternative a screen reader could read (axe-core: svg-img-alt).
    trend = tables.weekly_trend(totals, column, content.period_start)
    col.metric(
        label,
        now_row[column],
        delta=now_row[column] - before_row[column],
        delta_description="vs last week",
        border=True,
        height="stretch",
        help=f"Weekly {column}, last 12 weeks (oldest first): " + ", ".join(map(str, trend)),
    )
cols[2].metric(
    "Rising themes",
    len(content.rising),
    border=True,
    height="stretch",
    help="Stories unusually high against the theme's own last 12 weeks",
)
cols[3].metric(
    "Falling themes",
    len(content.falling),
    border=True,
    height="stretch",
    help="Stories unusually low against the theme's own last 12 weeks",
)

# Main chart: attention to one theme against the configured price series.
with st.container(border=True):
    left, right = st.columns([2, 3])
    with left:
        theme, label = common.theme_picker(settings)
    with right:
        weeks = common.range_weeks()
    start = span.start_for(weeks)
    counts = data.theme_stories_weekly(db, theme, start, span.last)
    prices = data.series_weekly(db, settings.price_series, start, span.last)
    unit = str(prices["unit"].iloc[0]) if not prices.empty else ""
    common.theme_vs_series_section(
        counts,
        prices,
        label=label,
        series_name=common.series_label(settings.price_series),
        series_id=settings.price_series,
        unit=unit,
        start=start,
        end=span.last,
    )

movers_col, prices_col = st.columns([3, 2])
with movers_col:
    st.header("Theme movers")
    trend_start = content.period_start - timedelta(weeks=11)
    weekly = data.theme_weekly(db, trend_start, content.period_end)
    st.dataframe(
        tables.theme_movers(content, weekly),
        hide_index=True,
        column_order=("theme", "trend", "stories", "previous", "change", "direction"),
        width="stretch",
        column_config={
            "theme": st.column_config.TextColumn("Theme", width="medium"),
            "stories": st.column_config.NumberColumn("This week", format="%d", width="small"),
            "previous": st.column_config.NumberColumn("Last week", format="%d", width="small"),
            "change": st.column_config.NumberColumn("Change", format="%+d", width="small"),
            "share_pct": st.column_config.NumberColumn("Share", format="%.0f%%", width="small"),
            "direction": st.column_config.TextColumn(
                "Signal",
                width="small",
                help="Rising/falling: unusual against the theme's own last 12 weeks",
            ),
            "trend": st.column_config.LineChartColumn(
                "Last 12 weeks", y_min=0, width="small", color="#4C78A8"
            ),
        },
    )
with prices_col:
    st.header("Latest price moves")
    moves = tables.price_moves(content)
    if moves.empty:
        st.caption(
            "No price series has a value in the last month of data: add recent values "
            "with `newsintel series import FILE --name SERIES`."
        )
    else:
        st.dataframe(
            moves,
            hide_index=True,
            width="stretch",
            column_config={
                "series": st.column_config.TextColumn("Series"),
                "last": st.column_config.NumberColumn("Latest", format="localized"),
                "unit": st.column_config.TextColumn("Unit"),
                "change_pct": st.column_config.NumberColumn("Change", format="%+.1f%%"),
                "date": st.column_config.DateColumn("As of", format="D MMM YYYY"),
            },
        )

st.header("What the digest would say")
with st.container(border=True):
    st.markdown(digest_markdown(content))
