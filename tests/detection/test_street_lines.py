"""Street lines in non-US order, corners, postcodes by cue or after a town, written and
spoken: the whole line is one span, nothing of it left beside a token."""

from __future__ import annotations

from collections.abc import Callable

import pytest

One = Callable[[str], list[tuple[str, str]]]


def _clear(text: str, found: list[tuple[str, str]], value: str) -> list[str]:
    """Words of ``value`` (inside ``text``) that no span covers."""
    start = text.index(value)
    covered = [False] * len(text)
    pos = 0
    for _entity, piece in found:
        a = text.index(piece, pos)
        covered[a:a + len(piece)] = [True] * len(piece)
        pos = a + len(piece)
    out, word = [], ""
    for i in range(start, start + len(value)):
        if text[i].isalnum() and not covered[i]:
            word += text[i]
        elif word:
            out.append(word)
            word = ""
    return [*out, word] if word else out


@pytest.mark.parametrize(("text", "address"), [
    ("please send the parcel to Via Gorizia 218 in the morning", "Via Gorizia 218"),
    ("my flat is at Brunnenweg 14b, right by the bakery", "Brunnenweg 14b"),
    ("she lives at ul. Kwiatowa 17 now", "ul. Kwiatowa 17"),
    ("the shop is on Rua Nova de Sao Bento 52 downtown", "Rua Nova de Sao Bento 52"),
    ("our office: Petőfi Sándor utca 9. Budapest", "Petőfi Sándor utca 9"),
    ("write to 27 Rue des Tilleuls, it's the blue door", "27 Rue des Tilleuls"),
    ("deliver to 61 Calle Mayor 12 Apt. 4", "61 Calle Mayor 12 Apt. 4"),
])
def test_street_name_then_house_number_is_one_span(one: One, text: str, address: str) -> None:
    found = one(text)
    assert any(e == "ADDRESS" and address in t for e, t in found), found


def test_multiline_foreign_address_leaves_nothing_in_clear(one: One) -> None:
    text = "Ship it to:\n40 Lindenallee 7\nApt. 12\nWeiden, BY 92637\nthanks!"
    assert _clear(text, one(text), "40 Lindenallee 7\nApt. 12\nWeiden, BY 92637") == []


def test_corner_of_two_streets_is_one_address(one: One) -> None:
    text = "pick me up at the corner of Holloway 33 and Brackenridge Mews please"
    found = one(text)
    assert ("ADDRESS", "the corner of Holloway 33 and Brackenridge Mews") in found


@pytest.mark.parametrize(("text", "value"), [
    ("i moved to koenigsallee forty two last spring", "koenigsallee forty two"),
    ("it is at via delle rose eighty one", "via delle rose eighty one"),
    ("send it to one three five seven two two nine harrowgate lane apartment twelve",
     "one three five seven two two nine harrowgate lane apartment twelve"),
])
def test_spoken_foreign_and_long_numbered_streets(one: One, text: str, value: str) -> None:
    assert _clear(text, one(text), value) == []


@pytest.mark.parametrize(("text", "code"), [
    ("My zip code is 4812", "4812"),
    ("postal code: 9021", "9021"),
    ("my zip code is forty eight twelve", "forty eight twelve"),
    ("we are hiring in Wetzikon 8620 this year", "8620"),
    ("The depot in Kraków 31-150 opens at nine", "31-150"),
    # a spoken UK postcode read in letter pairs after its cue
    ("my zip code is dl six one uh", "dl six one uh"),
    ("my postcode is ka one nine nine ej", "ka one nine nine ej"),
])
def test_postcodes_by_cue_or_after_a_town(one: One, text: str, code: str) -> None:
    assert any(code in t for _e, t in one(text))


@pytest.mark.parametrize("text", [
    "I sent it via email 3 times",
    "In 2019 Via Rail carried 5 million people",
    "we stayed in Room 1234 for a week",
    "the release in March 2024 fixed it",
    "upgrade to version 3.11 in Python 3.11 today",
    "she moved to Boston in 2015",
    "we have 3 kids and 2 dogs in the house",
    "address 172.16.4.20 timed out after 30 seconds",
    "the zip code is on 12 st",
])
def test_no_address_or_postcode_in_everyday_numbers(one: One, text: str) -> None:
    assert [e for e, _t in one(text) if e in ("ADDRESS", "ZIP_CODE")] == [], one(text)


def test_a_name_before_a_house_number_is_not_part_of_the_street(one: One) -> None:
    found = one("Billing address: Marta Quell 12 Linden St Oranjemund KH 514")
    assert not any(e == "ADDRESS" and "Marta" in t for e, t in found), found
    assert any(e == "ADDRESS" and t.startswith("12 Linden St") and t.endswith("KH 514")
               for e, t in found), found


def test_address_tail_stops_at_contact_fields(one: One) -> None:
    text = ("office at two nine one ravelstrasse eighteen zurich "
            "fax four four one two three four five six seven eight")
    found = one(text)
    assert not any(e == "ADDRESS" and "fax" in t for e, t in found), found


@pytest.mark.parametrize(("text", "value"), [
    # "ul." (ulica) written small or read out: no English word, it opens the street
    ("the bus station is on ul narewska ninety four", "ul narewska ninety four"),
    ("he lives on the north side of ul cicha fifty eight", "ul cicha fifty eight"),
    # a one-letter type ("R." rua, "C/" calle) after an address cue or "on", "at", "to"
    ("pedestrians must enter on r família marques seventy three saint",
     "r família marques seventy three"),
    ("i once lived in r calvário thirty nine", "r calvário thirty nine"),
])
def test_lower_case_abbreviated_street_type_joins_the_street(
        one: One, text: str, value: str) -> None:
    assert _clear(text, one(text), value) == []


@pytest.mark.parametrize("text", [
    "take vitamin c tablets five hundred a day",  # a rare plural, no cue
    "go to c block twelve",                       # a common word after the letter
    "meet me at r studio four",
    "plan c costs ninety dollars",
    "i waited twenty minutes on main",
    "we have three park rangers",
])
def test_letters_and_numbers_in_ordinary_speech_stay_clear(one: One, text: str) -> None:
    assert not [t for e, t in one(text) if e == "ADDRESS"], one(text)


@pytest.mark.parametrize(("text", "value"), [
    # a region code that is also an English word, read before the postcode
    ("here they are sixty two forty eight ul ormiańska one thirty nine ehingen by one"
     " double eight nine five", "ehingen by one double eight nine five"),
    ("my address is two five one haukeliveien one eleven suite one eighty nine hamilton"
     " on nine eight six eight four", "hamilton on nine eight six eight four"),
])
def test_spoken_region_code_that_is_a_word_joins_the_postcode(
        one: One, text: str, value: str) -> None:
    assert _clear(text, one(text), value) == []


@pytest.mark.parametrize("text", [
    "i moved to twelve main street boston so it was far",
    "we lived at twelve main street in boston by nineteen ninety",
    "ship it to twelve main street boston at five",
])
def test_stop_word_after_an_address_without_a_postcode_ends_it(one: One, text: str) -> None:
    found = [t for e, t in one(text) if e == "ADDRESS"]
    assert found and not any(w in t.split() for t in found for w in ("so", "by", "at")), found
