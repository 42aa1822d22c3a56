"""canonical_url, GUID trust, article ids, content hashes and title normalisation."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from newsintel.feeds.identity import (
    article_id,
    canonical_url,
    content_hash,
    is_trustworthy_guid,
    normalise_title,
)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Example.COM/Path", "https://example.com/Path"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        (
            "https://example.com/a?utm_source=rss&utm_medium=feed&id=7&fbclid=x&gclid=y",
            "https://example.com/a?id=7",
        ),
        ("https://example.com/a?mc_cid=1&mc_eid=2&ref=hn&b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?UTM_Campaign=x&q=", "https://example.com/a?q="),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("https://example.com:notaport/x", "https://example.com:notaport/x"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    ("guid", "url", "trusted"),
    [
        ("tag:example.com,2025:post-17", None, True),
        ("https://example.com/2025/01/story", None, True),
        ("https://example.com/?p=1001", None, True),
        ("14038 at http://gamersnexus.net", None, True),
        (None, None, False),
        ("", None, False),
        ("   ", None, False),
        ("abc", None, False),
        ("null", None, False),
        ("undefined", None, False),
        ("https://example.com/", None, False),
        ("https://example.com", None, False),
        ("example.com", "https://example.com/story", False),
    ],
)
def test_is_trustworthy_guid(guid: str | None, url: str | None, trusted: bool) -> None:
    assert is_trustworthy_guid(guid, url) is trusted


def test_article_id_prefers_guid_namespaced_by_source() -> None:
    a = article_id("feed-a", "post-1234", "https://x.example/1", "T", "body")
    b = article_id("feed-b", "post-1234", "https://x.example/1", "T", "body")
    assert a != b
    assert len(a) == 16
    assert int(a, 16) >= 0
    assert a == article_id("feed-a", " post-1234 ", "https://x.example/other", "New", "new")


def test_article_id_falls_back_to_canonical_url() -> None:
    a = article_id("feed-a", "https://x.example/", "https://X.example/1?utm_source=a", "T", "")
    b = article_id("feed-b", None, "https://x.example/1#top", "Other", "text")
    assert a == b


def test_article_id_falls_back_to_content() -> None:
    a = article_id("feed-a", None, None, "Copper rallies!", "Prices  rose.")
    assert a == article_id("feed-a", "", "", "copper rallies", "Prices rose.")
    assert a != article_id("feed-b", None, None, "Copper rallies!", "Prices rose.")
    assert a != article_id("feed-a", None, None, "Copper falls", "Prices rose.")


def test_content_hash_ignores_case_punctuation_and_spacing() -> None:
    assert content_hash("Lithium: up 5%", "Big\n news") == content_hash("lithium up 5", "big news")
    assert content_hash("a", "b") != content_hash("a", "c")


@pytest.mark.parametrize(
    ("title", "normalised"),
    [
        ("Lithium Prices Fall — Again!", "lithium prices fall again"),
        ("Don\u2019t panic: it's fine", "dont panic its fine"),
        ("  Ｆｕｌｌｗｉｄｔｈ  ", "fullwidth"),
        ("AI's $1bn bet", "ais 1bn bet"),
    ],
)
def test_normalise_title(title: str, normalised: str) -> None:
    assert normalise_title(title) == normalised


def _normalise_title_by_definition(title: str) -> str:
    text = unicodedata.normalize("NFKC", title).lower()
    text = re.sub(r"['\u2018\u2019\u02bc`]", "", text)
    kept = (" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    return " ".join("".join(kept).split())


def test_ascii_titles_take_a_table_path_with_the_same_result() -> None:
    # ASCII titles skip NFKC and the per-character category lookup; every ASCII
    # character, alone and in random mixes, must come out as the definition says.
    rng = random.Random(7)
    titles = [chr(code) * 2 + " a" + chr(code) + "b" for code in range(128)]
    titles += [
        "".join(chr(rng.randrange(128)) for _ in range(rng.randrange(40))) for _ in range(3000)
    ]
    titles += ["Caf\u00e9 \u2018quoted\u2019 \u2014 dash", "\uff21\uff29 \u00bd"]
    for title in titles:
        assert normalise_title(title) == _normalise_title_by_definition(title), repr(title)
