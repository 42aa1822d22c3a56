"""What every job shares: progress reporting, the clock, run ids, an initialised database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from newsintel.config import Settings
from newsintel.jobs.publish import publishes
from newsintel.store import migrate, open_db
from newsintel.store.schema import current_version


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


@dataclass(frozen=True)
class InitReport:
    db: str
    version: int
    applied: tuple[int, ...]


@publishes
def init_db(settings: Settings) -> InitReport:
    """Create the database or bring its schema up to date."""
    with open_db(settings.db) as con:
        applied = migrate(con)
        version = current_version(con)
    return InitReport(settings.db, version, tuple(m.version for m in applied))


def new_run_id() -> str:
    """A sortable, unique id for one analysis run."""
    return utcnow().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
