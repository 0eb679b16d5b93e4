"""``truecase.recased`` gives the words ``truecase.words`` reads in a truecased line.

The detector reads the words of a line once and, for the line spaCy read with its
capitals restored, derives them instead of reading them again. That holds when
upper-casing first letters moves no word boundary and no possessive "'s": checked on
every code point, on random lines with random first letters upper-cased, and through
``restore`` itself.
"""

from __future__ import annotations

import re
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from redact_gw.detection import gazetteer, truecase

_LETTER = re.compile(r"[^\W\d_]")


def test_an_upper_cased_letter_is_a_letter_on_every_code_point() -> None:
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        if _LETTER.fullmatch(c):
            up = c.upper()
            assert len(up) != 1 or _LETTER.fullmatch(up), hex(cp)
            assert "'" not in c.lower() and "'" not in up, hex(cp)


_PIECES = ["john", "o'brien", "anne-marie", "i", "it's", "JAMES'S", "ßtraße", "ǆemal",
           "\u017fam", "ﬁona", "ǳ", "élodie", "\u0131ris", "straße's", "x", "'s", "s", "-", "'",
           " ", ", ", ".", "42", "\t", "ª", "ꭰ", "Σίσυφος", "ΣΑΣ's"]


def _upper_starts(line: str, which: list[bool]) -> str:
    chars = list(line)
    for (a, _b, _w), flip in zip(truecase.words(line), which, strict=False):
        up = chars[a].upper()
        if flip and len(up) == 1:  # as ``restore`` upper-cases: one character for one
            chars[a] = up
    return "".join(chars)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join),
       st.lists(st.booleans(), max_size=12))
def test_recased_words_are_the_words_of_the_recased_line(line: str, which: list[bool]) -> None:
    text = _upper_starts(line, which)
    assert truecase.recased(truecase.words(line), text) == truecase.words(text)


_GAZ = gazetteer.load()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["john", "smith", "maria", "garcia", "lives", "in",
                                 "springfield", "paris", "i", "it's", "mark", "rose",
                                 "o'neil", "new", "york", "and", "the", "\u017fam", "42"]),
                max_size=10).map(" ".join))
def test_recased_through_restore(line: str) -> None:
    text = truecase.restore(line, _GAZ)
    assert truecase.recased(truecase.words(line), text) == truecase.words(text)


def test_restore_does_change_such_lines() -> None:
    line = "my name is john smith and i live in paris"
    text = truecase.restore(line, _GAZ)
    assert text != line
    assert [w for _a, _b, w in truecase.recased(truecase.words(line), text)] == [
        w for _a, _b, w in truecase.words(text)]


_GATE_WORDS = ["john", "John", "JOHN", "Smith", "i", "I", "Customer", "Agent", ":", ",",
               "Paris", "paris", "PARIS", "New", "York", "new", "york", "Mr", "MR", "Li",
               "LI", "WU", "the", "The", "Lives", "in", "Springfield", "IL", "Texas",
               "TX", "Katsuko", "Koku", "and", "H.", "Rio", "de", "Janeiro", ".", "San"]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_GATE_WORDS), max_size=10).map(" ".join))
def test_name_and_place_gates_change_nothing(line: str) -> None:
    ws = truecase.words(line)
    lowered = [w.lower() for _a, _b, w in ws]
    assert truecase.name_candidates(0, 0, line, _GAZ, ws) == truecase._name_sequences(
        0, 0, line, _GAZ, ws)
    assert truecase.place_candidates(0, 0, line, _GAZ, ws, lowered) == (
        truecase._capitalized_places(0, 0, line, _GAZ, ws, lowered))


def test_the_gates_pass_where_names_and_places_are() -> None:
    line = "Customer: John Smith moved from Paris to New York"
    ws = truecase.words(line)
    names = truecase.name_candidates(0, 0, line, _GAZ, ws)
    places = truecase.place_candidates(0, 0, line, _GAZ, ws)
    assert [line[c.start:c.end] for c in names] == ["John Smith"]
    assert "New York" in {line[c.start:c.end] for c in places}


def _words_reference(line: str) -> list[truecase.Word]:
    """``truecase.words`` as it was: every word's lower case tested for "'s"."""
    out = []
    for m in truecase._WORD_RE.finditer(line):
        a, b, w = m.start(), m.end(), m.group()
        if w.lower().endswith("'s"):
            b, w = b - 2, w[:-2]
        out.append((a, b, w))
    return out


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from([*_PIECES, "\u2019s", "S'S", "'S"]), max_size=12).map("".join))
def test_words_skips_the_possessive_test_only_without_apostrophes(line: str) -> None:
    assert truecase.words(line) == _words_reference(line)
