"""Accessibility benchmark: axe-core's violations on every page of the app, counted.

Serves ``app.py`` with ``streamlit run`` over a database generated as bench_app does
(``articles`` articles), opens the first ``pages`` pages in Debian's headless Chromium
at 1400 px and runs axe-core (bundled by axe-playwright-python) on each. Records per
page the serious-or-critical violations (target 0: tests/test_app_browser.py fails on
any from newsintel's content) and, for context, the moderate and minor ones. Without
/usr/bin/chromium it records nothing and says so.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.record import ROOT, BenchResult, Figure, check

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# URL path -> page name; the cheapest first, so that a tiny run (pages=1) stays short.
PAGES = {
    "sql": "SQL",
    "": "Overview",
    "themes": "Themes",
    "prices": "Prices & themes",
    "topics": "Topics",
    "search": "Search",
    "sources": "Sources",
}


def _serve(db: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = os.environ | {"NEWSINTEL_DB": db, "NEWSINTEL_APP_PASSWORD": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
         str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
         "--server.fileWatcherType", "none"],
        cwd=ROOT,  # .streamlit/config.toml: the theme's colours
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"streamlit did not start (see {log})")


def _violations(browser: Any, url: str) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(url, wait_until="domcontentloaded")
        page.locator("h1").first.wait_for(timeout=60_000)
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000
        )
        page.wait_for_timeout(1000)  # charts and grids finish painting
        return list(Axe().run(page).response["violations"])
    finally:
        page.close()


def run(articles: int = 20_000, pages: int = len(PAGES)) -> BenchResult:
    """axe-core's violation counts on the first ``pages`` pages."""
    params: dict[str, object] = {"articles": articles, "pages": pages}
    if not CHROMIUM.exists():
        return BenchResult("a11y", params, (), ("/usr/bin/chromium is missing: nothing run",))
    from playwright.sync_api import sync_playwright

    from benchmarks.bench_app import generate

    figures: list[Figure] = []
    other_rules: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="bench-a11y-") as folder:
        db = str(Path(folder) / "a11y.duckdb")
        generate(db, articles=articles, years=1)
        proc, url = _serve(db, Path(folder) / "streamlit.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
                try:
                    for path, name in list(PAGES.items())[:pages]:
                        found = _violations(browser, f"{url}/{path}")
                        serious = sum(
                            len(v["nodes"]) for v in found if v["impact"] in ("serious", "critical")
                        )
                        other = sum(len(v["nodes"]) for v in found) - serious
                        other_rules |= {
                            v["id"] for v in found if v["impact"] not in ("serious", "critical")
                        }
                        figures.append(
                            check(f"{name}: serious/critical", serious, "", "0", serious == 0)
                        )
                        figures.append(Figure(f"  {name}: moderate/minor", other, ""))
                finally:
                    browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return BenchResult(
        "a11y",
        params,
        tuple(figures),
        (
            "elements flagged by axe-core at 1400 px; moderate/minor rules: "
            + (", ".join(sorted(other_rules)) or "none"),
        ),
    )
