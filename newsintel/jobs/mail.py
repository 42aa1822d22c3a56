"""Mail jobs: import a local mailbox, and read the configured IMAP mailboxes.

Both compose the same steps: raw bytes (``newsintel.mail.local`` or ``.imap``) ->
``parse_message`` -> ``mail_articles`` -> ``newsintel.store.mail``. One bad message is
skipped, counted and named, and the rest go on; one failing mailbox is recorded as
failed and the others (and the feeds) go on.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsintel.config import Settings
from newsintel.errors import MessageError, NewsintelError
from newsintel.feeds.sources import slugify
from newsintel.jobs import _PARALLEL_PARSE_MIN_FEEDS, NoProgress, Progress, _parse_pool, utcnow
from newsintel.jobs.publish import publishes
from newsintel.mail.message import MailMessage, parse_message
from newsintel.mail.sources import MailboxSource
from newsintel.mail.stories import mail_articles
from newsintel.models import Article, SourceUpdate
from newsintel.store import migrate, open_db

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from newsintel.mail.local import RawMessage
    from newsintel.store.connect import Connection

# Messages stored per transaction: a killed import loses at most this many, and the
# commit cost (milliseconds) is shared by them all.
_BATCH_MESSAGES = 200
# Messages a parse worker takes at a time: shipping them there and their articles back
# stays a small share of the work. A mailbox of fewer than _PARALLEL_PARSE_MIN_FEEDS
# chunks is parsed in this process (starting workers would cost more than it saves).
_CHUNK_MESSAGES = 100
# Chunks in flight per worker: workers never wait, and a big mbox is never in memory whole.
_CHUNKS_AHEAD = 3


@dataclass(frozen=True)
class SkippedMessage:
    """A message that gave no stories, and why (malformed, too large, unreadable)."""

    name: str
    reason: str


@dataclass
class _Tally:
    """Counts of a mailbox read, filled while its messages go by."""

    messages: int = 0
    stories: int = 0
    new_articles: int = 0
    attachments: int = 0
    estimated_dates: int = 0
    links_asked: int = 0
    links_resolved: int = 0
    last_message_at: datetime | None = None
    skipped: list[SkippedMessage] = field(default_factory=list)

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append(SkippedMessage(name, reason))

    def count(self, message: MailMessage | _Read, articles: Sequence[Article]) -> None:
        self.messages += 1
        self.stories += sum(1 for a in articles if not a.is_issue)
        self.attachments += message.attachments
        self.estimated_dates += message.date_estimated
        if message.published_at is not None and (
            self.last_message_at is None or message.published_at > self.last_message_at
        ):
            self.last_message_at = message.published_at


@dataclass(frozen=True)
class MailImportReport:
    """What ``newsintel mail import`` did with one local mailbox."""

    path: str
    messages: int
    stories: int
    new_articles: int
    attachments: int
    estimated_dates: int
    skipped: tuple[SkippedMessage, ...]
    seconds: float
    links_asked: int = 0
    links_resolved: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "messages": self.messages,
            "stories": self.stories,
            "new_articles": self.new_articles,
            "attachments_skipped": self.attachments,
            "estimated_dates": self.estimated_dates,
            "links_asked": self.links_asked,
            "links_resolved": self.links_resolved,
            "skipped": [{"name": s.name, "reason": s.reason} for s in self.skipped],
            "seconds": round(self.seconds, 3),
        }


def _outlet(message: MailMessage, name: str) -> tuple[str, str, str]:
    key = message.source_key
    url = f"mailto:{key}" if "@" in key else f"list:{key}"
    # Namespaced: a feed named like the newsletter ("The Download") keeps its own row,
    # and the email copy of a story can still join the web copy (another source).
    return f"mail-{slugify(name) or 'unknown'}", name, url


def message_articles(
    message: MailMessage, source: str | None, fetched_at: datetime
) -> tuple[tuple[str, str, str], list[Article]]:
    """The outlet (id, name, url) a message is stored under, and its articles."""
    outlet = _outlet(message, source or message.source_name)
    articles = mail_articles(
        message, source_id=outlet[0], source_name=outlet[1], fetched_at=fetched_at
    )
    return outlet, articles


_Resolver = Callable[[list[list[Article]]], list[list[Article]]]


def _link_resolver(settings: Settings, con: Connection, tally: _Tally, now: datetime) -> _Resolver:
    """``--resolve-links``: each story link replaced by where its redirects lead.

    Asked once per link: answers are kept in DuckDB (``link_redirects``) and a link
    already answered is never requested again. A link that leads nowhere usable (dead,
    a loop, the tracker down) keeps the URL the email gave.
    """
    from newsintel.mail.resolve import resolve_links
    from newsintel.store.mail import known_links, save_links

    def resolve(messages: list[list[Article]]) -> list[list[Article]]:
        links = [a.url for articles in messages for a in articles if a.url and not a.is_issue]
        where = known_links(con, links)
        asked = resolve_links((url for url in links if url not in where), settings)
        final = [r for r in asked.values() if r.final]
        save_links(con, [(r.url, r.resolved_url, r.http_status, r.hops, r.error) for r in final],
                   now)  # fmt: skip
        tally.links_asked += len(asked)
        where.update((r.url, r.resolved_url) for r in asked.values())
        resolved: list[list[Article]] = []
        for articles in messages:
            kept: list[Article] = []
            for article in articles:
                target = where.get(article.url or "") if not article.is_issue else None
                if target and target != article.url:
                    tally.links_resolved += 1
                    article = replace(article, url=target)
                kept.append(article)
            resolved.append(kept)
        return resolved

    return resolve


class _Writer:
    """Collects messages' articles and stores them a batch at a time."""

    def __init__(self, con: Connection, tally: _Tally, resolve: _Resolver | None = None) -> None:
        self.con = con
        self.tally = tally
        self.resolve = resolve
        self.messages: list[list[Article]] = []
        self.outlets: dict[str, tuple[str, str, str]] = {}

    def add(self, outlet: tuple[str, str, str], articles: list[Article]) -> None:
        self.outlets.setdefault(outlet[0], outlet)
        self.messages.append(articles)

    def flush(self, **state: Any) -> None:
        from newsintel.store.mail import save_mail_stories

        if self.resolve is not None and self.messages:
            self.messages = self.resolve(self.messages)
        self.tally.new_articles += save_mail_stories(
            self.con, self.messages, list(self.outlets.values()), **state
        )
        self.messages, self.outlets = [], {}


@dataclass(frozen=True)
class _Read:
    """One local message parsed into articles, or the reason it was skipped.

    What the import needs of the ``MailMessage``, without its HTML (which would have
    to travel back from a parse worker for nothing).
    """

    name: str
    error: str | None = None
    outlet: tuple[str, str, str] = ("", "", "")
    articles: tuple[Article, ...] = ()
    attachments: int = 0
    date_estimated: bool = False
    published_at: datetime | None = None


def _read_chunk(
    chunk: list[RawMessage], max_bytes: int, source: str | None, fetched_at: datetime
) -> list[_Read]:
    """Parse a chunk of raw messages (in a worker process, or here)."""
    reads: list[_Read] = []
    for raw in chunk:
        if raw.data is None:
            reads.append(_Read(raw.name, raw.error or "unreadable"))
            continue
        try:
            message = parse_message(raw.data, max_bytes=max_bytes, file_time=raw.arrived_at)
        except MessageError as exc:
            reads.append(_Read(raw.name, str(exc)))
            continue
        outlet, articles = message_articles(message, source, fetched_at)
        reads.append(
            _Read(raw.name, None, outlet, tuple(articles), message.attachments,
                  message.date_estimated, message.published_at)
        )  # fmt: skip
    return reads


def _read_all(
    raws: Iterable[RawMessage], max_bytes: int, source: str | None, fetched_at: datetime
) -> Iterator[_Read]:
    """Every message parsed, in mailbox order; on every core when there are many."""
    chunks = _chunked(iter(raws), _CHUNK_MESSAGES)
    first = list(itertools.islice(chunks, _PARALLEL_PARSE_MIN_FEEDS))
    with _parse_pool(len(first)) as pool:
        if pool is None:
            for chunk in itertools.chain(first, chunks):
                yield from _read_chunk(chunk, max_bytes, source, fetched_at)
            return
        ahead = _CHUNKS_AHEAD * (os.cpu_count() or 1)
        pending: deque[tuple[list[RawMessage], Future[list[_Read]] | None]] = deque()
        for chunk in itertools.chain(first, chunks):
            pending.append((chunk, _submit(pool, chunk, max_bytes, source, fetched_at)))
            if len(pending) > ahead:
                yield from _collect(*pending.popleft(), max_bytes, source, fetched_at)
        while pending:
            yield from _collect(*pending.popleft(), max_bytes, source, fetched_at)


def _chunked(raws: Iterator[RawMessage], size: int) -> Iterator[list[RawMessage]]:
    while chunk := list(itertools.islice(raws, size)):
        yield chunk


def _submit(
    pool: ProcessPoolExecutor,
    chunk: list[RawMessage],
    max_bytes: int,
    source: str | None,
    fetched_at: datetime,
) -> Future[list[_Read]] | None:
    from concurrent.futures.process import BrokenProcessPool

    try:
        return pool.submit(_read_chunk, chunk, max_bytes, source, fetched_at)
    except BrokenProcessPool:
        return None  # parsed here when collected


def _collect(
    chunk: list[RawMessage],
    future: Future[list[_Read]] | None,
    max_bytes: int,
    source: str | None,
    fetched_at: datetime,
) -> list[_Read]:
    from concurrent.futures.process import BrokenProcessPool

    if future is not None:
        try:
            return future.result()
        except BrokenProcessPool:
            # A worker died (killed, out of memory): not these messages' fault.
            pass
    return _read_chunk(chunk, max_bytes, source, fetched_at)


@publishes
def import_mail(
    settings: Settings,
    path: Path,
    *,
    source: str | None = None,
    resolve_links: bool = False,
    progress: Progress | None = None,
    now: Callable[[], datetime] = utcnow,
) -> MailImportReport:
    """Store the stories of every newsletter in an mbox, Maildir, .eml or .eml folder.

    ``source`` names the newsletter for every message (default: each message's List-Id,
    else its sender). With ``resolve_links`` each story link is replaced by where its
    redirects lead (see ``newsintel.mail.resolve``); otherwise nothing is fetched.
    Importing the same mailbox again adds nothing. Raises MailboxError only when
    ``path`` itself cannot be read.
    """
    from newsintel.mail.local import count_messages, read_local

    progress = progress or NoProgress()
    started = time.monotonic()
    path = Path(path)
    total = count_messages(path)  # raises MailboxError for a missing path
    tally = _Tally()
    fetched_at = now()
    with open_db(settings.db) as con:
        migrate(con)
        resolver = _link_resolver(settings, con, tally, fetched_at) if resolve_links else None
        writer = _Writer(con, tally, resolver)
        progress.start(f"reading {path.name}", total or 0)
        raws = read_local(path, settings.mail_max_bytes)
        for read in _read_all(raws, settings.mail_max_bytes, source, fetched_at):
            progress.advance()
            if read.error is not None:
                tally.skip(read.name, read.error)
                continue
            tally.count(read, read.articles)
            writer.add(read.outlet, list(read.articles))
            if len(writer.messages) >= _BATCH_MESSAGES:
                writer.flush()
        writer.flush()
        progress.finish()
    return MailImportReport(
        path=str(path),
        messages=tally.messages,
        stories=tally.stories,
        new_articles=tally.new_articles,
        attachments=tally.attachments,
        estimated_dates=tally.estimated_dates,
        skipped=tuple(tally.skipped),
        seconds=time.monotonic() - started,
        links_asked=tally.links_asked,
        links_resolved=tally.links_resolved,
    )


# --- IMAP mailboxes ---------------------------------------------------------------------


@dataclass(frozen=True)
class MailboxReport:
    """What one IMAP mailbox gave in an ingest run; ``status`` ok or failed."""

    source_id: str
    name: str
    url: str
    status: str
    messages: int = 0
    stories: int = 0
    new_articles: int = 0
    last_uid: int = 0
    resynced: bool = False
    skipped: tuple[SkippedMessage, ...] = ()
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["skipped"] = [{"name": s.name, "reason": s.reason} for s in self.skipped]
        return data


def _read_mailbox(
    settings: Settings, con: Connection, mailbox: MailboxSource, fetched_at: datetime
) -> MailboxReport:
    from newsintel.mail.imap import ImapFolder
    from newsintel.mail.sources import mailbox_password
    from newsintel.store.mail import MailProgress, mailbox_state, restart_mailbox

    tally = _Tally()
    resolver = _link_resolver(settings, con, tally, fetched_at) if mailbox.resolve_links else None
    writer = _Writer(con, tally, resolver)
    with ImapFolder(mailbox, mailbox_password(mailbox), settings.mail_timeout) as folder:
        opened = folder.examine()
        state = mailbox_state(con, mailbox.source_id)
        resynced = state.uidvalidity is not None and state.uidvalidity != opened.uidvalidity
        last_uid = 0 if resynced else state.last_uid
        if resynced:
            # The server renumbered the folder: old UIDs mean nothing now. Read it all
            # again; stories keep their Message-ID ids, so none is stored twice.
            restart_mailbox(con, mailbox.source_id, opened.uidvalidity)
        uids = folder.uids_after(last_uid)
        for message in folder.fetch(uids, settings.mail_max_bytes):
            name = f"{mailbox.name} UID {message.uid}"
            skipped_before = len(tally.skipped)
            if message.data is None:
                tally.skip(name, f"too large ({message.size:,} bytes; the limit is "
                                 f"{settings.mail_max_bytes:,})")  # fmt: skip
            else:
                try:
                    parsed = parse_message(
                        message.data,
                        max_bytes=settings.mail_max_bytes,
                        internal_date=message.internal_date,
                    )
                except MessageError as exc:
                    tally.skip(name, str(exc))
                else:
                    outlet, articles = message_articles(parsed, None, fetched_at)
                    tally.count(parsed, articles)
                    writer.add(outlet, articles)
            skipped = len(tally.skipped) - skipped_before
            # Each message moves the UID on in the same transaction as its stories.
            writer.flush(
                mailbox=mailbox.source_id,
                progress=MailProgress(
                    uidvalidity=opened.uidvalidity,
                    last_uid=message.uid,
                    last_message_at=tally.last_message_at,
                    read=1 - skipped,
                    skipped=skipped,
                    last_skipped=f"{tally.skipped[-1].name}: {tally.skipped[-1].reason}"
                    if skipped
                    else None,
                ),
            )
            last_uid = message.uid
    return MailboxReport(
        mailbox.source_id,
        mailbox.name,
        mailbox.url,
        "ok",
        messages=tally.messages,
        stories=tally.stories,
        new_articles=tally.new_articles,
        last_uid=last_uid,
        resynced=resynced,
        skipped=tuple(tally.skipped),
    )


def read_mailboxes(
    settings: Settings,
    mailboxes: Iterable[MailboxSource],
    *,
    progress: Progress | None = None,
    now: Callable[[], datetime] = utcnow,
) -> tuple[MailboxReport, ...]:
    """Read the new messages of each IMAP mailbox; one failing never stops the others.

    Each mailbox's status (ok, or failed with its error in words) is recorded on its
    sources row (``kind = 'mailbox'``), its UID state in ``mail_state``.
    """
    from newsintel.store.connect import transaction
    from newsintel.store.mail import record_mailbox_status, upsert_mailboxes

    mailboxes = list(mailboxes)
    progress = progress or NoProgress()
    reports: list[MailboxReport] = []
    if not mailboxes:
        return ()
    with open_db(settings.db) as con:
        migrate(con)
        with transaction(con):
            upsert_mailboxes(con, [(m.source_id, m.name, m.url) for m in mailboxes])
        progress.start("reading mailboxes", len(mailboxes))
        for mailbox in mailboxes:
            fetched_at = now()
            try:
                report = _read_mailbox(settings, con, mailbox, fetched_at)
            except NewsintelError as exc:  # mailbox, config or store: this mailbox fails alone
                report = MailboxReport(
                    mailbox.source_id, mailbox.name, mailbox.url, "failed", error=str(exc)
                )
            record_mailbox_status(
                con,
                SourceUpdate(mailbox.source_id, report.status, fetched_at, error=report.error),
            )
            reports.append(report)
            progress.advance()
        progress.finish()
    return tuple(reports)


def ingest_mailboxes(
    settings: Settings,
    feeds_file: Path | None,
    *,
    progress: Progress | None = None,
    now: Callable[[], datetime] = utcnow,
) -> tuple[MailboxReport, ...]:
    """The mailboxes of the feeds file, read as ``read_mailboxes`` does (for ``ingest``)."""
    from newsintel.mail.sources import load_mailboxes

    mailboxes = load_mailboxes(feeds_file or Path(settings.feeds_file))
    return read_mailboxes(settings, mailboxes, progress=progress, now=now)
