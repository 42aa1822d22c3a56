"""load_sources (TOML), slugify and OPML round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsintel.errors import ConfigError
from newsintel.feeds.sources import FeedSource, load_sources, read_opml, slugify, write_opml


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(text, "utf-8")
    return path


def test_load_sources(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[[feeds]]
name = "MIT Technology Review"
url = "https://www.technologyreview.com/feed/"
tags = ["tech", "ai"]
min_interval_minutes = 60

[[feeds]]
name = "Sample: Métaux"
url = "sample/metals.xml"

[[feeds]]
name = "Absolute"
url = "file:///srv/feeds/x.xml"
""",
    )
    mit, sample, absolute = load_sources(path)
    assert mit == FeedSource(
        "mit-technology-review",
        "MIT Technology Review",
        "https://www.technologyreview.com/feed/",
        ("tech", "ai"),
        60,
    )
    assert not mit.is_local
    assert sample.source_id == "sample-metaux"
    assert sample.url == str((tmp_path / "sample" / "metals.xml").resolve())
    assert sample.is_local
    assert absolute.url == "/srv/feeds/x.xml"


def test_empty_file_has_no_feeds(tmp_path: Path) -> None:
    assert load_sources(_write(tmp_path, "")) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[feeds]\nname = ", "is not valid TOML"),
        ('[[feeds]]\nurl = "https://a.example/"', "feed #1: missing 'name'"),
        ('[[feeds]]\nname = "A"', "feed 'A': missing 'url'"),
        ('[[feeds]]\nname = "A"\nurl = ""', "feed 'A': missing 'url'"),
        (
            '[[feeds]]\nname = "A"\nurl = "https://a.example/"\n'
            '[[feeds]]\nname = "a!"\nurl = "https://b.example/"',
            "duplicate feed name 'a!'",
        ),
        ('[[feeds]]\nname = "A"\nurl = "ftp://a.example/f.xml"', "neither an http"),
        ('[[feeds]]\nname = "A"\nurl = "https://a.example/"\ntags = "x"', "tags must be a list"),
        (
            '[[feeds]]\nname = "A"\nurl = "https://a.example/"\nmin_interval_minutes = -1',
            "min_interval_minutes",
        ),
        ('[[feeds]]\nname = "A"\nurll = "https://a.example/"', "unknown key 'urll'"),
        ('[[feeds]]\nname = "!!!"\nurl = "https://a.example/"', "at least one letter"),
        ("feeds = 3", "must be [[feeds]] tables"),
    ],
)
def test_invalid_feeds_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_sources(_write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_sources(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("MIT Technology Review", "mit-technology-review"),
        ("  Café & Crème! ", "cafe-creme"),
        ("Reuters — Commodities", "reuters-commodities"),
        ("東京", ""),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_opml_round_trip(tmp_path: Path) -> None:
    sources = [
        FeedSource("a-b", "A & B", "https://a.example/feed", ("tech", "ai")),
        FeedSource("c", "C", "https://c.example/rss"),
    ]
    path = tmp_path / "feeds.opml"
    write_opml(sources, path)
    assert read_opml(path) == sources


def test_read_opml_folders_duplicates_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "reader.opml"
    path.write_text(
        """<?xml version="1.0"?>
<opml version="1.0"><head><title>Export</title></head><body>
  <outline text="Metals">
    <outline text="Mining Weekly" type="rss" xmlUrl="https://m.example/rss"
             category="/commodities"/>
    <outline text="Mining Weekly" type="rss" xmlUrl="https://m2.example/rss"/>
  </outline>
  <outline text="Tech">
    <outline title="Mining Weekly" type="rss" xmlUrl="https://m.example/rss"/>
  </outline>
  <outline text="No url, no children"/>
</body></opml>""",
        "utf-8",
    )
    first, second = read_opml(path)
    assert first == FeedSource(
        "mining-weekly", "Mining Weekly", "https://m.example/rss", ("Metals", "commodities")
    )
    assert second.source_id == "mining-weekly-2"
    assert second.name == "Mining Weekly (2)"
    bad = tmp_path / "bad.opml"
    bad.write_text("<opml><body>", "utf-8")
    with pytest.raises(ConfigError, match="not valid XML"):
        read_opml(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        read_opml(tmp_path / "absent.opml")
