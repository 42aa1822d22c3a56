"""Sources: where stories come from (origins over time), feed health, and outlets."""

from __future__ import annotations

import streamlit as st

from newsintel.ui import charts, common, data, render

# Feeds can be configured before any story is stored: this page shows them anyway.
settings = common.start_page("Sources", stories=False).settings
health = data.source_health(settings.db)
outlets = data.outlets(settings.db)
origins = data.origin_monthly(settings.db)

if health.empty and outlets.empty:
    st.info("No sources yet: run `newsintel ingest` or `newsintel demo`.", icon=":material/info:")
    st.stop()

if not origins.empty:
    render.chart(charts.origin_monthly, origins)
    st.caption(
        "Where the history comes from. A theme's share can move only because the mix of "
        "origins moves; `newsintel analyze --origin ...` restricts an analysis to some."
    )

st.header("Configured feeds")
st.caption(
    "Fetch state of every feed. Failing feeds are retried with backoff; a high "
    "not-modified rate means the feed is polled more often than it changes."
)
failing = int((health["consecutive_failures"] > 0).sum())
cols = st.columns(4)
cols[0].metric("Feeds", len(health), border=True)
cols[1].metric("Failing", failing, border=True)
cols[2].metric("Articles from feeds", int(health["articles"].sum()), border=True)
last = health["last_fetch_at"].max() if not health.empty else None
cols[3].metric(
    "Last fetch (UTC)",
    "never" if last is None or last != last else f"{last:%d %b %H:%M}",
    border=True,
)

st.dataframe(
    health.assign(tags=health["tags"].map(lambda t: ", ".join(t) if t is not None else "")),
    hide_index=True,
    width="stretch",
    column_config={
        "name": st.column_config.TextColumn("Source", width="medium"),
        "url": st.column_config.TextColumn("Feed URL"),
        "tags": st.column_config.TextColumn("Tags"),
        "last_status": st.column_config.TextColumn("Status"),
        "last_error": st.column_config.TextColumn("Last error", width="medium"),
        "last_http_status": st.column_config.NumberColumn("HTTP", format="%d"),
        "last_fetch_at": st.column_config.DatetimeColumn("Last fetch", format="D MMM HH:mm"),
        "last_success_at": st.column_config.DatetimeColumn("Last success", format="D MMM HH:mm"),
        "consecutive_failures": st.column_config.NumberColumn("Failures in a row"),
        "next_check_at": st.column_config.DatetimeColumn("Next check", format="D MMM HH:mm"),
        "fetch_count": st.column_config.NumberColumn("Fetches"),
        "not_modified_rate": st.column_config.NumberColumn(
            "Not modified", format="percent", help="Share of fetches answered 304"
        ),
        "articles": st.column_config.NumberColumn("Articles"),
    },
)

# IMAP mailboxes (kind = "imap" in feeds.toml): how far each has been read, and why not.
mailboxes = data.mailbox_health(settings.db)
if not mailboxes.empty:
    st.header("Mailboxes")
    st.dataframe(
        mailboxes,
        hide_index=True,
        width="stretch",
        column_config={
            "name": st.column_config.TextColumn("Mailbox", width="medium"),
            "url": st.column_config.TextColumn("Folder"),
            "last_status": st.column_config.TextColumn("Status"),
            "last_error": st.column_config.TextColumn("Last error", width="medium"),
            "last_fetch_at": st.column_config.DatetimeColumn("Last read", format="D MMM HH:mm"),
            "last_success_at": st.column_config.DatetimeColumn(
                "Last success", format="D MMM HH:mm"
            ),
            "consecutive_failures": st.column_config.NumberColumn("Failures in a row"),
            "last_uid": st.column_config.NumberColumn("Last UID", format="%d"),
            "last_message_at": st.column_config.DatetimeColumn(
                "Last message", format="D MMM HH:mm"
            ),
            "messages_read": st.column_config.NumberColumn("Messages"),
            "messages_skipped": st.column_config.NumberColumn("Skipped"),
            "last_skipped": st.column_config.TextColumn("Last skipped", width="medium"),
        },
    )

if not outlets.empty:
    st.header(f"Outlets of backfilled stories ({len(outlets):,})")
    st.caption(
        "Sites known only through imported or GDELT stories: never fetched as feeds, so "
        "they have no health to show."
    )
    st.dataframe(
        outlets,
        hide_index=True,
        width="stretch",
        column_config={
            "name": st.column_config.TextColumn("Outlet", width="medium"),
            "url": st.column_config.LinkColumn("Site"),
            "stories": st.column_config.NumberColumn("Stories"),
            "first_published": st.column_config.DatetimeColumn("First story", format="D MMM YYYY"),
            "last_published": st.column_config.DatetimeColumn("Last story", format="D MMM YYYY"),
        },
    )
