"""Stable identity for articles: canonical URLs, trustworthy GUIDs and short ids.

Order of preference (as miniflux does it): the entry's GUID, namespaced by its source,
when it looks unique; else the canonical URL; else a hash of the title and text. The
same entry fetched twice therefore always gets the same id, so writes are idempotent.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from newsintel.feeds.clean import fold_whitespace

ID_HEX_CHARS = 16

# Query parameters that only track the click and never change the page.
_TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "ref", "igshid", "yclid"}
)
_TRACKING_PREFIXES = ("utm_",)
_DEFAULT_PORTS = {"http": 80, "https": 443}

# GUIDs some generators emit for every item; they identify nothing.
_PLACEHOLDER_GUIDS = frozenset({"null", "none", "nil", "undefined", "n/a", "guid", "id", "0"})
_MIN_GUID_CHARS = 4

_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`]")
_PUNCTUATION_OR_SYMBOL = ("P", "S")  # Unicode general categories that become a space
# The same two rules as one table for ASCII titles (most of them): apostrophes vanish,
# every other punctuation or symbol character becomes a space.
_ASCII_TITLE_TABLE: dict[int, str | None] = {
    code: " " for code in range(128) if unicodedata.category(chr(code))[0] in _PUNCTUATION_OR_SYMBOL
} | {ord("'"): None, ord("`"): None}


def is_tracking_param(name: str) -> bool:
    """Whether a query parameter only tracks the click (utm_*, fbclid...): canonical
    URLs drop it."""
    lowered = name.lower()
    return lowered in _TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The URL with noise removed, so that one page always maps to one string.

    Lower-cases scheme and host, drops default ports, the fragment and tracking
    parameters (utm_*, fbclid, gclid, mc_cid, mc_eid, ref...), and sorts the remaining
    query parameters. Anything that is not an http(s) URL is returned stripped.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return text
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal keeps its brackets (RFC 3986 section 3.2.2)
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    params = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(key)
    ]
    query = urlencode(sorted(params))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def is_trustworthy_guid(guid: str | None, url: str | None = None) -> bool:
    """Whether a feed GUID is likely unique to its entry.

    Rejects empty, very short and placeholder GUIDs, GUIDs that are a bare site root
    (some CMSs put the home page in <guid> for every item) and GUIDs that are just the
    host name of the entry's ``url``.
    """
    if guid is None:
        return False
    text = guid.strip()
    if len(text) < _MIN_GUID_CHARS or text.lower() in _PLACEHOLDER_GUIDS:
        return False
    if url and text.lower() == (urlsplit(url.strip()).hostname or ""):
        return False
    parts = urlsplit(text)
    if parts.scheme in _DEFAULT_PORTS and parts.path in ("", "/") and not parts.query:
        # A bare root is never a single story, even when it equals the entry's link.
        return bool(parts.fragment)
    return True


def _short_hash(*parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8"))
    return digest.hexdigest()[:ID_HEX_CHARS]


@functools.lru_cache(maxsize=1024)
def normalise_title(title: str) -> str:
    """A title reduced for near-duplicate grouping: lower-case, no punctuation.

    Cached: an article's id, content hash and title key each need it.
    """
    if title.isascii():  # NFKC leaves ASCII as it is
        return fold_whitespace(title.lower().translate(_ASCII_TITLE_TABLE))
    text = unicodedata.normalize("NFKC", title).lower()
    # "Don't" and "Don’t" must match, and neither should become "don t".
    text = _APOSTROPHES.sub("", text)
    kept = (" " if unicodedata.category(ch)[0] in _PUNCTUATION_OR_SYMBOL else ch for ch in text)
    return fold_whitespace("".join(kept))


def content_hash(title: str, text: str) -> str:
    """Short hex hash of an article's normalised title and whitespace-folded text."""
    return _short_hash("content", normalise_title(title), fold_whitespace(text).lower())


def article_id(source_id: str, guid: str | None, url: str | None, title: str, text: str) -> str:
    """Stable short hex id: trustworthy GUID (per source), else canonical URL, else content.

    The GUID is namespaced by the source because GUIDs are only unique within a feed;
    a URL is global, so the same link from two feeds maps to one id. The content hash
    is namespaced too: short link-less posts ("Update", "Podcast") repeat across feeds
    without being the same story.
    """
    if guid is not None and is_trustworthy_guid(guid, url):
        return _short_hash("guid", source_id, guid.strip())
    if url and url.strip():
        return _short_hash("url", canonical_url(url))
    return _short_hash("content", source_id, content_hash(title, text))
