"""Every page of the app in a real browser: streamlit run + headless Chromium + axe-core.

One ``streamlit run app.py`` serves the session's demo database for the whole module.
Each page is opened at a phone width (390 px) and a laptop width (1400 px): it must
draw without an exception, with nothing wider than the main column, every chart drawn
inside it (legend included) with its text alternative, and the sidebar collapsed on the
phone. axe-core (the
accessibility engine, bundled by axe-playwright-python) then checks each page at the
laptop width: no serious or critical violation may come from newsintel's own content.
Screenshots go to the test's temporary folder; with NEWSINTEL_SAVE_SCREENSHOTS=1
(`make screenshots`) the Overview's is saved to docs/overview.png for the README.
Skipped without /usr/bin/chromium, except on CI (env CI set).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import launch_chromium, require_chromium, save_screenshot

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "overview.png"
PHONE, LAPTOP = 390, 1400

# URL path -> (the page's title, the charts the demo database gives it).
PAGES = {
    "": ("What moved this week", 1),
    "themes": ("Themes", 3),
    "prices": ("Prices & themes", 2),
    "topics": ("Topics", 3),
    "search": ("Search", 0),
    "sources": ("Sources", 1),
    "sql": ("SQL", 0),
}

# axe-core findings that come from Streamlit's own chrome, not from newsintel's pages;
# rule id -> why it is accepted. Empty today: every serious or critical finding is ours
# to fix (the theme colours in .streamlit/config.toml fixed Streamlit's caption,
# inline-code and selected-button contrast).
STREAMLIT_CHROME: dict[str, str] = {}
SERIOUS = {"serious", "critical"}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"streamlit did not become healthy at {url}")


@pytest.fixture(scope="module")
def streamlit_server(demo_db, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    require_chromium()
    port = _free_port()
    env = os.environ | {
        "NEWSINTEL_DB": demo_db.db,
        "NEWSINTEL_APP_PASSWORD": "",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    log = (tmp_path_factory.mktemp("streamlit") / "streamlit.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
            "--client.toolbarMode",
            "viewer",
        ],
        cwd=ROOT,  # .streamlit/config.toml (the theme's colours) is read from here
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launch_chromium() as browser:
        yield browser


def open_page(browser: Any, url: str, path: str, width: int) -> tuple[Any, list[str]]:
    """The page at ``url/path`` in a fresh tab ``width`` px wide, its charts drawn."""
    title, n_charts = PAGES[path]
    page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=1)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{url}/{path}", wait_until="domcontentloaded")
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=60_000)
    # Streamlit loads its chart code lazily: wait until every chart has drawn.
    page.wait_for_function(
        "n => document.querySelectorAll('.vega-embed canvas, .vega-embed > svg').length >= n",
        arg=n_charts,
        timeout=60_000,
    )
    # Then until the script run has finished (the status widget goes away).
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000
    )
    page.wait_for_timeout(500)  # let data grids and charts finish painting
    return page, errors


# Measured in the page: the main column's overflow, the sidebar's width, and every
# chart's drawing (canvas or svg, legend included) against the main column's box.
LAYOUT_JS = """() => {
  const main = document.querySelector('[data-testid=stMain]');
  const box = main.getBoundingClientRect();
  const sidebar = document.querySelector('[data-testid=stSidebar]');
  const charts = [...document.querySelectorAll('.vega-embed canvas, .vega-embed > svg')]
    .map(el => { const r = el.getBoundingClientRect();
                 const labelled = el.closest('[aria-label]') || el.querySelector('[aria-label]');
                 return {left: r.left, right: r.right, width: r.width, height: r.height,
                         label: labelled ? labelled.getAttribute('aria-label') : ''}; });
  return {
    overflow: main.scrollWidth - main.clientWidth,
    page_overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    main_left: box.left, main_right: box.right,
    sidebar_width: sidebar ? sidebar.getBoundingClientRect().width : 0,
    exceptions: document.querySelectorAll('[data-testid=stException]').length,
    charts,
  };
}"""


@pytest.mark.parametrize("width", [PHONE, LAPTOP], ids=["phone", "laptop"])
@pytest.mark.parametrize("path", list(PAGES), ids=[p or "overview" for p in PAGES])
def test_page_fits_and_is_accessible(
    streamlit_server: str, chromium: Any, path: str, width: int, tmp_path: Path
) -> None:
    page, errors = open_page(chromium, streamlit_server, path, width)
    try:
        layout = page.evaluate(LAYOUT_JS)
        (tmp_path / f"{path or 'overview'}-{width}.png").write_bytes(
            page.screenshot(full_page=True)
        )
        if path == "" and width == LAPTOP:
            _check_overview(page, tmp_path)
        # Content and colours are the same at both widths; the laptop one also has
        # the sidebar open, so axe sees all of it.
        violations = axe_violations(page) if width == LAPTOP else []
    finally:
        page.close()
    assert layout["exceptions"] == 0
    assert not errors, errors
    assert layout["overflow"] <= 1, f"main content {layout['overflow']}px wider than its column"
    assert layout["page_overflow"] <= 1, f"page {layout['page_overflow']}px wider than the screen"
    if width == PHONE:
        assert layout["sidebar_width"] < 1, "the sidebar covers the page on a phone"
    charts = layout["charts"]
    assert len(charts) >= PAGES[path][1]
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 100, chart  # drawn, visible
        # The whole drawing (plot, axes and legend) lies inside the main column.
        assert chart["left"] >= layout["main_left"] - 1, (chart, layout["main_left"])
        assert chart["right"] <= layout["main_right"] + 1, (chart, layout["main_right"])
        # Its text alternative (charts.described): what a screen reader reads out.
        assert chart["label"].count(". ") >= 1, chart
    ours = [
        f"{v['id']} ({v['impact']}): {[n['html'][:160] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in SERIOUS and v["id"] not in STREAMLIT_CHROME
    ]
    assert not ours, "\n".join(ours)


def _check_overview(page: Any, tmp_path: Path) -> None:
    """The Overview's main chart has content and the page is not blank; saved for README."""
    from PIL import Image, ImageStat

    assert "Theme movers" in page.inner_text("body")
    # Streamlit scrolls inside its own column, so a full-page shot is one screen: a tall
    # window shows the README the whole page.
    page.set_viewport_size({"width": LAPTOP, "height": 2000})
    page.wait_for_timeout(1500)  # the charts redraw at the new size
    png = page.screenshot(full_page=True)
    chart_png = page.locator(".vega-embed").first.screenshot()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width >= 1000 and image.height >= 800
    assert max(ImageStat.Stat(image).stddev) > 10, "the page screenshot looks blank"
    colours = Image.open(io.BytesIO(chart_png)).convert("RGB").getcolors(maxcolors=1_000_000)
    assert len(colours or []) > 50, "the main chart looks empty"
    optimised = io.BytesIO()
    image.save(optimised, format="PNG", optimize=True)
    save_screenshot(optimised.getvalue(), SCREENSHOT, tmp_path)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on ``page`` (WCAG 2.x A and AA rules and best practices)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return list(results.response["violations"])
