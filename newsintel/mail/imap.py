"""A read-only IMAP client for one folder, on the standard library's ``imaplib``.

Only five commands are needed (LOGIN, EXAMINE, UID SEARCH, UID FETCH, LOGOUT), so
imaplib does the job without a dependency. The folder is opened with EXAMINE, never
SELECT, and bodies are fetched with BODY.PEEK[]: nothing is marked read, moved or
deleted. Sizes are asked for first, so a message over the cap is never downloaded.
Every failure becomes a MailboxError saying what went wrong (password, TLS,
folder, network) in words.
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from newsintel.errors import MailboxError
from newsintel.mail.sources import MailboxSource

_FETCH_HEADER = re.compile(rb"UID (\d+)|RFC822\.SIZE (\d+)|INTERNALDATE \"([^\"]+)\"")
# UIDs fetched per UID FETCH command: few enough that one reply stays small.
FETCH_CHUNK = 25


@dataclass(frozen=True)
class Folder:
    """What EXAMINE says about a folder."""

    uidvalidity: int
    exists: int


@dataclass(frozen=True)
class FetchedMessage:
    """One message of the folder: its bytes, or None when over the size cap."""

    uid: int
    size: int
    internal_date: datetime | None
    data: bytes | None


def _internal_date(raw: bytes | None) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.strptime(raw.decode("ascii"), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None)


def _quote(folder: str) -> str:
    # imaplib sends arguments as they are: a folder with spaces must be quoted.
    escaped = folder.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


class ImapFolder:
    """A context manager holding one logged-in, read-only (EXAMINE) IMAP session."""

    def __init__(self, source: MailboxSource, password: str, timeout: float) -> None:
        self.source = source
        self._password = password
        self._timeout = timeout
        self._imap: imaplib.IMAP4 | None = None

    def _where(self) -> str:
        return f"mailbox {self.source.name!r} ({self.source.host}:{self.source.port})"

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.source.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def __enter__(self) -> ImapFolder:
        source = self.source
        try:
            if source.tls == "ssl":
                self._imap = imaplib.IMAP4_SSL(
                    source.host, source.port, ssl_context=self._context(), timeout=self._timeout
                )
            else:
                self._imap = imaplib.IMAP4(source.host, source.port, timeout=self._timeout)
                if source.tls == "starttls":
                    self._imap.starttls(self._context())
            self._imap.login(source.user, self._password)
        except ssl.SSLCertVerificationError as exc:
            self._drop()
            raise MailboxError(
                f"{self._where()}: TLS certificate not trusted ({exc.verify_message}); "
                "set ca_file if the server uses a private CA"
            ) from None
        except ssl.SSLError as exc:
            self._drop()
            raise MailboxError(f"{self._where()}: TLS failed ({exc.reason or exc})") from None
        except imaplib.IMAP4.error as exc:
            self._drop()
            text = str(exc)
            if "AUTH" in text.upper() or "LOGIN" in text.upper() or "password" in text:
                raise MailboxError(
                    f"{self._where()}: login refused for {source.user!r} (wrong user or "
                    f"password?): {text}"
                ) from None
            raise MailboxError(f"{self._where()}: {text}") from None
        except TimeoutError:
            self._drop()
            raise MailboxError(f"{self._where()}: timed out") from None
        except OSError as exc:
            self._drop()
            raise MailboxError(f"{self._where()}: cannot connect ({exc.strerror or exc})") from None
        return self

    def _drop(self) -> None:
        if self._imap is not None:
            with suppress(OSError, imaplib.IMAP4.error):
                self._imap.shutdown()
        self._imap = None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._imap is not None:
            with suppress(OSError, imaplib.IMAP4.error):  # the session is over either way
                self._imap.logout()
        self._imap = None

    @property
    def imap(self) -> imaplib.IMAP4:
        if self._imap is None:
            raise MailboxError(f"{self._where()}: not connected")
        return self._imap

    def _command(self, what: str, result: tuple[str, list[object]]) -> list[object]:
        status, data = result
        if status != "OK":
            detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
            raise MailboxError(f"{self._where()}: {what} failed: {detail}")
        return data

    def examine(self) -> Folder:
        """Open the folder read-only; MailboxError when it does not exist."""
        try:
            status, data = self.imap.select(_quote(self.source.folder), readonly=True)
            if status != "OK":
                detail = b" ".join(d for d in data if isinstance(d, bytes)).decode()
                raise MailboxError(
                    f"{self._where()}: folder {self.source.folder!r} cannot be opened: {detail}"
                )
            _, validity = self.imap.response("UIDVALIDITY")
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(f"{self._where()}: EXAMINE failed: {exc}") from None
        if not validity or not isinstance(validity[0], bytes):
            raise MailboxError(f"{self._where()}: the server sent no UIDVALIDITY")
        exists = int(data[0]) if data and isinstance(data[0], bytes) else 0
        return Folder(int(validity[0]), exists)

    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs above ``last_uid`` matching the mailbox's SEARCH filter, ascending."""
        criteria = [f"UID {last_uid + 1}:*"]
        if self.source.search:
            criteria.append(self.source.search)
        try:
            data = self._command("UID SEARCH", self.imap.uid("SEARCH", *criteria))
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(f"{self._where()}: SEARCH failed: {exc}") from None
        found = b" ".join(d for d in data if isinstance(d, bytes)).split()
        # "n:*" always matches the last message, even when its UID is below n.
        return sorted(uid for uid in (int(u) for u in found) if uid > last_uid)

    def fetch(self, uids: Sequence[int], max_bytes: int) -> Iterator[FetchedMessage]:
        """The messages with these UIDs, in UID order; over ``max_bytes``: data None."""
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start : start + FETCH_CHUNK]
            sizes = self._sizes(chunk)
            small = [uid for uid in chunk if sizes.get(uid, (0, None))[0] <= max_bytes]
            bodies = self._bodies(small) if small else {}
            for uid in chunk:
                size, arrived = sizes.get(uid, (0, None))
                yield FetchedMessage(uid, size, arrived, bodies.get(uid))

    def _uid_set(self, uids: Sequence[int]) -> str:
        return ",".join(str(uid) for uid in uids)

    def _sizes(self, uids: Sequence[int]) -> dict[int, tuple[int, datetime | None]]:
        try:
            data = self._command(
                "UID FETCH",
                self.imap.uid("FETCH", self._uid_set(uids), "(RFC822.SIZE INTERNALDATE)"),
            )
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(f"{self._where()}: FETCH failed: {exc}") from None
        sizes: dict[int, tuple[int, datetime | None]] = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            if not isinstance(line, bytes):
                continue
            uid = size = None
            date: bytes | None = None
            for found in _FETCH_HEADER.finditer(line):
                uid = int(found.group(1)) if found.group(1) else uid
                size = int(found.group(2)) if found.group(2) else size
                date = found.group(3) or date
            if uid is not None:
                sizes[uid] = (size or 0, _internal_date(date))
        return sizes

    def _bodies(self, uids: Sequence[int]) -> dict[int, bytes]:
        try:
            data = self._command(
                "UID FETCH", self.imap.uid("FETCH", self._uid_set(uids), "(UID BODY.PEEK[])")
            )
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(f"{self._where()}: FETCH failed: {exc}") from None
        bodies: dict[int, bytes] = {}
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                header, body = item
                found = re.search(rb"UID (\d+)", header) if isinstance(header, bytes) else None
                if found and isinstance(body, bytes):
                    bodies[int(found.group(1))] = body
        return bodies
