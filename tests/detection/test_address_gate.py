"""The gate before the address finders skips work, never an address.

``addresses.may_hold_address`` must pass on every text in which the ungated finders
(``_find_all``) find anything: checked against the finders themselves, on addresses
without a digit (corners, ships) and on random digit-free texts made of the words the
finders look for (street suffixes, unit words, cues, boxes, places, capitals).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redact_gw.detection import addresses, gazetteer
from redact_gw.detection.context import TranscriptContext
from redact_gw.detection.view import build_view

_GAZ = gazetteer.load()


def _ungated(text: str) -> list[addresses.Found]:
    """Everything the address finders find in ``text``, view and original, no gate."""
    view = build_view(text)
    ctx = TranscriptContext([text], [view.tokens])
    def is_place(w: str) -> bool:
        return _GAZ.place_kind(w) > 0
    def is_common(w: str) -> bool:
        return _GAZ.word_freq(w) >= gazetteer.COMMON_WORD
    out = []
    for t, mapper in ((view.text, view.to_original), (text, lambda a, b: (a, b))):
        out += addresses._find_all(t, mapper, ctx, 0, is_place, is_common)
    return out


def _gate(text: str) -> bool:
    view = build_view(text)
    return addresses.may_hold_address(view.text) or addresses.may_hold_address(text)


@pytest.mark.parametrize("text", [
    "we met at the corner of Main Street and Elm Avenue",
    "the corner of Pine and Oak",
    "send it to USS Fujimura please",
    "he served on the usns comfort",
])
def test_digit_free_addresses_pass_the_gate(text: str) -> None:
    assert _ungated(text), "the finders must find this address"
    assert _gate(text)


@pytest.mark.parametrize("text", [
    "I live at 4410 Larkspur Xing", "PO Box 4417", "Springfield, IL 62704",
    "my address is twelve thirty four main street", "zip code nine oh two one oh",
    "send it to 26 rue des Lilas", "London SW1A 1AA",
])
def test_addresses_with_numbers_pass_the_gate(text: str) -> None:
    assert _ungated(text)
    assert _gate(text)


def test_a_line_without_digits_corner_or_ship_is_skipped() -> None:
    assert not addresses.may_hold_address("thanks for calling, how can I help you today?")
    assert not addresses.may_hold_address("my address is Main Street in Springfield")


_WORDS = sorted({
    "street", "st", "avenue", "ave", "road", "rd", "way", "park", "place", "xing", "trce",
    "apt", "apartment", "suite", "ste", "unit", "flat", "#", "box", "po", "p.o.", "post",
    "office", "psc", "cmr", "apo", "fpo", "ae", "uss", "usns", "usar", "corner", "of",
    "the", "and", "at", "on", "to", "lives", "address", "is", "my", "ship", "zip", "code",
    "postal", "postcode", "north", "n", "via", "rue", "des", "calle", "main", "elm",
    "Main", "Elm", "Oak", "Broadway", "Springfield", "IL", "NY", "CA", "London", "Paris",
    "Texas", "texas", "twelve", "thirty", "four", "oh", "nine", "hundred", "dot", "one",
    "Vesterbrogade", "Norra", "Bäckebo", "Ránargata", "utca", "strasse", "SW", "AA", "K",
    ",", ".", "-", ":", ">", "|", "\n", "²", "½",
})


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=14))
def test_the_gate_never_skips_a_finding(words: list[str]) -> None:
    text = " ".join(words)
    if not _gate(text):
        assert _ungated(text) == []
