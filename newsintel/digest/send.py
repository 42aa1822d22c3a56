"""Deliver rendered digests over SMTP.

``Mailer`` is the protocol the jobs depend on (tests and dry runs can swap it);
``SmtpMailer`` is the smtplib implementation. The SMTP conversation is driven step by
step (connect, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA) rather than with
``sendmail`` so that every failure can be reported with the step it happened in, as
one MailError with a specific, user-facing message.
"""

from __future__ import annotations

import email.policy
import logging
import smtplib
import socket
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Protocol, get_args

from newsintel.config import Settings, TlsMode
from newsintel.errors import MailError

log = logging.getLogger(__name__)

_DROPPED = (
    smtplib.SMTPServerDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    ConnectionAbortedError,
)


class Mailer(Protocol):
    """Something that delivers one message to a list of envelope recipients."""

    def send(self, message: EmailMessage, recipients: Sequence[str]) -> None:
        """Deliver ``message`` to every address in ``recipients`` or raise MailError."""
        ...


class SmtpMailer:
    """Send messages through one SMTP server (plain, STARTTLS or implicit TLS).

    ``ssl_context`` overrides the default certificate checks, e.g. to trust a private
    CA; by default the server certificate and host name are verified.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        user: str = "",
        password: str = "",
        tls: TlsMode = "starttls",
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not host:
            raise MailError("SMTP host not configured: set NEWSINTEL_SMTP_HOST")
        if tls not in get_args(TlsMode):
            raise MailError(f"unknown SMTP TLS mode {tls!r}: use none, starttls or ssl")
        if timeout <= 0:
            raise MailError(f"SMTP timeout must be positive, got {timeout}")
        self.host = host
        self.port = port
        self.user = user
        self.tls = tls
        self.timeout = timeout
        self._password = password
        self._ssl_context = ssl_context

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpMailer:
        """An SmtpMailer configured from the smtp_* settings."""
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password,
            tls=settings.smtp_tls,
            timeout=settings.smtp_timeout,
        )

    def __repr__(self) -> str:
        # The password never appears in logs or tracebacks.
        return (
            f"SmtpMailer(host={self.host!r}, port={self.port}, user={self.user!r}, "
            f"tls={self.tls!r}, timeout={self.timeout})"
        )

    def send(self, message: EmailMessage, recipients: Sequence[str]) -> None:
        """Deliver ``message`` to ``recipients`` in one SMTP transaction.

        All recipients must be accepted: if the server refuses one, nothing is sent and
        MailError names the refused address. Every other SMTP, TLS or network failure is
        raised as MailError too.
        """
        recipients = [address for address in recipients if address.strip()]
        if not recipients:
            raise MailError("no digest recipients: set NEWSINTEL_DIGEST_TO")
        sender = _envelope_sender(message)
        try:
            data = message.as_bytes(policy=email.policy.SMTP)
        except (ValueError, UnicodeError) as exc:
            raise MailError(f"the digest message cannot be encoded for SMTP: {exc}") from None

        phase = "connect"
        client: smtplib.SMTP | None = None
        try:
            client = self._connect()
            phase = "EHLO"
            client.ehlo()
            if self.tls == "starttls":
                phase = "STARTTLS"
                client.starttls(context=self._context())
                phase = "EHLO"
                # RFC 3207: the server forgets everything said before TLS; ask again.
                client.ehlo()
            if self.user:
                phase = "AUTH"
                client.login(self.user, self._password)
            phase = "MAIL FROM"
            code, reply = client.mail(sender)
            if code == 530:
                # RFC 4954: 530 means "log in first", not a problem with the sender.
                raise MailError(
                    "SMTP server requires authentication: set NEWSINTEL_SMTP_USER and "
                    f"NEWSINTEL_SMTP_PASSWORD ({_reply(code, reply)})"
                )
            if code != 250:
                raise MailError(f"sender refused: {sender} ({_reply(code, reply)})")
            phase = "RCPT TO"
            for address in recipients:
                code, reply = client.rcpt(address)
                if code not in (250, 251):
                    raise MailError(f"recipient refused: {address} ({_reply(code, reply)})")
            phase = "DATA"
            client.data(data)
            phase = "QUIT"
            _quit_quietly(client)
        except MailError:
            raise
        except (smtplib.SMTPException, OSError) as exc:
            raise self._error(exc, phase) from None
        finally:
            if client is not None:
                client.close()
        log.info(
            "sent %s to %d recipient(s) via %s:%s",
            message["Subject"],
            len(recipients),
            self.host,
            self.port,
        )

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "ssl":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _error(self, exc: BaseException, phase: str) -> MailError:
        """Translate a smtplib/socket/ssl exception raised during ``phase``."""
        where = f"{self.host}:{self.port}"
        # smtplib turns socket timeouts while reading a reply into "Connection
        # unexpectedly closed"; the timeout survives as the exception's context.
        if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
            return MailError(f"SMTP timed out after {self.timeout} s ({phase}, {where})")
        if isinstance(exc, ConnectionRefusedError):
            return MailError(f"SMTP connection to {where} refused")
        if isinstance(exc, socket.gaierror):
            return MailError(f"SMTP host {self.host!r} not found ({exc.strerror})")
        if isinstance(exc, ssl.SSLError):
            return MailError(f"TLS handshake with SMTP server {where} failed: {exc.reason or exc}")
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return MailError(
                f"SMTP authentication failed for user {self.user!r} "
                f"({_reply(exc.smtp_code, exc.smtp_error)})"
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            if phase == "AUTH":
                return MailError(
                    f"SMTP server {where} offers no AUTH here; use NEWSINTEL_SMTP_TLS=starttls "
                    "or ssl, or leave NEWSINTEL_SMTP_USER empty"
                )
            return MailError(f"SMTP server {where} does not support {phase}")
        if isinstance(exc, smtplib.SMTPDataError):
            return MailError(
                f"message refused by SMTP server ({_reply(exc.smtp_code, exc.smtp_error)})"
            )
        if isinstance(exc, _DROPPED):
            return MailError(f"SMTP connection dropped during {phase}")
        if isinstance(exc, smtplib.SMTPResponseException):
            return MailError(f"SMTP error during {phase} ({_reply(exc.smtp_code, exc.smtp_error)})")
        if isinstance(exc, smtplib.SMTPException):
            return MailError(f"SMTP error during {phase}: {exc}")
        if isinstance(exc, OSError):
            return MailError(f"SMTP connection to {where} failed: {exc.strerror or exc}")
        return MailError(f"SMTP error during {phase}: {exc}")


def _envelope_sender(message: EmailMessage) -> str:
    header = message["Sender"] or message["From"]
    addresses = [address for _, address in getaddresses([str(header or "")]) if address]
    if not addresses:
        raise MailError("the digest message has no From address")
    return addresses[0]


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"{code} {' '.join(text.split())}"


def _quit_quietly(client: smtplib.SMTP) -> None:
    # The message is already accepted after DATA; a failed QUIT changes nothing.
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        log.debug("SMTP QUIT failed after a successful send", exc_info=True)
