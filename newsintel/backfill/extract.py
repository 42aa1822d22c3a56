"""An article page's bytes -> title, publication date and main text (trafilatura).

trafilatura (Apache-2.0) is the well-kept extractor the issue names: it finds the main
text among navigation and boilerplate and reads the date from the page's metadata
(article:published_time, JSON-LD, <time>...). It is only ever given the bytes our
fetcher got, so it makes no network calls of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

ExtractStatus = Literal["ok", "non_html", "empty"]

# Content types that hold an HTML page. Anything else (PDF, images, JSON) is reported,
# not guessed at.
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class ExtractedPage:
    """What one page gave: ``status`` "ok" with title/text/date, or why not."""

    url: str
    status: ExtractStatus
    title: str = ""
    text: str = ""
    published: date | None = None
    error: str | None = None


def is_html(headers: Mapping[str, str], body: bytes) -> bool:
    """Whether a response is an HTML page (by Content-Type, else by its first bytes)."""
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type:
        return content_type in _HTML_TYPES
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<body" in head


def _day(value: object) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value[:10]).date()
    except ValueError:
        return None


def extract_page(url: str, body: bytes, headers: Mapping[str, str]) -> ExtractedPage:
    """Extract one page; a non-HTML or textless page gets its status and a reason."""
    if not is_html(headers, body):
        content_type = headers.get("content-type", "unknown").split(";", 1)[0].strip()
        return ExtractedPage(url, "non_html", error=f"not an HTML page ({content_type})")
    import trafilatura  # lazy: `newsintel --help` must not pay for lxml and friends

    try:
        document = trafilatura.bare_extraction(
            body, url=url, with_metadata=True, include_comments=False, include_tables=False
        )
    except Exception as exc:  # trafilatura raises assorted lxml errors on broken pages
        return ExtractedPage(url, "empty", error=f"extraction failed: {type(exc).__name__}")
    if document is None:
        return ExtractedPage(url, "empty", error="no main text found")

    # bare_extraction returns a Document unless asked for a dict (as_dict=True).
    def field(name: str) -> object:
        if isinstance(document, dict):
            return document.get(name)
        return getattr(document, name, None)

    title = str(field("title") or "").strip()
    text = str(field("text") or "").strip()
    if not text and not title:
        return ExtractedPage(url, "empty", error="no main text found")
    return ExtractedPage(url, "ok", title, text, _day(field("date")))


def extract_pages(pages: Sequence[tuple[str, bytes, Mapping[str, str]]]) -> list[ExtractedPage]:
    """``extract_page`` over several (url, body, headers): one task for a worker process,
    so that handing pages over costs one round trip per batch, not per page."""
    return [extract_page(url, body, headers) for url, body, headers in pages]
