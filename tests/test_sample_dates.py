"""The sample feeds' dates come from a seeded draw that never reads any price series."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from conftest import ROOT

from newsintel.feeds.parse import parse_feed

SCRIPT = ROOT / "scripts" / "make_sample_dates.py"


def test_bundled_sample_is_the_script_output_and_never_reads_prices(tmp_path: Path) -> None:
    copy = tmp_path / "sample"
    shutil.copytree(ROOT / "data" / "sample", copy)
    # Python's audit hook sees every file the script opens: none under data/series.
    probe = (
        "import sys, runpy\n"
        "opened = []\n"
        "sys.addaudithook(lambda e, a: opened.append(str(a[0])) if e == 'open' else None)\n"
        f"sys.argv = ['x', '--dir', {str(copy)!r}]\n"
        f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')\n"
        "assert not [p for p in opened if 'series' in p], opened\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True)
    names = sorted(p.name for p in (ROOT / "data" / "sample").iterdir() if p.is_file())
    _match, mismatch, errors = filecmp.cmpfiles(
        ROOT / "data" / "sample", copy, names, shallow=False
    )
    assert (mismatch, errors) == ([], [])


def test_sample_stories_spread_over_the_span_without_planted_bursts() -> None:
    path = ROOT / "data" / "sample" / "sample_battery_mining_wire.xml"
    feed = parse_feed(path.read_bytes(), {}, path.as_uri())
    months = Counter(f"{e.published_at:%Y-%m}" for e in feed.entries if e.published_at)
    assert sum(months.values()) == 64
    # 64 stories drawn uniformly over 37 months: no month holds more than a handful.
    assert max(months.values()) <= 7
