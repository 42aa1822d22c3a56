"""Mailboxes: their sources rows, UID/UIDVALIDITY state and the stories read from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from newsintel.models import Article, SourceUpdate
from newsintel.store.connect import Connection, transaction
from newsintel.store.feeds import insert_article_batches, record_fetches, upsert_outlets

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class MailboxState:
    """How far a mailbox has been read: its folder's UIDVALIDITY and highest UID read."""

    source_id: str
    uidvalidity: int | None
    last_uid: int


@dataclass(frozen=True)
class MailProgress:
    """What one batch of a mailbox read changes in ``mail_state``."""

    uidvalidity: int
    last_uid: int
    last_message_at: datetime | None
    read: int
    skipped: int
    last_skipped: str | None = None


def upsert_mailboxes(con: Connection, mailboxes: Sequence[tuple[str, str, str]]) -> None:
    """Create or rename the sources rows (id, name, url) of configured mailboxes."""
    if not mailboxes:
        return
    ids, names, urls = (list(column) for column in zip(*mailboxes, strict=True))
    con.register(
        "_mailboxes",
        pa.table({"source_id": ids, "name": names, "url": urls}),
    )
    try:
        con.execute(
            """
            INSERT INTO sources (source_id, name, url, configured_url, kind)
            SELECT source_id, name, url, url, 'mailbox' FROM _mailboxes
            ON CONFLICT (source_id) DO UPDATE SET
                name = excluded.name, url = excluded.url,
                configured_url = excluded.configured_url, kind = 'mailbox'
            """
        )
    finally:
        con.unregister("_mailboxes")


def mailbox_state(con: Connection, source_id: str) -> MailboxState:
    """The stored state of a mailbox; a never-read one has no UIDVALIDITY and UID 0."""
    row = con.execute(
        "SELECT uidvalidity, last_uid FROM mail_state WHERE source_id = ?", [source_id]
    ).fetchone()
    if row is None:
        return MailboxState(source_id, None, 0)
    return MailboxState(source_id, None if row[0] is None else int(row[0]), int(row[1]))


def save_mail_stories(
    con: Connection,
    messages: Sequence[Sequence[Article]],
    outlets: Sequence[tuple[str, str, str]],
    *,
    mailbox: str | None = None,
    progress: MailProgress | None = None,
) -> int:
    """Store the stories of a batch of messages in one transaction; the number added.

    ``messages`` holds each message's articles (issue first). ``outlets`` (id, name,
    url) are the newsletters they came from, created as ``kind = 'outlet'`` rows when
    new. With ``mailbox`` and ``progress``, the mailbox's UID state moves on in the
    same transaction, so a crash never skips a message nor stores one twice. Ids
    already stored are skipped; a story matching another source's story by title
    within days joins it (the web copy of the same newsletter, for one).
    """
    with transaction(con):
        upsert_outlets(con, outlets)
        added = insert_article_batches(con, messages)
        if mailbox is not None and progress is not None:
            _advance(con, mailbox, progress)
    return added


def _advance(con: Connection, source_id: str, p: MailProgress) -> None:
    con.execute(
        """
        INSERT INTO mail_state AS m (source_id, uidvalidity, last_uid, last_message_at,
                                     messages_read, messages_skipped, last_skipped)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (source_id) DO UPDATE SET
            uidvalidity = excluded.uidvalidity,
            last_uid = greatest(m.last_uid, excluded.last_uid),
            last_message_at = CASE
                WHEN m.last_message_at IS NULL THEN excluded.last_message_at
                WHEN excluded.last_message_at IS NULL THEN m.last_message_at
                ELSE greatest(m.last_message_at, excluded.last_message_at) END,
            messages_read = m.messages_read + excluded.messages_read,
            messages_skipped = m.messages_skipped + excluded.messages_skipped,
            last_skipped = coalesce(excluded.last_skipped, m.last_skipped)
        """,
        [source_id, p.uidvalidity, p.last_uid, p.last_message_at, p.read, p.skipped,
         p.last_skipped],
    )  # fmt: skip


def restart_mailbox(con: Connection, source_id: str, uidvalidity: int) -> None:
    """Forget how far a mailbox was read: its folder was renumbered (new UIDVALIDITY)."""
    con.execute(
        """
        INSERT INTO mail_state AS m (source_id, uidvalidity, last_uid, resyncs)
        VALUES (?, ?, 0, 1)
        ON CONFLICT (source_id) DO UPDATE SET
            uidvalidity = excluded.uidvalidity, last_uid = 0, resyncs = m.resyncs + 1
        """,
        [source_id, uidvalidity],
    )


def record_mailbox_status(con: Connection, update: SourceUpdate) -> None:
    """Record a mailbox read (ok or failed, with its error) as feeds record fetches."""
    with transaction(con):
        record_fetches(con, [update])


def mailbox_health(con: Connection) -> list[dict[str, object]]:
    """Rows of v_mailbox_health (column name -> value), by mailbox name."""
    cursor = con.execute("SELECT * FROM v_mailbox_health ORDER BY name")
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def mailbox_health_frame(con: Connection) -> pd.DataFrame:
    """Mailbox health for the Sources page, failing mailboxes first."""
    return con.execute(
        """
        SELECT name, url, last_status, last_error, last_fetch_at, last_success_at,
               consecutive_failures, last_uid, last_message_at, messages_read,
               messages_skipped, last_skipped
        FROM v_mailbox_health
        ORDER BY consecutive_failures DESC, name
        """
    ).df()


def known_links(con: Connection, urls: Sequence[str]) -> dict[str, str | None]:
    """The stored answers for ``urls``: url -> the URL it leads to (None: nowhere usable).

    Links never asked about (or whose last answer was not final) are absent.
    """
    if not urls:
        return {}
    rows = con.execute(
        "SELECT url, resolved_url FROM link_redirects WHERE url IN (SELECT unnest(?))",
        [list(dict.fromkeys(urls))],
    ).fetchall()
    return {str(url): None if resolved is None else str(resolved) for url, resolved in rows}


def save_links(
    con: Connection,
    answers: Sequence[tuple[str, str | None, int | None, int, str | None]],
    resolved_at: datetime,
) -> None:
    """Keep final link answers (url, resolved_url, http_status, hops, error); a link
    asked about again (its earlier answer was not final, or two runs raced) is updated.
    """
    if not answers:
        return
    url, resolved, status, hops, error = (list(c) for c in zip(*answers, strict=True))
    table = pa.table(
        {"url": url, "resolved_url": resolved, "http_status": status, "hops": hops,
         "error": error, "resolved_at": [resolved_at] * len(url)},
        schema=pa.schema([("url", pa.string()), ("resolved_url", pa.string()),
                          ("http_status", pa.int32()), ("hops", pa.int32()),
                          ("error", pa.string()), ("resolved_at", pa.timestamp("us"))]),
    )  # fmt: skip
    with transaction(con):
        # Registered inside the transaction: BEGIN ends any result a caller left unread,
        # which register() would refuse to run beside.
        con.register("_answers", table)
        con.execute(
            """
            INSERT INTO link_redirects BY NAME SELECT * FROM _answers
            ON CONFLICT (url) DO UPDATE SET
                resolved_url = excluded.resolved_url, http_status = excluded.http_status,
                hops = excluded.hops, error = excluded.error,
                resolved_at = excluded.resolved_at
            """
        )
        con.unregister("_answers")
