"""A ``MailMessage`` -> ``Article`` records: the issue and one article per story.

The same rules as feed newsletters (``newsintel.feeds.newsletter`` splits, and
``newsintel.feeds.normalise`` cleans and gives ids), so a story read from the email
and from the web copy is one story: the store groups them by title within days. On
top of that, email needs its links unwrapped (click trackers) and its sponsor blocks,
footers, unsubscribe and "view in browser" links kept out of the stories.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

from newsintel.feeds.normalise import normalise_feed
from newsintel.feeds.parse import ParsedEntry, ParsedFeed
from newsintel.feeds.sources import FeedSource
from newsintel.mail.links import unwrap_link, unwrap_url
from newsintel.mail.message import MailMessage
from newsintel.models import Article

# Link paths and texts that manage the subscription or the email itself. These three
# patterns are matched against lower-cased text: without IGNORECASE the regex engine
# scans several times faster, and they run for every story of every message.
_HOUSEKEEPING_URL = re.compile(
    r"unsubscribe|optout|opt-out|opt_out|/preferences|manage[-_]?(?:subscription|preferences)"
    r"|view[-_]?in[-_]?browser|/webversion|/view-online|email-preferences|forward-to-a-friend"
    r"|/share\?|list-manage\.com/profile"
)
_HOUSEKEEPING_TEXT = re.compile(
    r"\bunsubscribe\b|view (?:it |this (?:email )?)?in (?:your |a )?browser|view online"
    r"|update your preferences|manage (?:your )?subscription|you(?:'re| are) receiving this"
    r"|forward(?:ed)? (?:this )?to a friend"
)
# Paid placements: newsletters label them, because the law asks them to.
_SPONSORED = re.compile(
    r"\b(?:sponsored|sponsor(?:ed)? content|advertisement|presented by|brought to you by"
    r"|in partnership with|paid (?:post|content|partnership)|partner content)\b"
)
_SHARE_HOSTS = frozenset(
    {"twitter.com", "x.com", "facebook.com", "www.facebook.com", "linkedin.com",
     "www.linkedin.com", "instagram.com", "www.instagram.com"}
)  # fmt: skip


def is_housekeeping_link(url: str, unsubscribe: frozenset[str] = frozenset()) -> bool:
    """Whether a link manages the subscription (unsubscribe, preferences, web view).

    ``unsubscribe`` holds the List-Unsubscribe URLs, unwrapped as story links are.
    """
    lowered = url.lower()
    if not url or lowered.startswith(("mailto:", "tel:", "#")):
        return True
    # No List-Unsubscribe (most messages): nothing to unwrap the link for.
    if unsubscribe and (url in unsubscribe or unwrap_link(url) in unsubscribe):
        return True
    if _HOUSEKEEPING_URL.search(lowered):
        return True
    parts = urlsplit(url)
    return (parts.hostname or "") in _SHARE_HOSTS and parts.path.strip("/").count("/") == 0


def is_story(article: Article, unsubscribe: frozenset[str] = frozenset()) -> bool:
    """False for a split item that is a sponsor block, a footer or housekeeping link."""
    if article.url is None or is_housekeeping_link(article.url, unsubscribe):
        return False
    words = f"{article.title}\n{article.text}".lower()
    return not (_SPONSORED.search(words) or _HOUSEKEEPING_TEXT.search(words))


def mail_articles(
    message: MailMessage, *, source_id: str, source_name: str, fetched_at: datetime
) -> list[Article]:
    """The issue (``is_issue`` when it splits) followed by its stories, ``origin='mail'``.

    The issue's guid is the Message-ID, each story's the Message-ID + "#" + its
    position, so importing a message again gives the same ids. Links are unwrapped
    from click trackers and canonical. A date taken from the server or the file, or
    missing, is flagged ``published_estimated``.
    """
    entry = ParsedEntry(
        guid=message.message_id,
        url=None,
        title=message.subject,
        html=message.html,
        published_at=message.published_at,
        published_raw=None,
    )
    feed = ParsedFeed(source_name, None, (entry,), None)
    # Only the links the splitter considers are unwrapped (the HTML parser has decoded
    # them already): the issue's text never shows an href, so the rest need no work.
    articles = normalise_feed(
        FeedSource(source_id, source_name, ""), feed, fetched_at, link=unwrap_url
    )
    if not articles:
        return []
    issue, *stories = articles
    unsubscribe = frozenset(unwrap_link(url) for url in message.unsubscribe)
    kept = [story for story in stories if is_story(story, unsubscribe)]
    if stories and not kept:
        issue = replace(issue, is_issue=False)  # only housekeeping links: a plain email
    return [
        replace(
            article,
            origin="mail",
            published_estimated=article.published_estimated or message.date_estimated,
        )
        for article in (issue, *kept)
    ]
