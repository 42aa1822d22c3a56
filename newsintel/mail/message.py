"""Raw email bytes -> ``MailMessage``: the readable part, sender, date and identity.

Built on the standard library's ``email`` package, which decodes every transfer
encoding (quoted-printable, base64, 8bit) and charset, and RFC 2047 encoded headers.
Parsed under ``compat32``, with the body chosen and decoded here as ``policy.default``
chooses and decodes it (``get_body``, ``get_content``): the same result (every message
of tests/ and of the benchmark compared field by field), without policy.default's full
RFC 5322 parse of a header each time one is looked at, which was most of the cost of
reading a newsletter.
What a newsletter reader needs on top:

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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import CloseBoundaryNotFoundDefect, HeaderParseError, StartBoundaryNotFoundDefect
from email.header import decode_header, make_header
from email.message import Message
from email.utils import collapse_rfc2231_value, parseaddr, parsedate_to_datetime
from html import escape

from newsintel.errors import MessageError
from newsintel.feeds.clean import fold_whitespace, html_to_text

# Lines that open an inline forward: Gmail, Outlook, Apple Mail, Thunderbird.
_FORWARD_MARKER = re.compile(
    r"-{2,}\s*Forwarded message\s*-{2,}|-{2,}\s*Original Message\s*-{2,}"
    r"|Begin forwarded message:|-{2,}\s*Forwarded Message\s*-{2,}",
    re.IGNORECASE,
)
# Every marker above says "message": looking for that word alone in the lower-cased
# HTML (a plain substring test, several times faster than any IGNORECASE search) rules
# most newsletters out before the marker pattern runs.
_FORWARD_HINT = "message"
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


def _raw(msg: Message, name: str) -> str | None:
    """A header's raw value, unparsed (the first one of that name).

    Read from ``raw_items``: compat32's ``msg.get`` would turn a value with 8-bit bytes
    into a ``Header`` object; the few headers needed here are decoded by this module.
    """
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return str(value)
    return None


def _decoded(raw: str) -> str:
    """RFC 2047 encoded words decoded; the text as it is when they are broken."""
    if "=?" not in raw:
        return raw
    try:
        return str(make_header(decode_header(raw)))
    except (HeaderParseError, UnicodeError, LookupError, ValueError):
        return raw


def _header(msg: Message, name: str) -> str:
    """A header as decoded, folded text; '' when missing."""
    raw = _raw(msg, name)
    return fold_whitespace(_decoded(raw)) if raw is not None else ""


def _content_type(part: Message) -> str:
    raw = _raw(part, "Content-Type")
    if not raw or "/" not in raw:
        return "text/plain"  # RFC 2045 section 5.2: the default
    return raw.split(";", 1)[0].strip().lower()


def _disposition(part: Message) -> str:
    raw = _raw(part, "Content-Disposition") or ""
    return raw.split(";", 1)[0].strip().lower()


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
    name, address = parseaddr(_raw(msg, "From") or "")
    name = fold_whitespace(_decoded(name))
    address = address.strip().lower()
    return (name or address or "unknown sender"), address or "unknown"


def _unsubscribe(msg: Message) -> tuple[str, ...]:
    raw = _header(msg, "List-Unsubscribe")
    return tuple(url for url in re.findall(r"<([^>]+)>", raw) if url.strip())


def _param(part: Message, name: str, default: str) -> str:
    """A Content-Type parameter as policy.default gives it (RFC 2231 values decoded)."""
    value = part.get_param(name, default)
    return collapse_rfc2231_value(value) if isinstance(value, tuple) else value


def _text_content(part: Message) -> str:
    """A text part decoded from its transfer encoding and charset, never raising.

    As policy.default's ``get_content`` reads text (charset parameter, RFC 2231
    encoded or not, else ASCII; bad bytes replaced), then the same fallbacks.
    """
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        return payload.decode(_param(part, "charset", "ASCII"), "replace")
    except (LookupError, UnicodeError, ValueError):
        pass  # unknown or wrong charset: decode the bytes below, replacing bad ones
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


def _find_body(part: Message, preference: tuple[str, ...]) -> Iterator[tuple[int, Message]]:
    """``EmailMessage._find_body`` of Python 3.11, reading headers as compat32 keeps them.

    The standard library's own needs policy.default's header objects (it asks the
    Content-Disposition header for its parsed value). Depth first: text parts of a
    preferred subtype with their rank, attachments never, and of a multipart/related
    only its root part (the ``start`` parameter's Content-ID, else the first part).
    """
    if part.get_content_disposition() == "attachment":
        return
    maintype, subtype = part.get_content_type().split("/")
    if maintype == "text":
        if subtype in preference:
            yield preference.index(subtype), part
        return
    payload = part.get_payload()
    if maintype != "multipart" or not isinstance(payload, list):
        return
    subparts = [sub for sub in payload if isinstance(sub, Message)]
    if subtype != "related":
        for subpart in subparts:
            yield from _find_body(subpart, preference)
        return
    start = _param(part, "start", "")
    candidate = None
    if start:
        candidate = next((sub for sub in subparts if sub["content-id"] == start), None)
    if candidate is None and subparts:
        candidate = subparts[0]
    if candidate is not None:
        yield from _find_body(candidate, preference)


def _body(msg: Message) -> str:
    """The HTML part, else the text part as HTML; '' when there is neither."""
    part, best = None, 2
    for rank, found in _find_body(msg, ("html", "plain")):
        if rank < best:
            part, best = found, rank
            if rank == 0:
                break
    if part is None:
        return ""
    content = _text_content(part)
    return content if _content_type(part) == "text/html" else text_to_html(content)


def _is_attachment(part: Message, content_type: str) -> bool:
    if part.is_multipart():
        return False
    disposition = _disposition(part)
    if disposition == "attachment":
        return True
    # Inline images of an HTML newsletter (multipart/related) are parts of its layout.
    return content_type.split("/")[0] not in ("text", "image", "message") and (
        disposition != "inline"
    )


@dataclass(frozen=True)
class _Parts:
    """What one walk over a message's parts finds."""

    attachments: int
    attached: Message | None  # the first message/rfc822 part: a forward
    truncated: bool


def _walk(msg: Message) -> _Parts:
    attachments, attached, truncated = 0, None, False
    for part in msg.walk():
        content_type = _content_type(part)
        truncated = truncated or any(isinstance(d, _TRUNCATED) for d in part.defects)
        if content_type == "message/rfc822" and attached is None:
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                attached = inner
        elif _is_attachment(part, content_type):
            attachments += 1
    return _Parts(attachments, attached, truncated)


@dataclass(frozen=True)
class _InlineForward:
    html: str
    sender: str
    date: datetime | None
    subject: str


def _inline_forward(html: str) -> _InlineForward | None:
    """The original inside an inline "Forwarded message" block, if ``html`` has one."""
    if _FORWARD_HINT not in html.lower():
        return None
    match = _FORWARD_MARKER.search(html)
    if match is None:
        return None
    rest = html[match.end() :]
    # The header block (From, Date or Sent, Subject, To) is in the lines after the marker.
    headers: dict[str, str] = {}
    for line in html_to_text(rest[:4000]).split("\n")[:8]:
        found = _FORWARD_HEADER.match(line)
        if found:
            headers.setdefault(found.group(1).lower(), found.group(2))
    sender = headers.get("from", "")
    when = headers.get("date") or headers.get("sent") or ""
    return _InlineForward(rest, sender, parse_mail_date(when), headers.get("subject", ""))


def _check_whole(msg: Message, raw: bytes, parts: _Parts) -> None:
    if not raw.strip():
        raise MessageError("empty message")
    if parts.truncated:
        raise MessageError("truncated MIME (a multipart boundary never closes)")
    if not any(_raw(msg, name) for name in ("From", "Subject", "Date", "Message-ID")):
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
    # compat32 (the default): headers kept as raw text, read by this module itself.
    outer = email.message_from_bytes(raw)
    parts = _walk(outer)
    _check_whole(outer, raw, parts)
    attachments, inner = parts.attachments, parts.attached
    msg = inner if inner is not None and _raw(inner, "From") else outer
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
