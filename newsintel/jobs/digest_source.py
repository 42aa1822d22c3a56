"""Where the digest job reads and writes: content from the snapshot, its log on the file.

The digest is built from the newest read snapshot (``store.snapshots``), like the app
and ``newsintel sql``: a pipeline run holding the database never delays or fails it.
Only digest_log, the record that keeps a re-run from sending twice, is written to the
database file itself, the single writable copy; it is read there too, because a
snapshot can predate the last delivery.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from newsintel.config import Settings
from newsintel.store import migrate, open_db
from newsintel.store.snapshots import open_snapshot

if TYPE_CHECKING:
    from newsintel.digest.build import Period
    from newsintel.digest.content import DigestContent
    from newsintel.store.connect import Connection

# How long a delivery waits for another writer to let go of the file before it records
# itself. A `newsintel run` step can hold it for tens of seconds at 1M stories; the mail
# has gone by then, so giving up early would mean sending it again on the next run.
LOG_LOCK_WAIT_S = 300.0


@dataclass(frozen=True)
class DigestSource:
    """What a digest says, and the theme ids and labels a recipient may name."""

    content: DigestContent
    known_themes: tuple[str, ...]


def read_digest(
    settings: Settings, period: Period, day: date | None, *, now: datetime
) -> DigestSource:
    """Build the digest from the newest snapshot; never waits for a writer."""
    from newsintel.jobs.digest_content import build_digest
    from newsintel.store.themes import theme_summaries

    with open_snapshot(settings.db) as con:
        content = build_digest(con, period, day, price_series=settings.price_series, now=now)
        known = tuple(name for s in theme_summaries(con) for name in (s.theme_id, s.label))
    return DigestSource(content, known)


@contextmanager
def digest_log(settings: Settings) -> Iterator[Connection]:
    """The writable database, migrated, for reading and recording deliveries."""
    with open_db(settings.db, lock_wait_s=LOG_LOCK_WAIT_S) as con:
        # A database from an older newsintel may lack digest_log until migrated.
        migrate(con)
        yield con
