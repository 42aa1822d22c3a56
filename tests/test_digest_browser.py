"""The digest email as a person sees it: its HTML in headless Chromium.

Builds the weekly digest from the demo database with ``jobs.run_digest`` (dry run, so
the chart is written next to the HTML), opens it in Chromium at a desktop and a phone
width, checks the picture is not blank, the chart loaded and nothing is wider than the
screen. With NEWSINTEL_SAVE_SCREENSHOTS=1 (`make screenshots`) it saves the desktop
picture to docs/digest.png. Skipped without /usr/bin/chromium, except on CI (env CI
set).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import launch_chromium, save_screenshot

from newsintel.config import Settings
from newsintel.jobs import run_digest

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "digest.png"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def digest_html(demo_db: Settings, tmp_path: Path) -> Path:
    """The demo's weekly digest as written by a dry run (HTML plus its chart file)."""
    # A week of the sample data with several stories, so every section has content.
    report = run_digest(demo_db, period="weekly", on_date="2026-07-22", out_dir=tmp_path)
    assert len(report.deliveries) == 1
    pages = list(tmp_path.glob("*.html"))
    assert len(pages) == 1
    return pages[0]


def _not_blank(png: bytes, width: int) -> None:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width == width
    assert 600 <= image.height <= 8000, image.size
    small = image.resize((image.width // 4, image.height // 4))
    colours = small.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) >= 50, "too few colours: a blank page?"
    pixels = small.width * small.height
    white = sum(count for count, rgb in colours if min(rgb) >= 245)
    assert white < 0.97 * pixels, "almost all white"


def _coloured(png: bytes) -> None:
    """The chart as shown on the page has strong colour (its bars and line).

    Measured on the chart alone: on a phone the page is long and narrow, so the chart's
    share of the whole page's pixels depends on the text length and the browser build.
    """
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=10_000_000)
    assert colours is not None
    pixels = image.width * image.height
    saturated = sum(count for count, (r, g, b) in colours if max(r, g, b) - min(r, g, b) > 80)
    assert saturated > 0.01 * pixels, f"no coloured content in the chart ({saturated} px)"


@pytest.mark.parametrize(("width", "save"), [(800, True), (390, False)], ids=["desktop", "phone"])
def test_digest_renders_in_chromium(
    browser: Any, digest_html: Path, width: int, save: bool, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=1)
    try:
        page.goto(digest_html.as_uri(), wait_until="load")
        chart_width = page.evaluate(
            "() => { const img = document.querySelector('img');"
            " return img && img.complete ? img.naturalWidth : 0; }"
        )
        assert chart_width == 800, "the chart image did not load"
        # Nothing may need sideways scrolling, on a phone least of all.
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{overflow}px wider than a {width}px screen"
        text = page.inner_text("body")
        assert "weekly digest" in text.lower() and "sample data" in text
        png = page.screenshot(full_page=True, type="png")
        chart = page.locator("img").first.screenshot(type="png")
    finally:
        page.close()
    _not_blank(png, width)
    _coloured(chart)
    if save:
        save_screenshot(png, SCREENSHOT, tmp_path)


# Text elements' colour and the background they sit on, as the browser draws them.
COLOURS_JS = """() => {
  const solid = el => { for (; el; el = el.parentElement) {
      const bg = getComputedStyle(el).backgroundColor;
      if (bg && !bg.endsWith(', 0)') && bg !== 'transparent') return bg; }
    return 'rgb(255, 255, 255)'; };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!own || box.width === 0 || box.height === 0) continue;  // hidden preheader
    out.push({text: el.textContent.trim().slice(0, 40), fg: getComputedStyle(el).color,
              bg: solid(el)});
  }
  return out;
}"""


def _rgb(css: str) -> tuple[int, int, int]:
    r, g, b = (int(float(v)) for v in css[css.index("(") + 1 : -1].split(",")[:3])
    return r, g, b


def _contrast(fg: tuple[int, int, int], bg: tuple[int, int, int]) -> float:
    def luminance(rgb: tuple[int, int, int]) -> float:
        c = [v / 255 for v in rgb]
        r, g, b = (v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _unreadable(page: Any) -> list[str]:
    # 4.5:1 is WCAG AA for body text; the 12-13 px notes ask no less.
    return [
        f"{item['text']!r}: {item['fg']} on {item['bg']}"
        for item in page.evaluate(COLOURS_JS)
        if _contrast(_rgb(item["fg"]), _rgb(item["bg"])) < 4.5
    ]


@pytest.mark.parametrize("drop_style", [False, True], ids=["as-sent", "style-dropped"])
def test_digest_on_a_dark_phone_without_images(
    browser: Any, digest_html: Path, drop_style: bool
) -> None:
    """390 px, the reader's system in dark mode, images blocked (the mail client's
    default): the text stays readable, nothing is wider than the screen and the chart's
    alt text says what it would have shown. With ``drop_style`` the <style> block is
    removed too, as some clients do: the inlined styles must carry the layout."""
    html = digest_html.read_text("utf-8")
    if drop_style:
        html = re.sub(r"<style[^>]*>.*?</style>", "", html, flags=re.S)
    blocked = digest_html.with_name("blocked.html")  # beside it, the chart file is not
    blocked.write_text(html.replace('src="', 'src="blocked-'), "utf-8")
    page = browser.new_page(
        viewport={"width": 390, "height": 844}, device_scale_factor=1, color_scheme="dark"
    )
    try:
        page.goto(blocked.as_uri(), wait_until="load")
        assert page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches")
        loaded = page.evaluate("() => document.querySelector('img').naturalWidth")
        assert loaded == 0, "the chart was expected to be blocked"
        alt = page.get_attribute("img", "alt") or ""
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        unreadable = _unreadable(page)
    finally:
        page.close()
    # The alt text names the chart and what its bars and its line are.
    assert "weekly stories" in alt and "(bars)" in alt and "(line)" in alt, alt
    assert overflow <= 1, f"{overflow}px wider than a 390px screen"
    assert not unreadable, unreadable
