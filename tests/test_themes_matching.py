"""Batch phrase matching: PhraseMatcher must agree with phrase_pattern on every text."""

from __future__ import annotations

import random
import re
import sys

import numpy as np
import pyarrow as pa
import pytest

from newsintel.embed import article_text
from newsintel.themes.matching import (
    IGNORECASE_ASCII,
    WHITESPACE,
    PhraseMatcher,
    article_texts,
    large_strings,
    phrase_forms,
    phrase_pattern,
)

TEXTS = [
    "",
    " ",
    "EV",
    "ev",
    "Every level of the seven stories",
    "EV sales rose; the EV market grew",
    "EVs and e-v and EV-maker and EV_sales and EV2 and 2EV",
    "éEV is not an EV word, nor is EVé, but «EV» and —EV— are",
    "ÉV and ẽv, ev\u0301 (a combining accent after it is not a word character)",
    "İndia and the Turkish dotless ı in lıthıum",
    "ſpodumene with a long s, and the \u212aelvin sign in \u212aorea",
    "C++ robots, c++, C++x, xC++ and (C++)",
    "The U.S. regulator, the u.s. one, U.S.A. and U.S",
    "sodium-ion and Sodium‑Ion (non-breaking hyphen) and sodium--ion",
    "world\nmodel, world model, World  Model, world_model, world-model",
    "data center\tdata centre",
    "Line one\nEV\nline three",
    "digits: EV1 1EV 1 EV 1",
    "\u00a0EV\u2003 between no-break and em spaces",
    "中EV and EV中 and 中 EV",
    "𝐀EV (a mathematical letter) and 😀EV😀 (an emoji)",
    "lithium’s price and “lithium” and ‘lithium’",
    "Straße and STRASSE and strasse",
    "V-JEPA 2 and v-jepa and JEPA-2 and jepa",
    "_EV_ and _ev",
    "Humanoids, humanoid's, HUMANOIDS and humanoidss; two robot hands; batteries, batterys",
    "Sales figures for Figure and FIGURES; taxes and taxs; sodium-ions; EVS; V-JEPAs",
]

PHRASES = [
    "EV",
    "ev",
    "EV sales",
    "JEPA",
    "V-JEPA",
    "C++",
    "U.S.",
    "sodium-ion",
    "world model",
    "data center",
    "lithium",
    "spodumene",
    "India",
    "Korea",
    "strasse",
    "_",
    "1",
    "+",
    "-",
    "",
    " ",
    "EV ",
    "é",
    "éEV",
    "İndia",
    "Straße",
    "中",
    "humanoid",
    "robot hand",
    "battery",
    "tax",
    "Figure",
    "figure",
]


def expected(phrase: str, texts: list[str]) -> list[bool]:
    pattern = phrase_pattern(phrase)
    return [pattern.search(t) is not None for t in texts]


@pytest.mark.parametrize("phrase", PHRASES)
def test_hits_equal_phrase_pattern_on_tricky_texts(phrase: str) -> None:
    for texts in (TEXTS, pa.array(TEXTS), pa.array(TEXTS, pa.large_string())):
        matcher = PhraseMatcher(texts)
        matcher.prefetch(PHRASES)
        assert matcher.hits(phrase).tolist() == expected(phrase, TEXTS), (phrase, type(texts))


@pytest.mark.parametrize(
    ("phrase", "forms"),
    [
        ("humanoid", ("humanoid", "humanoids")),
        ("robot hand", ("robot hand", "robot hands")),
        ("battery", ("battery", "batteries")),
        ("day", ("day", "days")),
        ("tax", ("tax", "taxes")),
        ("chip", ("chip", "chips")),
        ("EV", ("EV", "EVs")),
        ("V-JEPA", ("V-JEPA", "V-JEPAs")),
        ("Figure", ("Figure",)),
        ("AI Act", ("AI Act",)),
        ("Straße", ("Straße",)),
        ("C++", ("C++",)),
        ("x", ("x",)),
        ("", ("",)),
    ],
)
def test_phrase_forms_add_plurals_of_common_nouns_and_acronyms_only(
    phrase: str, forms: tuple[str, ...]
) -> None:
    assert phrase_forms(phrase) == forms


def test_plural_forms_match_whole_words_only() -> None:
    texts = ["Two humanoids", "A humanoid's hand", "humanoidss", "sales figures", "Figure 02"]
    matcher = PhraseMatcher(texts)
    assert matcher.hits("humanoid").tolist() == [True, True, False, False, False]
    assert matcher.hits("Figure").tolist() == [False, False, False, False, True]


def test_hits_without_prefetch_and_hits_are_copies() -> None:
    matcher = PhraseMatcher(TEXTS)
    first = matcher.hits("EV")
    assert first.tolist() == expected("EV", TEXTS)
    first[:] = False
    assert matcher.hits("EV").tolist() == expected("EV", TEXTS)


def test_random_texts_agree_with_phrase_pattern() -> None:
    rng = random.Random(7)
    pieces = [*"aevEVsSkKci _-.+1\n\t", "é", "ß", "İ", "ı", "ſ", "\u212a", "’", "—", "\u00a0"]
    pieces += ["中", "😀", "\u0301", "EV", "C++", "U.S.", "sodium-ion", "data center"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 14))) for _ in range(3000)]
    phrases = ["EV", "C++", "U.S.", "sodium-ion", "data center", "a e", "s", "k", "i", "", "-"]
    phrases += ["ev", "cs", "data centers"]
    matcher = PhraseMatcher(pa.array(texts))
    matcher.prefetch(phrases)
    for phrase in phrases:
        assert matcher.hits(phrase).tolist() == expected(phrase, texts), phrase


def test_sliced_arrow_texts() -> None:
    # pyarrow's ascii_lower returns wrong strings for arrays whose offsets do not start
    # at 0 (a slice, or its cast): the matcher must rebuild them first.
    texts = pa.array(["EV skipped", *TEXTS]).slice(1)
    matcher = PhraseMatcher(texts)
    for phrase in ("EV", "world model", "U.S."):
        assert matcher.hits(phrase).tolist() == expected(phrase, TEXTS), phrase
    assert large_strings(texts).to_pylist() == TEXTS
    with pytest.raises(ValueError, match="null"):
        PhraseMatcher(pa.array(["EV", None]))


def test_the_non_ascii_characters_ignorecase_equates_with_ascii_letters() -> None:
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    equated: set[str] = set()
    for letter in "abcdefghijklmnopqrstuvwxyz":
        found = set(re.findall(letter, everything, re.IGNORECASE))
        equated |= {c for c in found if not c.isascii()}
    assert equated == IGNORECASE_ASCII


def test_article_texts_equal_article_text() -> None:
    spaces = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()]
    assert "".join(spaces) == WHITESPACE
    pairs = [
        ("Title", "Body text."),
        ("Title", "Title and more"),
        ("Only title", ""),
        ("", ""),
        ("", "Body"),
        ("EV", "EVs are here"),
        ("  EV\t", "\n EV sales \u3000"),
        ("Title", "  \t "),
        ("é", "éa"),
        ("\u00e9", "e\u0301"),
        ("Titlé", "Titl"),
        *((f"{s}Title{s}", f"{s}Title and body{s}") for s in spaces),
        *((f"{s}A", f"B{s}") for s in spaces),
    ]
    titles = pa.array(["skipped", *(t for t, _ in pairs)]).slice(1)
    bodies = pa.array([b for _, b in pairs])
    assert article_texts(titles, bodies).to_pylist() == [article_text(t, b) for t, b in pairs]


def test_empty_batch() -> None:
    matcher = PhraseMatcher([])
    matcher.prefetch(["EV", "C++"])
    assert matcher.hits("EV").shape == (0,)
    assert article_texts(pa.array([], pa.string()), pa.array([], pa.string())).to_pylist() == []
    assert np.array_equal(PhraseMatcher([""]).hits(""), [True])
