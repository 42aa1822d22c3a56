"""The Overview page in a real browser: streamlit run + headless Chromium.

Starts ``streamlit run app.py`` on a free port against the demo database, waits for the
main chart to be drawn and checks the screenshot is not blank. With
NEWSINTEL_SAVE_SCREENSHOTS=1 (`make screenshots`) it saves it to docs/overview.png.
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

import pytest
from browser import launch_chromium, require_chromium, save_screenshot

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "overview.png"

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


@pytest.fixture
def streamlit_server(demo_db, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    require_chromium()
    port = _free_port()
    env = os.environ | {
        "NEWSINTEL_DB": demo_db.db,
        "NEWSINTEL_APP_PASSWORD": "",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    log = (tmp_path / "streamlit.log").open("wb")
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
        cwd=ROOT,
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


def test_overview_renders_main_chart(streamlit_server: str, tmp_path: Path) -> None:
    from PIL import Image, ImageStat

    with launch_chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 2000}, device_scale_factor=1)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(streamlit_server, wait_until="domcontentloaded")
        page.get_by_text("What moved this week").first.wait_for(timeout=60_000)
        # The main chart is the first Vega chart; wait until it has drawn something.
        chart = page.locator(".vega-embed").first
        chart.locator("canvas, svg").first.wait_for(state="visible", timeout=60_000)
        page.get_by_text("What the digest would say").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)  # let the data grids and the chart finish painting
        assert not page.locator("[data-testid='stException']").count()
        assert "Theme movers" in page.inner_text("body")
        png = page.screenshot(full_page=True)
        chart_png = chart.screenshot()

    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width >= 1000 and image.height >= 800
    assert max(ImageStat.Stat(image).stddev) > 10, "the page screenshot looks blank"
    chart_image = Image.open(io.BytesIO(chart_png)).convert("RGB")
    colours = chart_image.getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 50, "the main chart looks empty"
    assert not errors, errors
    optimised = io.BytesIO()
    image.save(optimised, format="PNG", optimize=True)
    save_screenshot(optimised.getvalue(), SCREENSHOT, tmp_path)
