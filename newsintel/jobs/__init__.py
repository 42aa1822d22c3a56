"""The only place where steps are composed. The CLI, the scheduler and the app call these.

Each job opens the database for short writes only (DuckDB allows one writer process or
many readers), so that other jobs get in between steps; each writing job ends by
publishing a read snapshot (``@publishes``, newsintel.jobs.publish), which is what the
app and ``newsintel sql`` read. Each job returns a frozen report dataclass; printing it
is the caller's business.
"""

from __future__ import annotations

import os
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, cast

from newsintel.config import Settings
from newsintel.errors import AnalysisError, NewsintelError, SeriesError
from newsintel.jobs.publish import publishes
from newsintel.models import Article, SeriesMeta, SourceState, SourceUpdate
from newsintel.store import migrate, open_db
from newsintel.store.snapshots import open_snapshot

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    import pandas as pd

    from newsintel.analysis.pair import PairResult
    from newsintel.embed import Embedder
    from newsintel.feeds.body import BodyArticles
    from newsintel.feeds.fetch import FetchResult
    from newsintel.feeds.sources import FeedSource
    from newsintel.store.connect import Connection

T = TypeVar("T")


class Progress(Protocol):
    """What long steps report to: a progress bar on a terminal, nothing elsewhere."""

    def start(self, description: str, total: int) -> None:
        """A step of ``total`` units begins."""

    def advance(self, units: int = 1) -> None:
        """``units`` more are done."""

    def finish(self) -> None:
        """The step is over."""


class NoProgress:
    """Progress that shows nothing (tests, scheduler, JSON output)."""

    def start(self, description: str, total: int) -> None:
        return None

    def advance(self, units: int = 1) -> None:
        return None

    def finish(self) -> None:
        return None


def utcnow() -> datetime:
    """Now, as a naive UTC datetime (the store's convention)."""
    return datetime.now(UTC).replace(tzinfo=None)


# --- init -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InitReport:
    db: str
    version: int
    applied: tuple[int, ...]


@publishes
def init_db(settings: Settings) -> InitReport:
    """Create the database or bring its schema up to date."""
    from newsintel.store.schema import current_version

    with open_db(settings.db) as con:
        applied = migrate(con)
        version = current_version(con)
    return InitReport(settings.db, version, tuple(m.version for m in applied))


# --- ingest -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedReport:
    """What happened to one feed in an ingest run."""

    source_id: str
    name: str
    url: str
    status: str  # ok | not_modified | failed | skipped
    new_articles: int = 0
    entries: int = 0
    http_status: int | None = None
    error: str | None = None
    warning: str | None = None


@dataclass(frozen=True)
class IngestReport:
    feeds: tuple[FeedReport, ...]
    seconds: float
    # IMAP mailboxes of the feeds file (newsintel.jobs.mail.MailboxReport), read after them.
    mailboxes: tuple[Any, ...] = ()

    def count(self, status: str) -> int:
        return sum(1 for f in self.feeds if f.status == status)

    @property
    def new_articles(self) -> int:
        from_mail: int = sum(m.new_articles for m in self.mailboxes)
        return sum(f.new_articles for f in self.feeds) + from_mail

    def to_dict(self) -> dict[str, Any]:
        return {
            "feeds_total": len(self.feeds),
            "feeds_ok": self.count("ok"),
            "feeds_not_modified": self.count("not_modified"),
            "feeds_failed": self.count("failed"),
            "feeds_skipped": self.count("skipped"),
            "new_articles": self.new_articles,
            "seconds": round(self.seconds, 3),
            "feeds": [f.__dict__ for f in self.feeds],
            "mailboxes": [m.to_dict() for m in self.mailboxes],
        }


# Parsing costs about 25 ms of CPU a feed (feedparser), fetching mostly waits: from this
# many feeds on, bodies are parsed in worker processes as they arrive, on every core.
# Below it, starting the workers (a fresh interpreter each) costs more than it saves.
_PARALLEL_PARSE_MIN_FEEDS = 8
# Feeds written per transaction. A commit and the statements around it cost about 25 ms;
# at 32 feeds a batch they are a small share of storing, a killed run loses at most one
# batch of work, and each feed stays all-or-nothing.
_STORE_BATCH_FEEDS = 32


def _exit_with_parent(parent_pid: int, every_s: float = 0.5) -> None:
    """Run in each parse worker: exit as soon as the parent process is gone.

    An idle pool worker waits on its task queue forever, so a killed ``ingest``
    (SIGKILL, OOM killer) would leave its workers behind; a daemon thread in each
    worker notices that it was re-parented and ends the worker.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(every_s)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


@contextmanager
def _parse_pool(feeds: int) -> Iterator[ProcessPoolExecutor | None]:
    """Worker processes for parsing, or None when there are too few feeds to be worth it.

    Spawned, not forked: the parent runs an event loop and DuckDB threads, which a fork
    would copy mid-flight.
    """
    workers = os.cpu_count() or 1
    if feeds < _PARALLEL_PARSE_MIN_FEEDS or workers < 2:
        yield None
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@publishes
def ingest(
    settings: Settings,
    feeds_file: Path | None = None,
    *,
    sources: Sequence[FeedSource] | None = None,
    force: bool = False,
    progress: Progress | None = None,
    now: Callable[[], datetime] = utcnow,
    rng: random.Random | None = None,
) -> IngestReport:
    """Fetch every feed, store new articles; one feed's failure never stops the others.

    Feeds whose ``next_check_at`` lies in the future (backoff, min interval) are skipped
    unless ``force``. Each feed's articles and fetch state are written in one
    transaction (a few feeds share one), so an interrupted run can simply be run again.
    From ``_PARALLEL_PARSE_MIN_FEEDS`` feeds on, bodies are parsed in worker processes
    while the rest are still being fetched.
    """
    from concurrent.futures.process import BrokenProcessPool

    from newsintel.feeds.body import articles_from_body
    from newsintel.feeds.fetch import FetchState, fetch_all_sync
    from newsintel.feeds.sources import load_sources

    progress = progress or NoProgress()
    rng = rng or random.Random()
    started = time.monotonic()
    mailboxes: list[Any] = []
    if sources is None:
        from newsintel.mail.sources import load_mailboxes

        sources = load_sources(feeds_file or Path(settings.feeds_file))
        mailboxes = load_mailboxes(feeds_file or Path(settings.feeds_file))
    with open_db(settings.db) as con:
        from newsintel.store.connect import transaction
        from newsintel.store.feeds import source_states, upsert_sources

        migrate(con)
        with transaction(con):
            upsert_sources(
                con, [(s.source_id, s.name, s.url, s.tags, s.min_interval_minutes) for s in sources]
            )
        states = source_states(con)

    start_time = now()
    due: list[tuple[FeedSource, FetchState]] = []
    reports: dict[str, FeedReport] = {}
    for s in sources:
        state = states[s.source_id]
        if not force and state.next_check_at is not None and state.next_check_at > start_time:
            reports[s.source_id] = FeedReport(
                s.source_id, s.name, s.url, "skipped", warning=f"next check {state.next_check_at}"
            )
            continue
        # A permanent redirect recorded earlier moved the feed: fetch where it now lives.
        source = s if state.url == s.url else replace(s, url=state.url)
        due.append((source, FetchState(state.etag, state.last_modified)))

    by_id = {source.source_id: source for source, _state in due}
    fetched: dict[str, datetime] = {}
    parsing: dict[str, Future[BodyArticles]] = {}
    # Feeds go to the store thread as they arrive, so that storing overlaps fetching.
    arrived: queue.SimpleQueue[tuple[FeedSource, FetchResult] | None] = queue.SimpleQueue()
    with _parse_pool(len(due)) as pool:
        storer = _FeedStorer(settings.db, arrived, fetched, parsing, states, reports, rng)
        storer.start()
        try:

            def on_result(result: FetchResult) -> None:
                # Each body goes to a parser as soon as it arrives, while others still load.
                fetched[result.source_id] = fetched_at = now()
                source = by_id.get(result.source_id)
                if source is None:
                    return
                if pool is not None and result.status == "ok":
                    assert result.body is not None
                    with suppress(BrokenProcessPool):  # then the body is parsed later
                        parsing[result.source_id] = pool.submit(
                            articles_from_body,
                            source,
                            result.body,
                            result.headers,
                            result.final_url or source.url,
                            fetched_at,
                        )
                arrived.put((source, result))
                progress.advance()

            progress.start("fetching feeds", len(due))
            fetch_all_sync(due, settings, on_result=on_result)
            progress.finish()
        finally:
            arrived.put(None)  # no more feeds: the storer writes what it has and ends
        progress.start("storing articles", len(due))
        storer.wait(progress)
        progress.finish()
    ordered = tuple(reports[s.source_id] for s in sources)
    # Mailboxes are read beside the feeds: each records its own failure and never raises.
    from newsintel.jobs.mail import read_mailboxes

    read = read_mailboxes(settings, mailboxes, progress=progress, now=now)
    return IngestReport(ordered, time.monotonic() - started, read)


class _FeedStorer(threading.Thread):
    """Writes fetched feeds in batches, in its own thread and DuckDB connection.

    Each feed is taken from ``arrived`` once fetched; its parse (a worker's, or done
    here when none was sent) becomes its outcome; batches of feeds are written one
    transaction each. ``None`` on the queue ends the thread after a last batch.
    """

    def __init__(
        self,
        db: str,
        arrived: queue.SimpleQueue[tuple[FeedSource, FetchResult] | None],
        fetched: dict[str, datetime],
        parsing: dict[str, Future[BodyArticles]],
        states: dict[str, SourceState],
        reports: dict[str, FeedReport],
        rng: random.Random,
    ) -> None:
        super().__init__(name="newsintel-feed-storer", daemon=True)
        self._db, self._arrived, self._fetched, self._parsing = db, arrived, fetched, parsing
        self._states, self._reports, self._rng = states, reports, rng
        self.stored = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with open_db(self._db) as con:
                batch: list[tuple[FeedReport, SourceUpdate, tuple[Article, ...]]] = []
                while (item := self._arrived.get()) is not None:
                    batch.append(self._outcome(*item))
                    if len(batch) >= _STORE_BATCH_FEEDS:
                        self.stored += _store_batch(con, batch, self._reports)
                self.stored += _store_batch(con, batch, self._reports)
        except BaseException as exc:  # re-raised in the calling thread by wait()
            self.error = exc

    def _outcome(
        self, source: FeedSource, result: FetchResult
    ) -> tuple[FeedReport, SourceUpdate, tuple[Article, ...]]:
        from newsintel.feeds.body import BodyArticles

        fetched_at = self._fetched[source.source_id]
        parsed = BodyArticles()
        if result.status == "ok":
            future = self._parsing.pop(source.source_id, None)
            parsed = _parsed(future, source, result, fetched_at)
        report, update = _feed_outcome(source, result, parsed, fetched_at, self._states, self._rng)
        return report, update, parsed.articles

    def wait(self, progress: Progress) -> None:
        """Wait for the last batch, advancing ``progress`` per stored feed; re-raise errors."""
        shown = 0
        while True:
            self.join(timeout=0.1)
            if self.stored > shown:
                progress.advance(self.stored - shown)
                shown = self.stored
            if not self.is_alive():
                break
        if self.error is not None:
            raise self.error


def _parsed(
    future: Future[BodyArticles] | None,
    source: FeedSource,
    result: FetchResult,
    fetched_at: datetime,
) -> BodyArticles:
    """A worker's parse of one body; parsed here when none was sent or the pool broke."""
    from concurrent.futures.process import BrokenProcessPool

    from newsintel.feeds.body import articles_from_body

    if future is not None:
        try:
            return future.result()
        except BrokenProcessPool:
            # A worker died (killed, out of memory): not this feed's fault, parse it here.
            pass
    body, base_url = result.body or b"", result.final_url or source.url
    return articles_from_body(source, body, result.headers, base_url, fetched_at)


def _store_batch(
    con: Connection,
    batch: list[tuple[FeedReport, SourceUpdate, tuple[Article, ...]]],
    reports: dict[str, FeedReport],
) -> int:
    """Write a batch of feeds in one transaction; note their reports; empty the batch.

    Returns the number of feeds written.
    """
    from newsintel.store.feeds import save_feed_results

    if not batch:
        return 0
    added = save_feed_results(con, [(update, articles) for _report, update, articles in batch])
    for (report, _update, _articles), count in zip(batch, added, strict=True):
        reports[report.source_id] = replace(report, new_articles=count)
    written = len(batch)
    batch.clear()
    return written


def _feed_outcome(
    source: FeedSource,
    result: FetchResult,
    parsed: BodyArticles,
    fetched_at: datetime,
    states: dict[str, SourceState],
    rng: random.Random,
) -> tuple[FeedReport, SourceUpdate]:
    """One feed's report (new-article count still 0) and fetch state to store."""
    from newsintel.feeds.backoff import next_check_at

    articles = parsed.articles
    status, error, warning = result.status, result.error, parsed.warning
    if parsed.error is not None:
        status, error = "failed", parsed.error
    failures = states[source.source_id].consecutive_failures
    update = SourceUpdate(
        source_id=source.source_id,
        status=status,
        fetched_at=fetched_at,
        http_status=result.http_status,
        error=error,
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
        new_url=result.permanent_redirect_url,
        next_check_at=next_check_at(
            fetched_at,
            status=status,
            consecutive_failures=failures + 1 if status == "failed" else 0,
            retry_after_s=result.retry_after_s,
            min_interval_minutes=source.min_interval_minutes,
            rng=rng,
        ),
    )
    report = FeedReport(
        source.source_id,
        source.name,
        source.url,
        status,
        entries=len(articles),
        http_status=result.http_status,
        error=error,
        warning=warning,
    )
    return report, update


# --- feeds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedHealth:
    """A configured feed and what the database knows about its fetching."""

    source_id: str
    name: str
    url: str
    tags: tuple[str, ...]
    status: str  # ok | not_modified | failed | never fetched
    last_success_at: datetime | None
    consecutive_failures: int
    next_check_at: datetime | None
    error: str | None
    articles: int
    stale: bool  # no success for days: flagged, never dropped


def feeds_health(
    settings: Settings, feeds_file: Path | None = None, *, now: Callable[[], datetime] = utcnow
) -> list[FeedHealth]:
    """Every configured feed with its fetch health (none yet if never ingested)."""
    from newsintel.feeds.backoff import is_stale
    from newsintel.feeds.sources import load_sources
    from newsintel.store.connect import file_path
    from newsintel.store.feeds import source_health

    sources = load_sources(feeds_file or Path(settings.feeds_file))
    health: dict[str, dict[str, Any]] = {}
    path = file_path(settings.db)
    if path is None or path.exists():
        with open_snapshot(settings.db) as con:
            health = source_health(con)
    rows = []
    for s in sources:
        h = health.get(s.source_id, {})
        fetched = h.get("last_fetch_at")
        last_success = h.get("last_success_at")
        rows.append(
            FeedHealth(
                s.source_id,
                s.name,
                s.url,
                s.tags,
                h.get("last_status") or "never fetched",
                last_success,
                int(h.get("consecutive_failures") or 0),
                h.get("next_check_at"),
                h.get("last_error"),
                int(h.get("articles") or 0),
                fetched is not None and is_stale(last_success, now()),
            )
        )
    return rows


@publishes
def add_feeds(
    settings: Settings, new: Sequence[FeedSource], feeds_file: Path | None = None
) -> list[FeedSource]:
    """Append feeds to the feeds file (duplicates by URL or name are skipped)."""
    from newsintel.feeds.sources import append_sources

    return append_sources(feeds_file or Path(settings.feeds_file), new)


# --- embed ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmbedReport:
    model: str
    device: str
    embedded: int
    already_embedded: int
    seconds: float

    @property
    def docs_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


def make_embedder(settings: Settings, model: str | None = None) -> Embedder:
    """The configured embedder: torch or onnx backend (loaded lazily on first use)."""
    from newsintel.embed import make_backend_embedder

    return make_backend_embedder(
        model or settings.model,
        settings.embed_backend,
        device=settings.device,
        batch_size=settings.embed_batch_size,
    )


@publishes
def embed(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    model: str | None = None,
    chunk_size: int = 2048,
    progress: Progress | None = None,
) -> EmbedReport:
    """Embed articles that have no vector for the model; streams in chunks.

    Only one chunk of texts and vectors is in memory at a time, and each chunk is
    written in its own short transaction, so an interrupted run loses at most a chunk.
    """
    from newsintel.embed import article_text
    from newsintel.store.embeddings import embedding_count, ids_missing_embedding, texts_for

    progress = progress or NoProgress()
    embedder = embedder or make_embedder(settings, model)
    name = embedder.model_name
    started = time.monotonic()
    with open_db(settings.db) as con:
        migrate(con)
        missing = ids_missing_embedding(con, name)
        already = embedding_count(con, name)
    device = getattr(embedder, "resolved_device", "n/a") if missing else "n/a"
    progress.start(f"embedding with {name}", len(missing))
    for begin in range(0, len(missing), chunk_size):
        chunk = missing[begin : begin + chunk_size]
        with open_db(settings.db) as con:
            rows = texts_for(con, chunk)
        vectors = embedder.encode([article_text(title, text) for _id, title, text in rows])
        with open_db(settings.db) as con:
            from newsintel.store.embeddings import save_embeddings

            save_embeddings(con, name, [r[0] for r in rows], vectors)
        progress.advance(len(rows))
    progress.finish()
    return EmbedReport(name, str(device), len(missing), already, time.monotonic() - started)


# --- stories ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoriesReport:
    model: str
    articles: int
    stories: int
    changed: int  # articles whose story_id this run changed


@publishes
def group_near_duplicates(
    settings: Settings, model: str, threshold: float = 0.92, window_days: int = 3
) -> StoriesReport:
    """Give copies of one story one ``story_id``: the id of the group's earliest article.

    Articles are one story when their titles normalise alike (from different sources)
    or their ``model`` embeddings have cosine >= ``threshold``, published within
    ``window_days``; chains of such pairs form one group. Recomputed over every story
    each time, so the result depends only on the stored articles and vectors.
    """
    from datetime import timedelta

    from newsintel.feeds.dedupe import StoryCandidate, near_duplicate_stories, title_key
    from newsintel.store.stories import set_story_ids, story_candidates

    with open_db(settings.db) as con:
        migrate(con)
        rows, vectors = story_candidates(con, model)
    candidates = [
        StoryCandidate(article_id, source_id, published_at, title_key(title), origin, url_key)
        for article_id, source_id, published_at, title, origin, url_key in rows
    ]
    story_ids = near_duplicate_stories(
        candidates,
        vectors if vectors.shape[1] else None,
        threshold=threshold,
        window=timedelta(days=window_days),
    )
    with open_db(settings.db) as con:
        changed = set_story_ids(con, story_ids)
    return StoriesReport(model, len(candidates), len(set(story_ids.values())), changed)


# --- themes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignReport:
    method: str
    articles: int
    members: dict[str, int] = field(default_factory=dict)


def load_scorer(settings: Settings, embedder: Embedder, themes_file: Path | None = None) -> Any:
    """Themes from themes.toml with their prototypes embedded and classifiers loaded."""
    from newsintel.themes.classifier import load_classifiers
    from newsintel.themes.definitions import load_themes
    from newsintel.themes.scoring import build_scorer

    themes = load_themes(themes_file or Path(settings.themes_file))
    classifiers = load_classifiers(Path(settings.theme_classifiers_file), embedder.model_name)
    return build_scorer(themes, embedder, classifiers)


# Concurrent writer transactions of assign_themes. Most of a write is DuckDB updating
# the primary-key index of article_themes, one thread per transaction; two overlap
# (1M articles on two cores: 25 s with one writer, 21 s with two, 23 s with three).
_ASSIGN_WRITERS = 2


@publishes
def assign_themes(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    themes_file: Path | None = None,
    batch_size: int = 50_000,
    progress: Progress | None = None,
) -> AssignReport:
    """Score every embedded article against every tracked theme and store the scores.

    A theme with a trained classifier for the embedding model uses it; the others are
    scored by similarity to their prototypes. Earlier assignments are replaced.

    Vectors and texts stream from one query in batches; while one batch is scored, the
    previous ones are written by two writer threads (DuckDB works without holding the
    GIL). Each batch is one transaction, so an interrupted run leaves every article with
    its old or its new scores, and running again completes it; a re-run rewrites only
    what changed.
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    from threadpoolctl import threadpool_limits

    from newsintel.store.embeddings import embedding_count, iter_article_vectors
    from newsintel.store.themes import has_theme_scores, save_theme_scores, save_themes
    from newsintel.themes.matching import article_texts

    progress = progress or NoProgress()
    embedder = embedder or make_embedder(settings)
    scorer = load_scorer(settings, embedder, themes_file)
    theme_ids = scorer.theme_ids
    methods = [scorer.method(t) for t in theme_ids]
    members = np.zeros(len(theme_ids), dtype=np.int64)
    total = 0
    with open_db(settings.db) as con:
        migrate(con)
        save_themes(con, scorer.themes)
        # Nothing stored yet: rows are appended without looking for old ones.
        first = not has_theme_scores(con)
        progress.start("assigning themes", embedding_count(con, embedder.model_name))
        # Writers on their own connections (the reading one is busy with the stream).
        writers = [con.cursor() for _ in range(_ASSIGN_WRITERS)]
        try:
            # One BLAS thread: the classifiers' products are small, and the other core
            # is busy writing (OpenBLAS's spinning threads would slow both down).
            with (
                ThreadPoolExecutor(max_workers=len(writers)) as pool,
                threadpool_limits(limits=1, user_api="blas"),
            ):
                # At most one batch in flight per writer: memory stays bounded. The
                # oldest write is awaited first, so writers[i % n] is free again.
                pending: deque[Future[int]] = deque()
                batches = iter_article_vectors(con, embedder.model_name, batch_size)
                for i, batch in enumerate(batches):
                    matcher = scorer.phrase_matcher(article_texts(batch.titles, batch.texts))
                    scores = scorer.scores(batch.vectors, matcher=matcher)
                    member = scorer.members(scores, matcher=matcher)
                    if len(pending) == len(writers):
                        pending.popleft().result()
                    pending.append(
                        pool.submit(
                            save_theme_scores, writers[i % len(writers)], batch.ids,
                            theme_ids, methods, scores, member, replace=not first,
                        )
                    )  # fmt: skip
                    members += np.count_nonzero(member, axis=0)
                    total += len(batch)
                    progress.advance(len(batch))
                while pending:
                    pending.popleft().result()
        finally:
            for writer in writers:
                writer.close()
    progress.finish()
    counts = {t: int(c) for t, c in zip(theme_ids, members, strict=True)}
    return AssignReport(", ".join(sorted(set(methods))), total, counts)


@dataclass(frozen=True)
class TrainReport:
    out: str
    model: str
    articles: int
    positives: dict[str, int]


def train_themes(
    settings: Settings,
    labelled_file: Path,
    *,
    split: str | None = None,
    out: Path | None = None,
    embedder: Embedder | None = None,
) -> TrainReport:
    """Train one classifier per theme on labelled articles and save them as JSON."""
    import numpy as np

    from newsintel.themes.classifier import read_labelled, save_classifiers, train_classifier
    from newsintel.themes.definitions import load_themes
    from newsintel.themes.scoring import prototype_texts

    themes = load_themes(Path(settings.themes_file))
    items = read_labelled(labelled_file, split)
    embedder = embedder or make_embedder(settings)
    vectors = embedder.encode([item.text for item in items])
    texts = [item.text for item in items]
    classifiers = []
    positives: dict[str, int] = {}
    for theme in themes:
        labels = np.array([theme.theme_id in item.themes for item in items])
        prototypes = prototype_texts(theme)
        classifiers.append(
            train_classifier(
                theme,
                embedder.model_name,
                vectors,
                texts,
                labels,
                embedder.encode(prototypes),
                prototypes,
            )
        )
        positives[theme.theme_id] = int(labels.sum())
    target = out or Path(settings.theme_classifiers_file)
    source = f"{labelled_file.name}" + (f" (split {split})" if split else "")
    save_classifiers(target, classifiers, source)
    return TrainReport(str(target), embedder.model_name, len(items), positives)


@dataclass(frozen=True)
class ThemeExplanation:
    theme_id: str
    label: str
    member: bool
    score: float
    threshold: float
    method: str
    similarity: float
    closest_prototype: str
    keywords: tuple[str, ...]
    exclusions: tuple[str, ...]

    def reason(self) -> str:
        """One sentence saying why the article is or is not in the theme."""
        verdict = "in" if self.member else "not in"
        kind = "probability" if self.method.startswith("classifier") else "similarity"
        why = f"{kind} {self.score:.2f} {'>=' if self.score >= self.threshold else '<'} "
        why += f"threshold {self.threshold:.2f}"
        if self.exclusions:
            why += f"; excluded by {', '.join(self.exclusions)}"
        if self.keywords:
            why += f"; keywords: {', '.join(self.keywords)}"
        why += f"; closest example ({self.similarity:.2f}): {self.closest_prototype!r}"
        return f"{verdict} {self.label}: {why}"


@dataclass(frozen=True)
class ArticleExplanation:
    article_id: str
    title: str
    themes: tuple[ThemeExplanation, ...]


def explain_article(
    settings: Settings, article_id: str, *, embedder: Embedder | None = None
) -> ArticleExplanation:
    """Why an article got (or missed) each theme: scores, thresholds, evidence."""
    from newsintel.embed import article_text
    from newsintel.errors import ThemeError
    from newsintel.store.embeddings import load_embeddings, texts_for
    from newsintel.themes.matching import keyword_hits, phrase_pattern
    from newsintel.themes.scoring import prototype_texts

    embedder = embedder or make_embedder(settings)
    with open_snapshot(settings.db) as con:
        rows = texts_for(con, [article_id])
        if not rows:
            raise ThemeError(f"no article with id '{article_id}'")
        ids, matrix = load_embeddings(con, embedder.model_name, [article_id])
    if not ids:
        raise ThemeError(
            f"article '{article_id}' has no embedding for {embedder.model_name}: "
            "run `newsintel embed`"
        )
    _id, title, body = rows[0]
    text = article_text(title, body)
    scorer = load_scorer(settings, embedder)
    scores = scorer.scores(matrix, [text])[0]
    members = scorer.members(scores[None, :], [text])[0]
    sims = matrix[0] @ scorer.prototypes.T
    explanations = []
    for index, theme in enumerate(scorer.themes):
        cols = [i for i, owner in enumerate(scorer.owner) if owner == index]
        best = max(cols, key=lambda i: sims[i])
        explanations.append(
            ThemeExplanation(
                theme_id=theme.theme_id,
                label=theme.label,
                member=bool(members[index]),
                score=float(scores[index]),
                threshold=float(scorer.thresholds[index]),
                method=scorer.method(theme.theme_id),
                similarity=float(sims[best]),
                closest_prototype=prototype_texts(theme)[cols.index(best)],
                keywords=tuple(keyword_hits(theme, text)),
                exclusions=tuple(p for p in theme.exclusions if phrase_pattern(p).search(text)),
            )
        )
    explanations.sort(key=lambda e: (not e.member, -e.score))
    return ArticleExplanation(article_id, title, tuple(explanations))


# --- topics -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicBuildReport:
    """What ``newsintel topics build`` did."""

    build_id: str
    model: str
    window: str
    seed: int
    n_articles: int
    n_topics: int
    outlier_share: float
    events: dict[str, int]  # lineage events by kind
    previous_build: str | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": round(self.seconds, 3)}


@publishes
def build_topics(
    settings: Settings, *, window: str = "all", seed: int = 0, cluster_params: Any = None
) -> TopicBuildReport:
    """Cluster the embedded stories into topics, link them to the last build, store them.

    Deterministic: the same stories, model and seed give the same topics and ids.
    """
    from newsintel.store.topics import (
        known_topic_ids,
        latest_build,
        load_stories,
        save_build,
        topic_members,
    )
    from newsintel.topics.build import WINDOWS, Corpus, previous_refs
    from newsintel.topics.build import build_topics as build

    if window not in WINDOWS:
        raise NewsintelError(f"--window must be one of {', '.join(WINDOWS)}, got {window!r}")
    started = time.perf_counter()
    with open_db(settings.db) as con:
        migrate(con)
        stories = load_stories(con, settings.vector_model)
        previous = latest_build(con, window="all", model=settings.vector_model)
        refs = (
            previous_refs(topic_members(con, previous.build_id, "all"))
            if previous and window == "all"
            else []
        )
        taken = known_topic_ids(con)
    if not stories.article_ids:
        raise AnalysisError(
            f"no embedded stories for model {settings.vector_model}: run `newsintel embed` first"
        )
    corpus = Corpus(stories.article_ids, stories.vectors, stories.texts, stories.published)
    result = build(
        corpus, window=window, seed=seed, previous=refs, taken_ids=taken,
        cluster_params=cluster_params,
    )  # fmt: skip
    build_id = new_run_id()
    seconds = time.perf_counter() - started
    from_build = previous.build_id if previous and window == "all" else None
    with open_db(settings.db) as con:
        save_build(
            con, build_id, settings.vector_model, result, from_build_id=from_build, seconds=seconds
        )
    events: dict[str, int] = {}
    for row in result.lineage:
        events[row.event.event] = events.get(row.event.event, 0) + 1
    return TopicBuildReport(
        build_id, settings.vector_model, window, seed, len(result.article_ids),
        len({t.topic_id for t in result.topics}), result.outlier_share, events, from_build,
        seconds,
    )  # fmt: skip


@dataclass(frozen=True)
class TopicListing:
    """One topic of the latest build with its growth against its own baseline."""

    topic_id: str
    label: str
    top_words: tuple[str, ...]
    size: int
    first_seen: datetime | None
    last_seen: datetime | None
    representatives: tuple[str, ...]  # titles of the 3 articles closest to the centroid
    latest: int  # stories in the latest month
    expected: float | None  # stories its earlier share predicts for that month
    growth: float | None  # (latest + 1) / (expected + 1)
    p_value: float | None  # one-sided Poisson test of latest >= expected
    emerging: bool


@dataclass(frozen=True)
class TopicListReport:
    build_id: str
    model: str
    window: str
    created_at: datetime
    latest_period: str
    topics: tuple[TopicListing, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "build_id": self.build_id,
            "model": self.model,
            "window": self.window,
            "created_at": self.created_at,
            "latest_period": self.latest_period,
            "topics": [{**t.__dict__, "top_words": list(t.top_words)} for t in self.topics],
        }


def list_topics(settings: Settings) -> TopicListReport:
    """Topics of the latest build, emerging ones first (then by size)."""
    from newsintel.store.topics import has_topics, latest_build, period_counts, topic_rows
    from newsintel.topics.emerging import emergence_by_period, listing_order

    with open_snapshot(settings.db) as con:
        build = latest_build(con) if has_topics(con) else None
        if build is None:
            raise AnalysisError("no topics yet: run `newsintel topics build` first")
        rows = topic_rows(con, build.build_id)
        counts = period_counts(con, build.build_id)
    # The same scoring as the app's Topics page (ui.data.topic_overview).
    scored = emergence_by_period(counts, [r.topic_id for r in rows])
    scores = scored.scores
    listings = []
    for r in sorted(rows, key=lambda r: listing_order(r.topic_id, r.size, scores.get(r.topic_id))):
        e = scores.get(r.topic_id)
        listings.append(
            TopicListing(
                r.topic_id, r.label, r.top_words, r.size, r.first_seen, r.last_seen,
                r.representative_titles, e.latest if e else 0, e.expected if e else None,
                e.growth if e else None, e.p_value if e else None, bool(e and e.emerging),
            )
        )  # fmt: skip
    return TopicListReport(
        build.build_id, build.model, build.window, build.created_at,
        scored.latest_period, tuple(listings),
    )  # fmt: skip


# --- series -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesImportReport:
    series_id: str
    kind: str
    points: int
    first_date: str
    last_date: str
    warnings: tuple[str, ...]


@publishes
def import_series(
    settings: Settings,
    path: Path,
    *,
    name: str,
    date_col: str | None = None,
    value_col: str | None = None,
    unit: str = "",
    currency: str = "",
    kind: str = "price",
    origin: str = "",
    series_filter: str | None = None,
) -> SeriesImportReport:
    """Read a dated CSV series, validate it and store it under ``name`` (replacing)."""
    from newsintel.series.csv_import import read_series_csv
    from newsintel.store.series import save_series

    if kind not in ("price", "attention"):
        raise SeriesError(f"kind must be 'price' or 'attention', got {kind!r}")
    imported = read_series_csv(
        path,
        date_col=date_col,
        value_col=value_col,
        kind=cast("Literal['price', 'attention']", kind),
        series_filter=series_filter,
    )
    meta = SeriesMeta(name, kind, unit, currency, origin or f"imported from {path.name}")
    with open_db(settings.db) as con:
        migrate(con)
        count = save_series(con, meta, imported.points)
    index = imported.points.index
    return SeriesImportReport(
        name, kind, count, str(index.min().date()), str(index.max().date()), imported.warnings
    )


# --- analysis ---------------------------------------------------------------------------


def load_variable(
    settings: Settings, spec: str, freq: str, origins: Sequence[str] = ()
) -> pd.Series:
    """The analysable series behind ``theme:<name>`` or ``series:<name>`` at ``freq``.

    Themes become their share of all stories per period (of ``origins`` only, when
    given: e.g. ``["gdelt"]``); prices become log returns of the period's last price;
    attention series become log counts per period.
    """
    import pandas as pd

    from newsintel.series.align import log_counts, price_returns, theme_share
    from newsintel.store.series import series_meta, series_points
    from newsintel.store.themes import theme_daily_counts, theme_ids

    kind, _, name = spec.partition(":")
    if kind not in ("theme", "series") or not name:
        raise AnalysisError(f"'{spec}' is not theme:<name> or series:<name>")
    with open_db(settings.db, read_only=True) as con:
        if kind == "theme":
            known = theme_ids(con)
            if name not in known:
                raise AnalysisError(f"unknown theme '{name}'; known: {', '.join(known) or 'none'}")
            daily = _news_days(
                theme_daily_counts(con, name, origins).set_index("day"), settings, freq
            )
            share = theme_share(daily["articles"], daily["total_articles"], freq)  # type: ignore[arg-type]
            return _complete(share, pd.DatetimeIndex(daily.index), freq, business_days=False)
        meta = series_meta(con, name)
        if meta is None:
            from newsintel.store.series import series_summaries

            known = [s.series_id for s in series_summaries(con)]
            raise AnalysisError(f"unknown series '{name}'; known: {', '.join(known) or 'none'}")
        points = series_points(con, name)
    if meta.kind != "price":
        points = _news_days(points, settings, freq)
    observed = pd.DatetimeIndex(points.index)
    if meta.kind == "price":
        returns = price_returns(points, freq)  # type: ignore[arg-type]
        return _complete(returns, observed, freq, business_days=True, check_first=False)
    return _complete(log_counts(points, freq), observed, freq, business_days=False)  # type: ignore[arg-type]


def _news_days(frame: Any, settings: Settings, freq: str) -> Any:
    """News dated two days later when weeks end on Friday: Saturday and Sunday then
    fall in the next Monday-labelled week (the next trading week), Monday to Friday
    stay in their own. Only weekly analyses; prices keep their own dates."""
    if freq != "W" or settings.news_week_ends != "friday":
        return frame
    import pandas as pd

    shifted = frame.copy()
    shifted.index = pd.DatetimeIndex(shifted.index) + pd.Timedelta(days=2)
    return shifted


def _complete(
    values: pd.Series,
    observed: pd.DatetimeIndex,
    freq: str,
    *,
    business_days: bool,
    check_first: bool = True,
) -> pd.Series:
    """``values`` without partial first/last periods; the count rides in ``attrs`` to
    the analysis, which reports it under ``periods.dropped_partial``."""
    from newsintel.series.align import drop_partial

    kept, dropped = drop_partial(
        values,
        observed,
        freq,  # type: ignore[arg-type]
        business_days=business_days,
        check_first=check_first,
    )
    kept = kept.copy()
    kept.attrs["dropped_partial"] = dropped
    return kept


@publishes
def analyze(
    settings: Settings,
    x: str,
    y: str,
    *,
    freq: str = "W",
    max_lag: int = 8,
    run_id: str | None = None,
    store: bool = True,
    split: date | None = None,
    origins: Sequence[str] = (),
) -> PairResult:
    """Lead/lag of two variables (positive lag: x leads y) and the statistics beside it
    (rolling, change points, event study, impulse response); stored with a run id.

    The run is this one pair, so p-values are adjusted over this pair's tests. A pair
    whose data cannot carry the analysis is stored as one ``not_analysable`` row.
    """
    result = pair_analysis(settings, x, y, freq=freq, max_lag=max_lag, split=split, origins=origins)
    if store:
        from newsintel.store.analysis import save_results

        with open_db(settings.db) as con:
            save_results(con, result.to_rows(run_id or new_run_id()))
    return result


def describe_variable(settings: Settings, spec: str, freq: str) -> str:
    """In words, the quantity ``load_variable`` makes of ``spec`` at ``freq``."""
    from newsintel.store.series import series_meta

    period = {"D": "day", "W": "week", "M": "month"}.get(freq, freq)
    kind, _, name = spec.partition(":")
    weekly_note = (
        " (weeks end on Friday, the market close: weekend stories count toward the next week)"
        if freq == "W" and settings.news_week_ends == "friday"
        else ""
    )
    if kind == "theme":
        return f"share of all stories per {period}{weekly_note}"
    with open_snapshot(settings.db) as con:
        meta = series_meta(con, name)
    if meta is not None and meta.kind == "price":
        return (
            f"log return between the last prices of consecutive observed {period}s "
            "(no filling: periods without a price are absent)"
        )
    return f"log(1 + sum of counts) per {period}{weekly_note}"


def pair_analysis(
    settings: Settings,
    x: str,
    y: str,
    *,
    freq: str = "W",
    max_lag: int = 8,
    split: date | None = None,
    origins: Sequence[str] = (),
) -> PairResult:
    """Every statistic of one pair, p-values adjusted within the pair; nothing stored.

    ``origins`` restricts theme variables to stories of those origins; a warning is
    added when the origins' mix shifts inside the analysed window.
    """
    from newsintel.analysis.pair import analyse_pair
    from newsintel.jobs.provenance import check_origins, with_origin_warning

    if freq not in ("D", "W", "M"):
        raise AnalysisError(f"freq must be D, W or M, got {freq!r}")
    if max_lag < 1:
        raise AnalysisError("max-lag must be at least 1")
    origins = check_origins(origins)
    result = analyse_pair(
        load_variable(settings, x, freq, origins),
        load_variable(settings, y, freq, origins),
        max_lag=max_lag,
        x_name=x,
        y_name=y,
        freq=freq,
        x_input=describe_variable(settings, x, freq),
        y_input=describe_variable(settings, y, freq),
        criterion=settings.lag_criterion,
        split=split,
    )
    return with_origin_warning(settings, result, freq, origins)


def new_run_id() -> str:
    """A sortable, unique id for one analysis run."""
    return utcnow().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


@dataclass(frozen=True)
class AnalyzeAllReport:
    run_id: str
    pairs: int
    failed: tuple[tuple[str, str, str], ...]
    results: tuple[PairResult, ...]

    @property
    def not_analysable(self) -> int:
        """Pairs stored as ``not_analysable`` (their data could not carry the tests)."""
        return sum(1 for r in self.results if not r.analysable)


@publishes
def analyze_all(
    settings: Settings,
    *,
    freq: str = "W",
    max_lag: int = 8,
    progress: Progress | None = None,
    origins: Sequence[str] = (),
) -> AnalyzeAllReport:
    """Every tracked theme against every price series, stored under one run id.

    p-values are adjusted (Benjamini-Hochberg) once over every test of every pair, so
    ``p_adj`` reflects all that the run tested; rows are stored after that, together.
    """
    from newsintel.analysis.pair import adjust_run
    from newsintel.store.analysis import save_results
    from newsintel.store.series import series_summaries
    from newsintel.store.themes import theme_ids

    progress = progress or NoProgress()
    with open_db(settings.db, read_only=True) as con:
        themes = theme_ids(con)
        prices = [s.series_id for s in series_summaries(con, "price")]
    run_id = new_run_id()
    results: list[PairResult] = []
    failed: list[tuple[str, str, str]] = []
    progress.start("analysing theme x price pairs", len(themes) * len(prices))
    for theme in themes:
        for price in prices:
            try:
                results.append(
                    pair_analysis(
                        settings,
                        f"theme:{theme}",
                        f"series:{price}",
                        freq=freq,
                        max_lag=max_lag,
                        origins=origins,
                    )
                )
            except NewsintelError as exc:
                # Series that barely overlap the articles are expected; record, go on.
                failed.append((theme, price, str(exc)))
            except Exception as exc:  # one pair must never stop the run
                failed.append((theme, price, f"unexpected {type(exc).__name__}: {exc}"))
            progress.advance()
    progress.finish()
    results = adjust_run(results)
    with open_db(settings.db) as con:
        save_results(con, [row for r in results for row in r.to_rows(run_id)])
    return AnalyzeAllReport(run_id, len(results), tuple(failed), tuple(results))


# --- demo and run -----------------------------------------------------------------------


@dataclass(frozen=True)
class DemoReport:
    ingest: IngestReport
    embed: EmbedReport
    assign: AssignReport
    series: tuple[SeriesImportReport, ...]
    analysis: AnalyzeAllReport
    topics: tuple[TopicBuildReport, ...] = ()  # in build order; the last is the current one
    history: tuple[Any, ...] = ()  # ImportReport of each DEMO_HISTORY file


# Topic builds of the demo, in order. Quarters give the lineage something to show over
# time (the sample has 5-13 stories a month: too few to cluster a month on its own);
# the whole-corpus build comes last, so it is the latest build the app and
# `newsintel topics list` open with.
DEMO_TOPIC_WINDOWS = ("quarter", "all")


def _demo_cluster_params(window: str) -> Any:
    """The demo's all-stories build asks for at least DEMO_MIN_TOPICS topics.

    Its 6,700 lithium history stories dwarf the few hundred sample stories on every other
    theme, so the best silhouette is the split lithium / the rest (0.29, against 0.07 at
    most for any finer cut) and the build showed 2 topics. From 8 on, the silhouette
    rises up to the 60-topic cap: prices, Chile, Albemarle, EV demand, battery fires,
    drilling, lawsuits, and the sample's AI and robots topics.
    """
    from newsintel.topics.cluster import ClusterParams

    return ClusterParams(min_topics=DEMO_MIN_TOPICS) if window == "all" else None


DEMO_MIN_TOPICS = 8
# Real article history imported by the demo (data/history/, see data/README.md): GDELT's
# lithium articles 2017-2023, through `backfill import` like any user's export, so its
# stories have origin 'import' and titles derived from their URLs.
DEMO_HISTORY = (("gdelt_lithium_articles_2017-2023.csv", "gdelt-gkg"),)


def sample_sources(sample_dir: Path) -> list[FeedSource]:
    """The bundled sample feeds (``sample_dir/feeds.toml``, local files read offline)."""
    from newsintel.feeds.sources import load_sources

    return load_sources(sample_dir / "feeds.toml")


def import_bundled_series(settings: Settings, series_dir: Path) -> list[SeriesImportReport]:
    """Import every series listed in ``series_dir/series.toml``."""
    import tomllib

    listing = series_dir / "series.toml"
    try:
        entries = tomllib.loads(listing.read_text("utf-8"))["series"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise SeriesError(f"cannot read {listing}: {exc}") from None
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
    topics: TopicBuildReport | None = None  # None: nothing new was embedded, no rebuild
    # (step, error) of every step that failed; the later steps still ran.
    failures: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures


@publishes
def run(
    settings: Settings,
    *,
    feeds_file: Path | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """The whole pipeline, in order: ingest, embed, assign themes, analyse, topics.

    Topics are rebuilt (whole corpus, seed 0, so continuing topics keep their ids) only
    when this run embedded new articles; otherwise the last build still holds. A step
    that fails is recorded in ``failures`` and the next steps run on what the database
    holds (a scheduled run must not lose its topics to one bad analysis window); steps
    that need the embedding model are skipped when it cannot be loaded.
    """
    failures: list[tuple[str, str]] = []

    def step(name: str, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except Exception as exc:  # reported, and the run goes on
            text = str(exc) if isinstance(exc, NewsintelError) else f"{type(exc).__name__}: {exc}"
            failures.append((name, text))
            return None

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
        topics = step("topics", lambda: build_topics(settings, window="all", seed=0))
    return RunReport(ingest_report, embed_report, assign_report, analysis, topics, tuple(failures))


# --- digest -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestDelivery:
    recipient: str
    status: str  # written | sent | already_sent | failed
    detail: str


@dataclass(frozen=True)
class DigestReport:
    period: str
    period_start: str
    deliveries: tuple[DigestDelivery, ...]

    @property
    def ok(self) -> bool:
        return all(d.status != "failed" for d in self.deliveries)

    def lines(self) -> list[str]:
        head = f"{self.period} digest for the period starting {self.period_start}"
        return [head] + [f"  {d.status:<12} {d.recipient}: {d.detail}" for d in self.deliveries]


def _parse_day(text: str | None) -> Any:
    from datetime import date

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise NewsintelError(f"--date must be YYYY-MM-DD, got {text!r}") from None


def run_digest(
    settings: Settings,
    *,
    period: str = "weekly",
    on_date: str | None = None,
    out_dir: Path | None = None,
    send: bool = False,
    mailer: Any = None,
    now: Callable[[], datetime] = utcnow,
) -> DigestReport:
    """Build the period's digest, then write it to ``out_dir`` or send it by SMTP.

    Sending is recorded per (period, recipient) in digest_log: a re-run never sends a
    delivered digest twice, and a failed delivery is retried by the next run. Who gets
    it, with which themes, comes from newsintel.digest.recipients.
    """
    from newsintel.digest.build import Period, build_digest
    from newsintel.digest.recipients import digest_recipients
    from newsintel.digest.render import render_digest, write_dry_run
    from newsintel.errors import DigestError, MailError
    from newsintel.feeds.sources import slugify
    from newsintel.store.digest import already_sent, record_delivery
    from newsintel.store.themes import theme_summaries

    if period not in ("daily", "weekly"):
        raise DigestError(f"period must be daily or weekly, got {period!r}")
    if not send and out_dir is None:
        raise DigestError("give --out DIR for a dry run, or --send")
    day = _parse_day(on_date)
    with open_db(settings.db) as con:
        migrate(con)
        content = build_digest(
            con,
            cast("Period", period),
            day,
            price_series=settings.price_series,
            now=now(),
        )
        known = [name for s in theme_summaries(con) for name in (s.theme_id, s.label)]
    # Each recipient's themes (None: every theme), from the recipients file or digest_to.
    chosen = digest_recipients(settings, period, known)
    themes_of = {r.email: r.recipient_themes for r in chosen.recipients}
    recipients = list(themes_of)
    deliveries: list[DigestDelivery] = []
    if not send:
        assert out_dir is not None
        for recipient in recipients if chosen.configured else ["preview@localhost"]:
            message = render_digest(
                content,
                sender=settings.digest_from,
                recipient=recipient,
                unsubscribe=settings.digest_unsubscribe,
                recipient_themes=themes_of.get(recipient),
            )
            stem = f"digest-{period}-{content.period_start}-{slugify(recipient)}"
            eml, html = write_dry_run(message, out_dir, stem)
            deliveries.append(DigestDelivery(recipient, "written", f"{eml} and {html.name}"))
        return DigestReport(period, str(content.period_start), tuple(deliveries))

    if not chosen.configured:
        raise DigestError(
            "no recipients: set NEWSINTEL_DIGEST_TO (comma separated) or write "
            f"{settings.recipients_file} (see data/recipients.example.toml)"
        )
    if not recipients:
        # Everyone listed chose the other period: nothing to send, nothing wrong.
        return DigestReport(period, str(content.period_start), ())
    if mailer is None:
        from newsintel.digest.send import SmtpMailer

        mailer = SmtpMailer.from_settings(settings)
    for recipient in recipients:
        with open_db(settings.db) as con:
            if already_sent(con, period, content.period_start, recipient):
                deliveries.append(DigestDelivery(recipient, "already_sent", "sent before"))
                continue
        message = render_digest(
            content,
            sender=settings.digest_from,
            recipient=recipient,
            unsubscribe=settings.digest_unsubscribe,
            recipient_themes=themes_of[recipient],
        )
        error: str | None
        try:
            mailer.send(message, [recipient])
        except MailError as exc:
            status, error, detail = "failed", str(exc), str(exc)
        else:
            status, error, detail = "sent", None, str(message["Message-ID"])
        with open_db(settings.db) as con:
            record_delivery(
                con,
                period,
                content.period_start,
                recipient,
                status=status,
                message_id=str(message["Message-ID"]),
                error=error,
            )
        deliveries.append(DigestDelivery(recipient, status, detail))
    return DigestReport(period, str(content.period_start), tuple(deliveries))


# --- schedule ---------------------------------------------------------------------------


def scheduled_actions(
    settings: Settings, *, embedder: Embedder | None = None
) -> dict[str, Callable[[], str]]:
    """What each job of ``newsintel schedule`` does, as callables returning a summary.

    The embedder is made once and shared, so a long-lived scheduler loads the model
    once rather than every run. Digests cover the previous complete period in
    ``settings.timezone``; a digest with a failed delivery raises, so it is logged as
    failed.
    """
    from newsintel.errors import DigestError
    from newsintel.schedule import local_today, previous_period_day

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
    from newsintel.schedule import build_scheduler, lock_path, plan, serve

    jobs = plan(settings)
    scheduler = build_scheduler(
        jobs, scheduled_actions(settings), lock_path(settings), settings.timezone
    )
    serve(scheduler)
