"""`newsintel digest --send` against a real loopback SMTP server, once per period."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from dataclasses import replace
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from smtpserver import closed_port, smtp_server

from newsintel.config import Settings
from newsintel.errors import DigestError
from newsintel.jobs import run_digest
from newsintel.store import open_db
from newsintel.store.snapshots import publish

pytestmark = pytest.mark.slow


@pytest.fixture
def digest_settings(demo_db: Settings, tmp_path: Path) -> Settings:
    """A private copy of the demo database (sending writes digest_log)."""
    copy = tmp_path / "digest.duckdb"
    shutil.copy(demo_db.db, copy)
    return replace(
        demo_db,
        db=str(copy),
        digest_to=["ana@example.com", "ben@example.com"],
        digest_from="newsintel@example.com",
        smtp_host="127.0.0.1",
        smtp_tls="none",
        smtp_timeout=3.0,
    )


def log_rows(settings: Settings) -> list[tuple[str, str]]:
    with open_db(settings.db, read_only=True) as con:
        return con.execute("SELECT recipient, status FROM digest_log ORDER BY 1").fetchall()


def test_send_once_per_recipient_and_never_twice(digest_settings: Settings) -> None:
    with smtp_server() as server:
        settings = replace(digest_settings, smtp_port=server.port)
        report = run_digest(settings, period="weekly", send=True)
        assert report.ok
        assert [d.status for d in report.deliveries] == ["sent", "sent"]
        assert len(server.received) == 2
        message = BytesParser(policy=policy.default).parsebytes(server.received[0].data)
        assert message.get_content_type() == "multipart/alternative"
        assert message.get_body(("plain",)) is not None
        html = message.get_body(("html",))
        assert html is not None and "cid:" in html.get_content()
        images = [p for p in message.walk() if p.get_content_type() == "image/png"]
        assert len(images) == 1
        for header in ("Date", "Message-ID", "List-Unsubscribe"):
            assert message[header]
        assert "sample data" in message.get_body(("plain",)).get_content()

        again = run_digest(settings, period="weekly", send=True)
        assert [d.status for d in again.deliveries] == ["already_sent", "already_sent"]
        assert len(server.received) == 2
    assert log_rows(settings) == [("ana@example.com", "sent"), ("ben@example.com", "sent")]


def test_failed_delivery_is_not_marked_sent_and_is_retried(digest_settings: Settings) -> None:
    refused = replace(digest_settings, smtp_port=closed_port())
    report = run_digest(refused, period="weekly", send=True)
    assert not report.ok
    assert all(d.status == "failed" and "refused" in d.detail for d in report.deliveries)
    assert log_rows(refused) == [("ana@example.com", "failed"), ("ben@example.com", "failed")]
    with smtp_server() as server:
        retry = run_digest(replace(refused, smtp_port=server.port), period="weekly", send=True)
        assert [d.status for d in retry.deliveries] == ["sent", "sent"]
        assert len(server.received) == 2


def test_one_refused_recipient_does_not_block_the_other(digest_settings: Settings) -> None:
    with smtp_server(refuse=["ben@example.com"]) as server:
        settings = replace(digest_settings, smtp_port=server.port)
        report = run_digest(settings, period="weekly", send=True)
        statuses = {d.recipient: d.status for d in report.deliveries}
        assert statuses == {"ana@example.com": "sent", "ben@example.com": "failed"}
        assert len(server.received) == 1


def test_dry_run_writes_eml_and_html_per_recipient(
    digest_settings: Settings, tmp_path: Path
) -> None:
    report = run_digest(digest_settings, period="daily", on_date="2026-08-19", out_dir=tmp_path)
    assert report.period_start == "2026-08-19"
    assert len(list(tmp_path.glob("*.eml"))) == 2
    assert len(list(tmp_path.glob("*.html"))) == 2
    assert log_rows(digest_settings) == []


def test_send_without_recipients_or_with_bad_date_is_clear(digest_settings: Settings) -> None:
    with pytest.raises(DigestError, match="no recipients"):
        run_digest(replace(digest_settings, digest_to=[]), send=True)
    with pytest.raises(Exception, match="date must be YYYY-MM-DD"):
        run_digest(digest_settings, send=True, on_date="19/08/2026")


def test_a_theme_at_zero_twice_is_steady_not_new(demo_db: Settings) -> None:
    from datetime import date

    from newsintel.digest.build import period_window
    from newsintel.jobs.digest_content import theme_moves

    with open_db(demo_db.db, read_only=True) as con:
        moves = theme_moves(con, period_window("weekly", date(2026, 8, 19)))
    idle = [m for m in moves if m.count == 0 and m.previous_count == 0]
    assert idle, "the demo's last week leaves some themes at zero twice"
    assert all(m.change_pct == 0.0 and m.direction == "steady" for m in idle)


# Another process opens the database for writing (as a pipeline step does), says so, and
# keeps it until told to let go.
WRITER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("HOLDING", flush=True)
sys.stdin.readline()
con.close()
"""


def test_digest_builds_while_another_process_holds_the_writer(
    digest_settings: Settings, tmp_path: Path
) -> None:
    assert publish(digest_settings.db) is not None
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, digest_settings.db],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stdin is not None
    stdin = writer.stdin
    assert writer.stdout.readline().strip() == "HOLDING"

    def let_go() -> None:
        stdin.write("go\n")
        stdin.flush()

    try:
        # The dry run only reads, from the snapshot: it is done while the writer holds on.
        out = tmp_path / "out"
        report = run_digest(digest_settings, period="weekly", out_dir=out)
        assert [d.status for d in report.deliveries] == ["written", "written"]
        assert len(list(out.glob("*.eml"))) == 2
        assert writer.poll() is None
        # Sending records each delivery in the writable file: it waits for the writer to
        # let go (a second from now) instead of failing with "locked".
        threading.Timer(1.0, let_go).start()
        with smtp_server() as server:
            sent = run_digest(
                replace(digest_settings, smtp_port=server.port), period="weekly", send=True
            )
        assert [d.status for d in sent.deliveries] == ["sent", "sent"]
        assert len(server.received) == 2
    finally:
        if writer.poll() is None:
            writer.communicate("go\n", timeout=60)
    assert writer.returncode == 0
    assert log_rows(digest_settings) == [("ana@example.com", "sent"), ("ben@example.com", "sent")]
