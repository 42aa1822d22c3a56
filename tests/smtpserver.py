"""Real SMTP servers on loopback for tests: aiosmtpd, plus a scripted raw-socket server.

``smtp_server()`` runs aiosmtpd and records what it receives; it can require AUTH,
refuse recipients, stall before answering DATA, and speak STARTTLS or implicit TLS.
``scripted_server()`` misbehaves in ways aiosmtpd will not: it never greets, or it
hangs up after the message data. ``closed_port()`` gives a port nobody listens on.
``self_signed_tls()`` makes a certificate with the openssl command line tool.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
USER = "digest-user"
PASSWORD = "s3cret-pw"


@dataclass(frozen=True)
class Received:
    """One message as the server got it: envelope and raw bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    def message(self) -> EmailMessage:
        """The data parsed with the modern email policy."""
        parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpServer:
    """A running test server: where it listens and what it has received."""

    host: str
    port: int
    received: list[Received] = field(default_factory=list)


class _RecordingHandler:
    def __init__(self, server: SmtpServer, refuse: frozenset[str], stall: float) -> None:
        self.server = server
        self.refuse = refuse
        self.stall = stall

    async def handle_RCPT(
        self,
        server: Any,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.stall:
            await asyncio.sleep(self.stall)
        content = envelope.original_content or b""
        self.server.received.append(
            Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(content))
        )
        return "250 Message accepted for delivery"


def _authenticator(user: str, password: str) -> Any:
    def authenticate(
        server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        # handled=False makes aiosmtpd answer a failure itself (535); True means "replied".
        return AuthResult(success=ok, handled=False)

    return authenticate


def free_port() -> int:
    """A TCP port that was free a moment ago (aiosmtpd cannot listen on port 0)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def closed_port() -> int:
    """A loopback port with no listener: connecting to it is refused."""
    return free_port()


@contextmanager
def smtp_server(
    *,
    auth: tuple[str, str] | None = None,
    refuse: Iterable[str] = (),
    stall: float = 0.0,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
) -> Iterator[SmtpServer]:
    """Run aiosmtpd on 127.0.0.1 for the duration of the block.

    ``auth`` (user, password) makes AUTH required; without TLS it is allowed in clear
    text so plain tests can log in. ``refuse`` lists recipients answered with 550.
    ``stall`` seconds pass before DATA is answered (for client timeouts).
    ``starttls``/``implicit_tls`` take a server SSLContext (see ``self_signed_tls``).
    """
    server = SmtpServer(HOST, 0)
    handler = _RecordingHandler(server, frozenset(refuse), stall)
    options: dict[str, Any] = {"hostname": HOST}
    if auth is not None:
        options.update(
            authenticator=_authenticator(*auth),
            auth_required=True,
            auth_require_tls=starttls is not None,
        )
    if starttls is not None:
        options.update(tls_context=starttls, require_starttls=True)
    if implicit_tls is not None:
        options["ssl_context"] = implicit_tls
    controller = None
    for _ in range(5):
        server.port = free_port()
        controller = Controller(handler, port=server.port, **options)
        try:
            controller.start()
            break
        except (OSError, RuntimeError):
            # Another process took the port between probing and binding: try again.
            with suppress(Exception):
                controller.stop()
            controller = None
    if controller is None:
        raise RuntimeError("could not start the test SMTP server")
    try:
        yield server
    finally:
        controller.stop()


Behaviour = Literal["silent", "drop_after_data"]


@contextmanager
def scripted_server(behaviour: Behaviour) -> Iterator[SmtpServer]:
    """A raw-socket SMTP server on loopback that misbehaves on purpose.

    "silent" accepts connections and never sends its greeting. "drop_after_data"
    answers EHLO, MAIL, RCPT and DATA normally, reads the message up to the final
    ".", then closes the connection without a reply.
    """
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen()
    listener.settimeout(0.2)
    server = SmtpServer(HOST, int(listener.getsockname()[1]))
    stop = threading.Event()
    connections: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connections.append(connection)
            if behaviour == "drop_after_data":
                threading.Thread(
                    target=_drop_after_data, args=(connection, server), daemon=True
                ).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()
        for connection in connections:
            with suppress(OSError):
                connection.close()


def _drop_after_data(connection: socket.socket, server: SmtpServer) -> None:
    connection.settimeout(5)
    reader = connection.makefile("rb")
    try:
        connection.sendall(b"220 scripted ESMTP\r\n")
        while line := reader.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                connection.sendall(b"250-scripted\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                connection.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                data = b""
                while (chunk := reader.readline()) and chunk != b".\r\n":
                    data += chunk
                server.received.append(Received("", (), data))
                break
            else:
                connection.sendall(b"250 OK\r\n")
    except OSError:
        pass
    finally:
        reader.close()
        # Closing without a reply is the point: the client sees the line drop.
        connection.close()


@dataclass(frozen=True)
class TlsFiles:
    """A self-signed certificate for 127.0.0.1 and contexts that use it."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """A server context presenting the certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting only this certificate (hostname checked)."""
        context = ssl.create_default_context(cafile=str(self.cert))
        return context


def self_signed_tls(directory: Path) -> TlsFiles:
    """Create a self-signed certificate for 127.0.0.1 with openssl in ``directory``."""
    cert = directory / "cert.pem"
    key = directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return TlsFiles(cert, key)
