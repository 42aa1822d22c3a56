"""Search: articles by meaning (the embedding model) or by keyword, within dates."""

from __future__ import annotations

import streamlit as st

from newsintel.ui import common, data, params

MODES = {"semantic": "By meaning", "keyword": "By keyword"}

page = common.start_page("Search")
settings, db, span = page.settings, page.db, page.span
query = params.text("Search articles", key="q", placeholder="e.g. lithium supply glut in China")
c1, c2, c3 = st.columns([2, 2, 3])
with c1:
    mode = params.choice(
        "Match",
        list(MODES),
        key="mode",
        default="semantic",
        format_func=MODES.__getitem__,
        horizontal=True,
    )
with c2:
    keyword = (
        params.text("Must contain", key="kw", help="Words the title or text must contain")
        if mode == "semantic"
        else ""
    )
with c3:
    start, end = params.date_range(
        "Published between", lowest=span.first, highest=span.last, default_start=span.first
    )

config = {
    "similarity": st.column_config.ProgressColumn(
        "Similarity", min_value=0.0, max_value=1.0, format="%.2f", width="small"
    ),
    "published_at": st.column_config.DatetimeColumn("Published (UTC)", format="D MMM YYYY"),
    "title": st.column_config.TextColumn("Title", width="large"),
    "source": st.column_config.TextColumn("Source"),
    "url": common.link_column(),
    "snippet": st.column_config.TextColumn("Text", width="large"),
}

if mode == "semantic":
    if not query:
        st.caption(
            "Type what you are looking for in your own words: results are ranked by meaning, "
            f"using the model `{settings.model}`."
        )
        st.stop()
    if data.embedded_count(db, settings.vector_model) == 0:
        st.info(
            f"No stored vectors for the model `{settings.vector_model}`: run `newsintel embed` "
            "first, or search by keyword.",
            icon=":material/info:",
        )
        st.stop()
    with st.spinner("Searching by meaning…"):
        results = data.semantic_search(
            db,
            settings.model,
            settings.embed_backend,
            settings.device,
            query,
            start,
            end,
            keyword,
        )
else:
    results = data.keyword_search(db, query, start, end)

if results.empty:
    st.info("No articles match these filters.", icon=":material/search_off:")
else:
    what = "most similar" if mode == "semantic" else "newest"
    st.caption(f"{len(results)} {what} articles.")
    st.dataframe(
        common.muted_titles(results),
        hide_index=True,
        width="stretch",
        column_config=config,
        column_order=[c for c in results.columns if c != "title_derived"],
    )
    if common.has_derived_titles(results):
        st.caption(common.DERIVED_TITLE_NOTE)
