"""HTML -> plain text for titles and article bodies.

Built on the stdlib ``html.parser`` so that cleaning never needs a network, a browser
engine or a third-party parser. The output keeps paragraph breaks as newlines (the
embedder and the digest both read better with them) and folds every other whitespace
run into one space.
"""

from __future__ import annotations

from html.parser import HTMLParser

# Elements whose content is never readable text (feedparser's sanitiser, which newsintel
# does not run, drops the content of script, style and applet too).
_SKIPPED = frozenset({"script", "style", "applet", "noscript", "template", "head", "svg", "math"})

# Elements that start a new line of text (HTML Living Standard "block-level" content).
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl",
        "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
        "table", "tbody", "thead", "tfoot", "tr", "ul",
    }
)  # fmt: skip

# Table cells sit on one line but must not run into each other.
_SEPARATED = frozenset({"td", "th", "img"})


def fold_whitespace(text: str) -> str:
    """Collapse every run of whitespace (including non-breaking spaces) into one space."""
    return " ".join(text.split())


def fold_lines(text: str) -> str:
    """Fold whitespace inside each line and drop empty lines (newlines are kept)."""
    lines = (fold_whitespace(line) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


class TextExtractor(HTMLParser):
    """The parser behind ``html_to_text``; ``result()`` is its text once closed."""

    def __init__(self) -> None:
        # convert_charrefs decodes &amp;, &#8217; and friends inside text for us.
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip_depth += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag in _SEPARATED:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/> and <hr/> are self-closing; <script/> must not open a skipped region.
        if tag in _BLOCKS:
            self.parts.append("\n")
        elif tag in _SEPARATED:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag in _SEPARATED:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)

    def result(self) -> str:
        return fold_lines("".join(self.parts))


def html_to_text(html: str) -> str:
    """Readable text of an HTML fragment (or of plain text, which passes through).

    Tags are stripped, script/style content is dropped, entities are decoded, block
    elements become line breaks and whitespace inside each line is folded. Empty lines
    are removed, so paragraphs are separated by exactly one newline.
    """
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        return fold_lines(html)  # plain text (most titles): nothing for the parser to do
    parser = TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.result()
