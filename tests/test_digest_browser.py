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
