"""SQL: ad-hoc read-only queries on the documented views, with CSV download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from newsintel.ui import common, data, params

EXAMPLES = {
    "Weekly stories of one theme": (
        "SELECT week, articles, total_articles, round(share * 100, 1) AS share_pct\n"
        "FROM v_theme_weekly\nWHERE theme = 'lithium_batteries'\nORDER BY week DESC\nLIMIT 20"
    ),
    "Themes this month": (
        "SELECT theme, count(*) AS stories, round(avg(score), 2) AS mean_score\n"
        "FROM v_article_themes\n"
        "WHERE published_at >= (SELECT max(published_at) FROM v_articles) - INTERVAL 30 DAY\n"
        "GROUP BY theme ORDER BY stories DESC"
    ),
    "Latest articles": (
        "SELECT published_at, source, title, url\nFROM v_articles\nWHERE NOT is_issue\n"
        "ORDER BY published_at DESC\nLIMIT 25"
    ),
    "Daily theme volume": (
        "SELECT day, theme, articles, share\nFROM v_theme_daily\nWHERE articles > 0\n"
        "ORDER BY day DESC, articles DESC\nLIMIT 50"
    ),
    "Weekly prices": (
        "SELECT series, week, value_mean, unit\nFROM v_series_weekly\n"
        "WHERE kind = 'price'\nORDER BY week DESC, series\nLIMIT 30"
    ),
    "Strongest lead/lag results": (
        "SELECT x, y, test, direction, lag, round(effect, 2) AS r, p_value, p_adj, warnings\n"
        "FROM v_analysis_results\nORDER BY p_adj NULLS LAST\nLIMIT 20"
    ),
    "Feed health": (
        "SELECT name, last_status, last_error, last_fetch_at, next_check_at,\n"
        "       not_modified_rate, articles\nFROM v_source_health\n"
        "ORDER BY consecutive_failures DESC, name"
    ),
}
_EDITOR = "sql.editor"

settings = common.start_page(
    "SQL",
    "Read-only SQL on the database: one SELECT at a time, no files, no network. "
    "Views: v_articles, v_article_themes, v_theme_daily, v_theme_weekly, "
    "v_series_weekly, v_analysis_results, v_source_health.",
    stories=False,
).settings


def _use_example() -> None:
    picked = st.session_state.get("sql.example")
    if picked in EXAMPLES:
        st.session_state[_EDITOR] = EXAMPLES[picked]


st.selectbox(
    "Start from an example",
    list(EXAMPLES),
    index=None,
    placeholder="Pick an example query…",
    key="sql.example",
    on_change=_use_example,
)
if _EDITOR not in st.session_state:
    st.session_state[_EDITOR] = params.read("sql") or EXAMPLES["Weekly stories of one theme"]
with st.form("sql.form", border=False):
    query = st.text_area("Query", key=_EDITOR, height=180)
    submitted = st.form_submit_button(
        "Run query", type="primary", icon=":material/play_arrow:", key="sql.run"
    )

if submitted:
    params.write("sql", query.strip())
to_run = params.read("sql")
if not to_run:
    st.caption("Write a query and press Run. Results are capped at 10,000 rows.")
    st.stop()

result = data.run_sql(settings.db, to_run, limits=data.sql_limits(settings))
frame = pd.DataFrame.from_records(result.rows, columns=list(result.columns))
note = " (first 10,000 rows only)" if result.truncated else ""
st.caption(f"{len(frame)} rows{note}.")
st.dataframe(frame, hide_index=True, width="stretch")
st.download_button(
    "Download CSV",
    frame.to_csv(index=False).encode("utf-8"),
    file_name="newsintel-query.csv",
    mime="text/csv",
    icon=":material/download:",
)
