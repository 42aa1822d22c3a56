"""robots.txt -> what a backfill may fetch, how slowly, and where the sitemaps are.

The standard library's ``urllib.robotparser`` does the matching (RFC 9309 groups,
Allow/Disallow, Crawl-delay); it is given the text we fetched ourselves, never a URL,
so every request goes through the polite fetcher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

# RFC 9309 section 2.5: crawlers may stop reading after 500 KiB.
MAX_ROBOTS_BYTES = 500 * 1024


@dataclass(frozen=True)
class RobotsRules:
    """The rules of one host for one user agent. No robots.txt: everything allowed."""

    text: str = ""
    user_agent: str = "*"
    # What happened when fetching it: "ok", "missing" (4xx: allow all, RFC 9309 2.3.1.3)
    # or "unreachable" (5xx or network: disallow all, RFC 9309 2.3.1.4).
    status: str = "missing"
    _parser: RobotFileParser = field(default_factory=RobotFileParser, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._parser.parse(self.text.splitlines())

    def allows(self, url: str) -> bool:
        """Whether our user agent may fetch ``url``."""
        if not self.text.strip():
            return True
        return self._parser.can_fetch(self.user_agent, url)

    @property
    def crawl_delay(self) -> float | None:
        """Seconds the site asks between requests (Crawl-delay), if it says."""
        delay = self._parser.crawl_delay(self.user_agent)
        return float(delay) if delay is not None else None

    def sitemaps(self, base_url: str) -> list[str]:
        """Sitemap URLs the file lists, made absolute against ``base_url``."""
        found = self._parser.site_maps() or []
        return [urljoin(base_url, url.strip()) for url in found if url.strip()]


def product_token(user_agent: str) -> str:
    """The product token robots.txt groups match: "newsintel/0.1 (+url)" -> "newsintel"."""
    return user_agent.split("/", 1)[0].split()[0] if user_agent.strip() else "*"


def robots_url(url: str) -> str:
    """The robots.txt of the site that serves ``url``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


def parse_robots(body: bytes | None, user_agent: str, status: str = "ok") -> RobotsRules:
    """Rules from a robots.txt body (None or empty: allow everything)."""
    text = (body or b"")[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
    return RobotsRules(text=text, user_agent=product_token(user_agent), status=status)
