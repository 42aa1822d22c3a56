"""GDELT's Global Knowledge Graph 2.1 files -> Parquet shards of theme-matching rows.

GDELT publishes one GKG zip every 15 minutes since 2015-02-18 and lists every file in
``masterfilelist.txt`` (``SIZE MD5 URL`` per line, GKG files end ``.gkg.csv.zip``). The
per-file function ``process_file`` is what both engines run (a process pool on one
machine, Ray tasks on a cluster): download with retries, check the md5 against the list,
unzip as a stream, parse the 27 tab-separated columns, keep the rows of the themes and
write them to one Parquet shard per file. It returns a plain ``FileResult`` and never
touches the database: the single DuckDB writer stores the shard afterwards.

The rows themselves are read and filtered in ``gkg_rows`` (pyarrow's CSV reader and
compute kernels). Here: empty files (done, no rows), damaged zips (``bad_zip``), and
GKG 1.0 files or other tables listed under a GKG name (every row the wrong width: the
file fails as ``bad_columns``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import io
import re
import sys
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import IO

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from newsintel.backfill.gkg_rows import (
    GKG_COLUMNS,
    SHARD_SCHEMA,
    ThemeFilter,
    parse_gkg,
    theme_filter,
)
from newsintel.errors import GkgFileError
from newsintel.feeds.netstream import bulk_transport
from newsintel.feeds.sources import is_http_url

__all__ = [
    "FAILED_STATUSES",
    "GKG_COLUMNS",
    "SHARD_SCHEMA",
    "STORED",
    "FileResult",
    "MasterEntry",
    "MasterList",
    "ThemeFilter",
    "download",
    "keep_large_buffers",
    "open_member",
    "parse_master",
    "process_file",
    "read_shard",
    "select_files",
    "shard_path",
    "theme_filter",
]

_STAMP = re.compile(r"/(\d{14})\.gkg\.csv\.zip$")

# Statuses of one file (gkg_files.status, migration 009). Only 'stored' is final; every
# other status is retried by the next run, so a 404 that GDELT later fills is not lost.
STORED = "stored"
FAILED_STATUSES = ("not_found", "http_error", "md5_mismatch", "bad_zip", "bad_columns", "died")


@dataclass(frozen=True)
class MasterEntry:
    """One GKG file of the master list: its URL, size in bytes, md5 and 15-minute stamp."""

    url: str
    size: int
    md5: str
    stamp: datetime

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class MasterList:
    """The GKG files of a master list, oldest first, and the lines that did not parse."""

    entries: tuple[MasterEntry, ...]
    bad_lines: tuple[str, ...]  # "line N: problem"


def parse_master(text: str) -> MasterList:
    """The GKG entries of ``masterfilelist.txt`` (export and mentions files are skipped)."""
    entries: list[MasterEntry] = []
    bad: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or not parts[0].isdigit() or not re.fullmatch(r"[0-9a-f]{32}", parts[1]):
            bad.append(f"line {number}: not 'SIZE MD5 URL': {line[:80]!r}")
            continue
        url = parts[2]
        if not url.endswith(".gkg.csv.zip"):
            continue
        match = _STAMP.search(url)
        try:
            stamp = datetime.strptime(match.group(1), "%Y%m%d%H%M%S") if match else None
        except ValueError:
            stamp = None
        if stamp is None or not is_http_url(url):
            bad.append(f"line {number}: no YYYYMMDDHHMMSS.gkg.csv.zip URL: {url[:80]!r}")
            continue
        entries.append(MasterEntry(url, int(parts[0]), parts[1], stamp))
    entries.sort(key=lambda e: (e.stamp, e.url))
    return MasterList(tuple(entries), tuple(bad))


def select_files(
    entries: Iterable[MasterEntry], since: datetime, until: datetime
) -> list[MasterEntry]:
    """The files stamped from ``since`` up to, not including, ``until``, oldest first."""
    return [e for e in entries if since <= e.stamp < until]


_CLIENT: httpx.Client | None = None
_ALLOCATOR_TUNED = False
# glibc's mallopt parameters (malloc.h) and the values set: the largest mmap threshold
# glibc accepts on 64-bit, and a trim threshold that keeps a few files' buffers.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_BYTES, _TRIM_THRESHOLD_BYTES = 32 << 20, 256 << 20


def keep_large_buffers() -> None:
    """Tell glibc's malloc to serve and keep megabyte blocks on its heap (once per process).

    A worker allocates megabytes per file (the download's pieces and h11's copies of
    them, the zip member's chunks). glibc gives blocks above its mmap threshold (128
    KiB at first) fresh pages from the system and hands memory back above its trim
    threshold, so each file faulted in zeroed pages again: measured on 1.6 MB zips,
    the download (md5 included) took 6.7 ms of CPU instead of 3.6, unzip and parse 24
    ms instead of 17. Both thresholds are set high here. Nothing happens, and nothing
    fails, with another C library or on another system.
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED:
        return
    _ALLOCATOR_TUNED = True
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return  # musl and others: no mallopt
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)


def _client() -> httpx.Client:
    # One client per worker process: httpx.get builds a client, and its TLS context,
    # for every call, which cost 40 ms of CPU a file (more than unzipping one). Its
    # sockets are read 1 MiB at a time (``bulk_transport``): 64 KiB reads cost 3x the
    # CPU of the md5 for a 1.6 MB file.
    global _CLIENT
    if _CLIENT is None:
        _CLIENT = httpx.Client(follow_redirects=True, transport=bulk_transport())
    return _CLIENT


def _get(url: str, timeout: float) -> tuple[int, bytes, str]:
    # Hashed as the pieces come: the md5 needs no second pass over the file.
    with _client().stream("GET", url, timeout=timeout) as response:
        if response.status_code != 200:
            return response.status_code, b"", ""
        digest = hashlib.md5(usedforsecurity=False)
        chunks = []
        for chunk in response.iter_bytes():
            digest.update(chunk)
            chunks.append(chunk)
    return 200, b"".join(chunks), digest.hexdigest()


def download(entry: MasterEntry, *, timeout: float, retries: int = 2) -> bytes:
    """The file's bytes, md5-checked against the master list; retries transport errors."""
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(0.5 * 2**attempt, 5.0))
        try:
            status, data, digest = _get(entry.url, timeout)
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
            continue
        if status == 404:
            raise GkgFileError("not_found", "HTTP 404")
        if status >= 500 or status == 429:
            last = f"HTTP {status}"
            continue
        if status != 200:
            raise GkgFileError("http_error", f"HTTP {status}")
        if digest != entry.md5:
            raise GkgFileError(
                "md5_mismatch",
                f"md5 {digest} of {len(data)} bytes, the list says {entry.md5} "
                f"({entry.size} bytes)",
            )
        return data
    raise GkgFileError("http_error", f"gave up after {retries + 1} tries: {last}")


@contextmanager
def open_member(data: bytes) -> Iterator[IO[bytes]]:
    """The zip's one member as a stream, decompressed as it is read (an empty stream
    for a zip with no member). Zip damage, found on opening or on reading, is a
    ``GkgFileError`` with status ``bad_zip``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.namelist()
        with archive.open(members[0]) if members else io.BytesIO(b"") as member:
            yield member
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, zlib.error) as exc:
        raise GkgFileError("bad_zip", f"not a readable zip ({exc})") from None


@dataclass(frozen=True)
class FileResult:
    """What ``process_file`` did with one file (plain values: it crosses processes)."""

    url: str
    status: str  # "parsed" (shard written) or one of FAILED_STATUSES
    error: str | None = None
    bytes_read: int = 0
    rows: int = 0
    bad_rows: int = 0
    kept: int = 0
    shard: str | None = None
    reused: bool = False  # the shard of an earlier, interrupted run was used
    cpu_seconds: float = 0.0  # the worker process's CPU time on this file (all threads)


def shard_path(out_dir: Path, entry: MasterEntry) -> Path:
    return out_dir / entry.name.replace(".gkg.csv.zip", ".gkg.parquet")


def _meta(result: FileResult) -> dict[bytes, bytes]:
    return {
        b"newsintel.bytes": str(result.bytes_read).encode(),
        b"newsintel.rows": str(result.rows).encode(),
        b"newsintel.bad_rows": str(result.bad_rows).encode(),
    }


def process_file(entry: MasterEntry, spec: ThemeFilter, out_dir: str, timeout: float) -> FileResult:
    """Download, check, unzip, parse and filter one GKG file into its Parquet shard.

    A shard left by an interrupted run (written whole, then renamed) is used as it is,
    so each file is downloaded once. Bad input is a result, never an exception.
    """
    keep_large_buffers()
    started = time.process_time()
    path = shard_path(Path(out_dir), entry)
    if path.exists():
        try:
            schema = pq.read_schema(path)
            # Names, not types: Parquet gives back timestamp[ms] and list<element>.
            if schema.names != SHARD_SCHEMA.names:
                raise ValueError("a shard of another newsintel version")
            meta = schema.metadata or {}
            return FileResult(
                entry.url,
                "parsed",
                bytes_read=int(meta[b"newsintel.bytes"]),
                rows=int(meta[b"newsintel.rows"]),
                bad_rows=int(meta[b"newsintel.bad_rows"]),
                kept=pq.read_metadata(path).num_rows,
                shard=str(path),
                reused=True,
            )
        except (OSError, KeyError, ValueError, pa.ArrowException):
            path.unlink(missing_ok=True)  # a damaged shard: read the file again
    try:
        data = download(entry, timeout=timeout)
        with open_member(data) as member:
            parsed = parse_gkg(member, spec, entry.name)
    except GkgFileError as exc:
        spent = time.process_time() - started
        return FileResult(entry.url, exc.status, str(exc), cpu_seconds=spent)
    if parsed.rows and parsed.bad_rows == parsed.rows:
        return FileResult(
            entry.url,
            "bad_columns",
            f"no row has the {GKG_COLUMNS} columns of GKG 2.1 ({parsed.rows} rows)",
            bytes_read=len(data),
            rows=parsed.rows,
            bad_rows=parsed.bad_rows,
            cpu_seconds=time.process_time() - started,
        )
    result = FileResult(
        entry.url,
        "parsed",
        bytes_read=len(data),
        rows=parsed.rows,
        bad_rows=parsed.bad_rows,
        kept=parsed.kept.num_rows,
        shard=str(path),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(".parquet.part")
    pq.write_table(parsed.kept.replace_schema_metadata(_meta(result)), staging)
    staging.replace(path)  # whole or absent: a killed worker leaves no half shard
    return replace(result, cpu_seconds=time.process_time() - started)


def read_shard(path: str) -> pa.Table:
    """A shard written by ``process_file``."""
    return pq.read_table(path, schema=SHARD_SCHEMA)
