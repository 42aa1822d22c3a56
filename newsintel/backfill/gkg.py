"""GDELT's Global Knowledge Graph 2.1 files -> Parquet shards of theme-matching rows.

GDELT publishes one GKG zip every 15 minutes since 2015-02-18 and lists every file in
``masterfilelist.txt`` (``SIZE MD5 URL`` per line, GKG files end ``.gkg.csv.zip``). The
per-file function ``process_file`` is what both engines run (a process pool on one
machine, Ray tasks on a cluster): download with retries, check the md5 against the list,
unzip as a stream, parse the 27 tab-separated columns, keep the rows of the themes and
write them to one Parquet shard per file. It returns a plain ``FileResult`` and never
touches the database: the single DuckDB writer stores the shard afterwards.

GDELT's known quirks, handled here: bytes that are not UTF-8 (decoded with
replacement characters, never a failed file), ragged rows (counted as bad rows, the
file goes on), empty files (done, no rows), and GKG 1.0 files or other tables listed
under a GKG name (every row the wrong width: the file fails as ``bad_columns``).
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from newsintel.errors import GkgFileError
from newsintel.feeds.sources import is_http_url
from newsintel.models import ThemeDefinition
from newsintel.themes.matching import phrase_forms

# GKG 2.1 columns (GDELT's "GKG 2.1 codebook"): the positions used here.
GKG_COLUMNS = 27
COL_DATE = 1
COL_SOURCE_NAME = 3
COL_URL = 4
COL_THEMES = 7
COL_V2THEMES = 8
COL_TONE = 15
COL_EXTRAS = 26
_TITLE_BYTES = re.compile(rb"<PAGE_TITLE>(.*?)</PAGE_TITLE>", re.DOTALL)
_STAMP = re.compile(r"/(\d{14})\.gkg\.csv\.zip$")

# Statuses of one file (gkg_files.status, migration 009). Only 'stored' is final; every
# other status is retried by the next run, so a 404 that GDELT later fills is not lost.
STORED = "stored"
FAILED_STATUSES = ("not_found", "http_error", "md5_mismatch", "bad_zip", "bad_columns", "died")

SHARD_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("title", pa.string()),
        ("seen_at", pa.timestamp("s")),
        ("domain", pa.string()),
        ("tone", pa.float64()),
        ("themes", pa.list_(pa.string())),  # the tracked themes that kept the row
        ("file", pa.string()),
        ("gkg_themes", pa.list_(pa.string())),  # the row's GKG theme codes, each once
    ]
)


@dataclass(frozen=True)
class MasterEntry:
    """One GKG file of the master list: its URL, size in bytes, md5 and 15-minute stamp."""

    url: str
    size: int
    md5: str
    stamp: datetime

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class MasterList:
    """The GKG files of a master list, oldest first, and the lines that did not parse."""

    entries: tuple[MasterEntry, ...]
    bad_lines: tuple[str, ...]  # "line N: problem"


def parse_master(text: str) -> MasterList:
    """The GKG entries of ``masterfilelist.txt`` (export and mentions files are skipped)."""
    entries: list[MasterEntry] = []
    bad: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or not parts[0].isdigit() or not re.fullmatch(r"[0-9a-f]{32}", parts[1]):
            bad.append(f"line {number}: not 'SIZE MD5 URL': {line[:80]!r}")
            continue
        url = parts[2]
        if not url.endswith(".gkg.csv.zip"):
            continue
        match = _STAMP.search(url)
        try:
            stamp = datetime.strptime(match.group(1), "%Y%m%d%H%M%S") if match else None
        except ValueError:
            stamp = None
        if stamp is None or not is_http_url(url):
            bad.append(f"line {number}: no YYYYMMDDHHMMSS.gkg.csv.zip URL: {url[:80]!r}")
            continue
        entries.append(MasterEntry(url, int(parts[0]), parts[1], stamp))
    entries.sort(key=lambda e: (e.stamp, e.url))
    return MasterList(tuple(entries), tuple(bad))


def select_files(
    entries: Iterable[MasterEntry], since: datetime, until: datetime
) -> list[MasterEntry]:
    """The files stamped from ``since`` up to, not including, ``until``, oldest first."""
    return [e for e in entries if since <= e.stamp < until]


@dataclass(frozen=True)
class ThemeFilter:
    """What keeps a row: a theme keyword in its title or URL, or one of its GKG codes.

    Plain, picklable values, so that Ray and process-pool workers receive it cheaply and
    compile it once per file. ``phrases`` maps each keyword form (lower case) to the
    themes it admits, ``vetoes`` each exclusion form to the themes it vetoes.
    """

    names: tuple[str, ...]
    phrases: tuple[tuple[str, tuple[str, ...]], ...]
    vetoes: tuple[tuple[str, tuple[str, ...]], ...]
    codes: tuple[tuple[str, tuple[str, ...]], ...]  # GKG theme code -> themes


def _by_form(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    found: dict[str, list[str]] = {}
    for form, theme in pairs:
        names = found.setdefault(form, [])
        if theme not in names:
            names.append(theme)
    return tuple((form, tuple(names)) for form, names in found.items())


def theme_filter(themes: Sequence[ThemeDefinition]) -> ThemeFilter:
    """The filter of the given themes (keywords with their plurals, as everywhere)."""
    return ThemeFilter(
        names=tuple(t.theme_id for t in themes),
        phrases=_by_form(
            (f.lower(), t.theme_id) for t in themes for k in t.keywords for f in phrase_forms(k)
        ),
        vetoes=_by_form(
            (f.lower(), t.theme_id) for t in themes for k in t.exclusions for f in phrase_forms(k)
        ),
        codes=_by_form((c, t.theme_id) for t in themes for c in t.gkg_themes),
    )


def _alternation(forms: Iterable[str]) -> re.Pattern[str] | None:
    # Longest first, so that "world models" wins over "world model" at the same place.
    ordered = sorted(forms, key=len, reverse=True)
    if not ordered:
        return None
    return re.compile(rf"(?<!\w)(?:{'|'.join(map(re.escape, ordered))})(?!\w)", re.IGNORECASE)


class _Matcher:
    """One regex pass over a row's text for all themes' keywords (and one for vetoes):
    a search per theme and row cost 0.4 ms a row, most of a file's parse time."""

    def __init__(self, spec: ThemeFilter) -> None:
        self.order = {name: i for i, name in enumerate(spec.names)}
        self.phrases = dict(spec.phrases)
        self.vetoes = dict(spec.vetoes)
        self.codes = dict(spec.codes)
        self.phrase_re = _alternation(self.phrases)
        self.veto_re = _alternation(self.vetoes)
        # For ``maybe``: the forms (lower case already) as one plain bytes alternation,
        # searched in lower-cased ASCII text. Without IGNORECASE and the word-boundary
        # look-arounds re can skip ahead on the forms' first bytes: 4x faster, and it
        # finds every place the exact pattern does (and a few more, which ``match``
        # then turns down).
        self.ascii = all(form.isascii() for form in self.phrases)
        self.phrase_bytes = (
            re.compile(b"|".join(re.escape(form.encode()) for form in sorted(self.phrases)))
            if self.phrases and self.ascii
            else None
        )
        self.codes_bytes = tuple(code.encode() for code in self.codes)

    def _hits(
        self, pattern: re.Pattern[str] | None, table: dict[str, tuple[str, ...]], text: str
    ) -> set[str]:
        if pattern is None:
            return set()
        found: set[str] = set()
        for match in pattern.finditer(text):
            found.update(table.get(match.group().lower(), ()))
        return found

    def maybe(self, title: bytes, url: bytes, themes: bytes, v2themes: bytes) -> bool:
        """False only for a row that ``match`` would not keep, decided on raw bytes.

        Most rows of a file match no theme; this skips decoding them. Codes are tested
        as substrings (a superset of whole codes); non-ASCII text goes to ``match``.
        """
        if any(code in themes or code in v2themes for code in self.codes_bytes):
            return True
        if self.phrase_bytes is None:
            return not self.ascii  # no keywords at all, or forms only str can fold
        if not (title.isascii() and url.isascii()):
            return True
        text = title.strip() + b" " + _URL_SEPARATORS_BYTES.sub(b" ", url.strip())
        return self.phrase_bytes.search(text.lower()) is not None

    def codes_in(self, themes: bytes, v2themes: bytes) -> set[str]:
        """The filter's GKG theme codes among a row's Themes and V2Themes."""
        present = [code for code in self.codes_bytes if code in themes or code in v2themes]
        if not present:
            return set()
        # Themes: "TAX_FNCACT;ECON_STOCKMARKET;"; V2Themes adds offsets: "ENV_MINING,1234;".
        whole = set(themes.split(b";"))
        whole.update(c.split(b",", 1)[0] for c in v2themes.split(b";"))
        return {code.decode() for code in present if code in whole}

    def match(self, title: str, url: str, codes: set[str]) -> list[str]:
        # URL words are split by - / _ . so that a slug matches as the title would.
        text = f"{title} {_URL_SEPARATORS.sub(' ', url)}"
        found = self._hits(self.phrase_re, self.phrases, text)
        for code in codes & self.codes.keys():
            found.update(self.codes[code])
        if found:
            found -= self._hits(self.veto_re, self.vetoes, text)
        return sorted(found, key=self.order.__getitem__)


def _all_codes(themes: bytes, v2themes: bytes) -> list[str]:
    # Themes: "TAX_FNCACT;ECON_STOCKMARKET;"; V2Themes repeats them with offsets
    # ("ENV_MINING,1234;"): each code once, in the order of first mention.
    codes = [c for c in themes.split(b";") if c]
    codes += [c.split(b",", 1)[0] for c in v2themes.split(b";") if c]
    return [_text(code) for code in dict.fromkeys(codes)]


_URL_SEPARATORS = re.compile(r"[-/_.+]")
_URL_SEPARATORS_BYTES = re.compile(rb"[-/_.+]")


@dataclass(frozen=True)
class ParsedFile:
    rows: int
    bad_rows: int
    kept: pa.Table


def _stamp(text: bytes) -> datetime | None:
    # GKG DATE is YYYYMMDDHHMMSS; slicing is 10x faster than strptime per row.
    if len(text) != 14 or not text.isdigit():
        return None
    try:
        return datetime(
            int(text[:4]), int(text[4:6]), int(text[6:8]),
            int(text[8:10]), int(text[10:12]), int(text[12:14]),
        )  # fmt: skip
    except ValueError:
        return None


def _web_url(url: str) -> bool:
    """``is_http_url`` without urlsplit for the usual "https://host/...", and False for
    a URL urlsplit rejects (a broken IPv6 host), which would otherwise fail the file."""
    for scheme in ("https://", "http://"):
        if url.startswith(scheme) and len(url) > len(scheme):
            if url[len(scheme)] not in "/?#\r\n\t":
                return True  # the host is what follows the "//": not empty
            break
    try:
        return is_http_url(url)
    except ValueError:
        return False


def _text(raw: bytes) -> str:
    # GDELT passes on whatever bytes a page had: replace, never fail the file.
    return raw.decode("utf-8", errors="replace")


def gkg_fields(lines: Iterable[bytes]) -> Iterator[list[bytes]]:
    """The reader: each non-empty line of a GKG file split into its tab-separated fields.

    Fields stay bytes: decoding a whole row (mostly GCAM counts, a few KB) cost more
    than the rest of the filter, and only the few columns of kept rows are decoded.
    """
    for raw in lines:
        line = raw.rstrip(b"\r\n")
        if line:
            yield line.split(b"\t")


def parse_gkg(lines: Iterable[bytes], spec: ThemeFilter, file_name: str) -> ParsedFile:
    """Rows of one GKG file (its raw lines) that match a theme, as a shard table.

    Every row is split and its date checked (to count bad rows); only rows that the
    bytes pre-filter cannot rule out are decoded and matched exactly.
    """
    matcher = _Matcher(spec)
    columns: dict[str, list[object]] = {name: [] for name in SHARD_SCHEMA.names}
    rows = bad = 0
    for fields in gkg_fields(lines):
        rows += 1
        if len(fields) != GKG_COLUMNS:
            bad += 1
            continue
        seen_at = _stamp(fields[COL_DATE])
        if seen_at is None:
            # A row that is not a web article is skipped, not bad, whatever its date.
            bad += _web_url(_text(fields[COL_URL]).strip())
            continue
        title_match = _TITLE_BYTES.search(fields[COL_EXTRAS])
        title_raw = title_match.group(1) if title_match else b""
        if not matcher.maybe(title_raw, fields[COL_URL], fields[COL_THEMES], fields[COL_V2THEMES]):
            continue
        url = _text(fields[COL_URL]).strip()
        if not _web_url(url):
            continue  # not a web article (GDELT's citation-only and other collections)
        title = _text(title_raw).strip()
        found = matcher.match(
            title, url, matcher.codes_in(fields[COL_THEMES], fields[COL_V2THEMES])
        )
        if not found:
            continue
        tone_text = _text(fields[COL_TONE]).split(",", 1)[0]
        try:
            tone: float | None = float(tone_text)
        except ValueError:
            tone = None
        columns["url"].append(url)
        columns["title"].append(title)
        columns["seen_at"].append(seen_at)
        columns["domain"].append(_text(fields[COL_SOURCE_NAME]).strip() or None)
        columns["tone"].append(tone)
        columns["themes"].append(found)
        columns["file"].append(file_name)
        columns["gkg_themes"].append(_all_codes(fields[COL_THEMES], fields[COL_V2THEMES]))
    table = pa.table([pa.array(columns[f.name], f.type) for f in SHARD_SCHEMA], schema=SHARD_SCHEMA)
    return ParsedFile(rows, bad, table)


_CLIENT: httpx.Client | None = None


def _client() -> httpx.Client:
    # One client per worker process: httpx.get builds a client, and its TLS context,
    # for every call, which cost 40 ms of CPU a file (more than unzipping one).
    global _CLIENT
    if _CLIENT is None:
        _CLIENT = httpx.Client(follow_redirects=True)
    return _CLIENT


def _get(url: str, timeout: float) -> tuple[int, bytes, str]:
    # Streamed in 1 MiB pieces, hashed as they come: httpx's default pieces cost a
    # third more CPU for a 10 MB file, and the md5 needs no second pass.
    with _client().stream("GET", url, timeout=timeout) as response:
        if response.status_code != 200:
            return response.status_code, b"", ""
        digest = hashlib.md5(usedforsecurity=False)
        chunks = []
        for chunk in response.iter_bytes(1 << 20):
            digest.update(chunk)
            chunks.append(chunk)
    return 200, b"".join(chunks), digest.hexdigest()


def download(entry: MasterEntry, *, timeout: float, retries: int = 2) -> bytes:
    """The file's bytes, md5-checked against the master list; retries transport errors."""
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(0.5 * 2**attempt, 5.0))
        try:
            status, data, digest = _get(entry.url, timeout)
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
            continue
        if status == 404:
            raise GkgFileError("not_found", "HTTP 404")
        if status >= 500 or status == 429:
            last = f"HTTP {status}"
            continue
        if status != 200:
            raise GkgFileError("http_error", f"HTTP {status}")
        if digest != entry.md5:
            raise GkgFileError(
                "md5_mismatch",
                f"md5 {digest} of {len(data)} bytes, the list says {entry.md5} "
                f"({entry.size} bytes)",
            )
        return data
    raise GkgFileError("http_error", f"gave up after {retries + 1} tries: {last}")


def zip_lines(data: bytes) -> Iterator[bytes]:
    """The lines of the zip's one member, decompressed as they are read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.namelist()
        if not members:
            return
        with archive.open(members[0]) as member:
            yield from member
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise GkgFileError("bad_zip", f"not a readable zip ({exc})") from None


@dataclass(frozen=True)
class FileResult:
    """What ``process_file`` did with one file (plain values: it crosses processes)."""

    url: str
    status: str  # "parsed" (shard written) or one of FAILED_STATUSES
    error: str | None = None
    bytes_read: int = 0
    rows: int = 0
    bad_rows: int = 0
    kept: int = 0
    shard: str | None = None
    reused: bool = False  # the shard of an earlier, interrupted run was used
    cpu_seconds: float = 0.0  # the worker thread's CPU time on this file


def shard_path(out_dir: Path, entry: MasterEntry) -> Path:
    return out_dir / entry.name.replace(".gkg.csv.zip", ".gkg.parquet")


def _meta(result: FileResult) -> dict[bytes, bytes]:
    return {
        b"newsintel.bytes": str(result.bytes_read).encode(),
        b"newsintel.rows": str(result.rows).encode(),
        b"newsintel.bad_rows": str(result.bad_rows).encode(),
    }


def process_file(entry: MasterEntry, spec: ThemeFilter, out_dir: str, timeout: float) -> FileResult:
    """Download, check, unzip, parse and filter one GKG file into its Parquet shard.

    A shard left by an interrupted run (written whole, then renamed) is used as it is,
    so each file is downloaded once. Bad input is a result, never an exception.
    """
    started = time.thread_time()
    path = shard_path(Path(out_dir), entry)
    if path.exists():
        try:
            schema = pq.read_schema(path)
            # Names, not types: Parquet gives back timestamp[ms] and list<element>.
            if schema.names != SHARD_SCHEMA.names:
                raise ValueError("a shard of another newsintel version")
            meta = schema.metadata or {}
            return FileResult(
                entry.url,
                "parsed",
                bytes_read=int(meta[b"newsintel.bytes"]),
                rows=int(meta[b"newsintel.rows"]),
                bad_rows=int(meta[b"newsintel.bad_rows"]),
                kept=pq.read_metadata(path).num_rows,
                shard=str(path),
                reused=True,
            )
        except (OSError, KeyError, ValueError, pa.ArrowException):
            path.unlink(missing_ok=True)  # a damaged shard: read the file again
    try:
        data = download(entry, timeout=timeout)
        parsed = parse_gkg(zip_lines(data), spec, entry.name)
    except GkgFileError as exc:
        return FileResult(entry.url, exc.status, str(exc), cpu_seconds=time.thread_time() - started)
    if parsed.rows and parsed.bad_rows == parsed.rows:
        return FileResult(
            entry.url,
            "bad_columns",
            f"no row has the {GKG_COLUMNS} columns of GKG 2.1 ({parsed.rows} rows)",
            bytes_read=len(data),
            rows=parsed.rows,
            bad_rows=parsed.bad_rows,
            cpu_seconds=time.thread_time() - started,
        )
    result = FileResult(
        entry.url,
        "parsed",
        bytes_read=len(data),
        rows=parsed.rows,
        bad_rows=parsed.bad_rows,
        kept=parsed.kept.num_rows,
        shard=str(path),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(".parquet.part")
    pq.write_table(parsed.kept.replace_schema_metadata(_meta(result)), staging)
    staging.replace(path)  # whole or absent: a killed worker leaves no half shard
    return replace(result, cpu_seconds=time.thread_time() - started)


def read_shard(path: str) -> pa.Table:
    """A shard written by ``process_file``."""
    return pq.read_table(path, schema=SHARD_SCHEMA)
