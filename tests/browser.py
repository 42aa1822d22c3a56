"""Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright.

Playwright never downloads a browser here (no internet): it launches the system one.
The flags keep Chromium off the network it cannot reach and quiet at start.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Set to 1 to refresh the README's pictures (docs/*.png) from the browser tests; other
# runs keep a test's screenshot in its own temporary folder, so `make test` leaves the
# working tree as it found it.
SAVE_SCREENSHOTS_ENV = "NEWSINTEL_SAVE_SCREENSHOTS"


def save_screenshot(png: bytes, docs_path: Path, tmp_path: Path) -> Path:
    """Write ``png`` to ``docs_path`` when asked to (see SAVE_SCREENSHOTS_ENV), else to
    ``tmp_path``; returns where it went."""
    target = docs_path if os.environ.get(SAVE_SCREENSHOTS_ENV) == "1" else tmp_path / docs_path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(png)
    return target


def require_chromium() -> None:
    """Skip without Chromium, except on CI, where a missing browser is a failure."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail("/usr/bin/chromium is missing on CI: browser tests must run there")
    pytest.skip("/usr/bin/chromium is not installed")


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """A running headless Chromium (a playwright Browser), closed afterwards."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
