"""`newsintel mail import` on real mbox files, Maildirs and .eml folders in tmp_path."""

from __future__ import annotations

import json
import mailbox
import shutil
from pathlib import Path

import duckdb
import pytest

from newsintel.cli import main
from newsintel.config import Settings
from newsintel.errors import MailboxError
from newsintel.feeds.sources import FeedSource
from newsintel.jobs import ingest
from newsintel.jobs.mail import import_mail

FOLDER = Path(__file__).parent / "fixtures" / "mail"
WEB_NEWSLETTER = Path(__file__).parent / "fixtures" / "feeds" / "newsletter" / "the_download.xml"
GOOD = ("the_download.eml", "the_spark_base64.eml", "windows1252.eml", "forwarded_inline.eml")
BIG = 50 * 1024 * 1024


def _rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(settings.db, read_only=True) as con:
        return con.execute(sql).fetchall()


def _big_message() -> bytes:
    head = b"From: Huge <huge@example.com>\nSubject: huge\nMessage-ID: <huge@example.com>\n\n"
    return head + b"x" * BIG


def test_import_eml_folder_json_and_reimport_adds_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--db", settings.db, "mail", "import", str(FOLDER), "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["messages"] == 6
    assert first["new_articles"] == 24  # 5 issues + 19 stories; the forward adds nothing
    assert sorted(Path(s["name"]).name for s in first["skipped"]) == [
        "broken_not_mail.eml",
        "broken_truncated.eml",
    ]
    assert first["attachments_skipped"] == 1
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["new_articles"] == 0 and again["messages"] == 6
    origins = _rows(settings, "SELECT DISTINCT origin FROM articles")
    assert origins == [("mail",)]
    kinds = _rows(settings, "SELECT DISTINCT kind FROM sources")
    assert kinds == [("outlet",)]


def test_mbox_with_broken_from_lines_and_a_50mb_message(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(path)
    for name in GOOD[:2]:
        box.add((FOLDER / name).read_bytes())
    box.add(_big_message())
    box.add((FOLDER / "broken_truncated.eml").read_bytes())
    for name in GOOD[2:]:
        box.add((FOLDER / name).read_bytes())
    box.close()
    # A message before the first From_ line (its From_ line lost) must not be lost.
    path.write_bytes((FOLDER / "no_date_attachment.eml").read_bytes() + b"\n" + path.read_bytes())
    report = import_mail(settings, path, source=None)
    assert report.messages == 5
    reasons = {s.name: s.reason for s in report.skipped}
    assert len(reasons) == 2
    assert any("too large" in r for r in reasons.values())
    assert any("truncated MIME" in r for r in reasons.values())
    assert all(name.startswith(str(path)) for name in reasons)
    sources = {r[0] for r in _rows(settings, "SELECT DISTINCT source FROM v_articles")}
    assert {"The Download", "Grid Notes", "Battery Weekly"} <= sources
    assert import_mail(settings, path).new_articles == 0
    # Without the .mbox suffix, the From_ lines further down still make it an mbox.
    renamed = path.rename(tmp_path / "inbox")
    again = import_mail(settings, renamed)
    assert (again.messages, len(again.skipped), again.new_articles) == (5, 2, 0)


def test_maildir_empty_then_filled_and_named_source(settings: Settings, tmp_path: Path) -> None:
    maildir = mailbox.Maildir(tmp_path / "Mail", create=True)
    empty = import_mail(settings, tmp_path / "Mail")
    assert (empty.messages, empty.skipped, empty.new_articles) == (0, (), 0)
    for name in GOOD:
        maildir.add((FOLDER / name).read_bytes())
    (tmp_path / "Mail" / "new" / "huge").write_bytes(_big_message())
    report = import_mail(settings, tmp_path / "Mail", source="Inbox newsletters")
    assert report.messages == 4 and report.stories == 16
    assert [s.reason.split(" (")[0] for s in report.skipped] == ["too large"]
    assert _rows(settings, "SELECT DISTINCT source FROM v_articles") == [("Inbox newsletters",)]


def test_single_eml_and_missing_path(settings: Settings, tmp_path: Path) -> None:
    single = tmp_path / "one.eml"
    shutil.copy(FOLDER / "the_download.eml", single)
    assert import_mail(settings, single).stories == 6
    with pytest.raises(MailboxError, match="does not exist"):
        import_mail(settings, tmp_path / "nope.mbox")
    code = main(["--db", settings.db, "mail", "import", str(tmp_path / "nope.mbox")])
    assert code == 1


def test_same_story_from_email_and_web_feed_is_one_story(settings: Settings) -> None:
    # Named exactly like the newsletter's List-Id: the email still gets its own source.
    web = FeedSource("the-download", "The Download", str(WEB_NEWSLETTER))
    ingest(settings, sources=[web])
    import_mail(settings, FOLDER / "the_download.eml")
    rows = _rows(
        settings,
        "SELECT origin, story_id FROM articles WHERE title = 'Nickel smelters shut across "
        "Indonesia' ORDER BY origin",
    )
    assert [origin for origin, _ in rows] == ["feed", "mail"]
    assert rows[0][1] == rows[1][1]
    stories = _rows(
        settings,
        "SELECT count(DISTINCT story_id) FROM articles WHERE NOT is_issue AND title IN "
        "('Nickel smelters shut across Indonesia', 'Data centres are driving up copper "
        "demand', 'Sodium-ion batteries reach cars')",
    )
    assert stories == [(3,)]
    kinds = dict(_rows(settings, "SELECT source_id, kind FROM sources"))
    assert kinds == {"the-download": "feed", "mail-the-download": "outlet"}


def test_parallel_parse_gives_what_one_process_gives(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import newsintel.jobs.mail as mail_job

    path = tmp_path / "many.mbox"
    box = mailbox.mbox(path)
    for name in [*GOOD, "broken_truncated.eml", "no_date_attachment.eml"] * 3:
        box.add((FOLDER / name).read_bytes())
    box.close()
    serial = import_mail(settings, path)  # 18 messages: too few chunks for workers
    # Chunks of 2 messages: 9 chunks, enough for the worker processes to be used.
    monkeypatch.setattr(mail_job, "_CHUNK_MESSAGES", 2)
    pooled_used: list[object] = []
    real_pool = mail_job._parse_pool

    def spy(chunks: int) -> object:
        pool = real_pool(chunks)
        pooled_used.append(chunks)
        return pool

    monkeypatch.setattr(mail_job, "_parse_pool", spy)
    settings_two = Settings(**{**settings.__dict__, "db": str(tmp_path / "two.duckdb")})
    pooled = import_mail(settings_two, path)
    assert pooled_used == [8]
    assert (pooled.messages, pooled.stories, pooled.new_articles, pooled.attachments) == (
        serial.messages, serial.stories, serial.new_articles, serial.attachments
    )  # fmt: skip
    assert pooled.skipped == serial.skipped and len(pooled.skipped) == 3
    query = "SELECT article_id, story_id, title, text, url FROM articles ORDER BY article_id"
    assert _rows(settings_two, query) == _rows(settings, query)
