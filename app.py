"""newsintel web app: the router. Run with ``streamlit run app.py`` (or ``make run``).

Page config, settings, the optional password gate, the sidebar and st.navigation; the
pages themselves live in app_pages/ and read data through newsintel.ui.data.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from newsintel.config import load_settings
from newsintel.errors import NewsintelError
from newsintel.ui import context, data, guard
from newsintel.ui.auth import require_sign_in
from newsintel.ui.priority import lower_priority
from newsintel.ui.snapshot import reading_snapshot, show_freshness

st.set_page_config(
    page_title="newsintel",
    page_icon=":material/insights:",
    layout="wide",
    initial_sidebar_state="auto",
)

try:
    settings = load_settings()
except NewsintelError as exc:
    guard.show_error(exc)
    st.stop()

# The pipeline gets the CPU first when both are busy (newsintel.ui.priority).
lower_priority(settings.app_nice)
require_sign_in(settings.app_password, settings.app_password_hash)

pages = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("app_pages/themes.py", title="Themes", icon=":material/category:"),
    st.Page("app_pages/prices.py", title="Prices & themes", icon=":material/show_chart:"),
    st.Page("app_pages/topics.py", title="Topics", icon=":material/bubble_chart:"),
    st.Page("app_pages/search.py", title="Search", icon=":material/search:"),
    st.Page("app_pages/sources.py", title="Sources", icon=":material/rss_feed:"),
    st.Page("app_pages/sql.py", title="SQL", icon=":material/terminal:"),
]
page = st.navigation(pages)

with st.sidebar:
    st.caption(f"Database: {Path(settings.db).name}", help=settings.db)
    if st.button(
        "Refresh data",
        icon=":material/refresh:",
        help="Results are kept per published snapshot (60 s for a database without one).",
    ):
        data.clear()

if guard.database_missing(settings):
    guard.show_missing_database(settings)
    st.stop()

# Pages read the newest published snapshot, held for this whole page load: the
# pipeline keeps writing its own file meanwhile (newsintel.store.snapshots).
with guard.friendly_errors(), reading_snapshot(settings) as (reader_settings, target):
    context.use_settings(reader_settings)
    if target.snapshot is None:
        data.expire_live()  # results of a snapshot never go stale; a live file's do
    show_freshness(target, settings.timezone)
    span = data.window(reader_settings.db)
    if span.last is not None:
        st.sidebar.caption(f"Stories from {span.first:%d %b %Y} to {span.last:%d %b %Y}")
    page.run()
