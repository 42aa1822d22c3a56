"""`newsintel schedule`: when each job fires, and a lock so that runs never overlap.

Three jobs: the pipeline (``jobs.run``) every ``schedule_run_minutes``, the daily
digest at ``schedule_daily_digest_at`` and the weekly digest on Mondays at
``schedule_weekly_digest_at``, all in ``settings.timezone``. A digest always covers the
previous complete period: yesterday, or last Monday to Sunday.

Triggers are APScheduler cron triggers in the configured zone, so "07:00" stays 07:00
local time across daylight-saving changes. Times between 01:00 and 03:00 can fire twice
or not at all on the night the clocks change (the hour repeats or does not exist);
digest_log keeps a repeated digest from being sent twice.

Runs never overlap: inside one scheduler a single worker thread runs the jobs one
after another, and every run takes ``RunLock``, an ``fcntl.flock`` on a lock file next
to the database, which cron entries and systemd units take too (see pipelines/). The
kernel drops a flock when its holder exits, however it exits, so a lock file left
behind by a crash never blocks anyone.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsintel.config import Settings
from newsintel.errors import ConfigError, NewsintelError, StoreError

log = logging.getLogger(__name__)

JobId = Literal["run", "daily_digest", "weekly_digest"]
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# Seconds a digest waits for the lock held by a run (a pipeline run takes minutes); a
# pipeline run never waits, because the next one is due soon anyway.
DIGEST_LOCK_WAIT_S = 600.0
# How late a job may still start when the scheduler could not start it on time (the
# machine slept, or the worker was busy): a digest hours late is still wanted, a
# pipeline run is simply replaced by the next one.
_GRACE_S = {"run": 300, "daily_digest": 6 * 3600, "weekly_digest": 12 * 3600}


@dataclass(frozen=True)
class ScheduledJob:
    """One job of the schedule: its id, what it does and its APScheduler trigger."""

    job_id: JobId
    description: str
    trigger: Any  # an apscheduler BaseTrigger (APScheduler 3 has no type hints)
    lock_wait_s: float


@dataclass(frozen=True)
class RunOutcome:
    """What one scheduled run did: ``status`` is done, skipped or failed."""

    job_id: str
    status: Literal["done", "skipped", "failed"]
    detail: str
    seconds: float


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ConfigError when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"setting 'timezone' must be an IANA time zone such as Europe/London, got {name!r}"
        ) from None


def parse_clock(text: str, setting: str) -> tuple[int, int]:
    """(hour, minute) of an "HH:MM" setting; ConfigError naming the setting otherwise."""
    match = _CLOCK.match(text.strip())
    if match is None:
        raise ConfigError(f"setting '{setting}' must be a time HH:MM (24 h), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def run_trigger(minutes: int, tz: ZoneInfo, now: datetime) -> Any:
    """A trigger firing every ``minutes``, on round clock times when that is possible.

    Intervals that divide an hour (or a day, in whole hours) become cron triggers, so
    that runs happen at :00 and :30 rather than 30 minutes after whenever the
    scheduler started; any other interval counts from ``now``.
    """
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if not 1 <= minutes <= 1440:
        raise ConfigError(
            f"setting 'schedule_run_minutes' must be between 1 and 1440, got {minutes}"
        )
    if 60 % minutes == 0:
        return CronTrigger(minute=f"*/{minutes}", timezone=tz)
    if minutes % 60 == 0 and 24 % (minutes // 60) == 0:
        return CronTrigger(hour=f"*/{minutes // 60}", minute=0, timezone=tz)
    return IntervalTrigger(
        minutes=minutes, start_date=now + timedelta(minutes=minutes), timezone=tz
    )


def plan(settings: Settings, now: datetime | None = None) -> tuple[ScheduledJob, ...]:
    """The jobs of ``newsintel schedule`` with their triggers; checks every setting."""
    from apscheduler.triggers.cron import CronTrigger

    tz = zone(settings.timezone)
    now = now or datetime.now(tz)
    minutes = settings.schedule_run_minutes
    daily_h, daily_m = parse_clock(settings.schedule_daily_digest_at, "schedule_daily_digest_at")
    weekly_h, weekly_m = parse_clock(
        settings.schedule_weekly_digest_at, "schedule_weekly_digest_at"
    )
    return (
        ScheduledJob(
            "run",
            f"every {minutes} minutes: ingest, embed, assign themes, analyse, topics",
            run_trigger(minutes, tz, now),
            0.0,
        ),
        ScheduledJob(
            "daily_digest",
            f"daily at {daily_h:02d}:{daily_m:02d}: send yesterday's daily digest",
            CronTrigger(hour=daily_h, minute=daily_m, timezone=tz),
            DIGEST_LOCK_WAIT_S,
        ),
        ScheduledJob(
            "weekly_digest",
            f"Mondays at {weekly_h:02d}:{weekly_m:02d}: send last week's weekly digest",
            CronTrigger(day_of_week="mon", hour=weekly_h, minute=weekly_m, timezone=tz),
            DIGEST_LOCK_WAIT_S,
        ),
    )


def next_fire_times(job: ScheduledJob, now: datetime, count: int = 3) -> tuple[datetime, ...]:
    """The next ``count`` times ``job`` fires after ``now`` (aware, in the job's zone)."""
    times: list[datetime] = []
    previous: datetime | None = None
    moment = now
    while len(times) < count:
        fire = job.trigger.get_next_fire_time(previous, moment)
        if fire is None:
            break
        times.append(fire)
        # Given the previous fire time, a trigger answers with the one after it. (Adding
        # a microsecond here instead would lose the fold of a repeated DST hour.)
        previous = moment = fire
    return tuple(times)


def previous_period_day(period: str, today: date) -> date:
    """A day inside the last complete ``period`` before ``today``: what a digest covers.

    Daily: yesterday. Weekly: the Monday of the week before ``today``'s week, whatever
    weekday the digest actually runs on (a late run on Tuesday still sends last week).
    """
    if period == "daily":
        return today - timedelta(days=1)
    if period == "weekly":
        return today - timedelta(days=today.weekday() + 7)
    raise ConfigError(f"period must be daily or weekly, got {period!r}")


def local_today(timezone: str, now: datetime | None = None) -> date:
    """Today's date in ``timezone``."""
    moment = now or datetime.now(zone(timezone))
    return moment.astimezone(zone(timezone)).date()


# --- the lock ---------------------------------------------------------------------------


def lock_path(settings: Settings) -> Path:
    """The lock file: ``<db>.lock`` beside a file database, else one in the temp folder."""
    db_file = settings.db_path()
    if db_file is not None:
        return db_file.with_name(db_file.name + ".lock")
    digest = hashlib.sha256(settings.db.encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"newsintel-{digest}.lock"


class RunLock:
    """An exclusive, non-blocking ``flock`` on ``path``, across threads and processes.

    Each ``acquire`` opens the file anew: flock locks belong to an open file, so a
    second thread of the same process is refused just like another process.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, wait_s: float = 0.0, poll_s: float = 0.5) -> bool:
        """Take the lock, waiting up to ``wait_s`` seconds; False when it stays held."""
        if self._fd is not None:
            raise StoreError(f"lock {self.path} is already held by this RunLock")
        deadline = time.monotonic() + wait_s
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() >= deadline:
                    return False
                time.sleep(min(poll_s, max(deadline - time.monotonic(), 0.0)))
                continue
            except OSError as exc:
                os.close(fd)
                raise StoreError(f"cannot lock {self.path}: {exc.strerror}") from None
            # The holder's pid in the file is for people looking; the flock is the lock.
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return True

    def release(self) -> None:
        """Let go of the lock (the file stays: removing it would race a new holder)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot open lock file {self.path}: {exc.strerror}") from None


@contextmanager
def locked(path: Path, wait_s: float = 0.0) -> Iterator[bool]:
    """``with locked(path) as got:`` runs the block with ``got`` True if the lock was taken."""
    lock = RunLock(path)
    got = lock.acquire(wait_s)
    try:
        yield got
    finally:
        lock.release()


def guarded_run(
    job_id: str, action: Callable[[], str], lock_file: Path, wait_s: float = 0.0
) -> RunOutcome:
    """Run ``action`` under the lock and log its outcome; never raises.

    A run that finds the lock held (after ``wait_s``) is skipped. Errors are logged
    and reported, so that one failed run never stops the scheduler.
    """
    started = time.monotonic()
    outcome: RunOutcome
    try:
        with locked(lock_file, wait_s) as got:
            if not got:
                outcome = RunOutcome(job_id, "skipped", f"{lock_file} is held by another run", 0.0)
                log.warning("%s skipped: %s", job_id, outcome.detail)
                return outcome
            detail = action()
    except NewsintelError as exc:
        outcome = RunOutcome(job_id, "failed", str(exc), time.monotonic() - started)
        log.error("%s failed after %.1f s: %s", job_id, outcome.seconds, exc)
        return outcome
    except Exception as exc:  # a bug must not stop the scheduler; the traceback is logged
        outcome = RunOutcome(job_id, "failed", repr(exc), time.monotonic() - started)
        log.exception("%s failed after %.1f s", job_id, outcome.seconds)
        return outcome
    outcome = RunOutcome(job_id, "done", detail, time.monotonic() - started)
    log.info("%s done in %.1f s: %s", job_id, outcome.seconds, detail)
    return outcome


# --- the scheduler ----------------------------------------------------------------------


def build_scheduler(
    jobs: Sequence[ScheduledJob],
    actions: Mapping[str, Callable[[], str]],
    lock_file: Path,
    timezone: str,
) -> Any:
    """A BlockingScheduler running each job's action under the lock, one at a time."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    # One worker: jobs due together queue up instead of running side by side.
    scheduler = BlockingScheduler(
        timezone=zone(timezone), executors={"default": ThreadPoolExecutor(max_workers=1)}
    )
    for job in jobs:
        scheduler.add_job(
            guarded_run,
            trigger=job.trigger,
            args=(job.job_id, actions[job.job_id], lock_file, job.lock_wait_s),
            id=job.job_id,
            name=job.description,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=_GRACE_S[job.job_id],
        )
    return scheduler


_STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


def _ignore(signum: int, frame: object) -> None:
    """The Python-level handler: the work happens in the wake-up fd's reader."""


def serve(scheduler: Any) -> None:
    """Run ``scheduler`` until SIGTERM (how systemd stops a service) or Ctrl-C.

    A run in progress is finished before the process exits; no new one starts.
    """
    from apscheduler.schedulers import SchedulerNotRunningError

    # Self-pipe: Python's C-level handler writes each signal's number to the wake-up
    # fd, and a helper thread reading it shuts the scheduler down from ordinary code.
    # Doing that in a Python handler instead would run it at an arbitrary point of the
    # main thread, where a raised exception can be swallowed (inside logging) and a
    # lock taken can deadlock (inside the scheduler's own wait).
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    finished = threading.Event()

    def stop_on_signal() -> None:
        try:
            while data := os.read(read_fd, 1):
                if data[0] not in _STOP_SIGNALS:
                    continue
                name = signal.Signals(data[0]).name
                log.info("received %s: stopping after the current run", name)
                while not finished.is_set():
                    try:
                        scheduler.shutdown(wait=False)
                        return
                    except SchedulerNotRunningError:
                        time.sleep(0.05)  # not started yet: stop it as soon as it is
        finally:
            os.close(read_fd)

    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    previous = {signum: signal.signal(signum, _ignore) for signum in _STOP_SIGNALS}
    threading.Thread(target=stop_on_signal, name="newsintel-stop", daemon=True).start()
    try:
        for job in scheduler.get_jobs():
            log.info("scheduled %s (%s)", job.id, job.name)
        scheduler.start()
    finally:
        finished.set()
        signal.set_wakeup_fd(previous_fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.close(write_fd)  # the reader sees end-of-file and ends
