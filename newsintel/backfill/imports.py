"""Article lists exported elsewhere -> plain rows: GDELT GKG exports, DOC API JSON, CSV.

Readers only read: one ``ImportedRow`` per usable record, one ``BadRow`` per record
that cannot be used (no URL, a date that does not parse), both naming the line (or,
in JSON, the article's position) so that a user can find it. A file that cannot be read
at all (missing columns, not JSON, not UTF-8) raises ``BackfillError`` before any row.
Rows stream: a 100k-row CSV is never held in memory at once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from newsintel.errors import BackfillError
from newsintel.feeds.normalise import title_from_url
from newsintel.feeds.sources import is_http_url

FORMATS = ("gdelt-gkg", "gdelt-doc", "csv")

# Column names per format, lower-case, with the aliases real exports use: GDELT's raw
# GKG calls the article URL DocumentIdentifier; BigQuery exports keep DATE.
_GKG_COLUMNS = {"date": ("date",), "url": ("url", "documentidentifier")}
_CSV_COLUMNS = {"url": ("url",), "title": ("title",), "published_at": ("published_at",)}
_CSV_OPTIONAL = {"text": ("text",), "source": ("source",)}
# Compact GDELT stamps: GKG DATE (20170502133000) and DOC API seendate (20170502T133000Z).
_COMPACT_FORMATS = ("%Y%m%d%H%M%S", "%Y%m%dT%H%M%SZ", "%Y%m%d")


@dataclass(frozen=True)
class ImportedRow:
    """One usable record: ``title`` is derived from the URL slug when ``title_derived``."""

    line: int
    url: str
    title: str
    title_derived: bool
    text: str
    published_at: datetime  # naive UTC
    source: str | None  # a source name given in the file (CSV ``source``), else None


@dataclass(frozen=True)
class BadRow:
    """A record that cannot be imported, with the place and the problem in words."""

    line: int
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}"


def parse_date(text: str) -> datetime | None:
    """A naive UTC datetime from ISO 8601 or a compact GDELT stamp; None if neither."""
    value = text.strip()
    if not value:
        return None
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        for pattern in _COMPACT_FORMATS:
            try:
                moment = datetime.strptime(value, pattern)
                break
            except ValueError:
                continue
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _title(url: str, given: str) -> tuple[str, bool]:
    title = given.strip()
    if title:
        return title, False
    return title_from_url(url), True


def _row(
    line: int, url: str, title: str, date_text: str, text: str = "", source: str | None = None
) -> ImportedRow | BadRow:
    url = url.strip()
    if not url:
        return BadRow(line, "no url")
    if not is_http_url(url):
        return BadRow(line, f"url is not http(s): {url[:80]!r}")
    published = parse_date(date_text)
    if published is None:
        return BadRow(line, f"bad date {date_text.strip()[:40]!r}")
    derived_title, derived = _title(url, title)
    return ImportedRow(line, url, derived_title, derived, text, published, source or None)


def _columns(
    header: Sequence[str] | None,
    wanted: Mapping[str, tuple[str, ...]],
    path: Path,
    *,
    required: bool,
) -> dict[str, str]:
    """Our column name -> the file's, for each wanted column found in ``header``."""
    by_lower = {name.strip().lower(): name for name in header or []}
    found = {}
    missing = []
    for column, aliases in wanted.items():
        match = next((by_lower[a] for a in aliases if a in by_lower), None)
        if match is not None:
            found[column] = match
        elif required:
            missing.append(column)
    if missing:
        raise BackfillError(
            f"{path}: line 1: missing column(s) {', '.join(missing)}; "
            f"the header has {', '.join(header or []) or 'nothing'}"
        )
    return found


def _csv_rows(path: Path, fmt: str) -> Iterator[ImportedRow | BadRow]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise BackfillError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames
        except (UnicodeDecodeError, csv.Error) as exc:
            raise BackfillError(f"{path}: line 1: not a UTF-8 CSV file ({exc})") from None
        if fmt == "gdelt-gkg":
            cols = _columns(header, _GKG_COLUMNS, path, required=True)
        else:
            cols = _columns(header, _CSV_COLUMNS, path, required=True)
            cols |= _columns(header, _CSV_OPTIONAL, path, required=False)
        try:
            for record in reader:
                # line_num counts physical lines, so a quoted field with newlines
                # still names the line the record ends on, as an editor shows it.
                line = reader.line_num

                def get(column: str, record: dict[str, str | None] = record) -> str:
                    return (record.get(cols[column]) or "") if column in cols else ""

                if fmt == "gdelt-gkg":
                    yield _row(line, get("url"), "", get("date"))
                else:
                    yield _row(
                        line,
                        get("url"),
                        get("title"),
                        get("published_at"),
                        get("text"),
                        get("source"),
                    )
        except (UnicodeDecodeError, csv.Error) as exc:
            raise BackfillError(f"{path}: line {reader.line_num}: unreadable ({exc})") from None


def _doc_rows(path: Path) -> Iterator[ImportedRow | BadRow]:
    """DOC API ArtList JSON: ``{"articles": [...]}``, or a list of such responses.

    JSON has no useful line per record, so ``line`` is the article's position (1-based)
    in the file, across responses.
    """
    try:
        data = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise BackfillError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackfillError(f"{path}: not DOC API JSON ({exc})") from None
    responses = data if isinstance(data, list) else [data]
    if not all(isinstance(r, dict) and isinstance(r.get("articles", []), list) for r in responses):
        raise BackfillError(f"{path}: not DOC API ArtList JSON (no 'articles' list)")
    position = 0
    for response in responses:
        for article in response.get("articles", []):
            position += 1
            if not isinstance(article, dict):
                yield BadRow(position, "article is not a JSON object")
                continue
            yield _row(
                position,
                str(article.get("url") or ""),
                str(article.get("title") or ""),
                str(article.get("seendate") or ""),
            )


def read_import(path: Path, fmt: str) -> Iterator[ImportedRow | BadRow]:
    """Every record of ``path`` in file order, read as ``fmt`` (one of ``FORMATS``)."""
    if fmt not in FORMATS:
        raise BackfillError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "gdelt-doc":
        return _doc_rows(path)
    return _csv_rows(path, fmt)


def count_records(path: Path, fmt: str) -> int:
    """About how many records ``path`` holds (its lines less the header), for progress."""
    if fmt == "gdelt-doc":
        return 0
    try:
        with path.open("rb") as handle:
            return max(sum(1 for _ in handle) - 1, 0)
    except OSError:
        return 0
