"""A place whose words are common English words recurs only as it was written: a
town caught once ("Nice", "Reading") does not redact "have a nice day" or "I was
reading" later in the call; other places recur in any case."""

from __future__ import annotations

from collections.abc import Callable

import pytest

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
