"""Places that spaCy and the city list miss: after travel and residence phrases, in
capitals, in a non-Latin script; and the words that must stay words."""

from __future__ import annotations

from collections.abc import Callable

import pytest

One = Callable[[str], list[tuple[str, str]]]


def places(found: list[tuple[str, str]]) -> list[str]:
    return [v for e, v in found if e == "LOCATION"]


@pytest.mark.parametrize(("text", "place"), [
    ("mister hale flew to vrontados on friday morning", "vrontados"),
    ("we returned to kirkenes by helicopter", "kirkenes"),
    ("she is travelling to czech republic next week", "czech republic"),
    ("i grew up in villanueva del rio and moved away", "villanueva del rio"),
    ("Mrs. Hale flew to ZIELONKA on Sunday morning.", "ZIELONKA"),
    ("He grew up in Tarnowskie Góry before the war.", "Tarnowskie Góry"),
])
def test_place_after_a_travel_or_residence_phrase(one: One, text: str, place: str) -> None:
    assert place in places(one(text))


@pytest.mark.parametrize(("text", "place"), [
    ("The office is in HØNEFOSS, next to the station.", "HØNEFOSS"),
    ("Suite 12\nKARVIAINEN KYLÄ\n44100", "KARVIAINEN KYLÄ"),
    ("I grew up near Λεμεσός and left at twenty.", "Λεμεσός"),
    ("we drove past πλατρες on the way", "πλατρες"),
])
def test_capitals_and_foreign_script(one: One, text: str, place: str) -> None:
    """Redacted as a place, or as a name when a name recognizer is surer."""
    assert place in [v for e, v in one(text) if e in ("LOCATION", "PERSON")]


@pytest.mark.parametrize("text", [
    "I'm in trouble with my bill, can you help?",
    "we're coming to terms with the new plan",
    "He visited Grandma last week.",
    "THIS IS URGENT PLEASE CALL BACK",
    "Please reissue my VOUCHER today.",
    "the price went up â€“ again",
    "we flew to the moon and back",
])
def test_words_stay_words(one: One, text: str) -> None:
    assert places(one(text)) == []


@pytest.mark.parametrize(("text", "place"), [
    ("i worked for a year in gdynia poland", "gdynia poland"),
    ("our second office is in sachsen", "sachsen"),
    ("Our second office is in Niederösterreich, near the river.", "Niederösterreich"),
    ("They moved to South Korea in the spring.", "South Korea"),
])
def test_city_before_region_and_iso_names(one: One, text: str, place: str) -> None:
    assert place in places(one(text))


def test_common_word_region_name_is_no_place(one: One) -> None:
    """ISO 3166-2 has a region called "Centre": the word stays a word."""
    assert places(one("meet me at the centre of the hall")) == []


def test_a_place_is_never_cut_inside_a_word(one: One) -> None:
    """Tokens are ASCII words: "i am in" took "store merl" out of "store merløse"."""
    got = one("i am in store merløse for a business trip")
    assert "store merløse" in places(got)


@pytest.mark.parametrize(("text", "place"), [
    ("we got a parcel from paamiut yesterday", "paamiut"),
    ("we stayed in laax for a week", "laax"),
])
def test_small_town_after_a_preposition(one: One, text: str, place: str) -> None:
    assert place in places(one(text))


@pytest.mark.parametrize("text", [
    "i was in python class all day",
    "he lives in the house near the park",
])
def test_words_after_a_preposition_stay_words(one: One, text: str) -> None:
    assert places(one(text)) == []


def test_a_stronger_name_inside_a_place_does_not_cut_it() -> None:
    """A PERSON reading of one word of a longer place leaves the place whole."""
    from redact_gw.detection.candidates import Candidate, resolve
    from redact_gw.settings import DetectionSettings
    text = "we drove to port quelwyn on friday"
    a = text.index("port")
    b = a + len("port quelwyn")
    cands = [Candidate(0, a, b, "LOCATION", 0.5, "PlaceRecognizer", None, "place"),
             Candidate(0, b - 7, b, "PERSON", 0.6, "SpokenNameRecognizer", None, "name")]
    spans = resolve(text, cands, DetectionSettings())
    assert [(s.entity_type, text[s.start:s.end]) for s in spans] == [
        ("LOCATION", "port quelwyn")]
