"""Ingest: fetch every feed, parse bodies (in worker processes from a few feeds on), store."""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsintel.config import Settings
from newsintel.feeds.backoff import next_check_at
from newsintel.feeds.body import BodyArticles, articles_from_body
from newsintel.feeds.fetch import FetchState, fetch_all_sync
from newsintel.feeds.sources import load_sources
from newsintel.jobs.common import NoProgress, Progress, utcnow
from newsintel.jobs.publish import publishes
from newsintel.jobs.workers import _PARALLEL_PARSE_MIN_FEEDS as _PARALLEL_PARSE_MIN_FEEDS
from newsintel.jobs.workers import _exit_with_parent as _exit_with_parent
from newsintel.jobs.workers import _parse_pool as _parse_pool
from newsintel.mail.sources import load_mailboxes
from newsintel.models import Article, SourceState, SourceUpdate
from newsintel.store import migrate, open_db
from newsintel.store.connect import transaction
from newsintel.store.feeds import save_feed_results, source_states, upsert_sources

if TYPE_CHECKING:
    from concurrent.futures import Future

    from newsintel.feeds.body import BodyArticles
    from newsintel.feeds.fetch import FetchResult
    from newsintel.feeds.sources import FeedSource
    from newsintel.jobs.mail import MailboxReport
    from newsintel.mail.sources import MailboxSource
    from newsintel.store.connect import Connection


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
    # IMAP mailboxes of the feeds file, read after them.
    mailboxes: tuple[MailboxReport, ...] = ()

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


# Feeds written per transaction. A commit and the statements around it cost about 25 ms;
# at 32 feeds a batch they are a small share of storing, a killed run loses at most one
# batch of work, and each feed stays all-or-nothing.
_STORE_BATCH_FEEDS = 32


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
    progress = progress or NoProgress()
    rng = rng or random.Random()
    started = time.monotonic()
    mailboxes: list[MailboxSource] = []
    if sources is None:
        sources = load_sources(feeds_file or Path(settings.feeds_file))
        mailboxes = load_mailboxes(feeds_file or Path(settings.feeds_file))
    with open_db(settings.db) as con:
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
    # Imported here, not at the top: jobs/mail.py imports the parse pool from newsintel.jobs.
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
