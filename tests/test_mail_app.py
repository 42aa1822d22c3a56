"""Mail on the Sources page (mailbox health) and in the digest (canonical story links)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from newsintel.config import Settings
from newsintel.jobs.mail import import_mail
from newsintel.models import SourceUpdate
from newsintel.store import connect, migrate
from newsintel.store.connect import transaction
from newsintel.store.digest import top_stories_by_theme
from newsintel.store.mail import (
    MailProgress,
    record_mailbox_status,
    save_mail_stories,
    upsert_mailboxes,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "mail" / "the_download.eml"


def _mailbox_db(settings: Settings) -> None:
    con = connect(settings.db)
    migrate(con)
    with transaction(con):
        upsert_mailboxes(
            con,
            [
                ("work-inbox", "Work inbox", "imaps://me@imap.example.com:993/INBOX"),
                ("old-inbox", "Old inbox", "imaps://me@old.example.com:993/News"),
            ],
        )
    progress = MailProgress(7, 42, datetime(2025, 2, 11, 13, 10), read=3, skipped=1,
                            last_skipped="Work inbox UID 40: truncated MIME")  # fmt: skip
    save_mail_stories(con, [], [], mailbox="work-inbox", progress=progress)
    at = datetime(2025, 2, 12, 8, 0)
    record_mailbox_status(con, SourceUpdate("work-inbox", "ok", at))
    record_mailbox_status(
        con, SourceUpdate("old-inbox", "failed", at, error="login refused for 'me'")
    )
    con.close()


@pytest.mark.slow
def test_sources_page_shows_mailbox_health(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _mailbox_db(settings)
    monkeypatch.setenv("NEWSINTEL_DB", settings.db)
    monkeypatch.setenv("NEWSINTEL_APP_PASSWORD", "")
    monkeypatch.delenv("NEWSINTEL_CONFIG", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("app_pages/sources.py")
    at.run()
    assert not at.exception
    # The configured feeds come first (their own header), then the mailboxes.
    assert [h.value for h in at.header] == ["Configured feeds", "Mailboxes"]
    table = at.dataframe[-1].value
    assert list(table["name"]) == ["Old inbox", "Work inbox"]  # failing first
    old, work = table.iloc[0], table.iloc[1]
    assert old["last_status"] == "failed" and "login refused" in old["last_error"]
    assert (work["last_uid"], work["messages_read"], work["messages_skipped"]) == (42, 3, 1)
    assert work["last_message_at"] == datetime(2025, 2, 11, 13, 10)


def test_digest_links_mail_stories_to_the_canonical_article(settings: Settings) -> None:
    import_mail(settings, FIXTURE)
    con = connect(settings.db)
    con.execute(
        "INSERT INTO themes (theme_id, label, description, threshold) "
        "VALUES ('metals', 'Metals', 'Metal supply', 0.3)"
    )
    con.execute(
        "INSERT INTO article_themes (article_id, theme_id, method, score, is_member) "
        "SELECT article_id, 'metals', 'test', 0.9, true FROM articles "
        "WHERE origin = 'mail' AND NOT is_issue"
    )
    stories = top_stories_by_theme(con, date(2025, 2, 10), date(2025, 2, 12), limit=10)
    con.close()
    links = {title: url for title, url, _source, _published in stories["metals"]}
    assert (
        links["Nickel smelters shut across Indonesia"] == "https://asia.example.com/nickel-smelters"
    )
    assert links["Data centres are driving up copper demand"] == (
        "https://ft.example.co.uk/copper-datacentres"
    )
    assert all("utm_" not in url and "click." not in url for url in links.values())
