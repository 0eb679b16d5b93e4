"""The normalized view: spoken characters become characters, offsets map back exactly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redact_gw.detection.view import build_view

WORDS = ["four", "one", "oh", "zero", "double", "triple", "five", "twenty", "three",
         "nineteen", "eighty", "hundred", "thousand", "and", "dash", "o", "a", "i", "j",
         "s", "m", "card", "is", "my", "okay", "123", "4111", "07", "ninety", "eleven",
         "Two", "FIVE"]
SEPS = [" ", " ", " ", ", ", "-", "\n", ". ", " (", ") ", "/", "  "]


@pytest.mark.parametrize(("text", "view"), [
    ("four one one one", "4111"),
    ("double five triple seven", "55777"),
    ("twenty three", "23"),
    ("nineteen eighty four", "1984"),
    ("nine oh two one oh", "90210"),
    ("4111 one one one", "4111111"),
    ("five hundred twenty", "520"),
    ("two thousand and five", "2005"),
    ("s m i t h", "smith"),
    ("(212) 555-1234", "(2125551234"),
])
def test_view_text(text: str, view: str) -> None:
    assert build_view(text).text == view


def test_oh_is_an_interjection_when_alone() -> None:
    assert build_view("oh okay").text == "oh okay"


def test_run_maps_back_to_its_words() -> None:
    text = "my card is double five one two, thanks"
    v = build_view(text)
    (run,) = v.runs
    assert text[run.start:run.end] == "double five one two"
    assert v.to_original(run.view_start, run.view_end) == (run.start, run.end)
    # the second "5" came from "double five": it maps to those words
    a, b = v.to_original(run.view_start + 1, run.view_start + 2)
    assert text[a:b] == "double five"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPS)), max_size=25))
def test_offset_mapping_is_exact(parts: list[tuple[str, str]]) -> None:
    text = "".join(w + s for w, s in parts)
    v = build_view(text)
    assert len(v.starts) == len(v.ends) == len(v.text)
    in_run = [False] * len(v.text)
    for run in v.runs:
        assert v.to_original(run.view_start, run.view_end) == (run.start, run.end)
        original = text[run.start:run.end]
        assert original == original.strip() and original[0].isalnum() and original[-1].isalnum()
        assert v.text[run.view_start:run.view_end] == run.chars
        for i in range(run.view_start, run.view_end):
            in_run[i] = True
    for i, ch in enumerate(v.text):
        a, b = v.starts[i], v.ends[i]
        assert 0 <= a < b <= len(text)
        if not in_run[i]:
            assert b == a + 1 and text[a] == ch
    assert list(v.starts) == sorted(v.starts) and list(v.ends) == sorted(v.ends)
    # any view range maps to a non-empty original range that starts and ends on the
    # original characters of the view's first and last character
    for i in range(0, len(v.text), 3):
        for j in range(i + 1, min(len(v.text), i + 7) + 1):
            a, b = v.to_original(i, j)
            assert a == v.starts[i] and b == v.ends[j - 1] and a < b
