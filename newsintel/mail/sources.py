"""IMAP mailboxes configured beside the feeds, in data/feeds.toml::

    [[feeds]]
    kind = "imap"
    name = "Newsletters inbox"
    host = "imap.example.com"
    port = 993                          # optional: 993 for ssl, 143 otherwise
    user = "analyst@example.com"
    folder = "Newsletters"              # optional, default INBOX
    search = 'FROM "technologyreview.com"'  # optional IMAP SEARCH filter
    tls = "ssl"                         # ssl (default) | starttls | plain (loopback only)
    password_env = "NEWSLETTER_IMAP_PASSWORD"
    ca_file = "/etc/ssl/private-ca.pem" # optional: trust this CA as well

The password is never in the file: ``password_env`` names the environment variable
holding it. ``plain`` (no TLS at all) is refused unless the host is a loopback address:
a password must not cross a network in the clear.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import quote

from newsintel.errors import ConfigError
from newsintel.feeds.sources import slugify
from newsintel.tomlfile import read_toml

ImapTls = Literal["ssl", "starttls", "plain"]
IMAP_KIND = "imap"
_KEYS = frozenset(
    {"kind", "name", "host", "port", "user", "folder", "search", "tls", "password_env",
     "ca_file", "tags", "resolve_links"}
)  # fmt: skip
_DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "plain": 143}
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


@dataclass(frozen=True)
class MailboxSource:
    """One IMAP folder to read newsletters from; ``source_id`` is the slug of ``name``."""

    source_id: str
    name: str
    host: str
    port: int
    user: str
    password_env: str
    folder: str = "INBOX"
    search: str | None = None
    tls: ImapTls = "ssl"
    ca_file: str | None = None
    tags: tuple[str, ...] = ()
    resolve_links: bool = False  # follow story links' redirects, as mail import --resolve-links

    @property
    def url(self) -> str:
        """Where the mailbox is, for people: ``imaps://user@host:port/folder``."""
        scheme = "imaps" if self.tls == "ssl" else "imap"
        return f"{scheme}://{quote(self.user)}@{self.host}:{self.port}/{quote(self.folder)}"


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (127.0.0.0/8, ::1 or localhost)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _text(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: missing '{key}'")
    return value.strip()


def _mailbox(table: Mapping[str, Any], index: int, base_dir: Path) -> MailboxSource:
    where = f"mailbox #{index}"
    name = _text(table, "name", where)
    where = f"mailbox {name!r}"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}")
    if "password" in table:  # caught above as unknown, but say why
        raise ConfigError(f"{where}: put the password in an environment variable")
    tls = table.get("tls", "ssl")
    if tls not in _DEFAULT_PORTS:
        raise ConfigError(f"{where}: tls must be ssl, starttls or plain, not {tls!r}")
    host = _text(table, "host", where)
    if tls == "plain" and not is_loopback(host):
        raise ConfigError(
            f"{where}: tls = 'plain' sends the password unencrypted; it is allowed only "
            f"for a loopback host (127.0.0.1, ::1, localhost), not {host!r}"
        )
    port = table.get("port", _DEFAULT_PORTS[tls])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"{where}: port must be a whole number from 1 to 65535")
    search = table.get("search")
    if search is not None and (not isinstance(search, str) or not search.strip()):
        raise ConfigError(f"{where}: search must be an IMAP SEARCH filter, e.g. 'FROM \"x\"'")
    ca_file = table.get("ca_file")
    if ca_file is not None:
        if not isinstance(ca_file, str) or not ca_file.strip():
            raise ConfigError(f"{where}: ca_file must be a path")
        path = Path(ca_file).expanduser()
        ca_file = str(path if path.is_absolute() else (base_dir / path).resolve())
    tags = table.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConfigError(f"{where}: tags must be a list of strings")
    resolve_links = table.get("resolve_links", False)
    if not isinstance(resolve_links, bool):
        raise ConfigError(f"{where}: resolve_links must be true or false")
    source_id = slugify(name)
    if not source_id:
        raise ConfigError(f"{where}: the name needs at least one letter or digit")
    return MailboxSource(
        source_id=source_id,
        name=name,
        host=host,
        port=port,
        user=_text(table, "user", where),
        password_env=_text(table, "password_env", where),
        folder=_text(table, "folder", where, "INBOX"),
        search=search.strip() if search else None,
        tls=cast(ImapTls, tls),
        ca_file=ca_file,
        tags=tuple(tags),
        resolve_links=resolve_links,
    )


def is_mailbox_table(table: object) -> bool:
    """Whether a ``[[feeds]]`` table configures a mailbox rather than a feed."""
    return isinstance(table, dict) and table.get("kind") == IMAP_KIND


def load_mailboxes(path: Path) -> list[MailboxSource]:
    """The ``kind = "imap"`` tables of a feeds TOML file, in file order.

    ConfigError for a table without name, host, user or password_env, an unknown key
    (a ``password`` key included), a bad port or tls, plain TLS to a remote host, or two
    mailboxes with the same name.
    """
    path = Path(path)
    data = read_toml(path, "feeds file")
    tables = data.get("feeds", [])
    if not isinstance(tables, list):
        raise ConfigError(f"feeds file {path}: 'feeds' must be [[feeds]] tables")
    base_dir = path.resolve().parent
    found = [t for t in tables if is_mailbox_table(t)]
    mailboxes = [_mailbox(t, i, base_dir) for i, t in enumerate(found, start=1)]
    seen: set[str] = set()
    for mailbox in mailboxes:
        if mailbox.source_id in seen:
            raise ConfigError(f"{path}: duplicate mailbox name {mailbox.name!r}")
        seen.add(mailbox.source_id)
    return mailboxes


def mailbox_password(mailbox: MailboxSource, environ: Mapping[str, str] | None = None) -> str:
    """The password from the environment variable the mailbox names; ConfigError if unset."""
    value = (os.environ if environ is None else environ).get(mailbox.password_env)
    if not value:
        raise ConfigError(
            f"mailbox {mailbox.name!r}: environment variable {mailbox.password_env} "
            "(password_env) is not set"
        )
    return value
