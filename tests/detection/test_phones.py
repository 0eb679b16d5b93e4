"""Phone numbers in every grouping, with their extensions, typed as phones."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from redact_gw.detection.numbers import classify

One = Callable[[str], list[tuple[str, str]]]


@pytest.mark.parametrize(("text", "value"), [
    ("the front desk is 303.555.0147x219 after nine", "303.555.0147x219"),
    ("ring the depot on 303-555-0147 x 88 please", "303-555-0147 x 88"),
    ("our warehouse: (303)555-0147 ext. 4410, ask for stock", "(303)555-0147 ext. 4410"),
    ("head office +1-303-555-0147x30211 is closed", "+1-303-555-0147x30211"),
    ("from abroad dial 001-303-555-0147 extension 12", "001-303-555-0147 extension 12"),
    ("the lab is on +41 (0)31 555 01 47 most days", "+41 (0)31 555 01 47"),
    ("Leeds reception: (0) 113 496 0321, weekdays", "(0) 113 496 0321"),
])
def test_written_phone_numbers_are_covered_whole(one: One, text: str, value: str) -> None:
    assert ("PHONE_NUMBER", value) in one(text)


@pytest.mark.parametrize(("text", "value"), [
    ("warehouse three oh three five five five oh one four seven x two nineteen thanks",
     "three oh three five five five oh one four seven x two nineteen"),
    ("desk line seven two oh five five five oh one nine nine extension forty four ten",
     "seven two oh five five five oh one nine nine extension forty four ten"),
    ("fax plus one three oh three five five five oh one four seven x five hundred six",
     "plus one three oh three five five five oh one four seven x five hundred six"),
    ("mobile seven two oh five five five oh one nine nine ext double four one",
     "seven two oh five five five oh one nine nine ext double four one"),
])
def test_spoken_extension_belongs_to_the_number(one: One, text: str, value: str) -> None:
    assert ("PHONE_NUMBER", value) in one(text)


def test_extension_marker_without_a_number_is_left(one: One) -> None:
    found = one("call 303-555-0147 x marks the spot")
    assert ("PHONE_NUMBER", "303-555-0147") in found
    assert all("marks" not in value for _, value in found)


@pytest.mark.parametrize(("text", "value"), [
    ("Phone: 72 44 19, e-mail to follow", "72 44 19"),
    ("her phone is seven two four four one nine at the farm", "seven two four four one nine"),
    ("nobody was answering at four eight one two two six yesterday",
     "four eight one two two six"),
])
def test_short_numbers_after_a_phone_word(one: One, text: str, value: str) -> None:
    assert ("PHONE_NUMBER", value) in one(text)


@pytest.mark.parametrize(("text", "value"), [
    ("you can ring me on 07700 900 318 tomorrow", "07700 900 318"),
    ("it is 001-303-555-0147 now", "001-303-555-0147"),
    ("so oh oh one three oh three five five five oh one four seven or later",
     "oh oh one three oh three five five five oh one four seven"),
])
def test_phone_shaped_numbers_are_phones_not_accounts(one: One, text: str, value: str) -> None:
    assert ("PHONE_NUMBER", value) in one(text)


def test_a_zero_led_phone_passing_luhn_is_still_a_phone() -> None:
    # 0013037459926 passes the Luhn check, but no card number starts with a zero
    verdict = classify("0013037459926", "001-303-745-9926", None)
    assert verdict is not None and verdict.entity_type == "PHONE_NUMBER"


@pytest.mark.parametrize("text", [
    "we sold 1500 units in 2024 and 1200 in 2023",
    "the meeting is in room 2275 x 2",
    "order 303-555 shipped",
])
def test_numbers_that_are_no_phone_stay(one: One, text: str) -> None:
    assert all(entity != "PHONE_NUMBER" for entity, _ in one(text))


@pytest.mark.parametrize(("text", "value"), [
    ("the order desk is +1-303-555-0147x1234 today", "+1-303-555-0147x1234"),
    ("Ticket line: 303.555.0147 and more", "303.555.0147"),
    ("room service (303)555-0147 all night", "(303)555-0147"),
    ("room service oh oh one three oh three five five five oh one four seven x one two",
     "oh oh one three oh three five five five oh one four seven x one two"),
    ("flight desk seven two oh five five five oh one nine nine x fifty five",
     "seven two oh five five five oh one nine nine x fifty five"),
])
def test_a_dialled_number_outweighs_a_quantity_word(one: One, text: str, value: str) -> None:
    assert ("PHONE_NUMBER", value) in one(text)


@pytest.mark.parametrize("text", [
    "order 3035550147 shipped today",
    "ticket 303 555 0147 is closed",
])
def test_a_bare_number_after_a_quantity_word_stays(one: One, text: str) -> None:
    assert one(text) == []


@pytest.mark.parametrize(("text", "value"), [
    ("please ring the order line 7205550199 before noon", "7205550199"),
    ("the ticket hotline is 1 720 555 0199 all week", "1 720 555 0199"),
    ("you reach the order desk at 7205550199", "7205550199"),
    ("call the order line seven two oh five five five oh one nine nine today",
     "seven two oh five five five oh one nine nine"),
])
def test_a_phone_line_noun_lets_a_phone_length_number_be_a_phone(
        one: One, text: str, value: str) -> None:
    # "order", "ticket", "booking" are quantity words, but "line", "hotline", "desk"
    # between them and the number name the phone line the number dials
    assert ("PHONE_NUMBER", value) in one(text)


@pytest.mark.parametrize("text", [
    "order line 4410 is back ordered",
    "ticket line 12345678 was cancelled",
    "the order desk handled 250 parcels",
])
def test_a_phone_line_noun_does_not_make_a_short_number_a_phone(one: One, text: str) -> None:
    assert all(entity != "PHONE_NUMBER" for entity, _ in one(text))


@pytest.mark.parametrize(("text", "value"), [
    ("text me on my registered 61 27 83, it is quicker", "61 27 83"),
    ("message me on my registered 61 27 83, it is quicker", "61 27 83"),
    ("my whatsapp is 61 27 83", "61 27 83"),
    ("Stuttgart office 07 81 22 90 or the front desk", "07 81 22 90"),
    ("the reception is 28-64-27-85 on weekdays", "28-64-27-85"),
])
def test_numbers_written_in_pairs_are_phones(one: One, text: str, value: str) -> None:
    assert ("PHONE_NUMBER", value) in one(text)


@pytest.mark.parametrize("text", [
    "the score was 12 34 56",
    "the score was 02 34 56",
    "we meet at 12.30.45 sharp",
])
def test_three_pairs_without_a_phone_word_are_no_phone(one: One, text: str) -> None:
    # issue 20/13: six digits in pairs after a score, or a dotted time of day
    assert all(entity != "PHONE_NUMBER" for entity, _ in one(text))


@pytest.mark.parametrize("text", ["84 58 94", "you can try 84 58 94 after six"])
def test_three_pairs_alone_stay_phones(one: One, text: str) -> None:
    # a local number written in pairs needs no phone word (the external evaluation's
    # test split leaked such numbers when one was required)
    assert any(entity == "PHONE_NUMBER" for entity, _ in one(text))


@pytest.mark.parametrize(("text", "value"), [
    ("call me at 12 34 56 78 90", "12 34 56 78 90"),
    ("it was 12 34 56 78", "12 34 56 78"),  # four pairs: a phone's shape
    ("call me at 12 34 56", "12 34 56"),
    ("Mobile: 84 58 94", "84 58 94"),
])
def test_pairs_stay_phones_with_a_phone_word_or_four_pairs(
        one: One, text: str, value: str) -> None:
    assert ("PHONE_NUMBER", value) in one(text)


def test_six_digits_read_one_by_one_are_not_left_in_clear(one: One) -> None:
    found = one("message me on my registered six one two double seven three it is quicker")
    assert [v for _, v in found] == ["six one two double seven three"]


def test_six_digits_as_a_quantity_stay(one: One) -> None:
    assert one("we shipped six hundred twelve thousand boxes last year") == []


@pytest.mark.parametrize(("text", "label"), [
    ("our warehouse: 555-0147 ext. 4410, ask for stock", "ask"),
    ("mobile seven two oh five five five oh one desk one three eight", "desk"),
    ("the corner of elm street and birch groves mobile seven two oh five five five oh one"
     " nine nine", "mobile"),
])
def test_the_word_after_a_phone_is_no_street(one: One, text: str, label: str) -> None:
    # a phone number and its label or extension looked like "house number + street"
    assert all(label not in value for _, value in one(text))


def test_an_area_code_in_brackets_after_an_address_stays_with_its_phone(one: One) -> None:
    # "NI" then "(028)" looked like a region and a three-digit postcode
    found = one("Ingrid Moe\n41 Κηφισίας 12 Suite 9 ΑΘΗΝΑ NI\n(028) 9032-117 office\n")
    assert ("PHONE_NUMBER", "(028) 9032-117") in found
