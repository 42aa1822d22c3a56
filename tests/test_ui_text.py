"""The app's digest preview counts in words a reader expects."""

from __future__ import annotations

from digest_examples import example_content

from newsintel.ui.text import counted, digest_markdown


def test_counted_nouns_agree_with_their_number() -> None:
    assert counted(1, "article") == "1 article"
    assert counted(0, "article") == "0 articles"
    assert counted(1_284, "article") == "1,284 articles"
    assert counted(1, "distinct story", "distinct stories") == "1 distinct story"
    assert counted(2, "distinct story", "distinct stories") == "2 distinct stories"


def test_a_quiet_week_reads_in_the_singular() -> None:
    text = digest_markdown(example_content(articles=1, stories=1, sources=1))
    assert "1 article, 1 distinct story from 1 source between" in text
    busy = digest_markdown(example_content())
    assert "1,284 articles, 412 distinct stories from 37 sources between" in busy
