"""GKG 2.1 rows -> the theme-matching rows of one file, read with pyarrow's CSV reader.

``read_gkg`` is the reader: the 27 tab-separated columns of a GKG file streamed in
record batches by ``pyarrow.csv.open_csv`` (no quoting: GDELT never quotes, and a title
may hold a lone ``"``), the columns newsintel uses as raw bytes, rows of another width
counted and skipped. ``parse_gkg`` runs it and filters each batch with Arrow's compute
kernels (RE2 regular expressions), so no Python code runs per row: a file's cost is
the unzip and the parse; the filter adds about a fifth (``make bench``, gkg).

GDELT's known quirks, handled here: bytes that are not UTF-8 (decoded with
replacement characters, never a failed file), ragged rows (counted as bad rows, the
file goes on), empty files (no rows), and rows whose DATE is not YYYYMMDDHHMMSS
(bad when they name a web page, skipped either way). A carriage return inside a field
ends the row for pyarrow: both halves are then ragged, bad rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

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
COLUMN_NAMES = tuple(f"c{i}" for i in range(GKG_COLUMNS))
USED_COLUMNS = (COL_DATE, COL_SOURCE_NAME, COL_URL, COL_THEMES, COL_V2THEMES, COL_TONE, COL_EXTRAS)
# One batch of a real 15-minute file holds a few thousand rows: the compute kernels
# run on whole batches, and memory stays bounded on GDELT's largest files.
BLOCK_BYTES = 8 << 20

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

_RE2_SPECIAL = frozenset("\\.^$|?*+()[]{}-")
_NUMBER = r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"


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


def _longest_first(forms: Iterable[str]) -> list[str]:
    # In an alternation the longer form must come first: "world models" before "world model".
    return sorted(set(forms), key=len, reverse=True)


def _escape(text: str) -> str:
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in text)


def _literals(forms: Iterable[str]) -> str | None:
    """An RE2 pattern for any of ``forms`` anywhere, in any case: a superset of
    ``_words`` that RE2 runs at memchr speed (no word classes to compile)."""
    ordered = _longest_first(forms)
    return f"(?i)(?:{'|'.join(map(_escape, ordered))})" if ordered else None


def _ascii_words(forms: Iterable[str]) -> str | None:
    """An RE2 pattern for any of ``forms`` as whole words, in any case, exact on ASCII
    text (where Python's word characters are [A-Za-z0-9_])."""
    ordered = _longest_first(forms)
    if not ordered:
        return None
    alternation = "|".join(map(_escape, ordered))
    return rf"(?i)(?:^|[^A-Za-z0-9_])(?:{alternation})(?:[^A-Za-z0-9_]|$)"


def _python_words(forms: Iterable[str]) -> re.Pattern[str] | None:
    """The same as a Python pattern, for text beyond ASCII: there a word character is
    any letter or digit, which RE2 compiles into an automaton per call (2 ms a batch)."""
    ordered = _longest_first(forms)
    if not ordered:
        return None
    return re.compile(rf"(?<!\w)(?:{'|'.join(map(re.escape, ordered))})(?!\w)", re.IGNORECASE)


def _code_patterns(code: str) -> tuple[str, str]:
    # Themes: "TAX_FNCACT;ECON_STOCKMARKET;"; V2Themes adds offsets: "ENV_MINING,1234;".
    escaped = _escape(code)
    return rf"(?:^|;){escaped}(?:;|$)", rf"(?:^|;){escaped}(?:[,;]|$)"


@dataclass(frozen=True)
class _ThemeRule:
    name: str
    phrases: str | None  # RE2, exact on ASCII text
    vetoes: str | None
    python_phrases: re.Pattern[str] | None  # exact on any text
    python_vetoes: re.Pattern[str] | None
    codes: tuple[tuple[str, str], ...]


class RowMatcher:
    """A ``ThemeFilter`` compiled for Arrow's compute kernels (RE2).

    A row is kept for a theme when one of its keyword forms is a whole word of the
    row's text (the page title, a space, the URL with ``- / _ . +`` as spaces: a slug
    matches as the title would), in any case, or one of its GKG codes is among the
    row's Themes or V2Themes; and none of its exclusion forms is a word of the text.
    "Word" is Python's: ASCII rows are decided by RE2 patterns over the whole batch,
    the few candidate rows with other characters by Python's ``re``.
    """

    def __init__(self, spec: ThemeFilter) -> None:
        phrases: dict[str, list[str]] = {name: [] for name in spec.names}
        vetoes: dict[str, list[str]] = {name: [] for name in spec.names}
        codes: dict[str, list[str]] = {name: [] for name in spec.names}
        for table, pairs in ((phrases, spec.phrases), (vetoes, spec.vetoes), (codes, spec.codes)):
            for form, names in pairs:
                for name in names:
                    table[name].append(form)
        self.rules = tuple(
            _ThemeRule(
                name,
                _ascii_words(phrases[name]),
                _ascii_words(vetoes[name]),
                _python_words(phrases[name]),
                _python_words(vetoes[name]),
                tuple(_code_patterns(code) for code in codes[name]),
            )
            for name in spec.names
        )
        self.any_phrase = _literals(form for form, _ in spec.phrases)
        self.any_code = tuple(code for code, _ in spec.codes)

    def candidates(
        self, text: pa.Array, themes: pa.Array, v2themes: pa.Array
    ) -> npt.NDArray[np.bool_]:
        """Rows that some theme may keep: a keyword or a code of any theme anywhere in
        the text or in Themes (V2Themes holds the same codes with offsets)."""
        hit = np.zeros(len(text), dtype=bool)
        for code in self.any_code:
            hit |= _numpy(pc.fill_null(pc.match_substring(themes, code), False))
            hit |= _numpy(pc.fill_null(pc.match_substring(v2themes, code), False))
        if self.any_phrase is not None:
            hit |= _numpy(_search(text, self.any_phrase))
        return hit

    def themes(self, text: pa.Array, themes: pa.Array, v2themes: pa.Array) -> pa.Array:
        """Per row, the themes that keep it (in the filter's order; empty lists too)."""
        names = pa.array([rule.name for rule in self.rules], pa.string())
        if not self.rules:
            return pa.array([[]] * len(text), pa.list_(pa.string()))
        rows = len(text)
        by_code = np.zeros((rows, len(self.rules)), dtype=bool)
        by_word = np.zeros_like(by_code)
        vetoed = np.zeros_like(by_code)
        for column, rule in enumerate(self.rules):
            by_code[:, column] = _numpy(_codes_hit(rule.codes, themes, v2themes))
            if rule.phrases is not None:
                by_word[:, column] = _numpy(_search(text, rule.phrases))
            if rule.vetoes is not None:
                vetoed[:, column] = _numpy(_search(text, rule.vetoes))
        beyond_ascii = np.flatnonzero(~_numpy(pc.string_is_ascii(text)))
        if len(beyond_ascii):
            values = text.take(pa.array(beyond_ascii)).to_pylist()
            for row, value in zip(beyond_ascii.tolist(), values, strict=True):
                for column, rule in enumerate(self.rules):
                    by_word[row, column] = _found(rule.python_phrases, value)
                    vetoed[row, column] = _found(rule.python_vetoes, value)
        grid = (by_code | by_word) & ~vetoed  # rows x themes
        offsets = np.concatenate(([0], np.cumsum(grid.sum(axis=1)))).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), names.take(np.nonzero(grid)[1]))


def _found(pattern: re.Pattern[str] | None, text: str | None) -> bool:
    return pattern is not None and text is not None and pattern.search(text) is not None


def _numpy(values: pa.Array) -> npt.NDArray[np.bool_]:
    found: npt.NDArray[np.bool_] = values.to_numpy(zero_copy_only=False)
    return found


def _search(values: pa.Array, pattern: str) -> pa.Array:
    return pc.fill_null(pc.match_substring_regex(values, pattern), False)


def _codes_hit(
    patterns: Sequence[tuple[str, str]], themes: pa.Array, v2themes: pa.Array
) -> pa.Array:
    hit = pa.array(np.zeros(len(themes), dtype=bool))
    for in_themes, in_v2 in patterns:
        hit = pc.or_(hit, pc.or_(_search(themes, in_themes), _search(v2themes, in_v2)))
    return hit


@dataclass(frozen=True)
class ParsedFile:
    rows: int
    bad_rows: int
    kept: pa.Table


class _RaggedRows:
    """pyarrow's invalid-row handler: count each row of another width, skip it."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, row: object) -> str:
        self.count += 1
        return "skip"


def read_gkg(
    source: IO[bytes] | bytes, ragged: _RaggedRows | None = None
) -> Iterator[pa.RecordBatch]:
    """The reader: record batches of a GKG file's used columns, as raw bytes.

    ``source`` is the file's bytes or a binary stream (a zip member, read as it is
    decompressed). Rows of another width go to ``ragged`` (counted there) and are not
    in the batches; an empty file has no batches.
    """
    stream = pa.py_buffer(source) if isinstance(source, bytes) else source
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                column_names=list(COLUMN_NAMES), use_threads=False, block_size=BLOCK_BYTES
            ),
            parse_options=pacsv.ParseOptions(
                delimiter="\t",
                quote_char=False,
                escape_char=False,
                invalid_row_handler=ragged or _RaggedRows(),
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=[COLUMN_NAMES[i] for i in USED_COLUMNS],
                column_types={COLUMN_NAMES[i]: pa.binary() for i in USED_COLUMNS},
            ),
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return
        raise
    yield from reader


def parse_gkg(source: IO[bytes] | bytes, spec: ThemeFilter, file_name: str) -> ParsedFile:
    """Rows of one GKG file (its bytes, or a stream of them) that match a theme.

    Every row is counted and its date checked (to count bad rows); the kept rows come
    back as a shard table (``SHARD_SCHEMA``).
    """
    matcher = RowMatcher(spec)
    ragged = _RaggedRows()
    rows = bad = 0
    parts: list[pa.Table] = []
    for batch in read_gkg(source, ragged):
        rows += batch.num_rows
        kept, bad_dates = _kept_rows(batch, matcher, file_name)
        bad += bad_dates
        if kept.num_rows:
            parts.append(kept)
    rows += ragged.count
    bad += ragged.count
    table = pa.concat_tables(parts) if parts else SHARD_SCHEMA.empty_table()
    return ParsedFile(rows, bad, table)


def _column(batch: pa.RecordBatch, index: int) -> pa.Array:
    return batch.column(COLUMN_NAMES[index])


def _kept_rows(batch: pa.RecordBatch, matcher: RowMatcher, file_name: str) -> tuple[pa.Table, int]:
    """The shard rows of one batch, and how many of its rows are bad (a web page's row
    whose DATE is not a time)."""
    url = pc.utf8_trim_whitespace(_text(_column(batch, COL_URL)))
    web = _numpy(_web(url))
    seen_at = _seen_at(_column(batch, COL_DATE))
    dated = _numpy(seen_at.is_valid())
    bad_dates = int(np.count_nonzero(~dated & web))

    title = pc.utf8_trim_whitespace(_text(_page_title(_column(batch, COL_EXTRAS))))
    text = pc.binary_join_element_wise(title, _url_words(url), " ")
    themes, v2themes = _column(batch, COL_THEMES), _column(batch, COL_V2THEMES)
    chosen = dated & web & matcher.candidates(text, themes, v2themes)
    if not chosen.any():
        return SHARD_SCHEMA.empty_table(), bad_dates
    keep = pa.array(chosen, pa.bool_())

    def kept(values: pa.Array) -> pa.Array:
        return pc.filter(values, keep)

    themes, v2themes, text = kept(themes), kept(v2themes), kept(text)
    found = matcher.themes(text, themes, v2themes)
    domain = pc.utf8_trim_whitespace(_text(kept(_column(batch, COL_SOURCE_NAME))))
    table = pa.table(
        {
            "url": kept(url),
            "title": kept(title),
            "seen_at": kept(seen_at),
            "domain": pc.if_else(pc.equal(domain, ""), pa.scalar(None, pa.string()), domain),
            "tone": _tone(kept(_column(batch, COL_TONE))),
            "themes": found,
            "file": pa.array([file_name] * len(found), pa.string()),
            "gkg_themes": _all_codes(themes, v2themes),
        },
        schema=SHARD_SCHEMA,
    )
    return table.filter(pc.greater(pc.list_value_length(found), 0)), bad_dates


def _heads(values: pa.Array, width: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
    """Each value's first ``width`` bytes (0 past its end, and for nulls) and its length
    in bytes (0 for nulls), read from a string or binary column's buffers."""
    rows = len(values)
    validity, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[
        values.offset : values.offset + rows + 1
    ]
    lengths = np.diff(offsets)
    if validity is not None:
        lengths[~values.is_valid().to_numpy(zero_copy_only=False)] = 0
    head = np.zeros((rows, width), dtype=np.uint8)
    if data_buffer is not None:
        inside = np.arange(width) < lengths[:, None]
        head[inside] = np.frombuffer(data_buffer, dtype=np.uint8)[
            (offsets[:-1, None] + np.arange(width))[inside]
        ]
    return head, lengths


_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_PLACES = 10 ** np.arange(13, -1, -1, dtype=np.int64)  # the weight of each of 14 digits


def _seen_at(dates: pa.Array) -> pa.Array:
    """GKG DATE (YYYYMMDDHHMMSS) as a time, null where it is not one: 14 digits naming
    a day of the calendar (30 February is not one) and a time of day (second 60 is
    not one). Read from the column's bytes with numpy: as Arrow kernels (a regular
    expression, strptime and a read-back of its six parts) it cost 30 calls a batch,
    more than the rest of the filter."""
    rows = len(dates)
    head, lengths = _heads(dates, 14)
    chosen = np.flatnonzero(lengths == 14)
    if not len(chosen):
        return pa.nulls(rows, pa.timestamp("s"))
    digits = head[chosen].astype(np.int64) - ord("0")
    all_digits = ((digits >= 0) & (digits <= 9)).all(axis=1)
    stamp = digits @ _PLACES
    year, month, day = stamp // 10**10, stamp // 10**8 % 100, stamp // 10**6 % 100
    hour, minute, second = stamp // 10**4 % 100, stamp // 100 % 100, stamp % 100
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    real_month = (month >= 1) & (month <= 12)
    month_days = _DAYS_IN_MONTH[np.clip(month - 1, 0, 11)] + ((month == 2) & leap)
    valid = (
        all_digits
        & real_month
        & (day >= 1)
        & (day <= month_days)
        & (hour < 24)
        & (minute < 60)
        & (second < 60)
    )
    # Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    shifted_year = year - (month <= 2)
    era = shifted_year // 400
    year_of_era = shifted_year - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146_097 + day_of_era - 719_468
    seconds = np.zeros(rows, dtype=np.int64)
    seconds[chosen] = days * 86_400 + hour * 3_600 + minute * 60 + second
    is_date = np.zeros(rows, dtype=bool)
    is_date[chosen] = valid
    return pa.array(seconds, pa.timestamp("s"), mask=~is_date)


_OPEN, _CLOSE = b"<PAGE_TITLE>", b"</PAGE_TITLE>"


def _page_title(extras: pa.Array) -> pa.Array:
    """The text between the first <PAGE_TITLE> and the first </PAGE_TITLE> after it
    (empty when either is missing), as the regex <PAGE_TITLE>(.*?)</PAGE_TITLE> finds
    it, by literal splits: the regex cost 2.7 ms a batch."""
    opened = pc.greater_equal(pc.find_substring(extras, _OPEN), 0)
    always = pc.if_else(opened, extras, pa.scalar(_OPEN, pa.binary()))
    after = pc.list_element(pc.split_pattern(always, _OPEN, max_splits=1), 1)
    closed = pc.greater_equal(pc.find_substring(after, _CLOSE), 0)
    inside = pc.list_element(pc.split_pattern(after, _CLOSE, max_splits=1), 0)
    found = pc.fill_null(pc.and_(opened, closed), False)
    return pc.fill_null(pc.if_else(found, inside, pa.scalar(b"", pa.binary())), b"")


# "- / _ . +" -> space, byte for byte: ASCII bytes never occur inside a UTF-8 sequence.
_URL_SEPARATORS = np.arange(256, dtype=np.uint8)
_URL_SEPARATORS[[ord(c) for c in "-/_.+"]] = ord(" ")


def _url_words(url: pa.Array) -> pa.Array:
    """URLs with ``- / _ . +`` as spaces (a slug then reads as its title would)."""
    validity, offsets, data = url.buffers()
    if data is None:
        return url
    translated = _URL_SEPARATORS[np.frombuffer(data, dtype=np.uint8)]
    return pa.Array.from_buffers(
        pa.string(),
        len(url),
        [validity, offsets, pa.py_buffer(translated)],
        url.null_count,
        url.offset,
    )


def _text(values: pa.Array) -> pa.Array:
    """Bytes as text; GDELT passes on whatever bytes a page had: replace, never fail."""
    try:
        return values.cast(pa.string())
    except pa.ArrowInvalid:
        decoded = [None if v is None else v.decode("utf-8", "replace") for v in values.to_pylist()]
        return pa.array(decoded, pa.string())


_NO_HOST = np.frombuffer(b"/?#\r\n\t", dtype=np.uint8)


def _web(url: pa.Array) -> pa.Array:
    """Whether each URL is a web page's (http or https with a host). The usual
    "https://host/..." is decided from the column's bytes, the few others by
    ``is_http_url``."""
    rows = len(url)
    head, lengths = _heads(url, 9)  # nulls: length 0, so no host
    https = (head[:, :8] == np.frombuffer(b"https://", dtype=np.uint8)).all(axis=1)
    http = ~https & (head[:, :7] == np.frombuffer(b"http://", dtype=np.uint8)).all(axis=1)
    host_at = np.where(https, 8, 7)
    has_host = (lengths > host_at) & ~np.isin(head[np.arange(rows), host_at], _NO_HOST)
    fast = (https | http) & has_host
    if fast.all():
        return pa.array(fast, pa.bool_())
    checked = [
        ok or (value is not None and _is_web_url(value))
        for ok, value in zip(fast.tolist(), url.to_pylist(), strict=True)
    ]
    return pa.array(checked, pa.bool_())


def _is_web_url(url: str) -> bool:
    try:
        return is_http_url(url)
    except ValueError:  # urlsplit rejects a broken IPv6 host: not a web page's URL
        return False


def _tone(values: pa.Array) -> pa.Array:
    # V2Tone: "tone,positive,negative,polarity,...": the first number, or null.
    first = pc.list_element(pc.split_pattern(values, ",", max_splits=1), 0)
    number = _search(first, _NUMBER)
    chosen = pc.if_else(number, first, pa.scalar(None, pa.binary()))
    return chosen.cast(pa.string()).cast(pa.float64())


def _all_codes(themes: pa.Array, v2themes: pa.Array) -> pa.Array:
    """Per row, its GKG theme codes each once, in the order of first mention: Themes
    ("TAX_FNCACT;ECON_STOCKMARKET;"), then V2Themes ("ENV_MINING,1234;")."""
    v1 = pc.split_pattern(themes, ";")
    v2 = pc.split_pattern(v2themes, ";")
    v2_codes = pc.list_element(pc.split_pattern(pc.list_flatten(v2), ",", max_splits=1), 0)
    codes = pa.concat_arrays([pc.list_flatten(v1), v2_codes])
    rows = np.concatenate(
        [
            pc.list_parent_indices(v1).to_numpy(zero_copy_only=False),
            pc.list_parent_indices(v2).to_numpy(zero_copy_only=False),
        ]
    )
    present = pc.not_equal(codes, b"").to_numpy(zero_copy_only=False)
    order = np.argsort(rows, kind="stable")  # per row: Themes first, then V2Themes
    order = order[present[order]]
    ids = pc.dictionary_encode(codes).indices.to_numpy(zero_copy_only=False)
    key = rows[order].astype(np.int64) * (int(ids.max(initial=0)) + 1) + ids[order]
    _, first = np.unique(key, return_index=True)
    chosen = order[np.sort(first)]
    counts = np.bincount(rows[chosen], minlength=len(themes))
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), _text(codes.take(pa.array(chosen))))
