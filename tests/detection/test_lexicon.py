"""Shared word lists mean the same in every module that reads them."""

from __future__ import annotations

import pytest

from redact_gw.detection import address_parts, street_lines
from redact_gw.detection import entities as E
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.lexicon import QUANTITY_WORDS
from redact_gw.detection.view import build_view

_WORDS = sorted(QUANTITY_WORDS)


def _street(text: str) -> list[street_lines.Found]:
    return street_lines.street_lines(text, lambda _i: True, lambda _w: False,
                                     lambda _i: True)


def _town_postcode(text: str) -> list[street_lines.Found]:
    return street_lines.place_postcodes(text, lambda _w: True, lambda _w: False)


def _after_place(text: str) -> list[Candidate]:
    town = Candidate(0, 0, len("Springfield"), E.LOCATION, 0.85, "test", None, "")
    return address_parts.after_places([text], [build_view(text)], [town])


def test_without_a_quantity_word_the_numbers_are_found() -> None:
    assert len(_street("Via Roma 131")) == 1
    assert len(_town_postcode("in Independence 44131")) == 1
    assert len(_after_place("Springfield 62704")) == 1


@pytest.mark.parametrize("word", [*_WORDS, *(w.capitalize() for w in _WORDS)])
def test_a_quantity_word_after_the_number_makes_it_no_house_number_nor_postcode(
        word: str) -> None:
    assert _street(f"Via Roma 131 {word}") == []
    assert _town_postcode(f"in Independence 44131 {word}") == []
    assert _after_place(f"Springfield 62704 {word}") == []
