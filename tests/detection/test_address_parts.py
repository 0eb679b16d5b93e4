"""Address parts beside what other recognizers found: a postcode after a town or
state, a unit designator next to its street line, a postcode before its cue."""

from __future__ import annotations

from collections.abc import Callable

import pytest

One = Callable[[str], list[tuple[str, str]]]


def _covered(found: list[tuple[str, str]]) -> str:
    return " ".join(text for _e, text in found)


@pytest.mark.parametrize(("text", "code"), [
    ("We opened our second shop in Independence 44131 this spring.", "44131"),
    ("her parents still live in Lyon, 69002", "69002"),
    ("the depot in Memphis, TN, 38103 takes the returns", "38103"),
    # a verb ending in s after the postcode is no counted plural
    ("our office in Boston 02110 closes at five", "02110"),
    ("the shop in Springfield 62704 opens at nine", "62704"),
])
def test_postcode_after_a_town_is_redacted(one: One, text: str, code: str) -> None:
    assert code in _covered(one(text))


def test_spoken_postcode_after_a_town(one: One) -> None:
    got = one("we moved to denver colorado eight oh two oh two last may")
    assert "eight oh two oh two" in _covered(got)


@pytest.mark.parametrize("text", [
    "she moved to Paris 2024 and never came back",
    "Boston 2000 people marched downtown",
    "call the Denver office at 303 555 0142",
    "the flight from London 1234 leaves at noon",
    "our team in Chicago 12000 subscribers strong",
])
def test_year_count_or_phone_after_a_town_is_no_postcode(one: One, text: str) -> None:
    assert all(entity != "ZIP_CODE" for entity, _t in one(text))


@pytest.mark.parametrize("text", [
    "In France 3500 stores closed last year.",
    "the plant in Bern 4500 employees strong",
    "in Lyon 2000 volunteers cleaned the river",
])
def test_a_number_counting_a_plural_after_a_town_is_no_postcode(one: One, text: str) -> None:
    # issue 20/13: "3500 stores" is a quantity, not a postcode
    assert all(entity != "ZIP_CODE" for entity, _t in one(text))


@pytest.mark.parametrize(("text", "code"), [
    ("my postcode is 3500", "3500"),
    ("I live at 12 Main St, Bern 3500", "3500"),
    ("I live in Bern 3500 thanks", "3500"),
    ("We opened our second shop in Independence 44131 this spring.", "44131"),
])
def test_a_postcode_followed_by_no_counted_plural_stays(one: One, text: str, code: str) -> None:
    assert code in _covered(one(text))


def test_lowercase_region_before_the_postcode_stays_in_the_address(one: One) -> None:
    got = one("Bill to:\n41 Quarry Lane\nBowral, nsw 25761")
    assert "25761" in _covered(got)


@pytest.mark.parametrize(("text", "address"), [
    ("Flat 3, 14 Hill Street, Edinburgh", "Flat 3, 14 Hill Street"),
    ("post it to Apt 4B, 220 Elm Road, Dover", "Apt 4B, 220 Elm Road"),
    ("my address is 9 Dune Road | Suite 300 | Ocean City", "9 Dune Road | Suite 300"),
])
def test_unit_designator_next_to_its_street_line(one: One, text: str, address: str) -> None:
    got = one(text)
    assert any(e == "ADDRESS" and address in t for e, t in got), got


def test_unit_words_without_a_street_stay(one: One) -> None:
    assert one("the suite 5 was lovely and room 12 was quiet") == []


@pytest.mark.parametrize("text", ["Is 02139 your zip?", "60614 is my zip code",
                                  "six oh six one four is my zip code"])
def test_postcode_before_its_cue(one: One, text: str) -> None:
    assert [e for e, _t in one(text)] == ["ZIP_CODE"]


@pytest.mark.parametrize(("text", "code"), [
    # a form's address block: the postcode alone on the line after the town's line
    ("Billing address: Lena Vogt\n22 Hauptstrasse 5\nOdernheim am Glan\nRP\n55543", "55543"),
    ("Ship to: Ola Dahl\n14 Storgatan 3\nHUNDVÅG\nnan\n4085\n", "4085"),
    ("Ship to: Ola Dahl\n14 Storgatan 3\nHÅRSFJÄRDEN\nnan\n130 61\n", "130 61"),
    # three or four digits right after a town whose country writes them so
    ("Akureyri 603 is my town", "603"),
    ("Horjul 1354 is my town", "1354"),
    ("Our depot: Solothurn 4501, Switzerland", "4501"),
    # a particle inside the town's name
    ("Looking to work for Bolt Ltd. in Valverde de Valdelacasa 37791 in its mission",
     "37791"),
    # a Dutch postcode's letters go with its digits
    ("My postcode is 9722 AS", "9722 AS"),
    ("we moved to Groningen 9722 AS last year", "9722 AS"),
    # a year after a date in a street's name is its house number, not a year alone
    ("How do I change my address to 43 Rue 9 Avril 1938 for post mail?", "Avril 1938"),
    # true postcodes beside the departure-verb look-alikes below
    ("Akureyri 603", "603"),
    ("Ship to: Ola Dahl\nTromsø\n9008", "9008"),
    ("Ship to: Ola Dahl\nStorgata 3\nTromsø\n9008", "9008"),
    ("I live at 12 Main Street, Springfield 62704", "62704"),
    ("my zip code is six two seven zero four", "six two seven zero four"),
    ("Solothurn 4501 is my town", "4501"),
])
def test_postcode_after_a_town_in_more_shapes(one: One, text: str, code: str) -> None:
    got = one(text)
    assert any(code in t for _e, t in got), got


@pytest.mark.parametrize(("text", "kept"), [
    ("the flight from Zurich 1234 leaves at noon", "1234"),
    ("Akureyri 300 people came", "300"),
    ("I moved to Denver\n2019 was a good year", "2019"),
    ("Denver\n2019", "2019"),
    ("We met in Oslo\n1234", "1234"),
    ("I moved to Zurich 2019 and loved it", "2019"),
    ("We shipped to Bergen 5000 units", "5000"),
    ("Zurich 1200 francs a month is a lot", "1200"),
    ("the hotel in Bergen 1500 kroner per night", "1500"),
    ("My postcode is 8001 OK thanks", "OK"),
    ("flight 1234 to Boston", "1234"),
    ("Boston 2024 marathon", "2024"),
    ("in 2019 we moved to Denver", "2019"),
    ("I have 3 cats and 4 dogs", "3 cats and 4"),
    ("order 12345", "12345"),
    ("room 4501", "4501"),
    # a departure verb after the number: a train's or a flight's
    ("train to Solothurn 4501 departs at nine", "4501"),
    ("train to Solothurn 4501 departs", "4501"),
    ("Solothurn 4501 departs at nine", "4501"),
    ("we moved to Solothurn 4501 departs at nine", "4501"),
    ("Akureyri 603 arrives at ten", "603"),
])
def test_flights_years_counts_and_words_after_a_town_stay(one: One, text: str,
                                                          kept: str) -> None:
    got = one(text)
    assert not any(kept in t for _e, t in got), got
