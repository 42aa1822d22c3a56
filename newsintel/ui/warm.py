"""Warm a newly published snapshot before the app's readers switch to it.

Results are cached per snapshot (``ui.data``), so the first page loads on a new
snapshot compute their queries: at 1M stories the Overview's take seconds, and every
session that arrives meanwhile waits on the same cache key. Measured with 25 sessions
pausing about 10 s a page: p95 1.69 s on a freshly published snapshot, 0.133 s on the
same snapshot warm (BENCHMARKS.md, load, 2026-12-03 12:10).

So the app keeps serving the snapshot it has while a background thread replays, on
the new one, the calls its pages made recently (each cached data function records its
arguments, less the database, as it is called); then the app switches
(``ui.snapshot``). The replay is exactly what the pages asked for, whatever their
widgets said, with no page logic repeated here.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)

# The most recent distinct calls kept for replay: a page load makes a dozen.
RECENT_CALLS = 128

# A recorded call: the function, its arguments (less the database), and how to adapt
# them to another snapshot (None: as they are).
Rebind = Callable[[str, tuple[Any, ...]], tuple[Any, ...]]
_Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], Rebind | None]

_recent: OrderedDict[Hashable, _Call] = OrderedDict()
_lock = threading.Lock()


def recorded(fn: Callable[Concatenate[str, P], R]) -> Callable[Concatenate[str, P], R]:
    """Decorate a cached data function whose first argument is the database: its calls
    are remembered (without the database) for ``replay``."""
    return recorded_with(None)(fn)


def recorded_with(
    rebind: Rebind | None,
) -> Callable[[Callable[Concatenate[str, P], R]], Callable[Concatenate[str, P], R]]:
    """``recorded``, with ``rebind(db, args)`` giving the arguments to replay on ``db``:
    for calls whose arguments name something the new data replaces (a topic build)."""

    def decorate(fn: Callable[Concatenate[str, P], R]) -> Callable[Concatenate[str, P], R]:
        @functools.wraps(fn)
        def wrapper(db: str, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                key: Hashable = (fn.__qualname__, args, tuple(sorted(kwargs.items())))
                hash(key)
            except TypeError:
                pass  # an argument that cannot be a key: not replayed
            else:
                with _lock:
                    _recent[key] = (fn, args, dict(kwargs), rebind)
                    _recent.move_to_end(key)
                    while len(_recent) > RECENT_CALLS:
                        _recent.popitem(last=False)
            return fn(db, *args, **kwargs)

        return wrapper

    return decorate


def recent_calls() -> int:
    with _lock:
        return len(_recent)


def replay(db: str) -> int:
    """Make the recent calls again on ``db``, most recent first; returns how many ran.

    A call that fails is logged and skipped: warming is an optimisation, and the page
    that needs that result will compute it (and show its error) itself.
    """
    with _lock:
        calls = list(reversed(_recent.values()))
    done = 0
    for fn, args, kwargs, rebind in calls:
        try:
            fn(db, *(rebind(db, args) if rebind is not None else args), **kwargs)
            done += 1
        except Exception:  # never fail the warm-up for one query
            log.warning("warming %s on %s failed", fn.__qualname__, db, exc_info=True)
    return done
