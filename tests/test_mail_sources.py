"""Mailboxes configured in feeds.toml beside the feeds (kind = "imap")."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsintel.errors import ConfigError
from newsintel.feeds.sources import load_sources
from newsintel.mail.sources import load_mailboxes, mailbox_password

BASE = """
[[feeds]]
name = "A feed"
url = "https://example.com/feed.xml"

[[feeds]]
kind = "imap"
name = "Newsletters"
host = "imap.example.com"
user = "me@example.com"
password_env = "MY_IMAP_PASSWORD"
"""


def _write(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(BASE + extra)
    return path


def test_feeds_and_mailboxes_share_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, 'folder = "News Letters"\nsearch = \'FROM "x.example"\'\n')
    assert [s.name for s in load_sources(path)] == ["A feed"]
    (box,) = load_mailboxes(path)
    assert (box.source_id, box.port, box.tls, box.folder) == (
        "newsletters",
        993,
        "ssl",
        "News Letters",
    )
    assert box.search == 'FROM "x.example"'
    assert not box.resolve_links
    (asks,) = load_mailboxes(_write(tmp_path, "resolve_links = true\n"))
    assert asks.resolve_links
    assert box.url == "imaps://me%40example.com@imap.example.com:993/News%20Letters"
    assert mailbox_password(box, {"MY_IMAP_PASSWORD": "pw"}) == "pw"
    with pytest.raises(ConfigError, match="MY_IMAP_PASSWORD"):
        mailbox_password(box, {})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('password = "hunter2"\n', "unknown key 'password'"),
        ('tls = "plain"\n', "allowed only for a loopback host"),
        ('tls = "none"\n', "tls must be ssl, starttls or plain"),
        ("port = 0\n", "port must be"),
        ('search = ""\n', "search must be"),
        ('resolve_links = "yes"\n', "resolve_links must be true or false"),
    ],
)
def test_bad_mailbox_tables(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_mailboxes(_write(tmp_path, extra))


def test_plain_is_allowed_on_loopback_only_when_asked(tmp_path: Path) -> None:
    path = _write(tmp_path, 'tls = "plain"\n').read_text()
    path = path.replace('host = "imap.example.com"', 'host = "127.0.0.1"')
    (tmp_path / "f.toml").write_text(path)
    (box,) = load_mailboxes(tmp_path / "f.toml")
    assert (box.tls, box.port) == ("plain", 143)


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text('[[feeds]]\nkind = "pop3"\nname = "X"\nurl = "https://x.example/f"\n')
    with pytest.raises(ConfigError, match="kind must be 'feed' or 'imap'"):
        load_sources(path)
