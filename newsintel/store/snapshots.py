"""Read snapshots: readers never wait for writers and writers never wait for readers.

DuckDB lets one process write a file or many processes read it, never both. So the
pipeline keeps the only writable file, and every writing job ends by *publishing* a
read snapshot of it; the app, ``newsintel sql`` and the digest read the newest
snapshot instead (see docs/ARCHITECTURE.md for the design and its costs).

Layout, for ``NEWSINTEL_DB=data/newsintel.duckdb``::

    data/newsintel.duckdb.snapshots/
        CURRENT                              pointer: {"file": ..., "published_at": ...}
        20261203T103200.123456Z.duckdb       a snapshot, never written after its rename
        .tmp-20261203T110000.000000Z.duckdb  a publish under way (or killed mid-way)

Publishing, under the database's write lock (so no other writer changes the file):
CHECKPOINT (the file alone then holds every committed change), copy the file to a
temporary name (a copy-on-write clone where the file system can), fsync, rename, then
write the pointer the same way. A process killed at any step leaves CURRENT naming the
previous snapshot, which keeps serving; the next publish removes the leftovers.

Reading takes a shared ``flock`` on the snapshot file (the *lease*) for as long as it
reads; a superseded snapshot is deleted only by whoever gets an exclusive ``flock`` on
it, i.e. once no reader holds it. ``flock`` is independent of the ``fcntl`` record
locks DuckDB takes itself, and the kernel drops it when a reader dies.

':memory:' has no file and MotherDuck ('md:') serves concurrent readers itself, so
neither gets snapshots: readers open the connection string as it is.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from newsintel.errors import DatabaseLockedError, StoreError
from newsintel.store.connect import Connection, file_path, open_db

POINTER = "CURRENT"
_SUFFIX = ".duckdb"
_TMP = ".tmp-"
# Linux's FICLONE ioctl (_IOW(0x94, 9, int)): a copy-on-write clone on btrfs, XFS and
# bcachefs, constant time whatever the size; elsewhere it fails and we copy bytes.
_FICLONE = 0x40049409


@dataclass(frozen=True)
class Snapshot:
    """One published snapshot: its file and when it was published (UTC)."""

    path: Path
    published_at: datetime


@dataclass(frozen=True)
class ReadTarget:
    """What a reader opens: a connection string, and the snapshot behind it if any.

    ``snapshot`` is None for ':memory:', MotherDuck, and a file database that has no
    snapshot yet (one built before snapshots existed, until its next writing job):
    then ``db`` is the database itself, read under DuckDB's usual lock rules.
    """

    db: str
    snapshot: Snapshot | None


def snapshot_dir(db: str) -> Path | None:
    """The snapshot folder of a file database (``<file>.snapshots``); None otherwise."""
    path = file_path(db)
    return None if path is None else path.with_name(path.name + ".snapshots")


def current(db: str) -> Snapshot | None:
    """The newest published snapshot of ``db``, or None when there is none."""
    folder = snapshot_dir(db)
    if folder is None:
        return None
    try:
        pointer = json.loads((folder / POINTER).read_text(encoding="utf-8"))
        name, stamp = str(pointer["file"]), str(pointer["published_at"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"unreadable snapshot pointer {folder / POINTER}: {exc}") from None
    return Snapshot(folder / name, datetime.fromisoformat(stamp))


def _fsync_dir(folder: Path) -> None:
    # A rename is durable only once the folder itself is synced.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _clone_or_copy(source: Path, target: Path) -> None:
    """Copy ``source`` to the new file ``target``, cloning where the file system can."""
    with source.open("rb") as src, target.open("wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
            cloned = True
        except OSError:
            cloned = False
    if not cloned:
        # ext4, tmpfs, overlayfs...: copy the bytes (sendfile, inside the kernel).
        shutil.copyfile(source, target)
    with target.open("rb") as done:
        os.fsync(done.fileno())


def _write_pointer(folder: Path, snapshot: Snapshot) -> None:
    body = json.dumps(
        {"file": snapshot.path.name, "published_at": snapshot.published_at.isoformat()}
    )
    tmp = folder / f"{_TMP}{POINTER}"
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, folder / POINTER)
    _fsync_dir(folder)


def publish(db: str, *, lock_wait_s: float = 60.0) -> Snapshot | None:
    """Publish a read snapshot of ``db`` and make it the one readers open.

    Returns None for ':memory:' and MotherDuck (no snapshots there). Raises
    DatabaseLockedError when another writer keeps the file for ``lock_wait_s``: that
    writer publishes when it ends.
    """
    source = file_path(db)
    folder = snapshot_dir(db)
    if source is None or folder is None or not source.exists():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    with open_db(db, lock_wait_s=lock_wait_s) as con:
        # Holding the write connection keeps other writers out while the file is copied.
        con.execute("CHECKPOINT")
        _remove_leftovers(folder)
        now = datetime.now(UTC)
        name = f"{now:%Y%m%dT%H%M%S.%fZ}{_SUFFIX}"
        tmp = folder / f"{_TMP}{name}"
        _clone_or_copy(source, tmp)
        os.replace(tmp, folder / name)
        _fsync_dir(folder)
        snapshot = Snapshot(folder / name, now)
        _write_pointer(folder, snapshot)
    remove_unused(db)
    return snapshot


def _remove_leftovers(folder: Path) -> None:
    # Only a publisher holding the write lock may do this: no other publish is under way,
    # so every temporary file belongs to a publish that died.
    for leftover in folder.glob(f"{_TMP}*"):
        leftover.unlink(missing_ok=True)


def superseded(db: str) -> list[Path]:
    """The snapshots of ``db`` older than the current one, oldest first (none while
    nothing is published). A newer file than the current one is not among them: it may
    be a publish between its rename and its pointer switch; nor are temporary files."""
    folder = snapshot_dir(db)
    newest = current(db)
    if folder is None or newest is None:
        return []
    return [
        path
        for path in sorted(folder.glob(f"*{_SUFFIX}"))
        if not path.name.startswith(_TMP) and path.name < newest.path.name
    ]


def remove_unused(db: str) -> list[Path]:
    """Delete superseded snapshots no reader holds; return the deleted paths. Never
    blocks."""
    removed = []
    for path in superseded(db):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # another process removed it first
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # a reader still holds it; whoever publishes or reads next retries
        try:
            path.unlink(missing_ok=True)
            removed.append(path)
        finally:
            os.close(fd)  # closing drops the flock
    return removed


def lease(snapshot: Snapshot) -> int | None:
    """A shared flock on ``snapshot``'s file; None when it is gone (superseded)."""
    try:
        fd = os.open(snapshot.path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    fcntl.flock(fd, fcntl.LOCK_SH)
    try:
        still_there = os.stat(snapshot.path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        still_there = False
    if not still_there:
        # A cleaner unlinked it between our open and our lock: read the pointer again.
        os.close(fd)
        return None
    return fd


@contextmanager
def reading(db: str, *, attempts: int = 20) -> Iterator[ReadTarget]:
    """Hold the newest snapshot of ``db`` for reading during the block.

    Yields the connection string to open read-only. While the block runs, that file is
    not deleted, whatever is published meanwhile. Superseded snapshots nobody holds are
    removed on the way out.
    """
    fd: int | None = None
    target = ReadTarget(db, None)
    for _ in range(attempts):
        snapshot = current(db)
        if snapshot is None:
            break
        fd = lease(snapshot)
        if fd is not None:
            target = ReadTarget(str(snapshot.path), snapshot)
            break
    else:
        raise DatabaseLockedError(f"no snapshot of {db} stayed in place long enough to read")
    try:
        yield target
    finally:
        if fd is not None:
            os.close(fd)
            remove_unused(db)


@contextmanager
def open_snapshot(db: str) -> Iterator[Connection]:
    """A read-only connection to the newest snapshot of ``db`` for the block.

    For readers outside the pipeline (CLI listings, the app): a writer holding the
    database never makes them wait. Without a snapshot (':memory:', MotherDuck, a file
    from before snapshots) it opens ``db`` itself read-only, as before.
    """
    with reading(db) as target, open_db(target.db, read_only=True) as con:
        yield con
