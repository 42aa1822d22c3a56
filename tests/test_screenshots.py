"""The README's pictures show the code as it is: none is older than what it shows.

`make screenshots` re-takes docs/*.png from the browser tests and records beside each a
hash of the files it shows (tests/browser.py, PICTURE_SOURCES); a change to one of those
files without a new picture fails here, naming the picture and the command.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from browser import PICTURE_SOURCES, ROOT, source_record, sources_hash


@pytest.mark.parametrize("picture", list(PICTURE_SOURCES))
def test_readme_picture_is_not_older_than_what_it_shows(picture: str) -> None:
    png = ROOT / "docs" / picture
    record = source_record(png)
    assert png.is_file() and record.is_file(), f"docs/{picture}: run `make screenshots`"
    assert record.read_text("utf-8").strip() == sources_hash(picture), (
        f"docs/{picture} is older than the files it shows "
        f"({', '.join(PICTURE_SOURCES[picture])}): run `make screenshots` and commit it"
    )


def test_every_readme_picture_is_tracked() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    shown = set(re.findall(r"\]\(docs/([^)]+\.png)\)", readme))
    assert shown == set(PICTURE_SOURCES)


def test_a_changed_source_makes_the_picture_stale(tmp_path: Path) -> None:
    # The hash covers names and contents: it moves when a shown file changes.
    for pattern in PICTURE_SOURCES["digest.png"]:
        for path in ROOT.glob(pattern):
            copy = tmp_path / path.relative_to(ROOT)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
    assert sources_hash("digest.png", tmp_path) == sources_hash("digest.png")
    template = tmp_path / "newsintel" / "digest" / "templates" / "digest.txt.j2"
    template.write_text(template.read_text("utf-8") + "\n", "utf-8")
    assert sources_hash("digest.png", tmp_path) != sources_hash("digest.png")
