"""Feed text as safe Markdown, and the digest as a Markdown page.

Feed titles and bodies are untrusted. Streamlit never renders raw HTML in Markdown
unless asked to (and we never ask), but Markdown itself can still make links, images,
colour directives and maths out of punctuation. So every piece of feed text shown
through st.markdown goes through :func:`escape_markdown` first; tables use
st.dataframe, which shows text as text.
"""

from __future__ import annotations

import string
from urllib.parse import quote, urlsplit

from newsintel.digest.content import DigestContent, PriceMove, ThemeMove
from newsintel.topics.emerging import ALPHA, MIN_COUNT

# CommonMark lets a backslash escape any ASCII punctuation character: escaping all of
# them turns off every inline construct (links, emphasis, HTML, :directives:, $maths$).
_ESCAPES = {ord(ch): "\\" + ch for ch in string.punctuation}


def escape_markdown(text: str) -> str:
    """``text`` as one line of Markdown that displays exactly those characters."""
    return " ".join(str(text).split()).translate(_ESCAPES)


def emergence_rule() -> str:
    """When a topic counts as emerging, as the Topics page states it."""
    return f"one-sided Poisson p < {ALPHA}, at least {MIN_COUNT} stories"


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL, percent-encoded for a Markdown link."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Parentheses, spaces and angle brackets would end or break a Markdown link target.
    return quote(url.strip(), safe=":/?#[]@!$&'*+,;=%~-._")


def link(title: str, url: str | None) -> str:
    """A Markdown link to ``url`` labelled with the escaped title (plain text if unsafe)."""
    target = safe_url(url)
    label = escape_markdown(title)
    return f"[{label}]({target})" if target else label


def signed_pct(value: float | None) -> str:
    """+12.5% / -3.0% / n/a."""
    return "n/a" if value is None else f"{value:+.1f}%"


def _stories(count: int) -> str:
    return f"{count} story" if count == 1 else f"{count} stories"


def _theme_line(move: ThemeMove) -> str:
    change = "" if move.change_pct is None else f", {signed_pct(move.change_pct)}"
    line = (
        f"- **{escape_markdown(move.label)}**: {_stories(move.count)} "
        f"({move.previous_count} the period before{change}; "
        f"{move.share:.0%} of all stories)"
    )
    for story in move.top_stories[:2]:
        line += f"\n    - {link(story.title, story.url)} — {escape_markdown(story.source)}"
    return line


def _price_line(move: PriceMove) -> str:
    return (
        f"- **{escape_markdown(move.name.replace('_', ' '))}**: "
        f"{move.last:,.0f} {escape_markdown(move.unit)} on {move.last_date.isoformat()} "
        f"({signed_pct(move.change_pct)} on the previous value)"
    )


def counted(n: int, one: str, many: str | None = None) -> str:
    """``n`` with its noun in the right number: "1 article", "2 articles"."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def digest_markdown(content: DigestContent) -> str:
    """What the digest would say, as Markdown with every piece of feed text escaped."""
    lines = [
        f"**{escape_markdown(content.title)}**",
        "",
        f"{counted(content.articles, 'article')}, "
        f"{counted(content.stories, 'distinct story', 'distinct stories')} from "
        f"{counted(content.sources, 'source')} between {content.period_start.isoformat()} and "
        f"{content.period_end.isoformat()}.",
        "",
    ]
    for notice in content.notices:
        lines += [f"_{escape_markdown(notice)}_", ""]
    for heading, moves in (("Rising", content.rising), ("Falling", content.falling)):
        lines.append(f"**{heading}**")
        lines += [_theme_line(m) for m in moves] or ["- nothing unusual this period"]
        lines.append("")
    if content.price_moves:
        lines.append("**Prices**")
        lines += [_price_line(m) for m in content.price_moves]
        lines.append("")
    lines.append("**Lead/lag findings**")
    if content.findings:
        for found in content.findings:
            lines.append(f"- {escape_markdown(found.summary)}")
            lines.append(f"    - {escape_markdown(found.caveat)}")
    else:
        lines.append("- no association survives the adjustment for multiple testing")
    return "\n".join(lines)
