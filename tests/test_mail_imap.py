"""IMAP mailboxes against a real Dovecot on loopback (tests/imapserver.py): IMAPS and
STARTTLS, incremental reads by UID, a UIDVALIDITY change, and each failure in words."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from imapserver import ImapServer

from newsintel.cli import main
from newsintel.config import Settings
from newsintel.jobs.mail import MailboxReport, read_mailboxes
from newsintel.mail.sources import MailboxSource, load_mailboxes

FOLDER = Path(__file__).parent / "fixtures" / "mail"
FEED = Path(__file__).parent / "fixtures" / "feeds" / "rss20.xml"
ENV = "NEWSINTEL_TEST_IMAP_PASSWORD"


def _eml(name: str) -> bytes:
    return (FOLDER / name).read_bytes()


def _mailbox(server: ImapServer, box: str, **changes: object) -> MailboxSource:
    values: dict[str, object] = {
        "source_id": "inbox",
        "name": "Inbox",
        "host": server.host,
        "port": server.imaps_port,
        "user": server.user,
        "password_env": ENV,
        "folder": box,
        "tls": "ssl",
        "ca_file": str(server.ca_file),
    }
    values.update(changes)
    return MailboxSource(**values)  # type: ignore[arg-type]


def _read(settings: Settings, mailbox: MailboxSource) -> MailboxReport:
    (report,) = read_mailboxes(settings, [mailbox])
    return report


def _one(settings: Settings, sql: str) -> tuple[object, ...]:
    with duckdb.connect(settings.db, read_only=True) as con:
        row = con.execute(sql).fetchone()
    assert row is not None
    return row


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch, imap_server: ImapServer) -> None:
    monkeypatch.setenv(ENV, imap_server.password)


def test_imaps_reads_only_new_messages_and_survives_uidvalidity_change(
    imap_server: ImapServer, settings: Settings
) -> None:
    mailbox = _mailbox(imap_server, "Newsletters")
    imap_server.deliver("Newsletters", _eml("the_download.eml"), _eml("windows1252.eml"))
    first = _read(settings, mailbox)
    assert (first.status, first.messages, first.last_uid) == ("ok", 2, 2), first.error
    assert first.new_articles == 11  # 2 issues + 6 + 3 stories
    assert _read(settings, mailbox).messages == 0  # nothing new

    imap_server.deliver(
        "Newsletters", _eml("the_spark_base64.eml"), _eml("broken_truncated.eml"),
        _eml("no_date_attachment.eml"),
    )  # fmt: skip
    second = _read(settings, mailbox)
    assert (second.messages, second.last_uid, second.resynced) == (2, 5, False)
    assert [s.name for s in second.skipped] == ["Inbox UID 4"]
    assert "truncated MIME" in second.skipped[0].reason
    # No Date header: the server's INTERNALDATE, flagged.
    assert _one(
        settings,
        "SELECT bool_and(published_estimated) FROM articles WHERE title LIKE 'Grid Notes%'",
    ) == (True,)
    total = _one(settings, "SELECT count(*) FROM articles")[0]

    # Examined read-only: nothing was marked \Seen.
    client = imap_server.client()
    client.select('"Newsletters"', readonly=True)
    _status, flags = client.uid("FETCH", "1:*", "(FLAGS)")
    client.logout()
    assert all(b"\\Seen" not in line for line in flags if isinstance(line, bytes))

    imap_server.recreate(
        "Newsletters", _eml("the_download.eml"), _eml("windows1252.eml"),
        _eml("the_spark_base64.eml"), _eml("forwarded_inline.eml"),
    )  # fmt: skip
    third = _read(settings, mailbox)
    assert third.resynced and third.status == "ok"
    assert (third.messages, third.last_uid) == (4, 4)
    assert third.new_articles == 4  # only Battery Weekly is new: no duplicates
    assert _one(settings, "SELECT count(*) FROM articles")[0] == total + 4
    health = _one(
        settings,
        "SELECT last_status, last_uid, resyncs, messages_read, messages_skipped, "
        "last_message_at IS NOT NULL FROM v_mailbox_health WHERE source_id = 'inbox'",
    )
    assert health == ("ok", 4, 1, 8, 1, True)


def test_starttls_and_size_cap(imap_server: ImapServer, tmp_path: Path) -> None:
    from conftest import make_settings

    settings = make_settings(tmp_path, mail_max_bytes=4000)
    imap_server.deliver("Capped", _eml("the_download.eml"), _eml("windows1252.eml"))
    mailbox = _mailbox(imap_server, "Capped", port=imap_server.imap_port, tls="starttls")
    report = _read(settings, mailbox)
    assert report.status == "ok" and report.messages == 1
    assert "too large" in report.skipped[0].reason


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password_env": "NEWSINTEL_TEST_WRONG"}, "login refused"),
        ({"folder": "No Such Folder"}, "folder 'No Such Folder' cannot be opened"),
        ({"ca_file": None}, "TLS certificate not trusted"),
        ({"port": 1}, "cannot connect"),
        ({"password_env": "NEWSINTEL_TEST_UNSET"}, "NEWSINTEL_TEST_UNSET (password_env) is not"),
    ],
    ids=["wrong-password", "unknown-folder", "tls-untrusted", "refused", "no-password"],
)  # fmt: skip
def test_failures_are_recorded_in_words(
    imap_server: ImapServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, object],
    message: str,
) -> None:
    monkeypatch.setenv("NEWSINTEL_TEST_WRONG", "not-the-password")
    imap_server.deliver("INBOX", _eml("the_download.eml"))
    report = _read(settings, _mailbox(imap_server, "INBOX", **changes))
    assert report.status == "failed"
    assert report.error is not None and message in report.error
    row = _one(
        settings, "SELECT last_status, last_error, consecutive_failures FROM v_mailbox_health"
    )
    assert row[0] == "failed" and message in str(row[1]) and row[2] == 1


def test_ingest_reads_feeds_and_mailboxes_and_one_failure_stops_neither(
    imap_server: ImapServer, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imap_server.deliver("Ingest", _eml("the_spark_base64.eml"))
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(
        f"""
[[feeds]]
name = "Local feed"
url = "{FEED}"

[[feeds]]
kind = "imap"
name = "Broken mailbox"
host = "127.0.0.1"
port = {imap_server.imaps_port}
user = "{imap_server.user}"
folder = "Missing"
password_env = "{ENV}"
ca_file = "{imap_server.ca_file}"

[[feeds]]
kind = "imap"
name = "Newsletters"
host = "127.0.0.1"
port = {imap_server.imaps_port}
user = "{imap_server.user}"
folder = "Ingest"
search = 'FROM "techreview.example.com"'
password_env = "{ENV}"
ca_file = "{imap_server.ca_file}"
"""
    )
    assert [m.name for m in load_mailboxes(feeds)] == ["Broken mailbox", "Newsletters"]
    assert main(["--db", settings.db, "ingest", "--feeds", str(feeds), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["feeds_total"] == 1 and report["feeds_ok"] == 1
    boxes = {m["name"]: m for m in report["mailboxes"]}
    assert boxes["Broken mailbox"]["status"] == "failed"
    assert "Missing" in boxes["Broken mailbox"]["error"]
    assert boxes["Newsletters"]["status"] == "ok" and boxes["Newsletters"]["stories"] == 4
    kinds = dict(
        duckdb.connect(settings.db, read_only=True)
        .execute("SELECT source_id, kind FROM sources")
        .fetchall()
    )
    assert kinds["broken-mailbox"] == kinds["newsletters"] == "mailbox"
    assert kinds["local-feed"] == "feed"
