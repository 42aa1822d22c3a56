"""The digest: build, render and send (or write) one period's digest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import cast

from newsintel.config import Settings
from newsintel.digest.build import Period
from newsintel.digest.recipients import digest_recipients
from newsintel.digest.render import render_digest, write_dry_run
from newsintel.digest.send import Mailer, SmtpMailer
from newsintel.errors import DigestError, MailError, NewsintelError
from newsintel.feeds.sources import slugify
from newsintel.jobs.common import utcnow
from newsintel.jobs.digest_source import digest_log, read_digest
from newsintel.store.digest import already_sent, record_delivery


@dataclass(frozen=True)
class DigestDelivery:
    recipient: str
    status: str  # written | sent | already_sent | failed
    detail: str


@dataclass(frozen=True)
class DigestReport:
    period: str
    period_start: str
    deliveries: tuple[DigestDelivery, ...]

    @property
    def ok(self) -> bool:
        return all(d.status != "failed" for d in self.deliveries)

    def lines(self) -> list[str]:
        head = f"{self.period} digest for the period starting {self.period_start}"
        return [head] + [f"  {d.status:<12} {d.recipient}: {d.detail}" for d in self.deliveries]


def _parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise NewsintelError(f"the digest date must be YYYY-MM-DD, got {text!r}") from None


def run_digest(
    settings: Settings,
    *,
    period: str = "weekly",
    on_date: str | None = None,
    out_dir: Path | None = None,
    send: bool = False,
    mailer: Mailer | None = None,
    now: Callable[[], datetime] = utcnow,
) -> DigestReport:
    """Build the period's digest, then write it to ``out_dir`` or send it by SMTP.

    Sending is recorded per (period, recipient) in digest_log: a re-run never sends a
    delivered digest twice, and a failed delivery is retried by the next run. Who gets
    it, with which themes, comes from newsintel.digest.recipients.
    """
    if period not in ("daily", "weekly"):
        raise DigestError(f"period must be daily or weekly, got {period!r}")
    if not send and out_dir is None:
        raise DigestError("a dry run needs a folder to write to (out_dir), or send the digest")
    day = _parse_day(on_date)
    # Built from the newest snapshot: a writer holding the file never delays it.
    source = read_digest(settings, cast("Period", period), day, now=now())
    content = source.content
    # Each recipient's themes (None: every theme), from the recipients file or digest_to.
    chosen = digest_recipients(settings, period, source.known_themes)
    themes_of = {r.email: r.recipient_themes for r in chosen.recipients}
    recipients = list(themes_of)
    deliveries: list[DigestDelivery] = []
    if not send:
        assert out_dir is not None
        for recipient in recipients if chosen.configured else ["preview@localhost"]:
            message = render_digest(
                content,
                sender=settings.digest_from,
                recipient=recipient,
                unsubscribe=settings.digest_unsubscribe,
                recipient_themes=themes_of.get(recipient),
            )
            stem = f"digest-{period}-{content.period_start}-{slugify(recipient)}"
            eml, html = write_dry_run(message, out_dir, stem)
            deliveries.append(DigestDelivery(recipient, "written", f"{eml} and {html.name}"))
        return DigestReport(period, str(content.period_start), tuple(deliveries))

    if not chosen.configured:
        raise DigestError(
            "no recipients: set NEWSINTEL_DIGEST_TO (comma separated) or write "
            f"{settings.recipients_file} (see data/recipients.example.toml)"
        )
    if not recipients:
        # Everyone listed chose the other period: nothing to send, nothing wrong.
        return DigestReport(period, str(content.period_start), ())
    if mailer is None:
        mailer = SmtpMailer.from_settings(settings)
    for recipient in recipients:
        with digest_log(settings) as con:
            if already_sent(con, period, content.period_start, recipient):
                deliveries.append(DigestDelivery(recipient, "already_sent", "sent before"))
                continue
        message = render_digest(
            content,
            sender=settings.digest_from,
            recipient=recipient,
            unsubscribe=settings.digest_unsubscribe,
            recipient_themes=themes_of[recipient],
        )
        error: str | None
        try:
            mailer.send(message, [recipient])
        except MailError as exc:
            status, error, detail = "failed", str(exc), str(exc)
        else:
            status, error, detail = "sent", None, str(message["Message-ID"])
        with digest_log(settings) as con:
            record_delivery(
                con,
                period,
                content.period_start,
                recipient,
                status=status,
                message_id=str(message["Message-ID"]),
                error=error,
            )
        deliveries.append(DigestDelivery(recipient, status, detail))
    return DigestReport(period, str(content.period_start), tuple(deliveries))
