"""Every writing job ends by publishing a read snapshot (newsintel.store.snapshots).

``@publishes`` goes on each job that writes the database. Jobs call each other (``run``
calls ingest, embed, assign...), so only the outermost one publishes: readers see the
state after the whole run, once, rather than a snapshot per step.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Concatenate, ParamSpec, TypeVar

from newsintel.config import Settings
from newsintel.errors import DatabaseLockedError
from newsintel.store.snapshots import Snapshot, publish

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)

# How many writing jobs are running in this context (a thread, or the scheduler's loop).
_DEPTH: ContextVar[int] = ContextVar("newsintel_publish_depth", default=0)


def publish_snapshot(settings: Settings) -> Snapshot | None:
    """Publish a snapshot of ``settings.db`` now; None when there is nothing to publish.

    Another writer holding the file for a minute is not our failure: the job's data is
    committed, and that writer publishes it along with its own when it ends.
    """
    try:
        return publish(settings.db)
    except DatabaseLockedError as exc:
        log.warning("snapshot not published (%s); the next writing job publishes it", exc)
        return None


def publishes(job: Callable[Concatenate[Settings, P], R]) -> Callable[Concatenate[Settings, P], R]:
    """Decorate a writing job: after it succeeds, publish a snapshot (outermost job only).

    A job that raises publishes nothing, so readers keep the last complete state.
    """

    @functools.wraps(job)
    def wrapper(settings: Settings, /, *args: P.args, **kwargs: P.kwargs) -> R:
        token = _DEPTH.set(_DEPTH.get() + 1)
        try:
            result = job(settings, *args, **kwargs)
        finally:
            _DEPTH.reset(token)
        if _DEPTH.get() == 0:
            publish_snapshot(settings)
        return result

    return wrapper
