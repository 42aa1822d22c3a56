"""Turn DigestContent into a ready-to-send email (text + HTML + inline chart).

The message is multipart/alternative: a text/plain part, then a multipart/related part
holding the HTML body and the chart PNG it references by ``cid:``. Feed text is never
trusted: the HTML templates autoescape everything and only http(s) links become hrefs.
CSS is written once in the template's <style> block and then inlined into ``style=``
attributes, because several mail clients (Gmail among them) drop or ignore <style>.
"""

from __future__ import annotations

import email.policy
import re
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import css_inline
import jinja2

from newsintel.digest.chart import describe_chart, render_chart_png
from newsintel.digest.content import DigestContent, PriceMove, ThemeMove
from newsintel.errors import DigestError

TEMPLATE_DIR = Path(__file__).parent / "templates"
HTML_TEMPLATE = "digest.html.j2"
TEXT_TEMPLATE = "digest.txt.j2"
# Plain-text mail reads best, and is quoted in replies without ragged re-wrapping, at
# 72 columns or fewer; a word longer than that (a URL) keeps its own line whole.
TEXT_WIDTH = 72

_ARROWS = {"rising": "▲", "falling": "▼", "steady": "→"}
_DIRECTION_CLASSES = {"rising": "up", "falling": "down", "steady": "flat"}
_UNSAFE_IN_TARGET = re.compile(r"[\s<>,\"]")


def render_digest(
    content: DigestContent,
    *,
    sender: str,
    recipient: str,
    unsubscribe: str,
    now: datetime | None = None,
    recipient_themes: Sequence[str] | None = None,
) -> EmailMessage:
    """Render ``content`` as one email from ``sender`` to ``recipient``.

    ``unsubscribe`` is a mailto: or https: URL (several may be given, comma separated)
    for the List-Unsubscribe header and the footer link. ``now`` sets the Date header
    (default: the current time). ``recipient_themes`` (theme ids or labels) limits the
    themes, findings and chart to those the recipient follows.
    Raises DigestError for an invalid address, unsubscribe target or chart.
    """
    domain = _sender_domain(sender)
    targets = _unsubscribe_targets(unsubscribe)
    shown = filter_for_recipient(content, recipient_themes) if recipient_themes else content

    chart_png = render_chart_png(shown.chart) if shown.chart is not None else None
    chart_cid = make_msgid(idstring="chart", domain=domain) if chart_png else None
    context = _template_context(shown, recipient_themes, targets, chart_cid)
    text = _wrap(_render(TEXT_TEMPLATE, context, autoescape=False))
    html = _inline_css(_render(HTML_TEMPLATE, context, autoescape=True))

    message = EmailMessage()
    try:
        message["From"] = sender
        message["To"] = recipient
    except (ValueError, IndexError) as exc:
        raise DigestError(f"invalid digest address: {exc}") from None
    message["Subject"] = _one_line(shown.title)
    message["Date"] = format_datetime(_as_utc(now or datetime.now(UTC)))
    message["Message-ID"] = make_msgid(idstring="digest", domain=domain)
    message["List-Unsubscribe"] = ", ".join(f"<{target}>" for target in targets)
    # RFC 8058 one-click unsubscribe is defined for HTTPS targets only; announcing it
    # with a mailto-only header would make providers POST to nowhere.
    if any(target.startswith("https:") for target in targets):
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # RFC 3834: tells autoresponders (vacation mail) not to answer the digest.
    message["Auto-Submitted"] = "auto-generated"

    # Quoted-printable keeps every line 7-bit and short, whatever relay carries it.
    message.set_content(text, charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    if chart_png is not None and chart_cid is not None:
        html_part = next(
            part for part in message.iter_parts() if part.get_content_type() == "text/html"
        )
        html_part.add_related(
            chart_png,
            maintype="image",
            subtype="png",
            cid=chart_cid,
            disposition="inline",
            filename="chart.png",
        )
    return message


def filter_for_recipient(content: DigestContent, themes: Sequence[str]) -> DigestContent:
    """Keep only the themes in ``themes`` (ids or labels, any case).

    Findings and the chart are dropped when they name a known theme that is not kept;
    those about no theme at all stay. Unknown names are ignored.
    """
    wanted = {name.strip().casefold() for name in themes}

    def keep(move: ThemeMove) -> bool:
        return move.theme.casefold() in wanted or move.label.casefold() in wanted

    moves = (*content.themes, *content.rising, *content.falling)
    dropped = {move.theme for move in moves if not keep(move)}
    chart = content.chart
    if chart is not None and chart.theme in dropped:
        chart = None
    return replace(
        content,
        rising=tuple(move for move in content.rising if keep(move)),
        falling=tuple(move for move in content.falling if keep(move)),
        themes=tuple(move for move in content.themes if keep(move)),
        findings=tuple(
            finding
            for finding in content.findings
            # Findings name variables as theme:<id> (or series:<id>); compare the id.
            if finding.x.removeprefix("theme:") not in dropped
            and finding.y.removeprefix("theme:") not in dropped
        ),
        chart=chart,
    )


def write_dry_run(message: EmailMessage, out_dir: Path, stem: str) -> tuple[Path, Path]:
    """Write ``message`` as ``<stem>.eml`` and its HTML body as ``<stem>.html``.

    The .eml is exactly what would go over SMTP. So that the .html opens in a browser
    with its chart, inline images are also written (``<stem>.<name>``) and the HTML's
    ``cid:`` references point at those files. Returns (eml path, html path).
    """
    eml_path = out_dir / f"{stem}.eml"
    html_path = out_dir / f"{stem}.html"
    body = message.get_body(preferencelist=("html",))
    html = body.get_content() if body is not None else ""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        eml_path.write_bytes(message.as_bytes(policy=email.policy.SMTP))
        for part in message.walk():
            content_id = part.get("Content-ID")
            if content_id is None or part.get_content_maintype() != "image":
                continue
            image_path = out_dir / f"{stem}.{part.get_filename() or 'image'}"
            image_path.write_bytes(part.get_content())
            html = html.replace(f"cid:{content_id.strip('<>')}", image_path.name)
        html_path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise DigestError(f"cannot write dry-run files to {out_dir}: {exc.strerror}") from None
    return eml_path, html_path


def _template_context(
    content: DigestContent,
    recipient_themes: Sequence[str] | None,
    targets: Sequence[str],
    chart_cid: str | None,
) -> dict[str, Any]:
    chart = content.chart
    https = [target for target in targets if target.startswith("https:")]
    return {
        "content": content,
        "period_text": _period_text(content),
        "period_noun": "week" if content.period == "weekly" else "day",
        "preheader": _preheader(content),
        "theme_filter": (
            [move.label for move in content.themes or (*content.rising, *content.falling)]
            if recipient_themes
            else []
        ),
        "unsubscribe_link": (https or list(targets))[0] if targets else "",
        "chart_src": f"cid:{chart_cid.strip('<>')}" if chart_cid else "",
        "chart_alt": describe_chart(chart) if chart is not None else "",
    }


def _period_text(content: DigestContent) -> str:
    if content.period == "weekly":
        return f"Week of {content.period_start.isoformat()} to {content.period_end.isoformat()}"
    return f"Day {content.period_start.isoformat()}"


def _preheader(content: DigestContent) -> str:
    """The preview line mail clients show after the subject."""
    parts = [
        f"{len(content.rising)} rising, {len(content.falling)} falling themes",
        f"{content.articles:,} articles from {content.sources:,} sources",
    ]
    if content.rising:
        top = content.rising[0]
        parts.insert(0, f"Top riser: {top.label} ({_signed_pct(top.change_pct)})")
    return " · ".join(parts)


@cache
def _environment(autoescape: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        number=_number,
        signed_pct=_signed_pct,
        signed_arrow=_signed_arrow,
        sign_class=_sign_class,
        arrow=lambda direction: _ARROWS.get(direction, ""),
        direction_class=lambda direction: _DIRECTION_CLASSES.get(direction, "flat"),
        zscore=_zscore,
        share=lambda value: f"{value * 100:.1f}%",
        price=_price,
        price_unit=_price_unit,
        pvalue=_pvalue,
        day=_day,
        moment=_moment,
        safe_url=_safe_url,
    )
    return environment


def _render(name: str, context: dict[str, Any], *, autoescape: bool) -> str:
    try:
        return _environment(autoescape).get_template(name).render(context)
    except jinja2.TemplateError as exc:
        raise DigestError(f"digest template {name} failed: {exc}") from None


def _inline_css(html: str) -> str:
    # At-rules (the mobile @media block) cannot be inlined; keep_at_rules leaves them
    # in a <style> block for the clients that honour it.
    inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
    try:
        return inliner.inline(html)
    except (css_inline.InlineError, ValueError) as exc:
        raise DigestError(f"cannot inline the digest CSS: {exc}") from None


def _sender_domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    local, at, domain = address.rpartition("@")
    if not (local and at and domain):
        raise DigestError(f"digest sender must be an email address, got {sender!r}")
    return domain.lower()


def _unsubscribe_targets(unsubscribe: str) -> list[str]:
    targets = [part.strip() for part in unsubscribe.split(",") if part.strip()]
    if not targets:
        raise DigestError("digest unsubscribe target is empty: set NEWSINTEL_DIGEST_UNSUBSCRIBE")
    for target in targets:
        scheme = urlsplit(target).scheme.lower()
        if scheme not in ("mailto", "https") or _UNSAFE_IN_TARGET.search(target):
            raise DigestError(
                f"digest unsubscribe target must be a mailto: or https: URL, got {target!r}"
            )
    return targets


def _wrap(text: str, width: int = TEXT_WIDTH) -> str:
    """Every line of ``text`` within ``width`` columns; list items keep their indent."""
    lines: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            lines.append(line)
            continue
        body = line.lstrip(" ")
        indent = " " * (len(line) - len(body))
        # "- item" continues under the item's text, so the list still reads as a list.
        hanging = indent + ("  " if body.startswith("- ") else "")
        lines.extend(
            textwrap.wrap(
                line,
                width=width,
                subsequent_indent=hanging,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)


def _one_line(text: str) -> str:
    """Collapse whitespace: a newline in a header would be rejected (or inject one)."""
    return " ".join(text.split())


def _as_utc(moment: datetime) -> datetime:
    # Naive datetimes are UTC throughout newsintel (see newsintel.models).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _number(value: int | float) -> str:
    return f"{value:,}"


def _signed_pct(value: float | None) -> str:
    if value is None:
        return "new"
    return f"{value:+.1f}%"


def _signed_arrow(value: float | None) -> str:
    if value is None:
        return "n/a"
    arrow = "▲" if value > 0 else "▼" if value < 0 else "→"
    return f"{arrow} {_signed_pct(value)}"


def _sign_class(value: float | None) -> str:
    if value is None or value == 0:
        return "flat"
    return "up" if value > 0 else "down"


def _zscore(value: float | None) -> str:
    if value is None:
        return "z = n/a"
    return f"z = {value:.1f}"


def _price(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}"


def _price_unit(move: PriceMove) -> str:
    # A unit such as "CNY/t" already names its currency: do not print "CNY/CNY/t".
    if move.currency and move.unit and not move.unit.startswith(move.currency):
        return f"{move.currency}/{move.unit}"
    if move.unit:
        return move.unit
    return move.currency or move.unit


def _pvalue(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"{value:.2g}"


def _day(value: date | datetime) -> str:
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def _moment(value: datetime) -> str:
    value = _as_utc(value)
    return f"{value:%Y-%m-%d %H:%M} {value.tzname()}"


def _safe_url(url: str) -> str:
    """The URL if it is an absolute http(s) link, else "" (no javascript: or data:)."""
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else ""
