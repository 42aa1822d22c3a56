"""`newsintel backfill gkg`: GKG 2.1 files written here, served from loopback, stored in DuckDB.

The local engine runs a real process pool; the Ray tests share one local Ray session
(2 CPUs) for the module. Bad input is part of every run: a master line that does not
parse, a 404, an md5 mismatch, a truncated zip, a file of the wrong width, an empty file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, make_settings
from gkgserver import GkgServer, gkg_row, gkg_zip, synthetic_files, synthetic_rows

from newsintel.backfill.gkg import open_member, parse_master, select_files, theme_filter
from newsintel.backfill.gkg_rows import parse_gkg
from newsintel.cli import main
from newsintel.config import Settings
from newsintel.errors import ConfigError
from newsintel.jobs.backfill_gkg import backfill_gkg
from newsintel.models import ThemeDefinition
from newsintel.store import open_db

START = datetime(2024, 3, 1)
THEMES_TOML = """
[[themes]]
name = "lithium"
description = "Lithium mining and prices."
keywords = ["lithium", "spodumene"]
exclusions = ["recycling plant"]
gkg_themes = ["ENV_RECYCLING"]

[[themes]]
name = "robots"
description = "Humanoid robots."
keywords = ["humanoid robot"]
"""
# Columns that must agree between engines and between interrupted and whole runs
# (fetched_at is the clock of the run).
STORED_COLUMNS = (
    "SELECT article_id, source_id, url, title, published_at, origin, title_derived, "
    "story_id FROM articles ORDER BY article_id"
)
GKG_DETAILS = "SELECT article_id, tone, gkg_themes, themes, file FROM gkg_articles ORDER BY 1"


def _settings(tmp_path: Path, server: GkgServer, name: str = "db") -> Settings:
    themes = tmp_path / "themes.toml"
    themes.write_text(THEMES_TOML)
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (tmp_path / "none.toml").write_text("")  # the CLI runs get no config but the env's
    return make_settings(folder, gkg_master_url=server.master_url, themes_file=str(themes))


def _rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with open_db(settings.db, read_only=True) as con:
        return con.execute(sql).fetchall()


def _expected_kept(rows: list[bytes]) -> int:
    spec = theme_filter(
        [
            ThemeDefinition(
                "lithium",
                "Lithium",
                "d",
                keywords=("lithium", "spodumene"),
                exclusions=("recycling plant",),
                gkg_themes=("ENV_RECYCLING",),
            ),
            ThemeDefinition("robots", "Robots", "d", keywords=("humanoid robot",)),
        ]
    )
    return parse_gkg(b"".join(rows), spec, "x").kept.num_rows


def test_master_list_skips_other_tables_and_names_bad_lines() -> None:
    good = "a" * 32
    text = "\n".join(
        [
            f"150383 {good} http://data.gdeltproject.org/gdeltv2/20240301000000.export.CSV.zip",
            f"8123 {good} http://data.gdeltproject.org/gdeltv2/20240301001500.gkg.csv.zip",
            f"8001 {good} http://data.gdeltproject.org/gdeltv2/20240301000000.gkg.csv.zip",
            "garbage line",
            f"12 {good} http://data.gdeltproject.org/gdeltv2/2024xx01000000.gkg.csv.zip",
            "",
            f"9000 {good} http://data.gdeltproject.org/gdeltv2/20240302000000.gkg.csv.zip",
        ]
    )
    master = parse_master(text)
    assert [e.stamp for e in master.entries] == [
        START,
        START + timedelta(minutes=15),
        START + timedelta(days=1),
    ]
    assert master.entries[0].size == 8001 and master.entries[0].md5 == good
    assert master.bad_lines[0] == "line 4: not 'SIZE MD5 URL': 'garbage line'"
    assert master.bad_lines[1].startswith("line 5: no YYYYMMDDHHMMSS.gkg.csv.zip URL")
    # until is exclusive: the next day's first file is not in the day.
    picked = select_files(master.entries, START, START + timedelta(days=1))
    assert [e.name for e in picked] == ["20240301000000.gkg.csv.zip", "20240301001500.gkg.csv.zip"]


def test_gkg_rows_matched_by_keyword_or_code_with_gdelt_quirks() -> None:
    spec = theme_filter(
        [
            ThemeDefinition(
                "lithium",
                "Lithium",
                "d",
                keywords=("lithium",),
                exclusions=("recycling plant",),
                gkg_themes=("ENV_MINING",),
            )
        ]
    )
    rows = [
        gkg_row("1", START, "https://mining.com/a", "Lithium prices slide"),
        # Keyword only in the URL slug; a byte that is not UTF-8 in the title.
        gkg_row("2", START, "https://mining.com/lithium-deal", "Deal \xff signed").replace(
            "\xff".encode(), b"\xff"
        ),
        gkg_row("3", START, "https://mining.com/c", "Mine opens", themes="ENV_MINING;TAX_X"),
        gkg_row("4", START, "https://mining.com/d", "Lithium recycling plant delayed"),
        gkg_row("5", START, "https://mining.com/e", "Football results"),
        b"ragged\trow\twith too few columns\n",
        b"\n",
    ]
    parsed = parse_gkg(b"".join(rows), spec, "f.zip")
    assert (parsed.rows, parsed.bad_rows) == (6, 1)
    table = parsed.kept.to_pylist()
    assert [r["url"] for r in table] == [
        "https://mining.com/a",
        "https://mining.com/lithium-deal",
        "https://mining.com/c",
    ]
    assert table[1]["title"] == "Deal \ufffd signed"
    assert table[0]["tone"] == -1.25 and table[0]["themes"] == ["lithium"]
    assert table[0]["domain"] == "mining.com" and table[0]["seen_at"] == START
    # An empty zip member is an empty file, not an error.
    with open_member(gkg_zip(START, [])) as member:
        assert parse_gkg(member, spec, "empty.zip").rows == 0


def test_gkg_dates_follow_the_calendar() -> None:
    """DATE is read from the column's bytes: leap days only in leap years, every row's
    own time, and a web page's row whose DATE is not a time counted as bad."""
    spec = theme_filter([ThemeDefinition("lithium", "Lithium", "d", keywords=("lithium",))])
    stamps = {
        "a": b"20240229235959",  # a leap year
        "b": b"20000229000000",  # divisible by 400: leap
        "c": b"19000229000000",  # divisible by 100 only: no 29 February
        "d": b"20231231240000",  # hour 24
        "e": b"2024022912000",  # 13 digits
        "f": b"19700101000001",
        "g": b"2024-02-29 120",  # 14 bytes, not digits
    }
    rows = [
        gkg_row(name, START, f"https://example.org/{name}", "Lithium").replace(
            b"20240301000000", stamp
        )
        for name, stamp in stamps.items()
    ]
    parsed = parse_gkg(b"".join(rows), spec, "f.zip")
    assert (parsed.rows, parsed.bad_rows) == (7, 4)
    seen = {r["url"].rsplit("/", 1)[-1]: r["seen_at"] for r in parsed.kept.to_pylist()}
    assert seen == {
        "a": datetime(2024, 2, 29, 23, 59, 59),
        "b": datetime(2000, 2, 29),
        "f": datetime(1970, 1, 1, 0, 0, 1),
    }


def test_gkg_words_dates_and_codes_follow_python_rules_on_any_text() -> None:
    """The kernels (RE2 over whole batches) decide as Python's re would, row by row:
    a keyword is a whole word in any script, a date must exist, a code must be whole."""
    spec = theme_filter(
        [
            ThemeDefinition(
                "lithium",
                "Lithium",
                "d",
                keywords=("lithium",),
                exclusions=("recycling plant",),
                gkg_themes=("ENV_MINING",),
            ),
            ThemeDefinition("robots", "Robots", "d", keywords=("humanoid robot",)),
        ]
    )
    web = "https://example.org/"
    rows = [
        gkg_row("1", START, web + "a", "Über Lithium-Ionen-Akkus"),  # kept: "-" ends a word
        gkg_row("2", START, web + "b", "lithiumé and lithiumhaltig"),  # é is a letter: no
        gkg_row("3", START, web + "c", "\u201cLithium\u201d rally in Chile"),  # curly quotes
        gkg_row("4", START, web + "d", "ΛΙΘΙΟ lithium humanoid robots"),  # both themes
        gkg_row("5", START, web + "e", "Mine news", themes="ENV_MINING_SAFETY"),  # not whole
        gkg_row("6", START, web + "f", "Mine news", themes="ENV_MINING"),
        gkg_row("7", START, web + "g", "Lithium recycling plant opens"),  # vetoed
        gkg_row("8", START, "HTTP://Example.org/lithium", "Upper-case scheme"),
        gkg_row("9", START, "mailto:lithium@example.org", "Not a web page", source="x"),
        # 30 February and second 60 are not times: bad rows (they name web pages).
        gkg_row("10", START, web + "h", "Lithium").replace(b"20240301000000", b"20240230000000"),
        gkg_row("11", START, web + "i", "Lithium").replace(b"20240301000000", b"20240301000060"),
        # No closing tag: no title (the URL alone cannot match).
        gkg_row("12", START, web + "j", "Lithium").replace(b"</PAGE_TITLE>", b""),
    ]
    parsed = parse_gkg(b"".join(rows), spec, "f.zip")
    table = parsed.kept.to_pylist()
    assert (parsed.rows, parsed.bad_rows) == (12, 2)
    assert {r["url"].rsplit("/", 1)[-1]: r["themes"] for r in table} == {
        "a": ["lithium"],
        "c": ["lithium"],
        "d": ["lithium", "robots"],
        "f": ["lithium"],
        "lithium": ["lithium"],
    }
    assert table[0]["title"] == "Über Lithium-Ionen-Akkus"
    assert table[3]["gkg_themes"] == ["ENV_MINING"]


def _bad_input_server(server: GkgServer) -> tuple[list[bytes], list[str]]:
    """Four good files, one of each bad kind, an empty one; returns good rows, bad URLs."""
    good_rows: list[bytes] = []
    for stamp, data in synthetic_files(7, 4, 60, START):
        server.add_file(stamp, data)
        good_rows += synthetic_rows(7, stamp, 60)
    stamp = START + timedelta(hours=2)
    server.add_file(stamp, gkg_zip(stamp, []))  # empty: stored, nothing kept
    bad = [
        server.add_file(stamp + timedelta(minutes=15), b"", listed_only=True),  # 404
        server.add_file(stamp + timedelta(minutes=30), gkg_zip(stamp, good_rows[:5]), md5="0" * 32),
        server.add_file(stamp + timedelta(minutes=45), gkg_zip(stamp, good_rows[:50])[:300]),
        server.add_file(stamp + timedelta(minutes=60), gkg_zip(stamp, [b"a\tb\tc\n"] * 3)),
    ]
    server.master_lines("this line is not SIZE MD5 URL")
    return good_rows, bad


def test_local_backfill_stores_good_files_names_bad_ones_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with GkgServer() as server:
        good_rows, bad = _bad_input_server(server)
        settings = _settings(tmp_path, server)
        monkeypatch.setenv("NEWSINTEL_CONFIG", str(tmp_path / "none.toml"))
        monkeypatch.setenv("NEWSINTEL_DB", settings.db)
        monkeypatch.setenv("NEWSINTEL_THEMES_FILE", settings.themes_file)
        monkeypatch.setenv("NEWSINTEL_GKG_MASTER_URL", server.master_url)
        argv = ["backfill", "gkg", "--since", "2024-03-01", "--until", "2024-03-01", "--json"]
        assert main(argv) == 1  # files failed: the exit status says so
        captured = capsys.readouterr()
        report = json.loads(captured.out)
        lines = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
        first_requests = list(server.requests)
        server.requests.clear()
        assert main(argv) == 1
        again = json.loads(capsys.readouterr().out)
        base = server.base
    kept = _expected_kept(good_rows)
    assert kept > 20
    assert (report["files"], report["stored"], report["already_stored"]) == (9, 5, 0)
    assert (report["rows_read"], report["rows_kept"]) == (
        240 + 3,
        kept,
    )  # md5 and zip failures read no row
    assert report["stories_added"] == kept
    assert {(f["url"], f["status"]) for f in report["failed"]} == {
        (bad[0], "not_found"),
        (bad[1], "md5_mismatch"),
        (bad[2], "bad_zip"),
        (bad[3], "bad_columns"),
    }
    assert all(f["error"] for f in report["failed"])
    # --json reports progress as JSON lines on stderr: files done of total, ETA, totals.
    assert (lines[0]["progress"], lines[0]["done"], lines[0]["total"]) == (
        "GKG files (local)",
        0,
        9,
    )
    assert (lines[-1]["done"], lines[-1]["total"], lines[-1]["eta_s"]) == (9, 9, 0.0)
    mb = report["bytes_read"] / 1e6
    assert lines[-1]["text"] == f"GKG files (local): {kept:,} rows kept, {mb:,.1f} MB read"
    assert report["master_bad_lines"] == [
        "line 19: not 'SIZE MD5 URL': 'this line is not SIZE MD5 URL'"
    ]
    assert all(first_requests.count(p) == 1 for p in first_requests)
    # The re-run reads no stored file again, retries the failed ones, adds nothing.
    assert (again["stored"], again["already_stored"], again["stories_added"]) == (0, 5, 0)
    assert sorted(server.requests) == sorted(
        ["/gdeltv2/masterfilelist.txt", *(u.removeprefix(base) for u in bad)]
    )
    stored = _rows(settings, "SELECT count(*), min(origin), max(origin) FROM articles")
    assert stored == [(kept, "gdelt-gkg", "gdelt-gkg")]
    assert _rows(settings, "SELECT count(*) FROM gkg_articles") == [(kept,)]  # once, re-run too
    statuses = _rows(settings, "SELECT status, count(*), max(attempts) FROM gkg_files GROUP BY 1")
    assert sorted(statuses) == [
        ("bad_columns", 1, 2),
        ("bad_zip", 1, 2),
        ("md5_mismatch", 1, 2),
        ("not_found", 1, 2),
        ("stored", 5, 1),
    ]


def _pool_workers() -> list[int]:
    """Spawned multiprocessing children of this process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


class _Recorder:
    """A Progress that remembers what the job told it."""

    def __init__(self) -> None:
        self.started: tuple[str, int] | None = None
        self.done = 0
        self.text = ""

    def start(self, description: str, total: int) -> None:
        self.started = (description, total)

    def advance(self, units: int = 1) -> None:
        self.done += units

    def describe(self, description: str) -> None:
        self.text = description

    def finish(self) -> None:
        pass


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GkgServer, Settings]]:
    """Eight synthetic files and their uninterrupted local run, shared by later tests."""
    tmp = tmp_path_factory.mktemp("gkg")
    with GkgServer() as server:
        for stamp, data in synthetic_files(3, 8, 80, START):
            server.add_file(stamp, data)
        settings = _settings(tmp, server, "reference")
        seen = _Recorder()
        report = backfill_gkg(
            settings, since="2024-03-01", until="2024-03-01", workers=2, progress=seen
        )
        assert report.stored == 8 and not report.failed
        # Progress: files done of total on the bar, rows kept and bytes read in its text.
        assert seen.started == ("GKG files (local)", 8) and seen.done == 8
        mb = report.bytes_read / 1e6
        assert seen.text == f"GKG files (local): {report.rows_kept:,} rows kept, {mb:,.1f} MB read"
        yield server, settings


def test_a_worker_killed_mid_file_is_retried_and_nothing_is_lost(
    tmp_path: Path, reference: tuple[GkgServer, Settings]
) -> None:
    server, whole = reference
    held = START + timedelta(minutes=45)
    release = server.hold(held)
    killed: list[int] = []

    def kill_when_held() -> None:
        path = server.file_url(held).removeprefix(server.base)
        deadline = time.monotonic() + 60
        while path not in server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in _pool_workers():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        release.set()

    server.requests.clear()
    killer = threading.Thread(target=kill_when_held)
    killer.start()
    settings = _settings(tmp_path, server)
    report = backfill_gkg(settings, since="2024-03-01", until="2024-03-01", workers=2)
    killer.join()
    assert killed
    assert report.stored == 8 and not report.failed
    assert _rows(settings, STORED_COLUMNS) == _rows(whole, STORED_COLUMNS)


def test_kill_9_of_the_driver_then_rerun_gives_the_whole_result(
    tmp_path: Path, reference: tuple[GkgServer, Settings]
) -> None:
    server, whole = reference
    held = START + timedelta(minutes=75)
    release = server.hold(held)
    server.requests.clear()
    settings = _settings(tmp_path, server)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NEWSINTEL_DB": settings.db,
        "NEWSINTEL_THEMES_FILE": settings.themes_file,
        "NEWSINTEL_GKG_MASTER_URL": server.master_url,
        "NEWSINTEL_CONFIG": str(tmp_path / "none.toml"),
    }
    argv = [sys.executable, "-m", "newsintel", "backfill", "gkg", "--since", "2024-03-01"]
    argv += ["--until", "2024-03-01", "--json"]
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, start_new_session=True)
    path = server.file_url(held).removeprefix(server.base)
    deadline = time.monotonic() + 90
    while path not in server.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # let the driver store what finished before the held file
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    release.set()
    before = {
        url for (url,) in _rows(settings, "SELECT url FROM gkg_files WHERE status = 'stored'")
    }
    assert 0 < len(before) < 8
    first = list(server.requests)
    server.requests.clear()
    report = backfill_gkg(settings, since="2024-03-01", until="2024-03-01", workers=2)
    assert (report.already_stored, report.stored) == (len(before), 8 - len(before))
    assert not {u.removeprefix(server.base) for u in before} & set(server.requests)
    # Shards finished before the kill are stored without a second download.
    downloads = [p for p in first + server.requests if p.endswith(".zip")]
    assert len(downloads) - len(set(downloads)) <= 2  # at most the files in flight
    assert _rows(settings, STORED_COLUMNS) == _rows(whole, STORED_COLUMNS)
    assert _rows(settings, GKG_DETAILS) == _rows(whole, GKG_DETAILS)


def test_tone_and_gkg_theme_codes_are_stored_with_each_story(
    reference: tuple[GkgServer, Settings],
) -> None:
    whole = reference[1]
    written: dict[str, tuple[float, list[str]]] = {}  # read back from the rows served
    for stamp in (START + timedelta(minutes=15 * i) for i in range(8)):
        for row in synthetic_rows(3, stamp, 80):
            fields = row.decode().rstrip("\n").split("\t")
            codes = [c for c in fields[7].split(";") if c]
            written.setdefault(fields[4], (float(fields[15].split(",")[0]), codes))
    details = _rows(
        whole, "SELECT url, tone, gkg_themes, themes, file, source FROM v_gkg_articles ORDER BY url"
    )
    stories = _rows(whole, "SELECT url FROM articles WHERE origin = 'gdelt-gkg' ORDER BY url")
    assert [d[0] for d in details] == [url for (url,) in stories] and len(stories) > 100
    for url, tone, codes, themes, file, source in details:
        assert (tone, codes) == written[url], url
        assert themes in (["lithium"], ["robots"]) and file.endswith(".gkg.csv.zip")
        assert source == url.split("/")[2].removeprefix("www.")
    assert len({d[1] for d in details}) > 50  # tones differ row by row
    assert {tuple(d[2]) for d in details} == {
        ("ENV_MINING", "ECON_COMMODITIES"),
        ("ENV_MINING",),
        ("TECH_ROBOTICS",),
    }


def test_engine_ray_without_ray_installed_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: tuple[GkgServer, Settings]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    settings = _settings(tmp_path, reference[0])
    with pytest.raises(ConfigError, match=r"^--engine ray needs Ray: pip install"):
        backfill_gkg(settings, since="2024-03-01", until="2024-03-01", engine="ray")


def test_a_ray_address_that_does_not_answer_is_one_line(
    tmp_path: Path, reference: tuple[GkgServer, Settings]
) -> None:
    pytest.importorskip("ray")
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = _settings(tmp_path, reference[0])
    with pytest.raises(ConfigError, match=rf"^Ray cluster at 127.0.0.1:{port} does not answer"):
        backfill_gkg(
            settings,
            since="2024-03-01",
            until="2024-03-01",
            engine="ray",
            ray_address=f"127.0.0.1:{port}",
        )


@pytest.fixture(scope="module")
def ray_session() -> Iterator[object]:
    """One local Ray (2 CPUs) for every Ray test of the module."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_engine_stores_the_same_rows_as_the_local_engine(
    tmp_path: Path, reference: tuple[GkgServer, Settings], ray_session: object
) -> None:
    server, whole = reference
    settings = _settings(tmp_path, server)
    report = backfill_gkg(settings, since="2024-03-01", until="2024-03-01", engine="ray")
    assert (report.engine, report.stored, report.failed) == ("ray", 8, ())
    local = _rows(whole, STORED_COLUMNS)
    assert len(local) > 100
    assert _rows(settings, STORED_COLUMNS) == local
    assert _rows(settings, GKG_DETAILS) == _rows(whole, GKG_DETAILS)
    with open_db(whole.db, read_only=True) as con:
        counts = con.execute("SELECT rows_read, rows_kept FROM gkg_files ORDER BY url").fetchall()
    assert _rows(settings, "SELECT rows_read, rows_kept FROM gkg_files ORDER BY url") == counts


def _ray_workers_on(task: str) -> list[int]:
    """Ray worker processes running ``task`` now: Ray titles a busy worker
    "ray::TASK" (and an idle one "ray::IDLE")."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(
                f"ray::{task}".encode()
            ):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_ray_worker_killed_mid_file_is_retried_and_nothing_is_lost(
    tmp_path: Path, reference: tuple[GkgServer, Settings], ray_session: object
) -> None:
    server, whole = reference
    held = START + timedelta(minutes=30)
    path = server.file_url(held).removeprefix(server.base)
    release = server.hold(held)
    killed: list[int] = []

    def kill_when_held() -> None:
        # The worker whose task asked for the held file is inside process_file until
        # the file is released: kill -9 every worker running process_file then.
        deadline = time.monotonic() + 60
        while path not in server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        while not killed and time.monotonic() < deadline:
            for pid in _ray_workers_on("process_file"):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)
        release.set()

    server.requests.clear()
    killer = threading.Thread(target=kill_when_held)
    killer.start()
    settings = _settings(tmp_path, server)
    report = backfill_gkg(settings, since="2024-03-01", until="2024-03-01", engine="ray")
    killer.join()
    assert killed
    assert all(not Path(f"/proc/{pid}").exists() for pid in killed)
    assert server.requests.count(path) == 2  # read again by Ray's retry, and only then
    assert (report.stored, report.failed) == (8, ())
    assert _rows(settings, STORED_COLUMNS) == _rows(whole, STORED_COLUMNS)
    assert _rows(settings, GKG_DETAILS) == _rows(whole, GKG_DETAILS)


def test_embed_on_ray_gives_the_vectors_of_newsintel_embed(
    tmp_path: Path, reference: tuple[GkgServer, Settings], ray_session: object, real_embedder
) -> None:
    from newsintel.jobs import embed
    from newsintel.jobs.embed_ray import embed_ray
    from newsintel.store.embeddings import load_embeddings

    server = reference[0]
    on_ray = _settings(tmp_path, server, "ray")
    backfill_gkg(on_ray, since="2024-03-01", until="2024-03-01", themes=["robots"], engine="ray")
    local = make_settings(tmp_path / "local", themes_file=on_ray.themes_file)
    Path(local.db).parent.mkdir()
    shutil.copy(on_ray.db, local.db)
    expected = embed(local, embedder=real_embedder)
    report = embed_ray(on_ray)
    assert report.embedded == expected.embedded > 30
    assert (report.model, report.device) == (expected.model, "cpu")
    with open_db(local.db, read_only=True) as con:
        ids, want = load_embeddings(con, expected.model)
    with open_db(on_ray.db, read_only=True) as con:
        ray_ids, got = load_embeddings(con, report.model)
    assert ray_ids == ids
    cosine = (want * got).sum(axis=1) / (np.linalg.norm(want, axis=1) * np.linalg.norm(got, axis=1))
    assert cosine.min() >= 0.9999
    assert embed_ray(on_ray).embedded == 0  # nothing left without a vector


def test_ray_benchmarks_at_tiny_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ray_session: object
) -> None:
    """bench_gkg and bench_ray_embed (the tiny runs of tests/test_benchmarks.py's kind),
    here to use this module's Ray session instead of starting their own."""
    from test_benchmarks import TINY

    from benchmarks import __main__ as bench_main

    monkeypatch.setattr(bench_main, "QUICK_SIZES", TINY)
    out = tmp_path / "BENCHMARKS.md"
    argv = ["--quick", "--only", "gkg", "--only", "ray_embed", "--output", str(out)]
    assert bench_main.main(argv) == 0
    text = out.read_text("utf-8")
    for row in (
        "| gkg | ray wall / local wall |",
        "| gkg | files stored, local / ray | 3 / 3 of 3 | all, both | PASS |",
        "| gkg | stories, local == ray |",
        "| gkg | scan stage / bare, CPU per file, GDELT-like files |",
        "| gkg | scan stage / bare, CPU per file, the tests' files (no target) |",
        "| ray_embed | ray / bare docs/s |",
        "| ray_embed | lowest cosine ray vs bare |",
        "| >= 0.9999 | PASS |",
    ):
        assert row in text, row
    # The load stage stored the scan stage's shards (reused, not downloaded again).
    assert re.search(
        r"\| gkg \| stories, load stage == local \| (\d+) vs \1 \| equal \| PASS", text
    )
