"""The fast paths of tracking-link unwrapping give what the general code gives."""

from __future__ import annotations

import pytest

from newsintel.feeds.identity import canonical_url
from newsintel.mail.links import _canonical, _is_web, unwrap_url

# Plain links (the fast path) and every shape it must hand to canonical_url instead.
URLS = [
    "https://www.example.com/2025/02/11/story/",
    "https://www.example.com/2025/story?utm_source=dl&utm_medium=email",
    "https://www.example.com/story?utm_source=dl&fbclid=abc&mc_eid=1",
    "https://www.example.com/story?UTM_Source=dl",
    "https://www.example.com/story?utm_source=dl&page=2",
    "https://www.example.com/story?b=2&a=1",
    "https://www.example.com/story?utm_source=a%20b",
    "https://www.example.com/story?utm_source=a+b",
    "https://www.example.com/story?utm_source=dl&&x",
    "https://www.example.com/story?utm_source",
    "https://www.example.com/story?",
    "https://www.example.com/story#section",
    "https://www.example.com/story?utm_source=dl#top",
    "https://www.Example.com/Story",
    "HTTPS://www.example.com/story",
    "https://www.example.com:443/story",
    "https://www.example.com:8443/story",
    "https://user@www.example.com/story",
    "https://[2001:db8::1]/story",
    "https://www.example.com",
    "https://www.example.com/a b",
    "https://www.example.com/a\tb",
    "https://www.example.com/%E2%9C%93/caf\u00e9",
    "https://b\u00fccher.example/story",
    "http://www.example.com/story?ref=newsletter",
    "ftp://www.example.com/file",
]


@pytest.mark.parametrize("url", URLS)
def test_fast_canonical_equals_canonical_url(url: str) -> None:
    assert _canonical(url) == canonical_url(url)


@pytest.mark.parametrize(
    ("url", "web"),
    [("https://x.example/", True), ("HTTP://x.example", True), ("https:///path", False),
     ("https://?q", False), ("mailto:a@b.example", False), ("ftp://x.example/", False),
     ("https:x.example", False)],
)  # fmt: skip
def test_is_web(url: str, web: bool) -> None:
    assert _is_web(url) is web


def test_targets_in_query_path_and_layers() -> None:
    story = "https://news.example.com/2025/story"
    inner = f"https://t.example.com/r?url={story}%3Futm_source%3Dx&sig=1"
    assert unwrap_url(inner) == story
    assert unwrap_url(f"https://click.example.com/CL0/{inner.replace(':', '%3A')}/1/x") == story
    assert unwrap_url(f"https://trk.example.com/r/{story}?utm_medium=email") == story
    assert unwrap_url("https://trk.example.com/ls/click?upn=opaque123") == (
        "https://trk.example.com/ls/click?upn=opaque123"
    )
