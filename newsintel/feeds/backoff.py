"""When to check a feed next: polite intervals, exponential backoff with jitter.

Like miniflux, a failing feed is never given up on: each consecutive failure doubles
the wait (with jitter, so that feeds failing together do not retry together), capped
at one day. A server's Retry-After is a lower bound on the wait.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

BASE_DELAY = timedelta(minutes=5)
MAX_DELAY = timedelta(hours=24)
# A Retry-After beyond this is treated as a misconfiguration, not a promise.
MAX_RETRY_AFTER = timedelta(days=7)
JITTER = 0.2


def next_check_at(
    now: datetime,
    *,
    status: str,
    consecutive_failures: int,
    retry_after_s: float | None,
    min_interval_minutes: int,
    rng: random.Random,
) -> datetime:
    """The earliest time a feed should be fetched again.

    ``status`` is the fetch status ("ok", "not_modified" or "failed");
    ``consecutive_failures`` counts failures including this one. Success waits the
    feed's ``min_interval_minutes``. Failure waits 5 min x 2^(failures - 1), +-20 %
    jitter, capped at 24 h, but never less than the minimum interval or Retry-After.
    """
    floor = timedelta(minutes=max(0, min_interval_minutes))
    if retry_after_s is not None and retry_after_s > 0:
        floor = max(floor, min(timedelta(seconds=retry_after_s), MAX_RETRY_AFTER))
    if status != "failed":
        return now + floor
    exponent = max(1, consecutive_failures) - 1
    # Past 2^9 the cap has long been reached; stop growing to keep the float finite.
    delay = BASE_DELAY * (1 << min(exponent, 9))
    delay *= rng.uniform(1 - JITTER, 1 + JITTER)
    return now + max(min(delay, MAX_DELAY), floor)


def is_stale(last_success_at: datetime | None, now: datetime, days: float = 3) -> bool:
    """Whether a feed has had no successful fetch in ``days`` (or ever): a health flag."""
    if last_success_at is None:
        return True
    return now - last_success_at > timedelta(days=days)
