"""Identifier-shaped numbers, written and spoken, in context and by shape."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from redact_gw.detection.numbers import aba_ok, iban_ok, luhn_ok

One = Callable[[str], list[tuple[str, str]]]
Run = Callable[..., list[list[tuple[str, str]]]]


def test_checksums() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert aba_ok("011000015") and not aba_ok("011000016")
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST12345698765433")


@pytest.mark.parametrize(("text", "entity", "value"), [
    ("my card is four one one one one one one one one one one one one one one one",
     "CREDIT_CARD", "four one one one one one one one one one one one one one one one"),
    ("card number four one one one, double one, one one, one one one one, triple one one",
     "CREDIT_CARD", "four one one one, double one, one one, one one one one, triple one one"),
    ("my ssn is one two three, four five, six seven eight nine", "US_SSN",
     "one two three, four five, six seven eight nine"),
    ("my social is nine one two seven eight three four five six", "US_ITIN",
     "nine one two seven eight three four five six"),
    ("call me at five five five, one two three, four five six seven", "PHONE_NUMBER",
     "five five five, one two three, four five six seven"),
    ("the zip is nine oh two one oh", "ZIP_CODE", "nine oh two one oh"),
    ("routing number zero one one oh oh oh oh one five", "ROUTING_NUMBER",
     "zero one one oh oh oh oh one five"),
    ("my checking account is twenty three forty five sixty seven eighty nine", "US_BANK_NUMBER",
     "twenty three forty five sixty seven eighty nine"),
    ("my card is 4111 1111 1111 1111", "CREDIT_CARD", "4111 1111 1111 1111"),
    ("the card is 4111 one one one 1111 one one one one", "CREDIT_CARD",
     "4111 one one one 1111 one one one one"),
    ("best number is five five five uh two three four um nine nine eight seven",
     "PHONE_NUMBER", "five five five uh two three four um nine nine eight seven"),
])
def test_spoken_and_mixed_numbers(one: One, text: str, entity: str, value: str) -> None:
    assert (entity, value) in one(text)


def test_span_covers_exactly_the_value(one: One) -> None:
    text = "ok so my card is four one one one one one one one one one one one one one one one."
    ((entity, value),) = one(text)
    assert entity == "CREDIT_CARD" and value.startswith("four") and value.endswith("one")


def test_misheard_card_failing_luhn_is_still_a_card_near_card(one: One) -> None:
    assert ("CREDIT_CARD", "4111 1111 1111 1112") in one("my card number is 4111 1111 1111 1112")


def test_ssn_shaped_9xx_is_an_itin(one: One) -> None:
    assert ("US_ITIN", "912-78-4567") in one("my ssn is 912-78-4567")


def test_invalid_ssn_in_context_is_redacted(one: One) -> None:
    # Presidio's validator rejects 000 area numbers; in an SSN context we redact anyway.
    assert ("US_SSN", "000-12-3456") in one("social security number 000-12-3456")


def test_date_of_birth_spoken(one: One) -> None:
    got = one("i was born on january fifth nineteen eighty four")
    assert ("DATE_OF_BIRTH", "january fifth nineteen eighty four") in got


def test_date_of_birth_written(one: One) -> None:
    assert ("DATE_OF_BIRTH", "01/05/1984") in one("DOB: 01/05/1984")


def test_spoken_iban(one: One) -> None:
    text = ("my iban is g b eight two w e s t one two three four five six nine eight seven "
            "six five four three two")
    got = one(text)
    assert ("IBAN_CODE", text[len("my iban is "):]) in got


def test_written_iban_ip(one: One) -> None:
    got = one("IBAN GB82 WEST 1234 5698 7654 32, server 192.168.14.7")
    assert ("IBAN_CODE", "GB82 WEST 1234 5698 7654 32") in got
    assert ("IP_ADDRESS", "192.168.14.7") in got


@pytest.mark.parametrize("text", [
    "your order number is 48213390 and it shipped monday",
    "the total comes to $42.17",
    "i'll call you back in fifteen minutes",
    "ticket number six eight nine four two one has been escalated",
    "product code AB-4821 is out of stock",
    "we can offer twenty percent off the annual plan",
])
def test_pii_free_numbers_are_left_alone(one: One, text: str) -> None:
    assert one(text) == []


def test_agent_question_is_context_for_the_answer(run: Run) -> None:
    got = run("Agent: can i have your social security number",
              "Customer: sure it's one two three four five six seven eight nine",
              speakers=["agent", "customer"])
    assert got[1] == [("US_SSN", "one two three four five six seven eight nine")]


def test_written_and_spoken_share_a_normalized_value(detector: object) -> None:
    from redact_gw.model import Segment
    texts = ["card 4111 1111 1111 1111", "card four one one one one one one one one one one "
             "one one one one one"]
    spans = detector.detect([Segment(t) for t in texts])  # type: ignore[attr-defined]
    assert [s[0].normalized for s in spans] == ["4111111111111111"] * 2


@pytest.mark.parametrize(("text", "entity", "value"), [
    ("send the refund to the account ending three three nine two", "US_BANK_NUMBER",
     "three three nine two"),
    ("my member id is a b c one two three four five six", "ACCOUNT_NUMBER",
     "a b c one two three four five six"),
])
def test_partial_and_alphanumeric_ids(one: One, text: str, entity: str, value: str) -> None:
    assert one(text) == [(entity, value)]


@pytest.mark.parametrize(("text", "value"), [
    ("my iban is de89370400440532013000 thanks", "de89370400440532013000"),
    ("IBAN: Gb82 West 1234 5698 7654 32, the bank said", "Gb82 West 1234 5698 7654 32"),
])
def test_written_iban_in_any_case(one: One, text: str, value: str) -> None:
    assert ("IBAN_CODE", value) in one(text)


def test_lower_case_word_digits_failing_the_iban_checksum_are_no_iban(one: One) -> None:
    assert all(e != "IBAN_CODE" for e, _ in one("see ab12cdef34567890123 in the log"))


def test_spoken_iban_whose_bank_code_has_the_letter_o(one: One) -> None:
    # GB32 HXDO 1234 5678 9012 34: the "o" beside "one" is a letter, not a zero
    value = ("g b three two h x d o one two three four five six seven eight nine oh one "
             "two three four")
    assert ("IBAN_CODE", value) in one(f"a transfer from {value} to others")
