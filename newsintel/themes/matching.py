"""Whole-word phrase matching over many texts at once, exactly as ``phrase_pattern``.

A keyword or exclusion matches a text when it, or a plural of its last word (see
``phrase_forms``), occurs in it case-insensitively with no word character on either
side ("EV" must not match "every"; "humanoid" matches "humanoids"). One Python regex search
per phrase and text costs minutes at a million articles, and so does one regex pass
over every text per phrase: ``PhraseMatcher`` instead splits each batch of texts into
words once (numpy over the UTF-8 bytes) and looks every word up among the phrases'
words (one Arrow hash lookup), so its cost barely grows with the number of phrases.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from newsintel.models import ThemeDefinition

if TYPE_CHECKING:
    import pyarrow as pa


_LOWER_LAST_WORD = re.compile(r"(?<!\w)[a-z]+$")
_ACRONYM_LAST_WORD = re.compile(r"(?<!\w)[A-Z]{2,}$")


@functools.lru_cache(maxsize=4096)
def phrase_forms(phrase: str) -> tuple[str, ...]:
    """The phrase and the English plurals of its last word that match it too.

    A lower-case last word is a common noun: "humanoid" also matches "humanoids",
    "robot hand" "robot hands", "battery" "batteries", "tax" "taxes". An acronym gets
    an "s" ("EV": "EVs"). A capitalised word is a name and matches only as written:
    "Figure" (the robot maker) must not match "figures". Phrases ending in anything
    else (a single letter, digits, punctuation, a non-ASCII word) match as written.
    """
    if _ACRONYM_LAST_WORD.search(phrase):
        return (phrase, phrase + "s")
    last = _LOWER_LAST_WORD.search(phrase)
    if last is None or len(last.group()) < 2:
        return (phrase,)
    word = last.group()
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return (phrase, phrase + "es")
    if len(word) > 1 and word.endswith("y") and word[-2] not in "aeiou":
        return (phrase, phrase[:-1] + "ies")
    return (phrase, phrase + "s")


@functools.lru_cache(maxsize=4096)
def exact_pattern(phrase: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive match for the phrase exactly as written."""
    return re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive match for a phrase or one of its ``phrase_forms``."""
    forms = "|".join(re.escape(form) for form in phrase_forms(phrase))
    return re.compile(rf"(?<!\w)(?:{forms})(?!\w)", re.IGNORECASE)


# The non-ASCII characters that Python's re.IGNORECASE equates with ASCII letters
# (İ, ı with i; long s with s; the Kelvin sign with k): tests check every code point.
IGNORECASE_ASCII = frozenset("\u0130\u0131\u017f\u212a")

# ASCII bytes that are not word characters, for the regex of punctuation-only phrases.
_NOT_WORD = "[\\x00-\\x2f\\x3a-\\x40\\x5b-\\x5e\\x60\\x7b-\\x7f]"
# Word bytes of lower-cased text: [0-9a-z_] (bytes of non-ASCII characters are not).
_WORD_BYTE = np.zeros(256, dtype=bool)
_WORD_BYTE[np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz_", dtype=np.uint8)] = True


@functools.cache
def _word_characters() -> np.ndarray:
    """Boolean per code point: a word character (``\\w``) for Python's re."""
    table = np.zeros(sys.maxunicode + 1, dtype=bool)
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    table[[ord(c) for c in re.findall(r"\w", everything)]] = True
    return table


# Every character that str.strip() removes (str.isspace; a test checks every code point).
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def phrase_words(phrase: str) -> list[str]:
    """The words of an ASCII phrase as ``PhraseMatcher`` splits texts, lower-cased."""
    return re.findall(r"[0-9a-z_]+", phrase.lower())


class PhraseMatcher:
    """Which of many texts contain a phrase, exactly as ``phrase_pattern(p).search``.

    A phrase is found where one of its ``phrase_forms`` is; each form is matched as
    written, as follows. For an ASCII form, Python's pattern means: the form occurs,
    ASCII letters compared without case, with no word character on either side. In
    the ASCII lower-cased texts, the phrase's first word is then a whole run of [0-9a-z_] bytes,
    so each place where that word occurs is the one place to compare the phrase's
    bytes, and the characters around it (non-ASCII ones decoded and looked up in
    Python's own ``\\w``). Python's regex decides only what bytes cannot: texts holding
    one of the four non-ASCII characters that IGNORECASE equates with ASCII letters,
    non-ASCII phrases, and punctuation-only phrases (found by RE2) in non-ASCII texts.
    """

    def __init__(self, texts: Sequence[str] | pa.Array | pa.ChunkedArray) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks()
        if isinstance(texts, pa.Array):
            self._texts: Sequence[str] | None = None
            array = large_strings(texts)
        else:
            self._texts = texts
            array = large_strings(pa.array(texts, type=pa.large_string()))
        self._array = array
        self._n = len(array)
        self._ascii = np.asarray(pc.string_is_ascii(array).to_numpy(zero_copy_only=False))
        self._lower = pc.ascii_lower(array)
        self._special = np.zeros(self._n, dtype=bool)
        others = np.flatnonzero(~self._ascii)
        if len(others):
            chars = "".join(sorted(IGNORECASE_ASCII))
            found = pc.match_substring_regex(pc.take(array, pa.array(others)), f"[{chars}]")
            self._special[others] = np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
        self._found: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return self._n

    def prefetch(self, phrases: Sequence[str]) -> None:
        """Match many phrases in one pass over the texts."""
        todo = [p for p in dict.fromkeys(phrases) if p not in self._found]
        if not todo:
            return
        forms = {p: phrase_forms(p) for p in todo}
        vocabulary = sorted(
            {w for p in todo for f in forms[p] if f.isascii() for w in phrase_words(f)}
        )
        occurrences = _Occurrences(self._lower, vocabulary)
        for phrase in todo:
            found = np.zeros(self._n, dtype=bool)
            for form in forms[phrase]:
                found |= self._match(form, occurrences)
            self._found[phrase] = found

    def hits(self, phrase: str) -> np.ndarray:
        """Boolean per text: the phrase occurs as a whole word (case-insensitive)."""
        if phrase not in self._found:
            self.prefetch([phrase])
        return self._found[phrase].copy()

    def _match(self, phrase: str, occurrences: _Occurrences) -> np.ndarray:
        """Texts holding ``phrase`` exactly as written (whole words, any case)."""
        import pyarrow.compute as pc

        found = np.zeros(self._n, dtype=bool)
        if not phrase.isascii():
            return self._confirm(phrase, found, np.ones(self._n, dtype=bool))
        if phrase_words(phrase):
            found[occurrences.matches(phrase.lower())] = True
            return self._confirm(phrase, found, self._special & ~found)
        # No word to look up (punctuation only): RE2 over every text, where a match is
        # certain when its neighbours are ASCII, and Python's regex for the other texts.
        literal = "".join(f"\\x{{{ord(c):x}}}" for c in phrase)
        regex = f"(?:^|{_NOT_WORD}){literal}(?:$|{_NOT_WORD})"
        found[:] = np.asarray(
            pc.match_substring_regex(self._lower, regex).to_numpy(zero_copy_only=False), dtype=bool
        )
        return self._confirm(phrase, found, (~self._ascii | self._special) & ~found)

    def _confirm(self, phrase: str, found: np.ndarray, unsure: np.ndarray) -> np.ndarray:
        """``found``, with Python's regex deciding the texts marked ``unsure``."""
        pattern = exact_pattern(phrase)
        for i in np.flatnonzero(unsure).tolist():
            text = self._texts[i] if self._texts is not None else self._array[i].as_py()
            found[i] = pattern.search(text) is not None
        return found


class _Occurrences:
    """Where the words of a vocabulary occur in lower-cased texts, and phrases around them."""

    def __init__(self, lower: pa.Array, vocabulary: Sequence[str]) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        self._index = {w: i for i, w in enumerate(vocabulary)}
        self._word = self._start = self._row = np.zeros(0, dtype=np.int64)
        # A NUL after every text, so that no word runs from one text into the next.
        nul = pa.scalar("\x00", pa.large_string())
        joined = pc.binary_join_element_wise(lower, pa.scalar("", pa.large_string()), nul)
        self._offsets, self._data = _buffers(joined)
        if not vocabulary or not len(lower):
            return
        data = self._data
        word = ((data - np.uint8(97)) < 26) | ((data - np.uint8(48)) < 10) | (data == 95)
        padded = np.zeros(len(word) + 2, dtype=bool)
        padded[1:-1] = word
        # Every place where word bytes start or stop: starts and ends alternate, so the
        # bytes between consecutive edges are, in turn, a separator and a word.
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        pieces = _strings(np.concatenate(([0], edges, [len(data)])), data)
        index = pc.index_in(pieces, value_set=pa.array(vocabulary, type=pa.large_string()))
        piece = np.asarray(pc.indices_nonzero(pc.is_valid(index)).to_numpy(), dtype=np.int64)
        self._word = np.asarray(index.drop_null().to_numpy(), dtype=np.int64)
        self._start = edges[piece - 1]
        self._row = np.searchsorted(self._offsets, self._start, side="right") - 1

    def matches(self, phrase: str) -> np.ndarray:
        """Rows where a lower-case ASCII phrase with at least one word occurs whole.

        The phrase's first word is a whole run of word bytes wherever the phrase occurs,
        so each occurrence of that word fixes the one place to compare: the phrase's
        bytes there, and no word character just before or just after.
        """
        first = re.search(r"[0-9a-z_]+", phrase)
        assert first is not None
        mask = self._word == self._index[first.group()]
        at = self._start[mask] - first.start()
        rows = self._row[mask]
        size = len(phrase)
        row_start, row_end = self._offsets[rows], self._offsets[rows + 1] - 1  # before NUL
        inside = (at >= row_start) & (at + size <= row_end)
        at, rows, row_start, row_end = at[inside], rows[inside], row_start[inside], row_end[inside]
        expected = np.frombuffer(phrase.encode("ascii"), dtype=np.uint8)
        same = (self._data[at[:, None] + np.arange(size)] == expected).all(axis=1)
        at, rows, row_start, row_end = at[same], rows[same], row_start[same], row_end[same]
        edge = _word_before(self._data, at, row_start) | _word_after(self._data, at + size, row_end)
        found: np.ndarray = rows[~edge]
        return found


def _word_before(data: np.ndarray, starts: np.ndarray, firsts: np.ndarray) -> np.ndarray:
    """Whether a word character ends just before each start (within its text)."""
    out = np.zeros(len(starts), dtype=bool)
    inside = np.flatnonzero(starts > firsts)
    before = data[starts[inside] - 1]
    out[inside] = _WORD_BYTE[before]
    inside = inside[before >= 0x80]
    if not len(inside):
        return out
    # Step back over UTF-8 continuation bytes (10xxxxxx) to the character's lead byte.
    lead = starts[inside] - 1
    for _ in range(3):
        continuation = (data[lead] & 0xC0) == 0x80
        lead = np.where(continuation, lead - 1, lead)
    out[inside] = _word_characters()[_decode(data, lead)]
    return out


def _word_after(data: np.ndarray, ends: np.ndarray, lasts: np.ndarray) -> np.ndarray:
    """Whether a word character starts at each end (within its text)."""
    out = np.zeros(len(ends), dtype=bool)
    inside = np.flatnonzero(ends < lasts)
    after = data[ends[inside]]
    out[inside] = _WORD_BYTE[after]
    inside = inside[after >= 0x80]
    if len(inside):
        out[inside] = _word_characters()[_decode(data, ends[inside])]
    return out


def _decode(data: np.ndarray, lead: np.ndarray) -> np.ndarray:
    """Code points of the (valid, non-ASCII) UTF-8 characters starting at ``lead``."""
    first = data[lead].astype(np.int64)
    size = np.where(first >= 0xF0, 4, np.where(first >= 0xE0, 3, 2))
    code = first & np.where(size == 4, 0x07, np.where(size == 3, 0x0F, 0x1F))
    last = len(data) - 1
    for k in range(1, 4):
        more = size > k
        byte = data[np.minimum(lead + k, last)].astype(np.int64) & 0x3F
        code = np.where(more, (code << 6) | byte, code)
    return np.asarray(code, dtype=np.int64)


def large_strings(strings: pa.Array) -> pa.Array:
    """``strings`` as a large_string array whose offsets start at 0 (no nulls).

    A sliced array, or the cast of one, starts its offsets elsewhere, and pyarrow's
    string kernels (ascii_lower in pyarrow 26) then return wrong strings; rebuilding the
    offsets (``_buffers``) costs one pass over them and copies no text.
    """
    import pyarrow as pa

    array = strings.cast(pa.large_string())
    if array.null_count:
        raise ValueError("texts must not be null")
    return _strings(*_buffers(array))


def _buffers(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets from 0, UTF-8 bytes) of a large_string array, without copying the bytes."""
    _validity, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        strings.offset : strings.offset + len(strings) + 1
    ]
    if data_buffer is None or not len(offsets):
        return np.zeros(len(strings) + 1, dtype=np.int64), np.zeros(0, dtype=np.uint8)
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
    return offsets - offsets[0], data


def article_texts(titles: pa.Array, bodies: pa.Array) -> pa.Array:
    """``embed.article_text`` of every (title, body) pair, computed in Arrow.

    The title, then the body: the body alone when it starts with the title, the title
    alone when the body is empty (both stripped of whitespace as ``str.strip`` does).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    title = pc.utf8_trim(large_strings(titles), WHITESPACE)
    body = pc.utf8_trim(large_strings(bodies), WHITESPACE)
    joined = pc.binary_join_element_wise(title, body, pa.scalar(". ", pa.large_string()))
    empty = pa.array(np.diff(_buffers(body)[0]) == 0)
    return pc.if_else(_starts_with(body, title), body, pc.if_else(empty, title, joined))


def _starts_with(strings: pa.Array, prefixes: pa.Array) -> pa.Array:
    """Per row: ``strings[i].startswith(prefixes[i])`` (large_string arrays, offsets at 0).

    Arrow's starts_with takes one pattern; this compares the row's prefix instead, as
    views into the same bytes: element 2i of each interleaved array is the prefix (or
    the string's first len(prefix) bytes), element 2i+1 what follows. UTF-8 is prefix
    free, so equal bytes mean equal characters.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    s_offsets, s_data = _buffers(strings)
    p_offsets, p_data = _buffers(prefixes)
    p_len = np.diff(p_offsets)
    head = np.empty(2 * len(strings) + 1, dtype=np.int64)
    head[0:-1:2] = s_offsets[:-1]
    head[1::2] = np.minimum(s_offsets[:-1] + p_len, s_offsets[1:])
    head[-1] = s_offsets[-1]
    prefix = np.empty_like(head)  # the prefix, then nothing
    prefix[0:-1:2] = p_offsets[:-1]
    prefix[1::2] = p_offsets[1:]
    prefix[-1] = p_offsets[-1]
    equal = pc.equal(_strings(head, s_data), _strings(prefix, p_data))
    return pa.array(np.asarray(equal.to_numpy(zero_copy_only=False))[0::2])


def _strings(offsets: np.ndarray, data: np.ndarray) -> pa.Array:
    """A large_string array over ``data`` (not copied) cut at ``offsets``."""
    import pyarrow as pa

    return pa.LargeStringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data)
    )


# --- a theme's keywords ----------------------------------------------------------------


def keyword_counts(theme: ThemeDefinition, texts: Sequence[str]) -> np.ndarray:
    """How many of the theme's keywords occur (as whole words) in each text."""
    matcher = PhraseMatcher(texts)
    matcher.prefetch(theme.keywords)
    return matched_keyword_counts(theme, matcher)


def matched_keyword_counts(theme: ThemeDefinition, matcher: PhraseMatcher) -> np.ndarray:
    """``keyword_counts`` over the texts of a ``matcher`` that already read them."""
    counts = np.zeros(len(matcher), dtype=np.float64)
    for keyword in theme.keywords:
        counts += matcher.hits(keyword)
    return counts


def keyword_hits(theme: ThemeDefinition, text: str) -> list[str]:
    """The theme's keywords that occur in ``text`` as whole words (case-insensitive)."""
    return [k for k in theme.keywords if phrase_pattern(k).search(text)]
