"""Raw email bytes -> ``MailMessage``: the readable part, sender, date and identity.

Built on the standard library's ``email`` package with ``policy.default``, which
decodes every transfer encoding (quoted-printable, base64, 8bit) and charset, and
RFC 2047 encoded headers. What a newsletter reader needs on top:

* the HTML part of a multipart/alternative message, the text part as fallback;
* ``List-Id`` as the source (the newsletter), else ``From`` (the sender);
* ``Date`` as publication time; a missing or broken one falls back to the server's
  INTERNALDATE, else the file time, flagged as estimated;
* a newsletter forwarded by a person (message/rfc822 attachment, or an inline
  "Forwarded message" block) read as the original, with the original sender and date;
* attachments skipped and counted; a size cap per message.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.errors import CloseBoundaryNotFoundDefect, StartBoundaryNotFoundDefect
from email.message import EmailMessage, Message
from email.utils import parseaddr, parsedate_to_datetime
from html import escape

from newsintel.errors import MessageError
from newsintel.feeds.clean import fold_whitespace

# Lines that open an inline forward: Gmail, Outlook, Apple Mail, Thunderbird.
_FORWARD_MARKER = re.compile(
    r"-{2,}\s*Forwarded message\s*-{2,}|-{2,}\s*Original Message\s*-{2,}"
    r"|Begin forwarded message:|-{2,}\s*Forwarded Message\s*-{2,}",
    re.IGNORECASE,
)
_FORWARD_HEADER = re.compile(r"^\s*(From|Date|Sent|Subject)\s*:\s*(.+?)\s*$", re.IGNORECASE)
# Date formats mail clients write into an inline forward header (no RFC 5322 there).
_FORWARD_DATE_FORMATS = (
    "%a, %b %d, %Y at %I:%M %p",  # Gmail: Mon, Feb 10, 2025 at 8:10 AM
    "%A, %B %d, %Y at %I:%M:%S %p",  # Apple Mail
    "%A, %B %d, %Y %I:%M %p",  # Outlook: Monday, February 10, 2025 8:10 AM
    "%B %d, %Y at %I:%M:%S %p",
    "%Y-%m-%d %H:%M",
)
_LIST_ID = re.compile(r"^\s*(?:\"?(?P<name>[^<\"]*?)\"?\s*)?<(?P<id>[^>]+)>\s*$")
_URL_IN_TEXT = re.compile(r"<?(https?://[^\s<>\"]+)>?")
_TRAILING_PUNCTUATION = ".,;:!?)]}'\""
# "Fwd: ", "FW: ", "WG: " (German), "TR: " (French) put before a forwarded subject.
_FORWARD_PREFIX = re.compile(r"^\s*(?:fwd?|wg|tr)\s*:\s*", re.IGNORECASE)
# Defects that mean the message was cut short: its body is incomplete.
_TRUNCATED = (StartBoundaryNotFoundDefect, CloseBoundaryNotFoundDefect)


@dataclass(frozen=True)
class MailMessage:
    """One email as a newsletter reader sees it; timestamps naive UTC.

    ``source_name`` is the List-Id description (else the sender's display name, else
    address) and ``source_key`` the list id or address. ``published_at`` is None when
    neither the message, the server nor the file gave a time; ``date_estimated`` is set
    whenever the time is not the message's own Date header. ``html`` is the chosen
    part as HTML (a text part is turned into simple paragraphs with links).
    """

    message_id: str | None
    subject: str
    source_name: str
    source_key: str
    published_at: datetime | None
    date_estimated: bool
    html: str
    attachments: int = 0
    forwarded: bool = False
    unsubscribe: tuple[str, ...] = ()
    size: int = 0


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _header(msg: Message, name: str) -> str:
    """A header as folded text; '' when missing or beyond repair."""
    try:
        value = msg.get(name)
    except (ValueError, IndexError, TypeError, AttributeError):
        # policy.default parses lazily and a few malformed headers raise on access.
        value = msg.get_all(name, failobj=[""])[0] if hasattr(msg, "get_all") else ""
    return fold_whitespace(str(value)) if value is not None else ""


def parse_mail_date(text: str) -> datetime | None:
    """An RFC 5322 date (or a mail client's forward-header date) as naive UTC, or None."""
    text = text.strip()
    if not text:
        return None
    try:
        return _naive_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    for layout in _FORWARD_DATE_FORMATS:
        try:
            # Forward headers carry no zone: the time is read as UTC.
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    return None


def _source(msg: Message) -> tuple[str, str]:
    list_id = _header(msg, "List-Id")
    match = _LIST_ID.match(list_id) if list_id else None
    if match:
        key = match.group("id").strip().lower()
        return (fold_whitespace(match.group("name") or "") or key), key
    name, address = parseaddr(_header(msg, "From"))
    address = address.strip().lower()
    return (fold_whitespace(name) or address or "unknown sender"), address or "unknown"


def _unsubscribe(msg: Message) -> tuple[str, ...]:
    raw = _header(msg, "List-Unsubscribe")
    return tuple(url for url in re.findall(r"<([^>]+)>", raw) if url.strip())


def _text_content(part: Message) -> str:
    """A text part decoded from its transfer encoding and charset, never raising."""
    try:
        content = part.get_content() if isinstance(part, EmailMessage) else None
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, ValueError, AssertionError):
        pass  # unknown or wrong charset: decode the bytes below, replacing bad ones
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        # An unknown charset name: windows-1252 decodes every byte and is the usual truth.
        return payload.decode("windows-1252", "replace")


def text_to_html(text: str) -> str:
    """A plain-text newsletter as paragraphs (blank-line separated), URLs as links."""

    def link(match: re.Match[str]) -> str:
        url = match.group(1).rstrip(_TRAILING_PUNCTUATION)
        rest = match.group(1)[len(url) :]
        return f'<a href="{escape(url)}">{escape(url)}</a>{escape(rest)}'

    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    html = []
    for paragraph in paragraphs:
        if paragraph.strip():
            lines = [
                _URL_IN_TEXT.sub(link, escape(line, quote=False)) for line in paragraph.split("\n")
            ]
            html.append("<p>" + "<br>".join(lines) + "</p>")
    return "\n".join(html)


def _body(msg: EmailMessage) -> str:
    """The HTML part, else the text part as HTML; '' when there is neither."""
    try:
        part = msg.get_body(preferencelist=("html", "plain"))
    except (KeyError, ValueError, AttributeError):
        part = None
    if part is None:
        return ""
    content = _text_content(part)
    return content if part.get_content_subtype() == "html" else text_to_html(content)


def _is_attachment(part: Message) -> bool:
    if part.is_multipart():
        return False
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment":
        return True
    maintype = part.get_content_maintype()
    # Inline images of an HTML newsletter (multipart/related) are parts of its layout.
    return maintype not in ("text", "image", "message") and disposition != "inline"


def _count_attachments(msg: Message) -> int:
    return sum(1 for part in msg.walk() if _is_attachment(part))


def _attached_message(msg: EmailMessage) -> EmailMessage | None:
    """The first message/rfc822 part: a newsletter forwarded as an attachment."""
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, EmailMessage):
                return inner
    return None


@dataclass(frozen=True)
class _InlineForward:
    html: str
    sender: str
    date: datetime | None
    subject: str


def _inline_forward(html: str) -> _InlineForward | None:
    """The original inside an inline "Forwarded message" block, if ``html`` has one."""
    match = _FORWARD_MARKER.search(html)
    if match is None:
        return None
    from newsintel.feeds.clean import html_to_text

    rest = html[match.end() :]
    # The header block is the first few lines after the marker, up to a blank line.
    headers: dict[str, str] = {}
    for line in html_to_text(rest[:4000]).split("\n")[:8]:
        found = _FORWARD_HEADER.match(line)
        if found:
            headers.setdefault(found.group(1).lower(), found.group(2))
    sender = headers.get("from", "")
    when = headers.get("date") or headers.get("sent") or ""
    return _InlineForward(rest, sender, parse_mail_date(when), headers.get("subject", ""))


def _check_whole(msg: EmailMessage, raw: bytes) -> None:
    if not raw.strip():
        raise MessageError("empty message")
    defects = [d for part in msg.walk() for d in part.defects]
    if any(isinstance(d, _TRUNCATED) for d in defects):
        raise MessageError("truncated MIME (a multipart boundary never closes)")
    if not any(msg.get(name) for name in ("From", "Subject", "Date", "Message-ID")):
        raise MessageError("no mail headers (From, Subject, Date, Message-ID all missing)")


def parse_message(
    raw: bytes,
    *,
    max_bytes: int,
    internal_date: datetime | None = None,
    file_time: datetime | None = None,
) -> MailMessage:
    """One email's bytes as a ``MailMessage``.

    Raises MessageError (message naming the problem) for a message over ``max_bytes``,
    an empty one, a truncated multipart, one without any mail header, or one with no
    readable part.
    """
    if len(raw) > max_bytes:
        raise MessageError(f"too large ({len(raw):,} bytes; the limit is {max_bytes:,})")
    outer = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(outer, EmailMessage)  # policy.default builds EmailMessage
    _check_whole(outer, raw)
    attachments = _count_attachments(outer)
    inner = _attached_message(outer)
    msg = inner if inner is not None and inner.get("From") else outer
    html = _body(msg)
    forwarded = msg is not outer
    source_name, source_key = _source(msg)
    date = parse_mail_date(_header(msg, "Date"))
    subject = _header(msg, "Subject")
    if not forwarded:
        inline = _inline_forward(html)
        if inline is not None and inline.sender:
            forwarded, html = True, inline.html
            name, address = parseaddr(inline.sender)
            source_name = fold_whitespace(name) or address.lower() or source_name
            source_key = address.lower() or source_key
            date = inline.date or date
            subject = inline.subject or subject
    if not html.strip():
        raise MessageError("no readable text or HTML part")
    estimated = date is None
    if date is None:
        date = internal_date or file_time
    message_id = _header(msg, "Message-ID").strip() or None
    return MailMessage(
        message_id=message_id,
        subject=_FORWARD_PREFIX.sub("", subject) if forwarded else subject,
        source_name=source_name,
        source_key=source_key,
        published_at=_naive_utc(date) if date is not None else None,
        date_estimated=estimated,
        html=html,
        attachments=attachments,
        forwarded=forwarded,
        unsubscribe=_unsubscribe(msg) + _unsubscribe(outer) if forwarded else _unsubscribe(msg),
        size=len(raw),
    )
