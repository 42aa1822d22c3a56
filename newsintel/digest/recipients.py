"""Who gets which digest: the recipients file and the NEWSINTEL_DIGEST_TO override.

The recipients file (setting ``recipients_file``, see data/recipients.example.toml)
holds ``[[recipients]]`` tables with an ``email``, optional ``themes`` (theme ids or
labels; none means every theme) and an optional ``period`` ("daily", "weekly" or
"both", the default). The file is optional: without it, every address in
``digest_to`` gets every theme of every period.

``digest_to`` is the override list: when it is set, exactly those addresses receive
the digest, whatever period they chose in the file, and an address that the file also
lists keeps the themes chosen there. That lets one run go to one person
(``NEWSINTEL_DIGEST_TO=ana@example.com newsintel digest --send``) without editing
the file.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from newsintel.config import Settings
from newsintel.errors import ConfigError
from newsintel.tomlfile import read_toml

Preference = Literal["daily", "weekly", "both"]
PREFERENCES: tuple[Preference, ...] = ("daily", "weekly", "both")
_KEYS = frozenset({"email", "themes", "period"})
# Deliberately loose: one "@" with something on both sides and no spaces or brackets.
# The SMTP server is the real judge; this only catches typos like a missing "@".
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")


@dataclass(frozen=True)
class Recipient:
    """One digest recipient. ``themes`` empty means every theme."""

    email: str
    themes: tuple[str, ...] = ()
    period: Preference = "both"

    def wants(self, period: str) -> bool:
        """Whether this recipient asked for the ``period`` ("daily"/"weekly") digest."""
        return self.period in ("both", period)

    @property
    def recipient_themes(self) -> tuple[str, ...] | None:
        """The themes to pass to ``render_digest``: None for every theme."""
        return self.themes or None


def load_recipients(path: Path) -> tuple[Recipient, ...]:
    """Read and check a recipients file; ConfigError names the file and the problem."""
    data = read_toml(path, "recipients file")
    unknown = sorted(set(data) - {"recipients"})
    if unknown:
        raise ConfigError(
            f"recipients file {path}: unknown key '{unknown[0]}' (use [[recipients]] tables)"
        )
    tables = data.get("recipients", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"recipients file {path}: 'recipients' must be [[recipients]] tables")
    recipients: list[Recipient] = []
    seen: set[str] = set()
    for number, table in enumerate(tables, start=1):
        recipient = _parse(cast("dict[str, Any]", table), f"recipients file {path}, #{number}")
        key = recipient.email.casefold()
        if key in seen:
            raise ConfigError(f"recipients file {path}: {recipient.email} is listed twice")
        seen.add(key)
        recipients.append(recipient)
    return tuple(recipients)


def _parse(table: dict[str, Any], where: str) -> Recipient:
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}' (allowed: email, themes, period)")
    email = table.get("email")
    if not isinstance(email, str) or not _ADDRESS.match(email.strip()):
        raise ConfigError(f"{where}: 'email' must be an email address, got {email!r}")
    email = email.strip()
    themes = table.get("themes", [])
    if not isinstance(themes, list) or not all(isinstance(t, str) and t.strip() for t in themes):
        raise ConfigError(f"{where} ({email}): 'themes' must be a list of theme ids")
    period = table.get("period", "both")
    if period not in PREFERENCES:
        raise ConfigError(
            f"{where} ({email}): 'period' must be daily, weekly or both, got {period!r}"
        )
    return Recipient(email, tuple(t.strip() for t in themes), cast("Preference", period))


def check_themes(recipients: Sequence[Recipient], known: Collection[str]) -> None:
    """Raise ConfigError when a recipient names a theme that is not in ``known``.

    ``known`` holds theme ids and labels; the comparison ignores case, as the
    renderer's filter does. A typo would otherwise give that person an empty digest.
    """
    names = {name.casefold() for name in known}
    for recipient in recipients:
        for theme in recipient.themes:
            if theme.casefold() not in names:
                ids = sorted(name for name in known if re.fullmatch(r"[a-z0-9_]+", name))
                raise ConfigError(
                    f"recipient {recipient.email}: unknown theme '{theme}'; "
                    f"known: {', '.join(ids) or 'none'}"
                )


def select_recipients(
    listed: Sequence[Recipient], override: Sequence[str], period: str
) -> tuple[Recipient, ...]:
    """The recipients of one ``period``'s digest.

    With an ``override`` list, exactly those addresses (each with its themes from
    ``listed`` when it is there, else every theme); otherwise those in ``listed`` who
    want this period.
    """
    if override:
        by_address = {r.email.casefold(): r for r in listed}
        chosen: list[Recipient] = []
        for address in dict.fromkeys(a.strip() for a in override if a.strip()):
            found = by_address.get(address.casefold())
            chosen.append(Recipient(address, found.themes if found else ()))
        return tuple(chosen)
    return tuple(r for r in listed if r.wants(period))


@dataclass(frozen=True)
class RecipientList:
    """The recipients of one digest; ``configured`` is False when nobody is set up at all."""

    recipients: tuple[Recipient, ...]
    configured: bool


def configured_recipients(recipients_file: str, default_file: str) -> tuple[Recipient, ...]:
    """The recipients file's entries, or none when it is absent.

    Only the default file may be absent without complaint: a file named on purpose
    (``NEWSINTEL_RECIPIENTS_FILE``) that is missing is a ConfigError, so a typo in the
    path cannot silently send to nobody.
    """
    path = Path(recipients_file)
    if recipients_file == default_file and not path.exists():
        return ()
    return load_recipients(path)


def digest_recipients(
    settings: Settings, period: str, known_themes: Collection[str]
) -> RecipientList:
    """Who gets the ``period`` digest under ``settings``, with their themes checked.

    ``known_themes`` are the theme ids and labels in the database; when it is empty
    (themes not assigned yet) the recipients' themes are not checked.
    """
    default_file = str(Settings().recipients_file)
    listed = configured_recipients(settings.recipients_file, default_file)
    if known_themes:
        check_themes(listed, known_themes)
    chosen = select_recipients(listed, settings.digest_to, period)
    return RecipientList(chosen, bool(listed or settings.digest_to))
