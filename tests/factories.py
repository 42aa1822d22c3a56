"""Articles for store tests: every field filled, each test overriding what it checks."""

from __future__ import annotations

from datetime import datetime

from newsintel.models import Article

WHEN = datetime(2025, 2, 1)


def stored_article(
    article_id: str,
    *,
    source_id: str = "feed",
    title: str | None = None,
    text: str | None = None,
    published_at: datetime = WHEN,
    fetched_at: datetime | None = None,
    url: str | None = "",
    story_id: str | None = None,
    guid: str | None = "",
    content_hash: str | None = None,
    is_issue: bool = False,
    title_key: str | None = None,
) -> Article:
    """An Article as ingest would store it; ``url``/``guid`` "" mean derived from the id."""
    return Article(
        article_id=article_id,
        source_id=source_id,
        story_id=story_id or article_id,
        parent_id=None,
        guid=guid if guid != "" else article_id,
        url=url if url != "" else f"https://example.com/{article_id}",
        title=title if title is not None else f"Story {article_id}",
        text=text if text is not None else f"Body {article_id}",
        published_at=published_at,
        published_estimated=False,
        fetched_at=fetched_at or published_at,
        content_hash=content_hash or article_id,
        is_issue=is_issue,
        title_key=title_key,
    )
