"""Tests of newsintel.digest.render and newsintel.digest.chart: the email as built."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path

import pytest
from digest_examples import (
    HOSTILE_TITLE,
    UNICODE_TITLE,
    example_chart,
    example_content,
    story,
    theme_move,
)

import newsintel.digest
from newsintel.digest import render_chart_png, render_digest, write_dry_run
from newsintel.digest.chart import describe_chart, draw_chart
from newsintel.errors import DigestError

SENDER = "newsintel <digest@news.example.org>"
RECIPIENT = "Bob <bob@example.com>"
HTTPS_UNSUBSCRIBE = "https://news.example.org/unsubscribe?token=abc"
MAILTO_UNSUBSCRIBE = "mailto:unsubscribe@news.example.org?subject=unsubscribe"
NOW = datetime(2026, 8, 24, 7, 0, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def render(content: object = None, **kwargs: object) -> EmailMessage:
    """Render the example (or given) content and round-trip it through bytes."""
    options: dict[str, object] = {
        "sender": SENDER,
        "recipient": RECIPIENT,
        "unsubscribe": HTTPS_UNSUBSCRIBE,
        "now": NOW,
    }
    options.update(kwargs)
    message = render_digest(content or example_content(), **options)  # type: ignore[arg-type]
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes(policy=policy.SMTP))
    assert isinstance(parsed, EmailMessage)
    return parsed


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


class _Elements(HTMLParser):
    """Collects (tag, attrs) of every start tag."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.elements


def test_message_is_alternative_with_text_and_related_html_with_chart() -> None:
    message = render()
    assert message.get_content_type() == "multipart/alternative"
    plain, related = message.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.iter_parts()
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    content_id = image["Content-ID"].strip("<>")
    assert f'src="cid:{content_id}"' in html_part.get_content()
    assert image.get_content().startswith(PNG_SIGNATURE)
    for part in (plain, html_part):
        assert part.get_content_charset() == "utf-8"


def test_headers() -> None:
    message = render()
    assert message["From"] == SENDER
    assert message["To"] == RECIPIENT
    assert message["Subject"] == "newsintel weekly digest — week of 2026-08-17"
    assert message["Date"] == "Mon, 24 Aug 2026 07:00:00 +0000"
    assert re.fullmatch(r"<[^<>@\s]+@news\.example\.org>", message["Message-ID"])
    assert message["List-Unsubscribe"] == f"<{HTTPS_UNSUBSCRIBE}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_message_ids_are_unique() -> None:
    assert render()["Message-ID"] != render()["Message-ID"]


def test_mailto_unsubscribe_has_no_one_click_post() -> None:
    message = render(unsubscribe=MAILTO_UNSUBSCRIBE)
    assert message["List-Unsubscribe"] == f"<{MAILTO_UNSUBSCRIBE}>"
    assert message["List-Unsubscribe-Post"] is None
    assert "Unsubscribe: " + MAILTO_UNSUBSCRIBE in text_of(message)


def test_several_unsubscribe_targets() -> None:
    message = render(unsubscribe=f"{MAILTO_UNSUBSCRIBE}, {HTTPS_UNSUBSCRIBE}")
    assert message["List-Unsubscribe"] == f"<{MAILTO_UNSUBSCRIBE}>, <{HTTPS_UNSUBSCRIBE}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The footer link prefers the web page over an email.
    assert f'href="{HTTPS_UNSUBSCRIBE.replace("&", "&amp;")}"' in html_of(message)


@pytest.mark.parametrize(
    "unsubscribe",
    ["", "javascript:alert(1)", "http://example.org/u", "https://x.org/a>, <https://evil"],
)
def test_invalid_unsubscribe_target_is_refused(unsubscribe: str) -> None:
    with pytest.raises(DigestError, match="unsubscribe target"):
        render(unsubscribe=unsubscribe)


def test_sender_must_be_an_address() -> None:
    with pytest.raises(DigestError, match="digest sender must be an email address"):
        render(sender="newsintel")


def test_hostile_feed_text_never_becomes_html() -> None:
    hostile = theme_move(
        "evil",
        HOSTILE_TITLE,
        9,
        1,
        zscore=3.0,
        stories=(
            story(HOSTILE_TITLE, "javascript:alert(1)", source=HOSTILE_TITLE),
            story("ok", 'https://example.com/a"onmouseover="alert(1)'),
        ),
    )
    content = example_content(
        rising=(hostile,), themes=(hostile,), notices=(HOSTILE_TITLE,), title=HOSTILE_TITLE
    )
    html = html_of(render(content))
    found = elements(html)
    assert not [tag for tag, _ in found if tag in ("script", "iframe", "object")]
    assert not [
        (tag, name) for tag, attrs in found for name in attrs if name.lower().startswith("on")
    ]
    hrefs = [attrs.get("href") or "" for tag, attrs in found if tag == "a"]
    assert not [href for href in hrefs if not href.startswith(("https:", "http:"))]
    assert "&lt;script&gt;" in html
    assert "onerror=alert(1)" in html  # shown as text, inside an escaped tag


def test_unicode_survives_in_both_parts_and_subject() -> None:
    title = f"Digest: {UNICODE_TITLE}"
    message = render(example_content(title=title))
    assert message["Subject"] == title
    assert UNICODE_TITLE in text_of(message)
    assert UNICODE_TITLE in html_of(message)


def test_multiline_title_is_one_subject_line() -> None:
    message = render(example_content(title="Weekly\r\nBcc: victim@example.com"))
    assert message["Subject"] == "Weekly Bcc: victim@example.com"
    assert message["Bcc"] is None


def test_plain_text_carries_themes_stories_prices_and_findings() -> None:
    text = text_of(render())
    for expected in (
        "Lithium & batteries",
        "Copper",
        "Semiconductors",
        "https://example.com/ganfeng-brine",
        "https://example.com/catl-jianxiawo",
        "https://example.com/chile-copper",
        "z = 2.4",
        "+80.0%",
        "Lithium carbonate: 79,400 CNY/t",
        "led lithium carbonate returns by 2 weeks",
        "Caveat: Weak after correction for 12 tests.",
        "Articles are sample data.",
        f"Unsubscribe: {HTTPS_UNSUBSCRIBE}",
    ):
        # Read as a reader does: the 72-column wrap may break a sentence over lines.
        assert expected in " ".join(text.split()), expected
    assert "<" not in text.replace("<-", "")


def test_html_shows_figures_moves_and_stories() -> None:
    html = html_of(render())
    for expected in ("1,284", "412", "37", "z = 2.4", "▲", "▼", "Reuters", "2026-08-19"):
        assert expected in html, expected
    links = [attrs["href"] for tag, attrs in elements(html) if tag == "a"]
    assert "https://example.com/ganfeng-brine" in links
    assert "do not show cause" in html


def test_css_is_inlined() -> None:
    html = html_of(render())
    styled = {tag for tag, attrs in elements(html) if attrs.get("style")}
    assert {"body", "h1", "h2", "table", "td", "th", "p", "a"} <= styled
    # Only the mobile @media rules may stay in a <style> block.
    for block in re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.S):
        assert block.strip().startswith("@media"), block
    assert 'name="viewport"' in html


def _contrast(foreground: str, background: str = "#ffffff") -> float:
    """WCAG contrast ratio of two #rrggbb colours (1 to 21)."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_price_moves_read_by_arrow_and_sign_not_colour_alone() -> None:
    html = html_of(render())
    cells = {}
    for kind, text in (("up", "▲ +3.0%"), ("down", "▼ -2.0%")):
        found = re.search(
            rf'<td class="num {kind}"[^>]*style="([^"]*)"[^>]*>{re.escape(text)}', html
        )
        assert found, kind  # the direction is in the text: arrow and sign
        colour = re.search(r"(?<![-\w])color: (#[0-9a-fA-F]{6})", found.group(1))
        assert colour, found.group(1)
        cells[kind] = colour.group(1).lower()
    # The colours only add to the text: each stays readable on white (WCAG AA) and the
    # two directions differ.
    assert all(_contrast(c) >= 4.5 for c in cells.values()), cells
    assert cells["up"] != cells["down"]


def test_text_part_fits_72_columns() -> None:
    text = text_of(render())
    long = [line for line in text.splitlines() if len(line) > 72 and " " in line.strip()]
    assert not long, long  # only a lone word (a URL) may be longer
    # Wrapped list items continue under their text, so the list still reads as one.
    assert (
        "- Attention to Lithium & batteries led lithium carbonate returns by 2\r\n  weeks" in text
    )
    assert "Rising themes: 1 | Falling themes: 1" in text


def test_recipient_themes_filter() -> None:
    message = render(recipient_themes=["COPPER"])
    text, html = text_of(message), html_of(message)
    for body in (text, html):
        assert "Copper" in body
        assert "Lithium &" not in body
        assert "Semiconductors" not in body
        assert "ganfeng" not in body
    assert "your themes: Copper" in text
    assert "Attention to Copper led" in text
    assert "led lithium carbonate" not in text
    # The chart is about lithium, so it goes too.
    assert not [part for part in message.walk() if part.get_content_maintype() == "image"]


def test_recipient_themes_match_labels_and_keep_chart_of_kept_theme() -> None:
    message = render(recipient_themes=["lithium & Batteries"])
    assert "Lithium & batteries" in text_of(message)
    assert "Copper:" not in text_of(message)
    assert [part for part in message.walk() if part.get_content_type() == "image/png"]


def test_without_chart_html_is_not_related() -> None:
    message = render(example_content(chart=None))
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert "cid:" not in html_of(message)


def test_quiet_daily_digest() -> None:
    content = example_content(
        period="daily",
        period_start=date(2026, 8, 20),
        period_end=date(2026, 8, 20),
        rising=(),
        falling=(),
        findings=(),
        price_moves=(),
        notices=(),
        chart=None,
    )
    text = text_of(render(content))
    assert "No theme moved unusually this day." in text
    assert "NOTE:" not in text


def test_naive_now_is_utc() -> None:
    assert render(now=datetime(2026, 8, 24, 7, 0))["Date"] == "Mon, 24 Aug 2026 07:00:00 +0000"


def test_write_dry_run(tmp_path: Path) -> None:
    message = render_digest(
        example_content(), sender=SENDER, recipient=RECIPIENT, unsubscribe=HTTPS_UNSUBSCRIBE
    )
    eml, html = write_dry_run(message, tmp_path / "out", "weekly-2026-08-17")
    assert eml == tmp_path / "out" / "weekly-2026-08-17.eml"
    assert html == tmp_path / "out" / "weekly-2026-08-17.html"
    parsed = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert parsed["Subject"] == message["Subject"]
    assert parsed["Message-ID"] == message["Message-ID"]
    page = html.read_text(encoding="utf-8")
    assert "Lithium &amp; batteries" in page
    assert "cid:" not in page
    image = tmp_path / "out" / "weekly-2026-08-17.chart.png"
    assert f'src="{image.name}"' in page
    assert image.read_bytes().startswith(PNG_SIGNATURE)


def test_write_dry_run_reports_unwritable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    message = render_digest(
        example_content(chart=None),
        sender=SENDER,
        recipient=RECIPIENT,
        unsubscribe=HTTPS_UNSUBSCRIBE,
    )
    with pytest.raises(DigestError, match="cannot write dry-run files to"):
        write_dry_run(message, blocker, "x")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_chart_png_is_valid_and_sized() -> None:
    data = render_chart_png(example_chart())
    assert png_size(data) == (800, 400)
    assert 5_000 < len(data) < 500_000
    assert data.endswith(b"IEND\xaeB`\x82")


def test_chart_without_price_line() -> None:
    chart = replace(example_chart(), dates_right=(), values_right=())
    assert png_size(render_chart_png(chart)) == (800, 400)


def test_sparse_weekly_bars_get_the_apps_rolling_mean_in_picture_and_alt_text() -> None:
    # One or two stories a week, one week without any story in the database at all.
    weeks = tuple(date(2026, 6, 1) + timedelta(weeks=i) for i in range(12) if i != 6)
    counts = (0.0, 1, 0, 2, 1, 0, 3, 1, 0, 2, 1)
    sparse = replace(example_chart(), dates_left=weeks, values_left=counts)
    axes = draw_chart(sparse).axes[0]
    legend = axes.get_legend()
    assert legend is not None
    names = [text.get_text() for text in legend.get_texts()]
    assert names == [
        "Lithium & batteries stories",
        "Lithium & batteries stories, 4-week mean",
        "Lithium carbonate price",
    ]
    (mean,) = axes.get_lines()  # on the bars' axis; the price line is on its twin
    assert mean.get_linestyle() == "--"
    # Trailing 4 calendar weeks; the missing week (6) is left out, not read as zero.
    assert list(mean.get_ydata()) == pytest.approx(
        [0, 0.5, 1 / 3, 0.75, 1, 0.75, 4 / 3, 4 / 3, 4 / 3, 1.5, 1]
    )
    message = render(example_content(chart=sparse))
    alt = next(a["alt"] for tag, a in elements(html_of(message)) if tag == "img")
    assert alt == (
        "Lithium & batteries: weekly stories vs lithium carbonate: Lithium & batteries "
        "stories (bars), their 4-week mean (dashed line), as the weekly bars are sparse "
        "and Lithium carbonate price (line)"
    )
    assert "4-week mean (dashed line)" in " ".join(text_of(message).split())
    # A dense theme (12-45 stories a week) keeps plain bars, and its alt text says so.
    dense = example_chart()
    assert draw_chart(dense).axes[0].get_lines() == []
    assert "mean" not in describe_chart(dense)
    no_price = replace(dense, dates_right=(), values_right=())
    assert describe_chart(no_price).endswith(": Lithium & batteries stories (bars)")


def test_chart_rejects_bad_series() -> None:
    with pytest.raises(DigestError, match="12 dates but 2 values"):
        render_chart_png(replace(example_chart(), values_left=(1.0, 2.0)))
    empty = replace(example_chart(), dates_left=(), values_left=(), dates_right=(), values_right=())
    with pytest.raises(DigestError, match="has no data"):
        render_chart_png(empty)


def test_public_api_is_complete() -> None:
    # getattr raises for a name that does not resolve; "is not None" could never fail.
    unresolved = [name for name in newsintel.digest.__all__ if not hasattr(newsintel.digest, name)]
    assert not unresolved, f"newsintel.digest.__all__ names what it lacks: {unresolved}"


def test_importing_the_digest_package_does_not_import_matplotlib() -> None:
    code = "import sys, newsintel.digest; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=60).returncode == 0


def test_findings_named_as_theme_variables_follow_the_recipient_filter() -> None:
    from dataclasses import replace as _replace

    from digest_examples import example_content

    from newsintel.digest.render import filter_for_recipient

    content = example_content()
    content = _replace(
        content,
        findings=tuple(_replace(f, x=f"theme:{f.x}", y=f"series:{f.y}") for f in content.findings),
    )
    kept = filter_for_recipient(content, ["lithium"])
    assert [f.x for f in kept.findings] == ["theme:lithium"]


def test_price_unit_that_names_its_currency_is_not_doubled() -> None:
    from datetime import date as _date

    from newsintel.digest.content import PriceMove
    from newsintel.digest.render import _price_unit

    move = PriceMove("lc", "CNY/t", "CNY", 1.0, 1.0, 0.0, _date(2026, 1, 5))
    assert _price_unit(move) == "CNY/t"
    assert _price_unit(PriceMove("cu", "t", "USD", 1.0, 1.0, 0.0, _date(2026, 1, 5))) == "USD/t"
