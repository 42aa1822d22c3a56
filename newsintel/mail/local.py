"""Messages of a local mailbox: an mbox file, a Maildir, one .eml file or a folder of them.

Each message comes out as bytes with a name a person can find it by, and the time
the mailbox says it arrived (the mbox From_ line, a Maildir or .eml file's modification
time), which stands in for a missing Date header. Nothing is parsed here, and no
message is read beyond ``max_bytes``: a 50 MB message is named and skipped, not loaded.
"""

from __future__ import annotations

import mailbox
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from newsintel.errors import MailboxError

_FROM_LINE_DATE = "%a %b %d %H:%M:%S %Y"  # asctime(), as MTAs write the mbox From_ line
# A From_ line further down: "From sender Tue Feb 11 13:10:00 2025" (ends with a year).
_FROM_LINE = re.compile(rb"^From \S+ .*\d{4}\r?$", re.MULTILINE)
_SNIFF_BYTES = 1 << 20


@dataclass(frozen=True)
class RawMessage:
    """One message's bytes, or the reason it could not be read (``data`` is None)."""

    name: str
    data: bytes | None
    arrived_at: datetime | None
    error: str | None = None


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)
    except OSError:
        return None


def _from_line_date(line: bytes) -> datetime | None:
    # "From sender@example.com Tue Feb 11 13:10:00 2025": the date is the last 24 chars.
    text = line.decode("ascii", "replace").strip()
    for start in (-24, -25):  # single-digit days are sometimes padded with a space
        try:
            return datetime.strptime(" ".join(text[start:].split()), _FROM_LINE_DATE)
        except ValueError:
            continue
    return None


def _read_capped(path: Path, name: str, max_bytes: int) -> RawMessage:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return RawMessage(
                name, None, _mtime(path), f"too large ({size:,} bytes; the limit is {max_bytes:,})"
            )
        return RawMessage(name, path.read_bytes(), _mtime(path))
    except OSError as exc:
        return RawMessage(name, None, None, f"cannot read: {exc.strerror}")


def kind_of(path: Path) -> str:
    """'maildir', 'eml-folder', 'eml' or 'mbox'; MailboxError when ``path`` is none."""
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            return "maildir"
        return "eml-folder"
    if not path.exists():
        raise MailboxError(f"{path} does not exist")
    if path.suffix.lower() == ".eml":
        return "eml"
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise MailboxError(f"cannot read {path}: {exc.strerror}") from None
    # An mbox starts with "From "; one whose first From_ line is broken or missing still
    # has the From_ lines of the messages after it. Anything else is one message.
    if head.startswith(b"From ") or path.suffix.lower() in (".mbox", ".mbx"):
        return "mbox"
    return "mbox" if _FROM_LINE.search(head) else "eml"


def _leading_bytes(path: Path) -> bytes:
    """Bytes of an mbox before its first From_ line (a broken or missing one)."""
    lead = bytearray()
    with path.open("rb") as handle:
        for line in handle:
            if line.startswith(b"From "):
                break
            lead += line
    return bytes(lead)


def _mbox(path: Path, max_bytes: int) -> Iterator[RawMessage]:
    lead = _leading_bytes(path)
    if lead.strip():
        # mailbox.mbox silently drops what comes before the first From_ line: read it
        # as a message of its own, so a broken first From_ line loses nothing.
        name = f"{path} (before the first From_ line)"
        too_big = len(lead) > max_bytes
        yield RawMessage(
            name,
            None if too_big else lead,
            _mtime(path),
            f"too large ({len(lead):,} bytes; the limit is {max_bytes:,})" if too_big else None,
        )
    try:
        box = mailbox.mbox(path, create=False)
        keys = list(box.iterkeys())
    except (OSError, mailbox.Error) as exc:
        raise MailboxError(f"cannot read mbox {path}: {exc}") from None
    for position, key in enumerate(keys, start=1):
        name = f"{path} #{position}"
        try:
            with box.get_file(key, from_=True) as handle:
                arrived = _from_line_date(handle.readline())
                data = handle.read(max_bytes + 1)
        except (OSError, mailbox.Error) as exc:
            yield RawMessage(name, None, None, f"cannot read: {exc}")
            continue
        if len(data) > max_bytes:
            yield RawMessage(name, None, arrived, f"too large (over {max_bytes:,} bytes)")
        else:
            yield RawMessage(name, data, arrived or _mtime(path))
    box.close()


def _maildir(path: Path, max_bytes: int) -> Iterator[RawMessage]:
    # A Maildir message is one file in new/ or cur/ (tmp/ holds deliveries in flight);
    # its modification time is its delivery time, as mailbox.MaildirMessage has it.
    for sub in ("new", "cur"):
        for file in sorted((path / sub).iterdir()):
            if file.is_file() and not file.name.startswith("."):
                yield _read_capped(file, str(file), max_bytes)


def count_messages(path: Path) -> int | None:
    """How many messages ``path`` holds, when that is cheap to know (for progress)."""
    kind = kind_of(path)
    if kind == "eml":
        return 1
    if kind == "eml-folder":
        return sum(1 for _ in path.rglob("*.eml"))
    if kind == "maildir":
        return sum(1 for sub in ("new", "cur") for f in (path / sub).iterdir() if f.is_file())
    return None


def read_local(path: Path, max_bytes: int) -> Iterator[RawMessage]:
    """Every message of the mailbox at ``path``, in mailbox order.

    A message that cannot be read comes out with its ``error``; the rest go on. An
    empty mailbox gives nothing. MailboxError when ``path`` is missing or unreadable.
    """
    path = Path(path)
    kind = kind_of(path)
    if kind == "mbox":
        yield from _mbox(path, max_bytes)
    elif kind == "maildir":
        yield from _maildir(path, max_bytes)
    elif kind == "eml":
        yield _read_capped(path, str(path), max_bytes)
    else:
        for file in sorted(path.rglob("*.eml")):
            yield _read_capped(file, str(file), max_bytes)


def local_name(path: Path) -> str:
    """A display name for a local mailbox: its file or folder name."""
    return Path(os.path.abspath(path)).name
