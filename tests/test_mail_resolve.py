"""`newsintel mail import --resolve-links` against a loopback server of click-tracker redirects."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from conftest import make_settings
from feedserver import FeedServer

from newsintel.cli import main
from newsintel.config import Settings
from newsintel.jobs.mail import import_mail
from newsintel.mail.resolve import resolve_links

INTERVAL = 0.05


@pytest.fixture
def trackers() -> Iterator[FeedServer]:
    """Opaque tracker links (nothing in them says where they go) and the pages they lead to."""
    with FeedServer() as server:
        page = b"<html><body>story</body></html>"
        for path in ("/story/nickel", "/story/copper"):
            server.route(path, lambda h: h.send_body(200, page, "text/html"))
        # Two hops (a relative Location, then an absolute one with utm_* to drop).
        server.add_redirect("/c/aa11", "/c/aa11-b", 302)
        server.add_redirect("/c/aa11-b", server.url("/story/nickel?utm_source=dl"), 301)
        server.add_redirect("/c/bb22", "/story/copper", 307)
        # The site behind the tracker refuses robots: the redirect still said where.
        server.add_redirect("/c/cc33", "/story/paywalled", 302)
        server.add_status("/story/paywalled", 403)
        server.add_status("/c/busy", 503)  # not final: asked again next run
        server.add_redirect("/c/loop", "/c/loop-b")
        server.add_redirect("/c/loop-b", "/c/loop")
        yield server  # /c/dead is not routed: 404


def _newsletter(server: FeedServer, number: int) -> bytes:
    links = ["/c/aa11", "/c/bb22", "/c/cc33", "/c/busy", "/c/loop", "/c/dead"]
    items = "".join(
        f"<p><strong>{i} Story number {i} about metals and markets</strong><br>"
        f'Blurb of story {i} in issue {number}. (<a href="{server.url(path)}">Outlet {i}</a>)</p>\n'
        for i, path in enumerate(links, start=1)
    )
    html = (
        "<html><body><h1>The Briefing</h1><p><strong>The must-reads</strong></p>\n"
        f"{items}</body></html>"
    )
    return (
        "From: The Briefing <news@briefing.example.com>\n"
        f"Subject: The Briefing no. {number}\n"
        f"Date: Tue, 1{number} Feb 2025 08:00:00 +0000\n"
        f"Message-ID: <issue-{number}@briefing.example.com>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/html; charset="utf-8"\n\n'
        f"{html}\n"
    ).encode()


def _settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, mail_link_interval=INTERVAL, fetch_timeout=5.0)


def _story_urls(settings: Settings) -> dict[str, str]:
    with duckdb.connect(settings.db, read_only=True) as con:
        rows = con.execute(
            "SELECT title, url FROM articles WHERE NOT is_issue ORDER BY title"
        ).fetchall()
    return {str(title).split()[2]: str(url) for title, url in rows}


def test_redirects_are_followed_once_and_kept(trackers: FeedServer, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "one.eml").write_bytes(_newsletter(trackers, 1))

    report = import_mail(settings, folder, resolve_links=True)

    assert report.links_asked == 6 and report.links_resolved == 3
    urls = _story_urls(settings)
    assert urls["1"] == trackers.url("/story/nickel")  # two hops; utm_source dropped
    assert urls["2"] == trackers.url("/story/copper")
    assert urls["3"] == trackers.url("/story/paywalled")
    for number, path in (("4", "/c/busy"), ("5", "/c/loop"), ("6", "/c/dead")):
        assert urls[number] == trackers.url(path)  # nowhere usable: the email's link stays
    with duckdb.connect(settings.db, read_only=True) as con:
        kept = dict(con.execute("SELECT url, error FROM link_redirects").fetchall())
    assert trackers.url("/c/busy") not in kept  # 503 may pass: not kept
    assert kept[trackers.url("/c/dead")] == "HTTP 404"
    assert "redirect loop" in str(kept[trackers.url("/c/loop")])

    # The next issue carries the same links: only the one without a final answer is asked.
    asked_before = len(trackers.requests_for("/c/aa11"))
    (folder / "two.eml").write_bytes(_newsletter(trackers, 2))
    again = import_mail(settings, folder, resolve_links=True)
    assert again.links_asked == 1 and again.links_resolved == 6  # both issues read
    assert len(trackers.requests_for("/c/aa11")) == asked_before
    assert len(trackers.requests_for("/c/busy")) == 2
    assert again.new_articles == 7  # issue two and its six stories; issue one adds nothing


def test_requests_to_one_host_are_spaced(trackers: FeedServer, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, mail_link_interval=0.1, fetch_per_host=2)
    urls = [trackers.url(f"/c/{name}") for name in ("aa11", "bb22", "cc33", "dead")]
    answers = resolve_links(urls, settings)
    assert answers[urls[0]].hops == 2 and answers[urls[0]].http_status == 200
    starts = sorted(record.at for record in trackers.requests)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # The first HEAD is refused (405), so the host is asked with GET from then on; the
    # log holds the GETs: 8 hops, spaced by the interval, two slots or not. (The span,
    # not each gap: the server may see one request late on a loaded machine.)
    assert len(starts) == 8, starts
    assert starts[-1] - starts[0] >= 7 * 0.1 * 0.95, gaps
    assert sorted(gaps)[len(gaps) // 2] >= 0.1 * 0.9, gaps


def test_cli_flag_and_no_fetching_without_it(
    trackers: FeedServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWSINTEL_MAIL_LINK_INTERVAL", str(INTERVAL))
    settings = _settings(tmp_path)
    eml = tmp_path / "one.eml"
    eml.write_bytes(_newsletter(trackers, 1))
    assert main(["--db", settings.db, "mail", "import", str(eml), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["links_asked"] == 0
    assert trackers.requests == []
    assert main(["--db", settings.db, "mail", "import", str(eml), "--resolve-links"]) == 0
    assert "3 links resolved" in capsys.readouterr().out
    # Stored stories are never rewritten: the re-import adds nothing, whatever it resolves.
    assert _story_urls(settings)["1"] == trackers.url("/c/aa11")
