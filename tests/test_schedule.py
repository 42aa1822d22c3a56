"""newsintel.schedule: fire times in a time zone (across DST changes) and the run lock."""

from __future__ import annotations

import itertools
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from newsintel.cli import main
from newsintel.config import Settings
from newsintel.errors import ConfigError, DigestError
from newsintel.schedule import (
    RunLock,
    build_scheduler,
    guarded_run,
    local_today,
    lock_path,
    locked,
    next_fire_times,
    parse_clock,
    plan,
    previous_period_day,
    run_trigger,
    zone,
)

LONDON = ZoneInfo("Europe/London")
ROOT = Path(__file__).resolve().parent.parent


def london(settings: Settings, **changes: object) -> Settings:
    return replace(settings, timezone="Europe/London", **changes)  # type: ignore[arg-type]


def jobs_by_id(settings: Settings, now: datetime) -> dict[str, object]:
    return {job.job_id: job for job in plan(settings, now)}


# --- fire times -------------------------------------------------------------------------


def test_daily_digest_stays_at_seven_local_across_the_october_clock_change(
    settings: Settings,
) -> None:
    # Europe/London leaves summer time at 02:00 BST on Sunday 2026-10-25.
    now = datetime(2026, 10, 23, 12, 0, tzinfo=LONDON)
    daily = plan(london(settings), now)[1]
    assert daily.job_id == "daily_digest"
    fires = next_fire_times(daily, now, 4)
    assert [(f.date(), f.hour, f.minute) for f in fires] == [
        (date(2026, 10, 24), 7, 0),
        (date(2026, 10, 25), 7, 0),
        (date(2026, 10, 26), 7, 0),
        (date(2026, 10, 27), 7, 0),
    ]
    # 07:00 BST is 06:00 UTC; from the 25th 07:00 GMT is 07:00 UTC.
    assert [f.astimezone(UTC).hour for f in fires] == [6, 7, 7, 7]
    assert [f.utcoffset() for f in fires] == [timedelta(hours=1)] + [timedelta(0)] * 3


def test_weekly_digest_fires_on_mondays_local_time(settings: Settings) -> None:
    now = datetime(2026, 10, 13, 8, 0, tzinfo=LONDON)  # a Tuesday
    weekly = plan(london(settings, schedule_weekly_digest_at="07:15"), now)[2]
    fires = next_fire_times(weekly, now, 3)
    assert [f.date() for f in fires] == [date(2026, 10, 19), date(2026, 10, 26), date(2026, 11, 2)]
    assert all(f.weekday() == 0 and (f.hour, f.minute) == (7, 15) for f in fires)
    assert [f.astimezone(UTC).hour for f in fires] == [6, 7, 7]


def test_run_every_30_minutes_keeps_real_30_minute_gaps_through_the_repeated_hour(
    settings: Settings,
) -> None:
    now = datetime(2026, 10, 25, 0, 50, tzinfo=LONDON)
    run = plan(london(settings), now)[0]
    fires = next_fire_times(run, now, 6)
    # 01:00 and 01:30 happen twice that night: once in BST, once in GMT.
    assert [f.strftime("%H:%M %Z") for f in fires] == [
        "01:00 BST",
        "01:30 BST",
        "01:00 GMT",
        "01:30 GMT",
        "02:00 GMT",
        "02:30 GMT",
    ]
    in_utc = [f.astimezone(UTC) for f in fires]
    assert {later - earlier for earlier, later in itertools.pairwise(in_utc)} == {
        timedelta(minutes=30)
    }


def test_march_clock_change_keeps_the_digest_at_seven(settings: Settings) -> None:
    now = datetime(2026, 3, 28, 12, 0, tzinfo=LONDON)
    fires = next_fire_times(plan(london(settings), now)[1], now, 2)
    assert [f.strftime("%Y-%m-%d %H:%M %Z") for f in fires] == [
        "2026-03-29 07:00 BST",
        "2026-03-30 07:00 BST",
    ]


def test_run_interval_shapes_and_limits() -> None:
    now = datetime(2026, 5, 4, 10, 7, tzinfo=UTC)
    tz = zone("UTC")

    def first(minutes: int) -> datetime:
        return run_trigger(minutes, tz, now).get_next_fire_time(None, now)  # type: ignore[no-any-return]

    assert first(15) == datetime(2026, 5, 4, 10, 15, tzinfo=UTC)  # on the clock
    assert first(120) == datetime(2026, 5, 4, 12, 0, tzinfo=UTC)  # every 2 h, on the hour
    assert first(45) == now + timedelta(minutes=45)  # 45 divides no hour: from now
    for bad in (0, -5, 1441):
        with pytest.raises(ConfigError, match="schedule_run_minutes"):
            run_trigger(bad, tz, now)


@pytest.mark.parametrize(
    ("text", "expected"), [("07:00", (7, 0)), ("7:05", (7, 5)), (" 23:59 ", (23, 59))]
)
def test_parse_clock_accepts_24h_times(text: str, expected: tuple[int, int]) -> None:
    assert parse_clock(text, "schedule_daily_digest_at") == expected


@pytest.mark.parametrize("text", ["7am", "24:00", "07:60", "0700", ""])
def test_parse_clock_names_the_setting(text: str) -> None:
    with pytest.raises(ConfigError, match="schedule_weekly_digest_at"):
        parse_clock(text, "schedule_weekly_digest_at")


def test_bad_timezone_is_a_config_error(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="IANA time zone"):
        plan(replace(settings, timezone="Mars/Olympus_Mons"))


@pytest.mark.parametrize(
    ("period", "today", "expected"),
    [
        ("daily", date(2026, 10, 26), date(2026, 10, 25)),
        ("daily", date(2026, 3, 1), date(2026, 2, 28)),
        ("weekly", date(2026, 10, 26), date(2026, 10, 19)),  # Monday: last week
        ("weekly", date(2026, 10, 27), date(2026, 10, 19)),  # a late run on Tuesday
        ("weekly", date(2026, 11, 1), date(2026, 10, 19)),  # Sunday: the week before
    ],
)
def test_digests_cover_the_previous_complete_period(
    period: str, today: date, expected: date
) -> None:
    assert previous_period_day(period, today) == expected


def test_previous_period_rejects_unknown_periods() -> None:
    with pytest.raises(ConfigError):
        previous_period_day("monthly", date(2026, 1, 1))


def test_local_today_uses_the_configured_zone() -> None:
    late_utc = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    assert local_today("UTC", late_utc) == date(2026, 7, 1)
    assert local_today("Europe/London", late_utc) == date(2026, 7, 2)


def test_scheduler_jobs_never_overlap_and_coalesce(settings: Settings, tmp_path: Path) -> None:
    jobs = plan(settings)
    actions = {job.job_id: (lambda: "ok") for job in jobs}
    scheduler = build_scheduler(jobs, actions, tmp_path / "x.lock", "UTC")
    added = {job.id: job for job in scheduler.get_jobs()}
    assert set(added) == {"run", "daily_digest", "weekly_digest"}
    for job in added.values():
        assert job.max_instances == 1
        assert job.coalesce is True
        assert job.args[2] == tmp_path / "x.lock"


def test_cli_print_lists_every_job_with_fire_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSINTEL_TIMEZONE", "Europe/London")
    monkeypatch.setenv("NEWSINTEL_SCHEDULE_DAILY_DIGEST_AT", "06:30")
    assert main(["--db", str(tmp_path / "n.duckdb"), "schedule", "--print", "--count", "2"]) == 0
    out = capsys.readouterr().out
    assert "Europe/London" in out and str(tmp_path / "n.duckdb.lock") in out
    for job_id in ("run", "daily_digest", "weekly_digest"):
        assert f"\n{job_id} " in f"\n{out}"
    assert "daily at 06:30" in out
    # The daily digest's two fire times (the half-hourly run may also fire at 06:30).
    daily = out.split("daily_digest", 1)[1].split("weekly_digest", 1)[0]
    assert daily.count(" 06:30 ") == 2
    assert not (tmp_path / "n.duckdb").exists()  # printing touches no database


def test_cli_bad_schedule_setting_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSINTEL_SCHEDULE_WEEKLY_DIGEST_AT", "Monday")
    assert main(["schedule", "--print"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: setting 'schedule_weekly_digest_at' must be a time HH:MM (24 h), got 'Monday'"
    )


# --- the lock ---------------------------------------------------------------------------


def test_lock_file_sits_next_to_the_database(settings: Settings) -> None:
    assert lock_path(settings) == Path(settings.db + ".lock")
    memory = lock_path(replace(settings, db=":memory:"))
    assert memory.name.startswith("newsintel-") and memory.suffix == ".lock"


def test_a_second_thread_cannot_take_the_lock_until_it_is_released(tmp_path: Path) -> None:
    path = tmp_path / "db.lock"
    first = RunLock(path)
    assert first.acquire()
    results: list[bool] = []
    thread = threading.Thread(target=lambda: results.append(RunLock(path).acquire()))
    thread.start()
    thread.join()
    assert results == [False]
    first.release()
    second = RunLock(path)
    assert second.acquire()
    second.release()


def test_a_waiting_run_gets_the_lock_when_the_holder_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "db.lock"
    holder = RunLock(path)
    assert holder.acquire()
    timer = threading.Timer(0.3, holder.release)
    timer.start()
    started = time.monotonic()
    with locked(path, wait_s=5.0) as got:
        assert got
    assert 0.2 < time.monotonic() - started < 4.0
    timer.join()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from newsintel.schedule import RunLock
    lock = RunLock(Path(sys.argv[1]))
    print("held" if lock.acquire() else "busy", flush=True)
    if sys.argv[2] == "hold":
        time.sleep(60)
    """
)


def _python(path: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), mode],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def test_the_lock_holds_across_processes_and_a_dead_holder_leaves_no_stale_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.lock"
    holder = _python(path, "hold")
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        # Another process and this one are both refused while the holder lives.
        probe = _python(path, "try")
        assert probe.communicate(timeout=30)[0].strip() == "busy"
        assert not RunLock(path).acquire()
        assert path.read_text().strip() == str(holder.pid)
    finally:
        # SIGKILL: the holder gets no chance to clean up, as in a crash.
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    assert path.exists()  # the file stays behind...
    lock = RunLock(path)
    assert lock.acquire()  # ...but it does not block anyone
    assert path.read_text().strip() == str(os.getpid())
    lock.release()


def test_a_leftover_lock_file_without_a_holder_does_not_block(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "db.lock"
    path.parent.mkdir()
    path.write_text("12345\n")
    with locked(path) as got:
        assert got


def test_guarded_run_skips_when_the_lock_is_held(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "db.lock"
    calls: list[str] = []
    caplog.set_level(logging.INFO, logger="newsintel.schedule")
    with locked(path) as got:
        assert got
        outcome = guarded_run("run", lambda: calls.append("ran") or "x", path)
    assert outcome.status == "skipped" and calls == []
    assert "run skipped" in caplog.text
    done = guarded_run("run", lambda: "12 new articles", path)
    assert (done.status, done.detail) == ("done", "12 new articles")
    assert "run done in" in caplog.text and "12 new articles" in caplog.text


def test_guarded_run_logs_failures_and_releases_the_lock(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "db.lock"

    def refused() -> str:
        raise DigestError("SMTP server refused the connection")

    def broken() -> str:
        raise ZeroDivisionError("bug")

    caplog.set_level(logging.INFO, logger="newsintel.schedule")
    outcome = guarded_run("daily_digest", refused, path)
    assert outcome.status == "failed" and "refused" in outcome.detail
    assert "daily_digest failed" in caplog.text
    assert guarded_run("run", broken, path).status == "failed"
    assert "ZeroDivisionError" in caplog.text
    with locked(path) as got:
        assert got


def test_schedule_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["schedule", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--print" in out and "newsintel schedule --print" in out.split("example:")[1]


@pytest.mark.slow
def test_the_scheduler_starts_logs_its_jobs_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = os.environ | {"NEWSINTEL_DB": str(tmp_path / "n.duckdb"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsintel", "schedule"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline() for _ in range(3)]
        assert [line.split(" INFO scheduled ")[1].split()[0] for line in lines] == [
            "run",
            "daily_digest",
            "weekly_digest",
        ]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert "received SIGTERM" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
