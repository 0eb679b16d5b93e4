"""Names and places from the census and GeoNames data: lower-case speech without an
introduction, initials, hyphenated and non-Anglo names, and words that stay words."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from redact_gw.detection import gazetteer, truecase

One = Callable[[str], list[tuple[str, str]]]


def _covered(found: list[tuple[str, str]], entity: str) -> str:
    return " ".join(text for e, text in found if e == entity)


@pytest.mark.parametrize(("text", "name"), [
    ("the invoice went to marguerite osterhaus last week", "marguerite osterhaus"),
    ("can you ask kathleen to call back", "kathleen"),
    ("we should loop in douglas r fairweather on this", "douglas r fairweather"),
    ("please tell wojciech brzezinski the parcel arrived", "wojciech brzezinski"),
])
def test_lowercase_names_without_introduction(one: One, text: str, name: str) -> None:
    assert ("PERSON", name) in one(text)


@pytest.mark.parametrize(("text", "name"), [
    ("I'm so tired! shouted Ellinore to her brother", "Ellinore"),
    ("Why is Ignat always late?", "Ignat"),
])
def test_written_single_names_ner_misses(one: One, text: str, name: str) -> None:
    assert ("PERSON", name) in one(text)


@pytest.mark.parametrize("text", [
    "i will mark the bill and grant you june",
    "the rose garden will bloom in june",
    "Topics like Patience and Courage come up in every session.",
    "billing billing okay",  # one rare word twice: a stutter, not "Katsuko Koku"
])
def test_words_that_are_also_names_stay_words(one: One, text: str) -> None:
    assert one(text) == []


def test_trigger_before_an_ordinary_word_is_not_propagated(one: One) -> None:
    got = one("we were speaking to bots all morning and then the bots stopped")
    assert [e for e, _ in got if e == "PERSON"] == []


def test_name_trigger_still_takes_any_word(one: One) -> None:
    assert ("PERSON", "okafor") in one("and the last name is okafor")


def test_lowercase_places_from_the_gazetteer(one: One) -> None:
    assert one("i visited bratislava and then ljubljana") == [
        ("LOCATION", "bratislava"), ("LOCATION", "ljubljana")]


def test_restore_keeps_offsets_and_words() -> None:
    gaz = gazetteer.load()
    line = "i will call margaret thornton about the bill"
    restored = truecase.restore(line, gaz)
    assert len(restored) == len(line)
    assert restored == "I will call Margaret Thornton about the bill"
    assert truecase.restore("Already Capitalized text", gaz) == "Already Capitalized text"


@pytest.mark.parametrize(("text", "place"), [
    ("Customer: I'm in the US right now", "US"),
    ("Customer: we moved to Portland ME last spring", "Portland ME"),
])
def test_places_ner_finds_are_kept(one: One, text: str, place: str) -> None:
    """NER's "US" was dropped as a stop word, and a state code after a city stayed."""
    assert ("LOCATION", place) in one(text)


def test_a_city_name_in_a_list_of_words_stays_a_word(one: One) -> None:
    assert one("we feed lemurs, antelope, camels and more") == []


def test_a_field_label_after_an_address_is_not_part_of_it(one: One) -> None:
    got = one("Office: 17 Harbor Crescent\nMobile: 555 0100")
    assert ("ADDRESS", "17 Harbor Crescent") in got
    assert all("Mobile" not in text for _e, text in got)


def test_an_organization_stays_unredacted(one: One) -> None:
    assert one("the Acme Corporation board met today") == []


def test_lowercase_common_words_tagged_person_by_ner_are_dropped(one: One) -> None:
    got = one("we care for a large variety of species including lemurs antelope camels "
              "and more")
    assert [e for e, _ in got if e == "PERSON"] == []
