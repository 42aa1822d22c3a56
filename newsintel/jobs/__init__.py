"""The only place where steps are composed. The CLI, the scheduler and the app call these.

Each job opens the database for short writes only (DuckDB allows one writer process or
many readers), so that other jobs get in between steps; each writing job ends by
publishing a read snapshot (``@publishes``, newsintel.jobs.publish), which is what the
app and ``newsintel sql`` read. Each job returns a frozen report dataclass; printing it
is the caller's business.

One module per job family; this package re-exports their public names:

- ``common``: Progress, the clock, run ids, ``init_db``
- ``ingestion``: ``ingest`` (fetch, the parse pool, the storer thread)
- ``feeds``: feed health, adding feeds
- ``embedding``: embedding articles, grouping near-duplicates into stories
- ``themes``: assign, train, explain
- ``topics``: build and list discovered topics
- ``analysis``: series import and lead-lag analysis
- ``reading``: read-only listings and SQL for the CLI
- ``digest``: build, render, send a digest (``digest_content`` reads what it says)
- ``views``: read-only jobs behind the app's pages (topic emergence, the topic map, a
  search query's embedder); with ``digest_content``, what ``ui.data`` calls (import
  these modules directly)
- ``pipeline``: the demo, a full run, the schedule
- ``mail``, ``backfill_*``: newsletters by IMAP, historical backfills (import these
  modules directly)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsintel.jobs.analysis import (
        AnalyzeAllReport,
        SeriesImportReport,
        analyze,
        analyze_all,
        describe_variable,
        import_series,
        load_variable,
        pair_analysis,
    )
    from newsintel.jobs.common import (
        InitReport,
        NoProgress,
        Progress,
        init_db,
        new_run_id,
        utcnow,
    )
    from newsintel.jobs.digest import DigestDelivery, DigestReport, run_digest
    from newsintel.jobs.embedding import (
        EmbedReport,
        StoriesReport,
        embed,
        group_near_duplicates,
        make_embedder,
    )
    from newsintel.jobs.feeds import (
        FeedHealth,
        add_feed_url,
        add_feeds,
        export_opml,
        feeds_health,
        import_opml,
    )
    from newsintel.jobs.ingestion import FeedReport, IngestReport, ingest
    from newsintel.jobs.pipeline import (
        DEMO_HISTORY,
        DEMO_MIN_TOPICS,
        DEMO_TOPIC_WINDOWS,
        DemoReport,
        RunReport,
        demo,
        import_bundled_series,
        run,
        sample_sources,
        scheduled_actions,
        serve_schedule,
    )
    from newsintel.jobs.reading import list_series, list_themes, run_sql, show_series
    from newsintel.jobs.themes import (
        ArticleExplanation,
        AssignReport,
        ThemeExplanation,
        TrainReport,
        assign_themes,
        explain_article,
        load_scorer,
        train_themes,
    )
    from newsintel.jobs.topics import (
        TopicBuildReport,
        TopicListing,
        TopicListReport,
        TopicPlacementReport,
        build_topics,
        list_topics,
        refresh_topics,
    )

    # The worker pool is private to the jobs, but jobs/mail.py, jobs/backfill_pages.py
    # and jobs/backfill_gkg.py import it from the package; kept here for them.
    from newsintel.jobs.workers import _PARALLEL_PARSE_MIN_FEEDS as _PARALLEL_PARSE_MIN_FEEDS
    from newsintel.jobs.workers import _exit_with_parent as _exit_with_parent
    from newsintel.jobs.workers import _parse_pool as _parse_pool

# Where each public name lives. Resolved on first use (PEP 562 __getattr__) so that
# `from newsintel.jobs import feeds_health` imports the feeds job only: the analysis jobs
# bring in scipy.stats and pandas (about 1.5 s), and every CLI command imports one job.
_HOMES: dict[str, str] = {
    "AnalyzeAllReport": "analysis",
    "SeriesImportReport": "analysis",
    "analyze": "analysis",
    "analyze_all": "analysis",
    "describe_variable": "analysis",
    "import_series": "analysis",
    "load_variable": "analysis",
    "pair_analysis": "analysis",
    "InitReport": "common",
    "NoProgress": "common",
    "Progress": "common",
    "init_db": "common",
    "new_run_id": "common",
    "utcnow": "common",
    "DigestDelivery": "digest",
    "DigestReport": "digest",
    "run_digest": "digest",
    "EmbedReport": "embedding",
    "StoriesReport": "embedding",
    "embed": "embedding",
    "group_near_duplicates": "embedding",
    "make_embedder": "embedding",
    "FeedHealth": "feeds",
    "add_feed_url": "feeds",
    "export_opml": "feeds",
    "import_opml": "feeds",
    "add_feeds": "feeds",
    "feeds_health": "feeds",
    "FeedReport": "ingestion",
    "IngestReport": "ingestion",
    "_PARALLEL_PARSE_MIN_FEEDS": "workers",
    "_exit_with_parent": "workers",
    "_parse_pool": "workers",
    "ingest": "ingestion",
    "DEMO_HISTORY": "pipeline",
    "DEMO_MIN_TOPICS": "pipeline",
    "DEMO_TOPIC_WINDOWS": "pipeline",
    "DemoReport": "pipeline",
    "RunReport": "pipeline",
    "demo": "pipeline",
    "import_bundled_series": "pipeline",
    "run": "pipeline",
    "sample_sources": "pipeline",
    "scheduled_actions": "pipeline",
    "serve_schedule": "pipeline",
    "list_series": "reading",
    "list_themes": "reading",
    "run_sql": "reading",
    "show_series": "reading",
    "ArticleExplanation": "themes",
    "AssignReport": "themes",
    "ThemeExplanation": "themes",
    "TrainReport": "themes",
    "assign_themes": "themes",
    "explain_article": "themes",
    "load_scorer": "themes",
    "train_themes": "themes",
    "TopicBuildReport": "topics",
    "TopicListReport": "topics",
    "TopicListing": "topics",
    "TopicPlacementReport": "topics",
    "build_topics": "topics",
    "list_topics": "topics",
    "refresh_topics": "topics",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'newsintel.jobs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"newsintel.jobs.{home}"), name)
    globals()[name] = value  # resolved once
    return value


__all__ = [
    "DEMO_HISTORY",
    "DEMO_MIN_TOPICS",
    "DEMO_TOPIC_WINDOWS",
    "AnalyzeAllReport",
    "ArticleExplanation",
    "AssignReport",
    "DemoReport",
    "DigestDelivery",
    "DigestReport",
    "EmbedReport",
    "FeedHealth",
    "FeedReport",
    "IngestReport",
    "InitReport",
    "NoProgress",
    "Progress",
    "RunReport",
    "SeriesImportReport",
    "StoriesReport",
    "ThemeExplanation",
    "TopicBuildReport",
    "TopicListReport",
    "TopicListing",
    "TopicPlacementReport",
    "TrainReport",
    "add_feed_url",
    "add_feeds",
    "analyze",
    "analyze_all",
    "assign_themes",
    "build_topics",
    "demo",
    "describe_variable",
    "embed",
    "explain_article",
    "export_opml",
    "feeds_health",
    "group_near_duplicates",
    "import_bundled_series",
    "import_opml",
    "import_series",
    "ingest",
    "init_db",
    "list_series",
    "list_themes",
    "list_topics",
    "load_scorer",
    "load_variable",
    "make_embedder",
    "new_run_id",
    "pair_analysis",
    "refresh_topics",
    "run",
    "run_digest",
    "run_sql",
    "sample_sources",
    "scheduled_actions",
    "serve_schedule",
    "show_series",
    "train_themes",
    "utcnow",
]
