"""Split newsletter issues that bundle many stories into one entry per story.

Daily newsletters such as MIT Technology Review's *The Download* publish one feed
entry per issue: an intro, then a numbered "must-reads" list where each item is a
headline, a sentence and a link to the story. Counted as one article, such an issue
would smear a dozen themes into one embedding; split, each story is themed alone.

Two shapes are recognised: ``<ol><li>`` items, and paragraphs numbered "1 ", "1. "
or "1) " (numbered 1, 2, 3... in order). Either needs at least 3 items with a link.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from html import escape
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from newsintel.feeds.clean import TextExtractor, fold_lines, fold_whitespace, html_to_text
from newsintel.feeds.parse import ParsedEntry

MIN_STORIES = 3
_NUMBER = re.compile(r"^\s*(\d{1,2})(?:[.)]\s*|\s+)(?=\S)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
# Link texts that name the publication rather than the story: "(Bloomberg $)", "WSJ".
_MIN_HEADLINE_WORDS = 3


@dataclass
class _Item:
    """A list item or paragraph being collected (mutable while parsing)."""

    parts: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    bold: list[str] = field(default_factory=list)

    @functools.cached_property
    def text(self) -> str:
        # Read only once the parse is over (parts no longer change); read several times.
        return fold_lines("".join(self.parts))


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.list_items: list[_Item] = []
        self.paragraphs: list[_Item] = []
        self._lists: list[str] = []  # open <ol>/<ul> tags, innermost last
        self._item: _Item | None = None
        self._item_depth = 0  # list depth at which the current <li> was opened
        self._paragraph: _Item | None = None
        self._link: tuple[str, list[str]] | None = None
        self._bold: list[str] | None = None
        self._skip = 0

    def _targets(self) -> list[_Item]:
        return [item for item in (self._item, self._paragraph) if item is not None]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("ol", "ul"):
            self._lists.append(tag)
        elif tag == "li" and self._item is None and self._lists[-1:] == ["ol"]:
            self._item, self._item_depth = _Item(), len(self._lists)
        elif tag == "p" and not self._lists:
            # A new <p> implicitly closes an unclosed one (HTML parsing rules).
            self._close_paragraph()
            self._paragraph = _Item()
        elif tag == "a":
            href = dict(attrs).get("href")
            self._link = (href.strip(), []) if href and href.strip() else None
        elif tag in ("strong", "b"):
            self._bold = []
        elif tag in ("br", "li", "p", "div"):
            self._text("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in ("ol", "ul"):
            if self._item is not None and len(self._lists) == self._item_depth:
                self._close_item()
            if self._lists:
                self._lists.pop()
        elif tag == "li" and self._item is not None and len(self._lists) == self._item_depth:
            self._close_item()
        elif tag == "p":
            self._close_paragraph()
        elif tag == "a" and self._link is not None:
            href, words = self._link
            for target in self._targets():
                target.links.append((href, fold_whitespace("".join(words))))
            self._link = None
        elif tag in ("strong", "b") and self._bold is not None:
            for target in self._targets():
                target.bold.append(fold_whitespace("".join(self._bold)))
            self._bold = None

    def _close_item(self) -> None:
        if self._item is not None:
            self.list_items.append(self._item)
        self._item = None

    def _close_paragraph(self) -> None:
        if self._paragraph is not None:
            self.paragraphs.append(self._paragraph)
        self._paragraph = None

    def close(self) -> None:
        super().close()
        self._close_item()
        self._close_paragraph()

    def _text(self, data: str) -> None:
        # Called for every text run: the two targets spelled out, not _targets()'s list.
        if self._item is not None:
            self._item.parts.append(data)
        if self._paragraph is not None:
            self._paragraph.parts.append(data)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self._text(data)
        if self._link is not None:
            self._link[1].append(data)
        if self._bold is not None:
            self._bold.append(data)


def _strip_number(text: str) -> str:
    return _NUMBER.sub("", text, count=1).strip()


def _headline(item: _Item, link_text: str) -> str:
    """Bold headline if any, else a descriptive link text, else the first sentence."""
    for bold in item.bold:
        headline = _strip_number(bold)
        if headline:
            return headline
    if len(link_text.strip("() $").split()) >= _MIN_HEADLINE_WORDS:
        return link_text
    first_line = _strip_number(item.text.split("\n", 1)[0])
    if link_text:
        # Drop the "(Publication)" attribution the short link text stands for.
        first_line = fold_whitespace(first_line.replace(link_text, "")).rstrip(" ()")
    sentence = _SENTENCE_END.split(first_line, maxsplit=1)[0]
    # Headlines carry no full stop; "?" and "!" are part of them.
    return sentence.rstrip(" .")


def _first_web_link(
    item: _Item, base_url: str | None, link: Callable[[str], str] | None
) -> tuple[str, str] | None:
    for href, text in item.links:
        if link is not None:
            href = link(href)
        url = urljoin(base_url, href) if base_url else href
        if urlsplit(url).scheme.lower() in ("http", "https") and urlsplit(url).netloc:
            return url, text
    return None


def _numbered(paragraphs: list[_Item]) -> list[_Item]:
    """Paragraphs numbered 1, 2, 3... in order; other paragraphs are ignored."""
    chosen: list[_Item] = []
    for paragraph in paragraphs:
        match = _NUMBER.match(paragraph.text)
        if match and int(match.group(1)) == len(chosen) + 1:
            chosen.append(paragraph)
    return chosen


def _may_hold_stories(html: str) -> bool:
    """False when ``html`` cannot be an issue: fewer than MIN_STORIES link targets.

    Every story needs an ``<a href>``; most entries have none, and counting the
    attribute name is far cheaper than parsing their HTML to find that out.
    """
    return html.lower().count("href") >= MIN_STORIES


class _IssueReader(HTMLParser):
    """One pass over an issue's HTML feeding both its text and its story collector.

    Tokenising is most of the cost of reading HTML; the two readers keep their own
    rules but share the tokens, so an issue is parsed once instead of twice.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = TextExtractor()
        self.collector = _Collector()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.text.handle_starttag(tag, attrs)
        self.collector.handle_starttag(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.text.handle_startendtag(tag, attrs)
        self.collector.handle_startendtag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.text.handle_endtag(tag)
        self.collector.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        self.text.handle_data(data)
        self.collector.handle_data(data)

    def close(self) -> None:
        super().close()
        self.collector.close()


@dataclass(frozen=True)
class Story:
    """One story of an issue: its entry (as ``split_newsletter`` gives it) and its text.

    ``text`` is what ``html_to_text(entry.html)`` gives, without parsing that HTML.
    """

    entry: ParsedEntry
    text: str


def read_issue(
    entry: ParsedEntry, *, link: Callable[[str], str] | None = None
) -> tuple[str, list[Story]]:
    """The text of ``entry.html`` (as ``html_to_text``) and its stories, in one parse.

    The stories are those of ``split_newsletter``; ``link`` maps each candidate link
    (as the HTML parser reads it) before it is judged and used, as email needs for
    unwrapping click trackers: only the links the splitter looks at pay for it.
    """
    if not _may_hold_stories(entry.html):
        return html_to_text(entry.html), []
    reader = _IssueReader()
    reader.feed(entry.html)
    reader.close()
    return reader.text.result(), _stories(entry, reader.collector, link)


def _stories(
    entry: ParsedEntry, collector: _Collector, link: Callable[[str], str] | None
) -> list[Story]:
    stories: list[Story] = []
    base = entry.html_base or entry.url  # relative hrefs resolve as in the feed document
    for items in (collector.list_items, _numbered(collector.paragraphs)):
        linked = [(item, found) for item in items if (found := _first_web_link(item, base, link))]
        if len(linked) < MIN_STORIES:
            continue
        for index, (item, (url, link_text)) in enumerate(linked, start=1):
            text = _strip_number(item.text)
            lines = [line for line in text.split("\n") if line]
            body = "".join(f"<p>{escape(line)}</p>" for line in lines)
            story = replace(
                entry,
                guid=f"{entry.guid}#{index}" if entry.guid else url,
                url=url,
                title=_headline(item, link_text),
                html=body,
            )
            # html_to_text(body) would give back exactly these lines: each is already
            # whitespace-folded and non-empty, and escape() is undone by the parser.
            stories.append(Story(story, "\n".join(lines)))
        break
    return stories


def split_newsletter(entry: ParsedEntry) -> list[ParsedEntry]:
    """One entry per story of a newsletter issue, or [] if ``entry`` is not one.

    Each story keeps the issue's date; its guid is the issue guid + "#" + its 1-based
    position (or its link when the issue has no guid), its url the story link and its
    title the headline.
    """
    if not _may_hold_stories(entry.html):
        return []
    collector = _Collector()
    collector.feed(entry.html)
    collector.close()
    return [story.entry for story in _stories(entry, collector, None)]
