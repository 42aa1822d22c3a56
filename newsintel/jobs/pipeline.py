"""Whole pipelines: the demo, one full run, and the scheduler that runs them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from newsintel.config import Settings
from newsintel.errors import DigestError, NewsintelError, SeriesError
from newsintel.feeds.sources import load_sources
from newsintel.jobs.analysis import AnalyzeAllReport, SeriesImportReport, analyze_all, import_series
from newsintel.jobs.common import Progress, init_db
from newsintel.jobs.digest import run_digest
from newsintel.jobs.embedding import (
    EmbedReport,
    embed,
    group_near_duplicates,
    make_embedder,
)
from newsintel.jobs.ingestion import IngestReport, ingest
from newsintel.jobs.publish import publishes
from newsintel.jobs.themes import AssignReport, assign_themes
from newsintel.jobs.topics import (
    TopicBuildReport,
    TopicPlacementReport,
    build_topics,
    refresh_topics,
)
from newsintel.schedule import (
    build_scheduler,
    local_today,
    lock_path,
    plan,
    previous_period_day,
    serve,
)
from newsintel.tomlfile import read_toml
from newsintel.topics.cluster import ClusterParams

if TYPE_CHECKING:
    from newsintel.embed import Embedder
    from newsintel.feeds.sources import FeedSource
    from newsintel.jobs.backfill_import import ImportReport


T = TypeVar("T")


@dataclass(frozen=True)
class DemoReport:
    ingest: IngestReport
    embed: EmbedReport
    assign: AssignReport
    series: tuple[SeriesImportReport, ...]
    analysis: AnalyzeAllReport
    topics: tuple[TopicBuildReport, ...] = ()  # in build order; the last is the current one
    history: tuple[ImportReport, ...] = ()  # one per DEMO_HISTORY file


# Topic builds of the demo, in order. Quarters give the lineage something to show over
# time (the sample has 5-13 stories a month: too few to cluster a month on its own);
# the whole-corpus build comes last, so it is the latest build the app and
# `newsintel topics list` open with.
DEMO_TOPIC_WINDOWS = ("quarter", "all")
# The demo's all-stories build asks for at least this many topics (see _demo_cluster_params).
DEMO_MIN_TOPICS = 8


def _demo_cluster_params(window: str) -> ClusterParams | None:
    """The demo's all-stories build asks for at least DEMO_MIN_TOPICS topics.

    Its 6,700 lithium history stories dwarf the few hundred sample stories on every other
    theme, so the best silhouette is the split lithium / the rest (0.29, against 0.07 at
    most for any finer cut) and the build showed 2 topics. From 8 on, the silhouette
    rises up to the 60-topic cap: prices, Chile, Albemarle, EV demand, battery fires,
    drilling, lawsuits, and the sample's AI and robots topics.
    """
    return ClusterParams(min_topics=DEMO_MIN_TOPICS) if window == "all" else None


# Real article history imported by the demo (data/history/, see data/README.md): GDELT's
# lithium articles 2017-2023, through `backfill import` like any user's export, so its
# stories have origin 'import' and titles derived from their URLs.
DEMO_HISTORY = (("gdelt_lithium_articles_2017-2023.csv", "gdelt-gkg"),)


def sample_sources(sample_dir: Path) -> list[FeedSource]:
    """The bundled sample feeds (``sample_dir/feeds.toml``, local files read offline)."""
    return load_sources(sample_dir / "feeds.toml")


def import_bundled_series(settings: Settings, series_dir: Path) -> list[SeriesImportReport]:
    """Import every series listed in ``series_dir/series.toml``."""
    listing = series_dir / "series.toml"
    document = read_toml(listing, "series listing", SeriesError)
    entries = document.get("series")
    if not isinstance(entries, list):
        raise SeriesError(f"series listing {listing} has no [[series]] entries")
    return [
        import_series(
            settings,
            series_dir / e["file"],
            name=e["name"],
            unit=e.get("unit", ""),
            currency=e.get("currency", ""),
            kind=e.get("kind", "price"),
            origin=e.get("origin", ""),
        )
        for e in entries
    ]


@publishes
def demo(
    settings: Settings, *, embedder: Embedder | None = None, progress: Progress | None = None
) -> DemoReport:
    """Build the demo database from bundled data only: sample feeds, the real article
    history of data/history/, series, analyses, topics."""
    # Imported here, not at the top: jobs/backfill_import.py imports from newsintel.jobs.
    from newsintel.jobs.backfill_import import backfill_import

    init_db(settings)
    sample_dir = Path(settings.sample_dir)
    ingest_report = ingest(
        settings, sources=sample_sources(sample_dir), force=True, progress=progress
    )
    history = tuple(
        backfill_import(settings, sample_dir.parent / "history" / name, fmt=fmt, progress=progress)
        for name, fmt in DEMO_HISTORY
    )
    embedder = embedder or make_embedder(settings)
    embed_report = embed(settings, embedder=embedder, progress=progress)
    group_near_duplicates(settings, embedder.model_name)
    assign_report = assign_themes(settings, embedder=embedder, progress=progress)
    series_reports = import_bundled_series(settings, sample_dir.parent / "series")
    analysis = analyze_all(settings, freq="W", max_lag=8, progress=progress)
    topics = tuple(
        build_topics(settings, window=w, seed=0, cluster_params=_demo_cluster_params(w))
        for w in DEMO_TOPIC_WINDOWS
    )
    return DemoReport(
        ingest_report, embed_report, assign_report, tuple(series_reports), analysis, topics, history
    )


@dataclass(frozen=True)
class RunReport:
    """What each step of ``run`` gave; ``None`` where the step failed or was skipped."""

    ingest: IngestReport | None
    embed: EmbedReport | None
    assign: AssignReport | None
    analysis: AnalyzeAllReport | None
    # A rebuild, or the new stories placed in the last build's topics; None: nothing new
    # was embedded, the last build holds.
    topics: TopicBuildReport | TopicPlacementReport | None = None
    # (step, error) of every step that failed; the later steps still ran.
    failures: tuple[tuple[str, str], ...] = ()
    # (step, wall seconds) of every step that ran, in order, failed ones included: where
    # a scheduled run's time goes. The snapshot published after the run is not a step.
    step_seconds: tuple[tuple[str, float], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def steps_total_s(self) -> float:
        """Wall seconds of all steps together."""
        return sum(seconds for _, seconds in self.step_seconds)


@publishes
def run(
    settings: Settings,
    *,
    feeds_file: Path | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """The whole pipeline, in order: ingest, embed, assign themes, analyse, topics.

    Topics change only when this run embedded new articles: those join the nearest
    topic of the last build, and every story is clustered again (seed 0, so continuing
    topics keep their ids) once enough has been placed or the build is old
    (``refresh_topics``); otherwise the last build still holds. A step
    that fails is recorded in ``failures`` and the next steps run on what the database
    holds (a scheduled run must not lose its topics to one bad analysis window); steps
    that need the embedding model are skipped when it cannot be loaded.
    """
    failures: list[tuple[str, str]] = []
    timings: list[tuple[str, float]] = []

    def step(name: str, call: Callable[[], T]) -> T | None:
        started = time.perf_counter()
        try:
            return call()
        except Exception as exc:  # reported, and the run goes on
            text = str(exc) if isinstance(exc, NewsintelError) else f"{type(exc).__name__}: {exc}"
            failures.append((name, text))
            return None
        finally:
            timings.append((name, time.perf_counter() - started))

    ingest_report = step("ingest", lambda: ingest(settings, feeds_file, progress=progress))
    model = embedder or step("load the embedding model", lambda: make_embedder(settings))
    embed_report = assign_report = None
    if model is not None:
        embed_report = step("embed", lambda: embed(settings, embedder=model, progress=progress))
        step("group near-duplicates", lambda: group_near_duplicates(settings, model.model_name))
        assign_report = step(
            "assign themes", lambda: assign_themes(settings, embedder=model, progress=progress)
        )
    analysis = step("analyse", lambda: analyze_all(settings, progress=progress))
    topics = None
    if embed_report is not None and embed_report.embedded:
        topics = step("topics", lambda: refresh_topics(settings))
    return RunReport(
        ingest_report, embed_report, assign_report, analysis, topics, tuple(failures),
        tuple(timings),
    )  # fmt: skip


def scheduled_actions(
    settings: Settings, *, embedder: Embedder | None = None
) -> dict[str, Callable[[], str]]:
    """What each job of ``newsintel schedule`` does, as callables returning a summary.

    The embedder is made once and shared, so a long-lived scheduler loads the model
    once rather than every run. Digests cover the previous complete period in
    ``settings.timezone``; a digest with a failed delivery raises, so it is logged as
    failed.
    """
    shared = embedder or make_embedder(settings)

    def pipeline() -> str:
        report = run(settings, embedder=shared)
        parts = []
        if report.ingest is not None:
            parts.append(
                f"{report.ingest.new_articles} new articles, "
                f"{report.ingest.count('failed')} feeds failed"
            )
        if report.embed is not None:
            parts.append(f"{report.embed.embedded} embedded")
        if report.analysis is not None:
            parts.append(f"analysis run {report.analysis.run_id}")
        parts.append(f"steps took {report.steps_total_s:.0f} s")
        summary = ", ".join(parts)
        if report.failures:
            # Raised after every step ran, so the scheduler logs the run as failed.
            failed = "; ".join(f"{name} failed: {error}" for name, error in report.failures)
            raise NewsintelError(f"{summary}; {failed}" if summary else failed)
        return summary

    def digest(period: str) -> Callable[[], str]:
        def send() -> str:
            day = previous_period_day(period, local_today(settings.timezone))
            report = run_digest(settings, period=period, on_date=day.isoformat(), send=True)
            statuses = [d.status for d in report.deliveries]
            counts = ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses))
            summary = f"{period} digest for the period starting {report.period_start}: " + (
                counts or "no recipients for this period"
            )
            failed = [
                f"{d.recipient}: {d.detail}" for d in report.deliveries if d.status == "failed"
            ]
            if failed:
                summary += " (" + "; ".join(failed) + ")"
            if not report.ok:
                raise DigestError(summary)
            return summary

        return send

    return {"run": pipeline, "daily_digest": digest("daily"), "weekly_digest": digest("weekly")}


def serve_schedule(settings: Settings) -> None:
    """``newsintel schedule``: run the pipeline and send digests at their times, forever."""
    jobs = plan(settings)
    scheduler = build_scheduler(
        jobs, scheduled_actions(settings), lock_path(settings), settings.timezone
    )
    serve(scheduler)
