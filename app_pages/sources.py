"""Sources: the health of every feed, failing ones first."""

from __future__ import annotations

import streamlit as st

from newsintel.ui import context, data

settings = context.current_settings()
health = data.source_health(settings.db)

st.title("Sources")
st.caption(
    "Fetch state of every feed. Failing feeds are retried with backoff; a high "
    "not-modified rate means the feed is polled more often than it changes."
)
if health.empty:
    st.info("No sources yet: run `newsintel ingest` or `newsintel demo`.", icon=":material/info:")
    st.stop()

failing = int((health["consecutive_failures"] > 0).sum())
cols = st.columns(4)
cols[0].metric("Sources", len(health), border=True)
cols[1].metric("Failing", failing, border=True)
cols[2].metric("Articles", int(health["articles"].sum()), border=True)
last = health["last_fetch_at"].max()
cols[3].metric("Last fetch (UTC)", "never" if last is None else f"{last:%d %b %H:%M}", border=True)

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
    st.subheader("Mailboxes")
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
