"""Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright.

Playwright never downloads a browser here (no internet): it launches the system one.
The flags keep Chromium off the network it cannot reach and quiet at start.
"""

from __future__ import annotations

import hashlib
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


ROOT = Path(__file__).resolve().parent.parent

# Each README picture and the files whose content it shows (globs, from the repository
# root). Saving a picture records a hash of those files beside it (docs/NAME.png.source);
# tests/test_screenshots.py fails when they have changed since: the picture is stale.
PICTURE_SOURCES: dict[str, tuple[str, ...]] = {
    "overview.png": (
        "app.py",
        "app_pages/overview.py",
        ".streamlit/config.toml",
        "newsintel/ui/charts.py",
        "newsintel/ui/common.py",
        "newsintel/ui/tables.py",
        "newsintel/ui/text.py",
        "newsintel/ui/render.py",
        "newsintel/series/smoothing.py",
    ),
    "digest.png": (
        "newsintel/digest/chart.py",
        "newsintel/digest/render.py",
        "newsintel/digest/templates/*.j2",
        "newsintel/series/smoothing.py",
    ),
}


def sources_hash(picture: str, root: Path = ROOT) -> str:
    """sha256 over the names and contents of the files ``picture`` shows, in order."""
    digest = hashlib.sha256()
    for pattern in PICTURE_SOURCES[picture]:
        for path in sorted(root.glob(pattern)):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def source_record(docs_path: Path) -> Path:
    """Where the hash of ``docs_path``'s sources is kept: beside it."""
    return docs_path.with_name(docs_path.name + ".source")


def save_screenshot(png: bytes, docs_path: Path, tmp_path: Path) -> Path:
    """Write ``png`` to ``docs_path`` when asked to (see SAVE_SCREENSHOTS_ENV), with the
    hash of the files it shows beside it, else to ``tmp_path``; returns where it went."""
    saving = os.environ.get(SAVE_SCREENSHOTS_ENV) == "1"
    target = docs_path if saving else tmp_path / docs_path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(png)
    if saving:
        source_record(docs_path).write_text(sources_hash(docs_path.name) + "\n", "utf-8")
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
