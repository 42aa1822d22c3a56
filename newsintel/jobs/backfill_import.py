"""``newsintel backfill import``: article lists exported elsewhere, stored as stories.

Rows go through the same path as feed entries (``article_from_fields`` for identity and
cleaning, ``save_articles`` for near-duplicates), in batches of ``IMPORT_BATCH_ROWS``,
each batch its own transaction: a 100k-row file never sits in memory, an interrupted
import keeps what it stored, and a re-run adds nothing (ids depend on the URL alone).

Bad rows (no URL, a date that does not parse) are skipped and counted, and the report
names the first few by line; every other row is stored. A file that cannot be read as
the format at all (missing columns, not JSON) is refused before anything is stored.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from newsintel.config import Settings
from newsintel.jobs import NoProgress, Progress, init_db, utcnow
from newsintel.models import Article
from newsintel.store import open_db

# 5,000 rows a transaction: 100k GDELT rows stored in ~20 commits; fewer, larger batches
# saved nothing measurable and hold more in memory.
IMPORT_BATCH_ROWS = 5000
# The report names this many bad rows; the rest are counted.
IMPORT_PROBLEMS_SHOWN = 5


@dataclass(frozen=True)
class ImportReport:
    """What one import did. ``rows`` = added + already_stored + untitled + bad."""

    file: str
    format: str
    origin: str
    rows: int
    added: int
    already_stored: int  # URL stored before (re-import, seen in a feed) or repeated in the file
    untitled: int  # no title given and none derivable from the URL, no text: skipped
    bad: int  # skipped: no URL, not http(s), or a date that does not parse
    problems: tuple[str, ...]  # the first IMPORT_PROBLEMS_SHOWN bad rows, by line
    titles_derived: int  # of the rows read, how many got a title from their URL slug
    outlets: int  # distinct sources the rows were stored under
    first_published: str | None
    last_published: str | None
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _batches(rows: Iterable[object], size: int) -> Iterator[list[object]]:
    batch: list[object] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def backfill_import(
    settings: Settings,
    path: Path,
    *,
    fmt: str,
    source: str | None = None,
    origin: str = "import",
    progress: Progress | None = None,
) -> ImportReport:
    """Import an article list (``fmt``: gdelt-gkg, gdelt-doc or csv) into the database.

    Each story's source is ``source`` (a name; a configured feed of that name gets the
    stories, else an outlet of that name is made), else the file's own ``source``
    column (CSV), else the site of its URL as an outlet (``sources.kind = 'outlet'``).
    Stories without a title get one from the URL slug, marked ``title_derived``.
    ``origin`` is what ``articles.origin`` records ('import'; the demo uses it too).
    """
    from newsintel.backfill.imports import BadRow, ImportedRow, count_records, read_import
    from newsintel.errors import BackfillError
    from newsintel.feeds.normalise import article_from_fields
    from newsintel.feeds.sources import outlet_from_url, slugify
    from newsintel.models import ORIGINS
    from newsintel.store.feeds import save_articles, upsert_outlets

    if origin not in ORIGINS:
        raise BackfillError(f"unknown origin {origin!r}; one of {', '.join(ORIGINS)}")
    if source is not None and not slugify(source):
        raise BackfillError(f"source name {source!r} needs at least one letter or digit")
    if not path.is_file():
        raise BackfillError(f"no such file: {path}")
    started = time.perf_counter()
    progress = progress or NoProgress()
    init_db(settings)
    records = read_import(path, fmt)
    fetched_at = utcnow()
    rows = added = untitled = bad = derived = 0
    problems: list[str] = []
    source_ids: set[str] = set()
    first: datetime | None = None
    last: datetime | None = None
    progress.start(f"importing {path.name}", count_records(path, fmt))
    with open_db(settings.db) as con:
        for batch in _batches(records, IMPORT_BATCH_ROWS):
            articles: list[Article] = []
            outlets: dict[str, tuple[str, str, str]] = {}
            for record in batch:
                rows += 1
                if isinstance(record, BadRow):
                    bad += 1
                    if len(problems) < IMPORT_PROBLEMS_SHOWN:
                        problems.append(str(record))
                    continue
                assert isinstance(record, ImportedRow)
                named = source or record.source
                if named:
                    outlet = (slugify(named), named.strip(), "")
                else:
                    outlet = outlet_from_url(record.url)
                article = article_from_fields(
                    source_id=outlet[0],
                    url=record.url,
                    title=record.title,
                    text=record.text,
                    published_at=record.published_at,
                    fetched_at=fetched_at,
                    origin=origin,
                    title_derived=record.title_derived,
                )
                if article is None:
                    untitled += 1
                    continue
                derived += record.title_derived
                outlets.setdefault(outlet[0], outlet)
                articles.append(article)
                first = min(first or article.published_at, article.published_at)
                last = max(last or article.published_at, article.published_at)
            # An outlet that already names a source (a configured feed) stays as it is.
            upsert_outlets(con, list(outlets.values()))
            added += save_articles(con, articles)
            source_ids |= outlets.keys()
            progress.advance(len(batch))
    progress.finish()
    return ImportReport(
        file=str(path),
        format=fmt,
        origin=origin,
        rows=rows,
        added=added,
        already_stored=rows - bad - untitled - added,
        untitled=untitled,
        bad=bad,
        problems=tuple(problems),
        titles_derived=derived,
        outlets=len(source_ids),
        first_published=first.isoformat(sep=" ") if first else None,
        last_published=last.isoformat(sep=" ") if last else None,
        seconds=round(time.perf_counter() - started, 2),
    )
