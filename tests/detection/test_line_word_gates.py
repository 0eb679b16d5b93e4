"""The cheap gates in the per-line word layers skip work, never a finding.

Each gate is checked against the ungated reading it replaces: the places of several
words looked up only from their first word (``Gazetteer.phrase_starts``), and
``caps_places`` skipping ASCII lines without a run of five capitals (and counting the
Latin letters of a line only when it has a letter beyond ASCII).
"""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.lang.en.stop_words import STOP_WORDS

from redact_gw.detection import gazetteer, places, truecase

_GAZ = gazetteer.load()

_WORDS = ["new", "york", "NEW", "YORK", "city", "united", "states", "of", "america",
          "san", "francisco", "the", "in", "to", "from", "lyon", "france", "czech",
          "republic", "HARJAVALTA", "BASHALL", "TOWN", "ΦΑΡΜΑΚΑΣ", "λακαταμεια", "Zürich",
          "PUDASJÄRVI", "O'NEIL-SMITH", "VOUCHER", "ABC-DE", "x", "Hale", "south", "korea"]
_SEPS = [" ", ", ", "-", "'", ". ", "  ", "\t", ": "]
_lines = st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_SEPS)),
                  max_size=12).map(lambda parts: "".join(w + s for w, s in parts))
_any_lines = st.one_of(_lines, st.text(max_size=40))


def _ungated_place_spans(lowered: list[str]) -> Iterator[tuple[int, int]]:
    """``truecase._place_spans`` as it was, looking up every phrase."""
    i = 0
    while i < len(lowered):
        for n in range(min(3, len(lowered) - i), 0, -1):
            phrase = " ".join(lowered[i:i + n])
            if (n > 1 or phrase not in STOP_WORDS) and _GAZ.place_kind(phrase):
                yield i, i + n
                i += n
                break
        else:
            i += 1


@settings(max_examples=300, deadline=None)
@given(_any_lines)
def test_places_of_several_words_are_found_from_their_first_word(line: str) -> None:
    lowered = [w[2].lower() for w in truecase.words(line)]
    assert list(truecase._place_spans(lowered, _GAZ)) == list(_ungated_place_spans(lowered))
    for i in range(len(lowered)):
        for table in (_GAZ.cities, _GAZ.regions):
            ungated = next((i + n for n in range(min(3, len(lowered) - i), 0, -1)
                            if (phrase := " ".join(lowered[i:i + n])) in table
                            and phrase not in STOP_WORDS and _GAZ.place_kind(phrase)), i)
            assert places._known(lowered, i, table, _GAZ) == ungated


def test_the_first_word_gate_knows_the_places_of_several_words() -> None:
    assert {"new", "united", "san", "czech", "south"} <= _GAZ.phrase_starts
    assert list(truecase._place_spans(["flew", "to", "czech", "republic"], _GAZ)) == [(2, 4)]


@settings(max_examples=300, deadline=None)
@given(_any_lines)
def test_caps_places_skips_only_lines_without_an_odd_word(line: str) -> None:
    """A skipped line holds no word ``_odd_word`` accepts, whatever its Latin count;
    in an ASCII line the Latin count never decides."""
    latin = sum(ch.isalpha() and not places._non_latin(ch) for ch in line)
    ws = truecase.words(line)
    if line.isascii() and places._CAPS_RUN.search(line) is None:
        assert not any(places._odd_word(w[2], latin, _GAZ) for w in ws)
    if line.isascii():
        assert [places._odd_word(w[2], 0, _GAZ) for w in ws] == [
            places._odd_word(w[2], latin, _GAZ) for w in ws]


def test_caps_places_still_reads_capitals_and_foreign_scripts() -> None:
    text = "the office is in HARJAVALTA now\nwe met the pharmacist in ΦΑΡΜΑΚΑΣ today"
    found = {(c.start, c.end) for c in places.caps_places(0, truecase.split_lines(text), _GAZ)}
    assert {text[a:b] for a, b in found} == {"HARJAVALTA", "ΦΑΡΜΑΚΑΣ"}


_SPOKEN = st.lists(st.sampled_from(
    ["january", "the", "fourth", "twenty", "twenty-two", "of", "may", "1st", "12/03/2020",
     "www", "dot", "DOT", "Dot", "com", "example", "gb", "29", "nwbk", "6016", "1331", "9268",
     "19", "ninety", "two", "thousand", "o", "at", "\n", ",", "/", "-"]),
    max_size=14).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_SPOKEN, st.text(max_size=40)))
def test_the_regex_gates_pass_wherever_their_pattern_matches(text: str) -> None:
    """The date, written-IBAN and spoken-address patterns match only where their
    gate (a digit; the word "dot") passes, so the gated recognizers skip no match."""
    from redact_gw.detection import spoken, spoken_ids

    if spoken._DIGIT_RE.search(text) is None:
        assert spoken.DATE_RE.search(text) is None
        assert spoken._WRITTEN_IBAN_RE.search(text) is None
    if spoken_ids._SPOKEN_DOT_RE.search(text) is None:
        assert spoken_ids.SPOKEN_URL_RE.search(text) is None


@settings(max_examples=300, deadline=None)
@given(st.one_of(_lines, st.text(max_size=60), st.lists(_lines, max_size=4).map("\n".join)))
def test_the_words_of_a_segment_are_the_words_of_its_lines(text: str) -> None:
    """No word crosses a line break: the words read per line (``split_lines``, which
    ``spoken_names.widen`` reuses) are the segment's words."""
    per_line = [(lw.offset + a, lw.offset + b, w)
                for lw in truecase.split_lines(text) for a, b, w in lw.words]
    assert per_line == truecase.words(text)
