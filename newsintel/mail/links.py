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
from urllib.parse import parse_qsl, unquote

from newsintel.feeds.identity import canonical_url, is_tracking_param

# Query parameters trackers put the destination in (Mailchimp, Substack, Beehiiv,
# Google, Facebook, Outlook safe links, many ESPs).
_TARGET_PARAMS = ("url", "u", "target", "redirect", "redirect_url", "redirect_uri", "link",
                  "dest", "destination", "to", "r", "q", "href", "goto", "out")  # fmt: skip
# A destination written into the path, percent-encoded (stops at the next literal /) ...
_ENCODED_IN_PATH = re.compile(r"/(https?(?::|%3A)(?:%2F|/)%2F[^/?#]+)", re.IGNORECASE)
# ... or written plainly (runs to the end of the URL).
_PLAIN_IN_PATH = re.compile(r"/(https?://.+)$", re.IGNORECASE)
_MAX_LAYERS = 4
# An http(s) URL with a host: what urlsplit would say, without splitting (every story
# link of every message is asked, and most are plain article links).
_WEB = re.compile(r"https?://[^/?#]", re.IGNORECASE)
_SCHEME_END = len("https://")
# Scheme and host, then the query, of a web URL: the two parts a target can be in. A
# regex match costs a fraction of urlsplit, which would split (and check) far more.
_AFTER_HOST = re.compile(r"[^:]+://[^/?#]*")
_QUERY = re.compile(r"\?([^#]*)")
# A URL canonical_url would give back unchanged, but for a query of tracking parameters
# only: lower-case http(s) scheme and plain host (no port, user or IPv6), a path, no
# fragment, nothing urlsplit would strip. Most story links are this; canonical_url
# splits, parses and rebuilds each, which costs more than the rest of unwrapping.
_PLAIN_WEB = re.compile(r"(https?://[a-z0-9.-]+/[^?#\s\x00-\x1f]*)(?:\?([^#\s\x00-\x1f]*))?")


def _is_web(url: str) -> bool:
    return _WEB.match(url) is not None


def _target(url: str) -> str | None:
    """The destination a tracking URL names, or None when it names none."""
    if "http" not in url[_SCHEME_END:]:
        return None  # a target would be an absolute http(s) URL: most links have none
    head = _AFTER_HOST.match(url)
    if head is None:
        return None
    path = url[head.end() :]  # path, query and fragment
    found = _QUERY.search(path)
    query: str = found.group(1) if found is not None else ""
    if "http" in query:
        params = dict(parse_qsl(query))
        for name in _TARGET_PARAMS:
            value = params.get(name, "").strip()
            if value and _is_web(value):
                return value
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
    return _canonical(url)


def _canonical(url: str) -> str:
    """``canonical_url(url)``, without its cost for a plain link (tested equal)."""
    plain = _PLAIN_WEB.fullmatch(url)
    if plain is not None:
        query = plain.group(2)
        if query is None or (
            query
            and "%" not in query
            and "+" not in query
            and all(is_tracking_param(pair.split("=", 1)[0]) for pair in query.split("&"))
        ):
            return plain.group(1)
    return canonical_url(url)
