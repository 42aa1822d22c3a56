"""Tracking links -> the article they point at, without fetching anything.

Newsletter links go through a click tracker first. Many trackers say where they lead:
in a query parameter (``?url=https%3A%2F%2F...``, ``?u=``, ``?redirect=``) or in the
path (``/CL0/https:%2F%2Fexample.com%2Fstory/1/...``, ``/r/https://example.com/...``).
Those are unwrapped (several layers too) and the result made canonical (utm_* and other
tracking parameters dropped). A tracker that hides its target (an opaque id) is kept
as it is: finding out would mean fetching it.
"""

from __future__ import annotations

import functools
import re
from html import unescape
from urllib.parse import parse_qsl, unquote, urlsplit

from newsintel.feeds.identity import canonical_url

# Query parameters trackers put the destination in (Mailchimp, Substack, Beehiiv,
# Google, Facebook, Outlook safe links, many ESPs).
_TARGET_PARAMS = ("url", "u", "target", "redirect", "redirect_url", "redirect_uri", "link",
                  "dest", "destination", "to", "r", "q", "href", "goto", "out")  # fmt: skip
# A destination written into the path, percent-encoded (stops at the next literal /) ...
_ENCODED_IN_PATH = re.compile(r"/(https?(?::|%3A)(?:%2F|/)%2F[^/?#]+)", re.IGNORECASE)
# ... or written plainly (runs to the end of the URL).
_PLAIN_IN_PATH = re.compile(r"/(https?://.+)$", re.IGNORECASE)
_MAX_LAYERS = 4


def _is_web(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _target(url: str) -> str | None:
    """The destination a tracking URL names, or None when it names none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if "http" in parts.query:  # a target in the query is an absolute http(s) URL
        params = dict(parse_qsl(parts.query))
        for name in _TARGET_PARAMS:
            value = params.get(name, "").strip()
            if value and _is_web(value):
                return value
    path = url[len(f"{parts.scheme}://{parts.netloc}") :]
    if "http" not in path:
        return None
    encoded = _ENCODED_IN_PATH.search(path)
    if encoded:
        return unquote(encoded.group(1))
    plain = _PLAIN_IN_PATH.search(path)
    if plain:
        return plain.group(1)
    return None


def unwrap_link(href: str) -> str:
    """The canonical article URL behind a (possibly tracking) newsletter link.

    ``href`` as written in the HTML (entities not yet decoded). Non-web links (mailto:,
    tel:, #anchors) come back decoded, stripped and otherwise unchanged.
    """
    return unwrap_url(unescape(href).strip())


@functools.lru_cache(maxsize=8192)  # footers and web-view links repeat in every issue
def unwrap_url(url: str) -> str:
    """``unwrap_link`` of a link already decoded, as an HTML parser gives attributes."""
    if not _is_web(url):
        return url
    for _ in range(_MAX_LAYERS):
        target = _target(url)
        if target is None or target == url:
            break
        url = target
    return canonical_url(url)
