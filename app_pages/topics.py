"""Topics: discovered topics, a 2-D map of the embeddings, lineage over time."""

from __future__ import annotations

import streamlit as st

from newsintel.ui import charts, common, data, params, render
from newsintel.ui.text import emergence_rule, escape_markdown

WINDOWS = {"all": "All stories", "quarter": "By quarter", "month": "By month"}
STEPS = {"all": "Build (UTC)", "quarter": "Quarter", "month": "Month"}
PER = {"month": "Month", "week": "Week"}

page = common.start_page("Topics")
settings, db = page.settings, page.db
builds = data.topic_builds(db)
if not builds:
    st.info(
        "No topics yet: run `newsintel topics build` to discover topics in the embedded "
        "stories, then reload this page.",
        icon=":material/bubble_chart:",
    )
    st.stop()

by_window = {b.window: b for b in builds}
window_col, topic_col, per_col = st.columns([2, 3, 1])
with window_col:
    window = params.choice(
        "Clustering",
        list(by_window),
        key="window",
        default=builds[0].window,
        format_func=lambda w: WINDOWS.get(w, w),
        horizontal=True,
        help="All stories clustered at once, or each quarter/month on its own and linked",
    )
build = by_window[window]
overview = data.topic_overview(db, build.build_id)
topics = overview.topics
labels = dict(zip(topics["topic_id"], topics["label"], strict=True))
sizes = dict(zip(topics["topic_id"], topics["size"], strict=True))
with topic_col:
    chosen = params.choice(
        "Topic",
        ["", *labels],
        key="topic",
        default="",
        format_func=lambda t: f"{labels[t]} ({sizes[t]} stories)" if t else "All topics",
    )
topic = chosen or None
with per_col:
    per = params.choice(
        "Volume per", list(PER), key="per", default="month", format_func=PER.__getitem__
    )

placed = (
    f", and {build.placed} newer ones placed in the topic nearest to each" if build.placed else ""
)
st.caption(
    f"Build {build.build_id}, {build.created_at:%d %b %Y %H:%M}: {build.n_topics} topics "
    f"over {build.n_articles} stories, clustered from `{build.model}` vectors with seed "
    f"{build.seed}{placed}. Topics are found, not defined: labels are each topic's most "
    "distinctive words, and a topic keeps its id while it continues."
)

topic_map = data.topic_map(db, build.build_id)
with st.container(border=True):
    render.chart(
        charts.topic_map,
        topic_map.points,
        topic_map.explained,
        highlight=topic,
        total=topic_map.total,
    )
with st.container(border=True):
    volume = data.topic_volume(db, build.build_id, per)
    render.chart(charts.topic_volume, volume, labels, freq=per, highlight=topic)

link = common.link_column()
if topic is None:
    st.header("Topics", anchor=False)
    st.caption(
        f"Emerging: more stories in the latest month ({overview.latest_period or 'none'}) "
        f"than the topic's earlier share of all stories predicts ({emergence_rule()}). "
        "Pick a topic above "
        "for its stories."
    )
    st.dataframe(
        topics,
        hide_index=True,
        width="stretch",
        column_order=(
            "label",
            "size",
            "latest",
            "growth",
            "p_value",
            "emerging",
            "top_words",
            "representatives",
            "first_seen",
            "last_seen",
        ),
        column_config={
            "label": st.column_config.TextColumn("Topic", width="medium"),
            "size": st.column_config.NumberColumn("Stories", format="%d"),
            "latest": st.column_config.NumberColumn(
                "Latest month", format="%d", help=f"Stories in {overview.latest_period}"
            ),
            "growth": st.column_config.NumberColumn(
                "Growth", format="%.2f", help="(latest + 1) / (expected + 1)"
            ),
            "p_value": st.column_config.NumberColumn("p", format="%.3g"),
            "emerging": st.column_config.CheckboxColumn("Emerging"),
            "top_words": st.column_config.ListColumn("Top words"),
            "representatives": st.column_config.ListColumn("Most typical stories", width="large"),
            "first_seen": st.column_config.DatetimeColumn("First story", format="D MMM YYYY"),
            "last_seen": st.column_config.DatetimeColumn("Last story", format="D MMM YYYY"),
        },
    )
else:
    row = topics[topics["topic_id"] == topic].iloc[0]
    st.header(f"Topic: {escape_markdown(labels[topic])}", anchor=False)
    st.caption(
        f"{int(row['size'])} stories, {int(row['latest'])} in {overview.latest_period}. "
        f"Top words: {escape_markdown(', '.join(row['top_words']))}. "
        f"Topic id `{topic}`."
    )
    stories = data.topic_stories(db, build.build_id, topic, 15)
    st.caption("The stories closest to the topic's centre, most typical first.")
    st.dataframe(
        stories,
        hide_index=True,
        width="stretch",
        column_order=("title", "source", "published_at", "url", "distance"),
        column_config={
            "title": st.column_config.TextColumn("Title", width="large"),
            "source": st.column_config.TextColumn("Source"),
            "published_at": st.column_config.DatetimeColumn("Published (UTC)", format="D MMM YYYY"),
            "url": link,
            "distance": st.column_config.NumberColumn(
                "Distance to centre", format="%.3f", help="Cosine distance (0 = most typical)"
            ),
        },
    )

st.header("Lineage over time", anchor=False)
lineage = data.topic_lineage(db, build.build_id)
if topic is not None:
    lineage = lineage[(lineage["parent_topic_id"] == topic) | (lineage["child_topic_id"] == topic)]
if window == "all":
    st.caption(
        "Each rebuild of all stories is matched to the one before it: a topic that "
        "continues keeps its id; new ones are births, vanished ones deaths. Rebuild with "
        "`newsintel topics build` as stories arrive, or use `--window quarter` or "
        "`--window month` for topics tracked through time in one build."
    )
else:
    st.caption(
        f"Each {window} is clustered on its own and matched to the {window} before it by "
        "centroid similarity: continue, merge, split, birth or death."
    )
if lineage.empty:
    st.caption("No lineage events for this selection.")
else:
    render.chart(charts.topic_lineage, lineage, step_title=STEPS[window])
    st.dataframe(
        lineage,
        hide_index=True,
        width="stretch",
        column_order=(
            "step",
            "event",
            "parent_label",
            "child_label",
            "similarity",
            "parent_topic_id",
            "child_topic_id",
        ),
        column_config={
            "step": st.column_config.TextColumn(STEPS[window]),
            "event": st.column_config.TextColumn("Event"),
            "parent_label": st.column_config.TextColumn("From topic", width="medium"),
            "child_label": st.column_config.TextColumn("To topic", width="medium"),
            "similarity": st.column_config.NumberColumn(
                "Similarity", format="%.2f", help="Cosine similarity of the two centroids"
            ),
            "parent_topic_id": st.column_config.TextColumn("From id"),
            "child_topic_id": st.column_config.TextColumn("To id"),
        },
    )
