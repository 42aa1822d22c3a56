"""Benchmark results as plain records, the machine they ran on, and BENCHMARKS.md.

Each benchmark returns a ``BenchResult``: named figures, each with its target and a
verdict. This module turns a run's results into a printed table and a dated Markdown
section appended to BENCHMARKS.md, together with the exact command and the machine,
because a timing without its machine and command cannot be compared with anything.
"""

from __future__ import annotations

import os
import platform
import resource
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HEADER = """\
# Benchmarks

Speed targets of newsintel, measured by `make bench`
(`.venv/bin/python -m benchmarks [--only NAME] [--quick]`), and the quality figures
of `make eval`.
Each run appends a dated section below with the command that produced it, the machine
(CPU, cores, RAM, load average, torch version and device) and every figure with its
target and PASS/FAIL. Sections are never rewritten: compare figures only between
sections taken on the same machine. Timings are wall-clock seconds; one run per section.

What each benchmark measures:

- **ingest**: `newsintel.jobs.ingest` (force) against a loopback HTTP server
  (`tests/feedserver.py`, run in a child process so that it does not share our GIL)
  serving 1,000 generated RSS feeds x 50 entries with 50 ms latency per request, into
  a fresh DuckDB file. All feeds live on 127.0.0.1, so `fetch_per_host` is raised to
  `fetch_concurrency` (16): with the default per-host limit of 2 the run would measure
  that limit, not newsintel. Reports wall time (target < 20 s), articles/s, peak RSS,
  and the ratio of newsintel's parse + normalise + store time to `feedparser.parse`
  time over the same bodies, fetched once beforehand (target <= 1.5). Since
  2026-12-03 the baseline calls `feedparser.parse` with the flags newsintel uses (no
  HTML sanitiser, no relative-URI rewriting); sections from 2026-12-01 20:44 to then
  ran the baseline with feedparser's defaults while newsintel turned both off, which
  was part of why their ratio fell from 1.5 to 1.15.
- **embed**: `newsintel.jobs.embed` with the bundled all-MiniLM-L6-v2 on 2,000 texts
  built from the sample feeds' titles and descriptions, stored as articles in a fresh
  DuckDB file, against a bare `SentenceTransformer(path).encode(texts, batch_size=64)`
  of the same texts in the same process, both warmed first, best of three alternating
  passes each (docs/s ratio target >= 0.9); then a second `embed` over the unchanged
  corpus (target < 2% of the first); then the backends (torch, onnx fp32, onnx-int8)
  side by side on the same texts, with int8's mean cosine agreement with torch (target
  >= 0.99).
- **assign**: `newsintel.jobs.assign_themes` over 1,000,000 stored articles (sample
  texts cycled, seeded random unit vectors), bundled classifiers, keywords and
  exclusions, writing every (article, theme) row (target < 30 s).
- **analysis**: `newsintel.analysis.leadlag.lead_lag` with lags 1..12 over every pair
  of 20 synthetic weekly theme-share series x 5 synthetic price-return series, ten
  years each (520 weeks), seeded, with robust tests, the primary test, out-of-sample
  forecasts and influence in every pair (target < 20 s for all 100 pairs).
- **analysis_size**: null size of the lead/lag tests on 200 independent GARCH(1,1)
  pairs and 200 sparse Poisson counts vs random-walk prices (robust tests <= 5%
  significant after adjustment; classic recorded beside), and power on a planted
  3-week lead under GARCH errors (robust p_adj < 0.01 in >= 90% of pairs).
- **topics**: `newsintel.topics.build.build_topics` on 100,000 synthetic story vectors
  with planted topics (embeddings given): time (target < 60 s) and peak memory
  (target < 4 GB), with NMI against the planted topics.
- **app**: the Overview and Themes pages rendered by `streamlit.testing` AppTest over
  a generated 1,000,000-article database, cold (caches cleared) and warm; target
  < 2 s for the median cold render.
- **gdelt**: `newsintel backfill gdelt` replaying 3 years x 8 themes of weekly ArtList
  windows and monthly timelines (about 2,000 calls, 100,000 articles) from a loopback
  DOC API with no latency and no pacing; target < 60 s end to end, every article
  stored once, peak memory < 1.5 GB.
- **mail**: `newsintel mail import` of an mbox of 10,000 generated newsletter emails
  shaped like The Download (multipart/alternative, quoted-printable, about 10 stories
  each with tracking links, a quote of the day, a sponsor block, a footer) into a fresh
  DuckDB file: target < 60 s, and per message at most 1.5x the CPU of
  `email.message_from_bytes` plus HTML-to-text of the chosen part over the same bytes.
- **archive**: `newsintel backfill archive`'s job (`backfill_archive`) over 5,000
  article pages of a generated outlet (`tests/archiveserver.py` in a child process:
  robots.txt, a sitemap index, two gzip sitemaps, article pages; its feed answers 404
  so every page goes through sitemap, fetch, trafilatura extraction, normalise and
  store), minimum interval 0 and 4 requests at once to the host (all on 127.0.0.1:
  with the polite default of 1 the loopback round trip would be measured), into a
  fresh DuckDB file; then a second run (target: adds nothing). Against bare
  `trafilatura.bare_extraction` over the same page bytes with the same options, one
  process. Target: newsintel's pages/s >= 0.8x the bare extractor's. CPU per page of
  both is reported too (newsintel's includes its extraction workers), being steadier
  than wall time on a shared machine.

- **load**: a real `streamlit run app.py` over a generated 1,000,000-article database,
  25 concurrent sessions (WebSocket clients speaking Streamlit's protocol, as browser
  tabs do) cycling through every page while `newsintel run` writes: targets zero
  errors and zero "locked"/"busy" messages, p95 page time at most 2x the single-user
  p95 of the same run, and the run at most 10% slower than with no readers.
- **import**: `newsintel backfill import --format gdelt-gkg` of a generated 100,000-row
  export (2,000 outlets, titles derived from slugs) into a fresh DuckDB file (target
  < 30 s, peak memory < 1 GB), then the same file again (target: adds nothing).

`--quick` runs smaller sizes (for a fast look); targets that depend on size are then
reported as `n/a`. Re-run a single benchmark with `--only NAME`.
"""


@dataclass(frozen=True)
class Figure:
    """One measured number. ``ok`` is None when the figure has no target (context only)
    or when the run's size differs from the size the target was set for."""

    name: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None

    @property
    def verdict(self) -> str:
        if not self.target:
            return ""
        if self.ok is None:
            return "n/a"
        return "PASS" if self.ok else "FAIL"

    def shown(self) -> str:
        """The value with a sensible number of digits and its unit."""
        value = self.value
        if value == int(value):
            text = f"{int(value):,}"
        elif abs(value) >= 100:
            text = f"{value:,.0f}"
        elif abs(value) >= 1:
            text = f"{value:.2f}"
        else:
            text = f"{value:.3g}"
        return f"{text} {self.unit}".rstrip()


def check(
    name: str, value: float, unit: str, target: str, passed: bool, *, at_target_size: bool = True
) -> Figure:
    """A figure with a target; its verdict is 'n/a' away from the target's size."""
    return Figure(name, value, unit, target, passed if at_target_size else None)


@dataclass(frozen=True)
class BenchResult:
    """What one benchmark measured: its parameters, figures and notes."""

    name: str
    params: dict[str, object]
    figures: tuple[Figure, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def failed(self) -> list[Figure]:
        return [f for f in self.figures if f.ok is False]


# --- the machine --------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (MiB).

    Linux's VmHWM, not ``ru_maxrss``: in a spawned process ``ru_maxrss`` keeps the
    peak of the forked copy of its parent from before ``exec`` (a child of a 5 GB
    benchmark run would report 5 GB); VmHWM belongs to the process's own address
    space. Elsewhere ``ru_maxrss`` (bytes on macOS, where this reads high).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except (OSError, ValueError, IndexError):
        pass
    return None


def _git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (with uncommitted changes)" if dirty else head


def machine_info() -> dict[str, str]:
    """CPU, cores, RAM, load, Python, torch and the device newsintel would embed on."""
    import torch

    from newsintel.embed import pick_device

    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    ram = _ram_gib()
    device = pick_device("auto")
    if device == "cuda":
        device += f" ({torch.cuda.get_device_name(0)})"
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "CPU": _cpu_model(),
        "cores": f"{usable} usable of {cores}; torch threads {torch.get_num_threads()}",
        "RAM": f"{ram:.1f} GiB" if ram is not None else "unknown",
        "load average at start": " ".join(f"{x:.2f}" for x in load),
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "torch": f"{torch.__version__}, device {device}",
        "git": _git_revision(),
    }


def command_line(argv: Sequence[str]) -> str:
    """The command as typed: interpreter relative to the repository when inside it."""
    python = Path(sys.executable)
    try:
        shown = str(python.relative_to(Path.cwd()))
    except ValueError:
        shown = str(python)
    command = shlex.join([shown, "-m", "benchmarks", *argv])
    if os.environ.get("MAKELEVEL"):
        command += "  (via `make bench`)"
    return command


# --- output ---------------------------------------------------------------------------


def table(results: Sequence[BenchResult]) -> str:
    """A plain-text table of every figure, for the terminal."""
    rows = [("benchmark", "figure", "value", "target", "result")]
    for result in results:
        for f in result.figures:
            rows.append((result.name, f.name, f.shown(), f.target, f.verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def section(
    command: str,
    machine: dict[str, str],
    results: Sequence[BenchResult],
    *,
    started: datetime,
    seconds: float,
) -> str:
    """The Markdown section for one run."""
    stamp = started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    names = ", ".join(r.name for r in results)
    lines = [
        f"## {stamp}: {names}",
        "",
        f"Command: `{command}` (total {seconds:.0f} s)",
        "",
        "Machine:",
        "",
    ]
    lines += [f"- {key}: {_cell(value)}" for key, value in machine.items()]
    lines += ["", "| benchmark | figure | value | target | result |", "|---|---|---|---|---|"]
    for result in results:
        for f in result.figures:
            lines.append(
                f"| {result.name} | {_cell(f.name)} | {_cell(f.shown())} | "
                f"{_cell(f.target)} | {f.verdict} |"
            )
    for result in results:
        params = ", ".join(f"{k}={v}" for k, v in result.params.items())
        lines += ["", f"**{result.name}** ({params})"]
        lines += [f"- {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def append_section(path: Path, text: str) -> None:
    """Append ``text`` to ``path``, writing the header first when the file is new."""
    existing = path.read_text("utf-8") if path.exists() else ""
    with path.open("a", encoding="utf-8") as out:
        if not existing:
            out.write(HEADER)
        elif not existing.endswith("\n"):
            out.write("\n")
        out.write("\n" + text)
