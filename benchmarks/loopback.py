"""A loopback test server (tests/*server.py) in a child process, for the benchmarks.

In the benchmark's own process the server would compete with the code under test for
the GIL, which no real server does. The child prints one line (its URL, then anything
else the benchmark needs) and serves until its stdin closes, so it never outlives the
benchmark: a crashed parent closes the pipe too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.record import ROOT


@dataclass(frozen=True)
class ChildServer:
    """A started server: its process id and the words of the line it printed."""

    pid: int
    words: tuple[str, ...]

    @property
    def url(self) -> str:
        return self.words[0]

    def cpu_s(self) -> float:
        """CPU seconds the server has used so far (it shares the machine's cores with
        the code under test); 0.0 where /proc cannot tell."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def child_server(argv: Sequence[str], what: str) -> Iterator[ChildServer]:
    """Run ``python argv...`` from the repository root until the block ends.

    RuntimeError naming ``what`` when the child's first line is not a URL.
    """
    child = subprocess.Popen(
        [sys.executable, *argv], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        words = tuple(child.stdout.readline().split())
        if not words or not words[0].startswith("http://"):
            raise RuntimeError(f"{what} did not start (said {' '.join(words)!r})")
        yield ChildServer(child.pid, words)
    finally:
        if child.stdin is not None:
            child.stdin.close()  # the child serves until its stdin closes
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def serve_until_stdin_closes(*words: object) -> None:
    """The child's side: announce the server (URL first), then hold until told to end."""
    print(*words, flush=True)
    sys.stdin.read()
