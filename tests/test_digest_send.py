"""Tests of newsintel.digest.send against real SMTP servers on loopback."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from digest_examples import UNICODE_TITLE, example_content
from smtpserver import (
    HOST,
    PASSWORD,
    USER,
    TlsFiles,
    closed_port,
    scripted_server,
    self_signed_tls,
    smtp_server,
)

from newsintel.config import load_settings
from newsintel.digest import Mailer, SmtpMailer, render_digest
from newsintel.errors import MailError

SENDER = "newsintel <digest@news.example.org>"
BOB = "bob@example.com"
UNSUBSCRIBE = "https://news.example.org/unsubscribe?token=abc"

pytestmark = [
    pytest.mark.timeout(30),
    # aiosmtpd warns when AUTH is allowed without TLS; the plain AUTH tests want that.
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]


@pytest.fixture(scope="module")
def message() -> EmailMessage:
    return render_digest(
        example_content(title=f"Weekly: {UNICODE_TITLE}"),
        sender=SENDER,
        recipient=BOB,
        unsubscribe=UNSUBSCRIBE,
        now=datetime(2026, 8, 24, 7, 0, tzinfo=UTC),
    )


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    return self_signed_tls(Path(tmp_path_factory.mktemp("tls")))


def plain_mailer(port: int, **options: object) -> SmtpMailer:
    settings: dict[str, object] = {"tls": "none", "timeout": 5.0}
    settings.update(options)
    return SmtpMailer(HOST, port, **settings)  # type: ignore[arg-type]


def test_send_delivers_one_complete_message(message: EmailMessage) -> None:
    with smtp_server() as server:
        mailer: Mailer = plain_mailer(server.port)
        mailer.send(message, [BOB])
    assert len(server.received) == 1
    received = server.received[0]
    assert received.mail_from == "digest@news.example.org"
    assert received.rcpt_tos == (BOB,)

    got = received.message()
    assert got.get_content_type() == "multipart/alternative"
    assert got["Subject"] == f"Weekly: {UNICODE_TITLE}"
    assert got["Date"] == "Mon, 24 Aug 2026 07:00:00 +0000"
    assert got["Message-ID"] == message["Message-ID"]
    assert got["Message-ID"].endswith("@news.example.org>")
    assert got["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    plain = got.get_body(preferencelist=("plain",))
    html = got.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    assert UNICODE_TITLE in plain.get_content()
    assert UNICODE_TITLE in html.get_content()
    images = [part for part in got.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1
    content_id = images[0]["Content-ID"].strip("<>")
    assert f"cid:{content_id}" in html.get_content()
    assert images[0].get_content().startswith(b"\x89PNG\r\n\x1a\n")


def test_send_to_several_recipients(message: EmailMessage) -> None:
    with smtp_server() as server:
        plain_mailer(server.port).send(message, [BOB, "carol@example.com"])
    assert [r.rcpt_tos for r in server.received] == [(BOB, "carol@example.com")]


def test_login_when_user_is_set(message: EmailMessage) -> None:
    with smtp_server(auth=(USER, PASSWORD)) as server:
        plain_mailer(server.port, user=USER, password=PASSWORD).send(message, [BOB])
    assert len(server.received) == 1


def test_connection_refused(message: EmailMessage) -> None:
    port = closed_port()
    with pytest.raises(MailError, match=rf"^SMTP connection to 127\.0\.0\.1:{port} refused$"):
        plain_mailer(port).send(message, [BOB])


def test_authentication_failure(message: EmailMessage) -> None:
    with smtp_server(auth=(USER, PASSWORD)) as server:
        mailer = plain_mailer(server.port, user=USER, password="wrong")
        with pytest.raises(
            MailError, match=r"^SMTP authentication failed for user 'digest-user' \(535 "
        ):
            mailer.send(message, [BOB])
    assert server.received == []


def test_authentication_required_but_not_configured(message: EmailMessage) -> None:
    with (
        smtp_server(auth=(USER, PASSWORD)) as server,
        pytest.raises(
            MailError,
            match=r"^SMTP server requires authentication: set NEWSINTEL_SMTP_USER .*\(530 ",
        ),
    ):
        plain_mailer(server.port).send(message, [BOB])


def test_recipient_refused_sends_nothing(message: EmailMessage) -> None:
    with (
        smtp_server(refuse=["mallory@example.com"]) as server,
        pytest.raises(MailError, match=r"^recipient refused: mallory@example\.com \(550 5\.1\.1 "),
    ):
        plain_mailer(server.port).send(message, [BOB, "mallory@example.com"])
    assert server.received == []


def test_timeout_waiting_for_data_reply(message: EmailMessage) -> None:
    with (
        smtp_server(stall=10) as server,
        pytest.raises(MailError, match=r"^SMTP timed out after 0\.5 s \(DATA, "),
    ):
        plain_mailer(server.port, timeout=0.5).send(message, [BOB])


def test_timeout_waiting_for_greeting(message: EmailMessage) -> None:
    with (
        scripted_server("silent") as server,
        pytest.raises(MailError, match=r"^SMTP timed out after 0\.5 s \(connect, "),
    ):
        plain_mailer(server.port, timeout=0.5).send(message, [BOB])


def test_connection_dropped_during_data(message: EmailMessage) -> None:
    with (
        scripted_server("drop_after_data") as server,
        pytest.raises(MailError, match=r"^SMTP connection dropped during DATA$"),
    ):
        plain_mailer(server.port).send(message, [BOB])
    # The server did read the whole message before hanging up.
    assert len(server.received) == 1


def test_starttls_then_auth(message: EmailMessage, tls: TlsFiles) -> None:
    with smtp_server(auth=(USER, PASSWORD), starttls=tls.server_context()) as server:
        mailer = SmtpMailer(
            HOST,
            server.port,
            user=USER,
            password=PASSWORD,
            tls="starttls",
            timeout=5,
            ssl_context=tls.client_context(),
        )
        mailer.send(message, [BOB])
    assert len(server.received) == 1


def test_implicit_tls(message: EmailMessage, tls: TlsFiles) -> None:
    with smtp_server(implicit_tls=tls.server_context()) as server:
        mailer = SmtpMailer(
            HOST, server.port, tls="ssl", timeout=5, ssl_context=tls.client_context()
        )
        mailer.send(message, [BOB])
    assert len(server.received) == 1


def test_untrusted_certificate_is_refused(message: EmailMessage, tls: TlsFiles) -> None:
    with smtp_server(starttls=tls.server_context()) as server:
        mailer = SmtpMailer(HOST, server.port, tls="starttls", timeout=5)
        with pytest.raises(MailError, match=r"^TLS handshake with SMTP server .* failed: "):
            mailer.send(message, [BOB])
    assert server.received == []


def test_auth_without_tls_when_server_offers_auth_only_after_starttls(
    message: EmailMessage, tls: TlsFiles
) -> None:
    with smtp_server(auth=(USER, PASSWORD), starttls=tls.server_context()) as server:
        mailer = plain_mailer(server.port, user=USER, password=PASSWORD)
        with pytest.raises(MailError, match="offers no AUTH here; use NEWSINTEL_SMTP_TLS"):
            mailer.send(message, [BOB])


def test_starttls_not_supported(message: EmailMessage) -> None:
    with smtp_server() as server:
        mailer = SmtpMailer(HOST, server.port, tls="starttls", timeout=5)
        with pytest.raises(MailError, match=r"does not support STARTTLS$"):
            mailer.send(message, [BOB])


def test_missing_host_is_reported() -> None:
    with pytest.raises(MailError, match=r"^SMTP host not configured: set NEWSINTEL_SMTP_HOST$"):
        SmtpMailer.from_settings(load_settings(env={}, config_file=None))


def test_from_settings() -> None:
    settings = load_settings(
        env={
            "NEWSINTEL_SMTP_HOST": "smtp.example.org",
            "NEWSINTEL_SMTP_PORT": "465",
            "NEWSINTEL_SMTP_USER": "me",
            "NEWSINTEL_SMTP_PASSWORD": "hunter2",
            "NEWSINTEL_SMTP_TLS": "ssl",
            "NEWSINTEL_SMTP_TIMEOUT": "2.5",
        }
    )
    mailer = SmtpMailer.from_settings(settings)
    assert (mailer.host, mailer.port, mailer.user, mailer.tls, mailer.timeout) == (
        "smtp.example.org",
        465,
        "me",
        "ssl",
        2.5,
    )
    assert "hunter2" not in repr(mailer)


def test_no_recipients(message: EmailMessage) -> None:
    with pytest.raises(MailError, match="no digest recipients"):
        plain_mailer(closed_port()).send(message, [])


def test_invalid_tls_mode() -> None:
    with pytest.raises(MailError, match="unknown SMTP TLS mode 'tls'"):
        SmtpMailer(HOST, 25, tls="tls", timeout=1)  # type: ignore[arg-type]
