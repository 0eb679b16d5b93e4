"""A place whose words are common English words recurs only as it was written: a
town caught once ("Nice", "Reading") does not redact "have a nice day" or "I was
reading" later in the call; other places recur in any case."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from redact_gw.detection import entities as E
from redact_gw.model import KnownValue
from tests.detection.conftest import Found

CASES = [
    # (turns, what the last turn must hold, what it must not)
    (["I moved to Nice last year", "have a nice day"], [], [("LOCATION", "nice")]),
    (["i moved to nice last year", "have a nice day"], [], [("LOCATION", "nice")]),
    (["I live in Reading RG1 1AA", "I was reading a book"], [], [("LOCATION", "reading")]),
    (["I moved to Nice last year", "Nice is lovely in May"], [("LOCATION", "Nice")], []),
    (["i moved to tallinn last year", "tallinn is cold"], [("LOCATION", "tallinn")], []),
]


@pytest.mark.parametrize(("turns", "held", "not_held"), CASES)
def test_places_of_common_words_recur_only_as_written(
        run: Callable[..., list[Found]], turns: list[str],
        held: Found, not_held: Found) -> None:
    last = run(*turns)[-1]
    for value in held:
        assert value in last
    for value in not_held:
        assert value not in last


@pytest.mark.parametrize("value", ["Reading", "reading", "READING"])
def test_a_known_place_of_common_words_is_the_callers_word_and_recurs_in_any_case(
        run: Callable[..., list[Found]], value: str) -> None:
    # a known value is the caller's own statement that this is personal data: in a
    # lower-case (speech) transcript it must still be found, whatever case it was sent in
    turns = ["READING is where I live", "we met up near reading station"]
    first, second = run(*turns, known=[KnownValue(E.LOCATION, value)])
    assert (E.LOCATION, "READING") in first
    assert (E.LOCATION, "reading") in second
