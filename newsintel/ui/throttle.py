"""Failed sign-ins slow the next attempt down, exponentially (pure Python, no streamlit).

Keys are a browser session and a client address: changing one of them (a new tab, a
new session) does not reset the other. The first ``free`` failures cost nothing (typos);
after that each failure doubles the wait before the next attempt is even checked,
up to ``cap_s``. A success clears the keys it was made under.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass
class _Failures:
    count: int
    last: float


class Throttle:
    """Counts failures per key and says how long a key must still wait."""

    def __init__(
        self,
        *,
        free: int = 3,
        base_s: float = 1.0,
        cap_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.base_s, self.cap_s, self._clock = free, base_s, cap_s, clock
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()  # one Throttle serves every session's thread

    def delay_after(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failures: 0, then base, 2x base, 4x base..."""
        if failures < self.free:
            return 0.0
        return min(self.base_s * 2.0 ** (failures - self.free), self.cap_s)

    def wait_s(self, keys: Iterable[str]) -> float:
        """How long the longest-penalised of ``keys`` must still wait (0: may try now)."""
        now = self._clock()
        with self._lock:
            waits = [
                f.last + self.delay_after(f.count) - now
                for f in (self._failures.get(k) for k in keys)
                if f is not None
            ]
        return max([0.0, *waits])

    def failed(self, keys: Iterable[str]) -> None:
        """Record a failed attempt under every key."""
        now = self._clock()
        with self._lock:
            self._forget_old(now)
            for key in keys:
                entry = self._failures.setdefault(key, _Failures(0, now))
                entry.count += 1
                entry.last = now

    def succeeded(self, keys: Iterable[str]) -> None:
        """Forget the failures of every key."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _forget_old(self, now: float) -> None:
        # Bounded memory under a flood of addresses: a key quiet for twice the longest
        # delay has nothing left to wait for.
        stale = [k for k, f in self._failures.items() if now - f.last > 2 * self.cap_s]
        for key in stale:
            del self._failures[key]
