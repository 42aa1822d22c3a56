"""The app stays up while the pipeline writes: two processes, zero errors.

A writer process runs `newsintel run` over the sample feeds, WRITER_RUNS times (ingest,
embed, themes, analysis: every write the pipeline makes, then a snapshot publish)
while this process loads every page of the app again and again from the snapshots,
until the writer has finished WRITER_RUNS whole runs (each of their writes then met
page loads) and a round of every page has ended after them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from newsintel.store.snapshots import publish

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["overview", "themes", "prices", "topics", "search", "sources", "sql"]
DURATION_S = 45.0  # at most: the loop ends sooner once the writer's runs are covered
# Whole runs the writer makes unless stopped first: the test waits for its last one,
# so a loop of runs until told to stop made it wait for a run begun just before.
WRITER_RUNS = 1

pytestmark = pytest.mark.slow

WRITER = """
import pathlib, subprocess, sys
stop, want = pathlib.Path(sys.argv[1]), int(sys.argv[3])
runs = 0
while not stop.exists() and runs < want:
    done = subprocess.run(
        [sys.executable, "-m", "newsintel", "run", "--feeds", sys.argv[2]],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        print("RUN FAILED", done.stderr, flush=True)
        sys.exit(1)
    runs += 1
print("RUNS", runs, flush=True)
"""


def load(page: str, db: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    if page != "overview":
        at.switch_page(f"app_pages/{page}.py")
        at.run()
    return at


def test_every_page_loads_while_the_pipeline_writes(
    demo_db,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "shared.duckdb"
    shutil.copy(demo_db.db, db)
    # Readers open the published snapshot; the writer keeps the file (store.snapshots).
    assert publish(str(db)) is not None
    monkeypatch.setenv("NEWSINTEL_DB", str(db))
    monkeypatch.delenv("NEWSINTEL_APP_PASSWORD", raising=False)
    stop = tmp_path / "stop"
    want = str(WRITER_RUNS)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(stop), str(ROOT / "data/sample/feeds.toml"), want],
        env={**os.environ, "NEWSINTEL_DB": str(db), "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    loads, problems = 0, []
    try:
        deadline = time.monotonic() + DURATION_S
        # Rounds of every page from the writer's start until a round ends after its
        # last run: every write of a run met page loads (a fixed 45 s of rounds spent
        # most of the test's time on repeats of the same run).
        while time.monotonic() < deadline and writer.poll() is None:
            for page in PAGES:
                at = load(page, str(db))
                loads += 1
                problems += [f"{page}: exception {e.value}" for e in at.exception]
                problems += [f"{page}: error {e.value}" for e in at.error]
    finally:
        stop.touch()
        output, _ = writer.communicate(timeout=300)
    assert "RUN FAILED" not in output, output
    runs = int(output.split("RUNS")[-1].strip())
    assert runs >= 1, output
    assert loads >= len(PAGES)
    print(f"writer runs: {runs}, page loads: {loads}, problems: {len(problems)}")
    assert problems == []


# A thread started before, the calling thread, and one started after lowering.
PRIORITY = """
import os, threading
from newsintel.ui.priority import lower_priority
gate = threading.Event()
before = threading.Thread(target=gate.wait)
before.start()
lower_priority(7)
lower_priority(3)  # once per process: never raised back
seen = []
after = threading.Thread(target=lambda: seen.append(os.getpriority(os.PRIO_PROCESS, 0)))
after.start()
after.join()
me = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
print(me, os.getpriority(os.PRIO_PROCESS, before.native_id), seen[0])
gate.set()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_the_app_lowers_the_priority_of_every_thread() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PRIORITY],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=True,
    )
    start = os.getpriority(os.PRIO_PROCESS, 0)
    expected = str(max(start, 7))
    assert done.stdout.split() == [expected] * 3
