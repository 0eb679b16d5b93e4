"""The gates inside the address finders skip scans, never an address.

Each gate in ``address_gates`` claims: when it fails, its pattern has no match. Checked
against the patterns themselves on random texts made of the words they look for, in
any case, with the characters ``IGNORECASE`` folds onto ASCII letters (long s, Kelvin
sign, dotless i), and end to end on addresses only those characters make.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redact_gw.detection import address_gates as G
from redact_gw.detection import addresses, street_lines
from redact_gw.detection.context import TranscriptContext
from redact_gw.detection.view import build_view

_WORDS = sorted({
    "12", "4410", "7", "62704", "62704-1234", "9", "4B", "#12", "street", "Street", "ST",
    "st.", "avenue", "ave", "road", "way", "park", "xing", "trce", "hwy", "us", "state",
    "county", "rte", "box", "Box", "BOX", "po", "p.o.", "post", "office", "psc", "cmr",
    "uss", "usns", "unit", "apt", "suite", "zip", "ZIP", "code", "postal", "postcode",
    "is", "my", "main", "Main", "elm", "Oak", "IL", "NY", "APO", "AE", "SW1A", "1AA",
    "K1A", "0B1", "days", "dollars", "the", "and", "at", ",", ".", "-", "\n", "\t",
    "\u017ft", "\u017ftreet", "\u212a", "bo\u0445", "z\u0131p", "po\u017ft", "\u017f", "é", "ß",
})
_text = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=12).map(" ".join)


def _case(text: str, flips: list[bool]) -> str:
    return "".join(c.upper() if f else c for c, f in zip(text, flips + [False] * len(text),
                                                       strict=False))


@settings(max_examples=500, deadline=None)
@given(_text, st.lists(st.booleans(), max_size=80))
def test_no_suffix_word_means_no_street_line(text: str, flips: list[bool]) -> None:
    text = _case(text, flips)
    if not G.has_word(G.folded(text), addresses._SUFFIX_WORDS):
        assert addresses.STREET_RE.search(text) is None


@settings(max_examples=500, deadline=None)
@given(_text, st.lists(st.booleans(), max_size=80))
def test_no_box_means_no_box_match(text: str, flips: list[bool]) -> None:
    text = _case(text, flips)
    if not (G.has_any(G.folded(text), ("box",)) or addresses._SHIP.search(text)):
        assert addresses.BOX_RE.search(text) is None


@settings(max_examples=500, deadline=None)
@given(_text, st.lists(st.booleans(), max_size=80))
def test_postcode_gates(text: str, flips: list[bool]) -> None:
    text = _case(text, flips)
    if not G.may_hold_postcode(text):
        assert addresses.POSTCODE_RE.search(text) is None
    if not G.has_any(G.folded(text), ("zip", "post")):
        assert street_lines.cued_postcodes(text) == []


def test_the_word_gates_pass_only_on_whole_words() -> None:
    low = G.folded("Arrive in 3 to 5 business days, 12 Oak Street")
    assert G.has_word(low, frozenset({"street"}))
    assert not G.has_word(G.folded("12 streets"), frozenset({"street"}))
    assert G.last_words({"us hwy", "street"}) == frozenset({"hwy", "street"})


def test_the_gates_skip_support_talk_with_numbers() -> None:
    low = G.folded("it should arrive in 3 to 5 business days")
    assert not G.has_word(low, addresses._SUFFIX_WORDS)
    assert not G.has_any(low, ("box",))
    assert not G.may_hold_postcode("the total comes to 42 dollars")


@pytest.mark.parametrize("text", [
    "send it to 12 Oak \u017ftreet",  # long s: IGNORECASE reads "street"
    "po bo\u0445 4417 at 9 Elm \u212aey",  # Kelvin sign: IGNORECASE reads "key"
])
def test_non_ascii_texts_are_scanned_as_before(text: str) -> None:
    # a word gate on str.lower would miss the long s; non-ASCII text passes every gate
    assert G.has_word(G.folded(text), addresses._SUFFIX_WORDS)
    assert G.has_any(G.folded(text), ("box",))


def test_an_address_only_ignorecase_reads_is_still_found() -> None:
    text = "I live at 4410 Larkspur \u017ftreet"
    assert addresses.STREET_RE.search(text) is not None
    view = build_view(text)
    ctx = TranscriptContext([text], [view.tokens])
    found = addresses.address_candidates(0, view, ctx, lambda w: False, lambda w: False)
    assert [text[c.start:c.end] for c in found] == ["4410 Larkspur \u017ftreet"]
