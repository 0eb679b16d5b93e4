"""Spoken IPv4, the "plus" of an international number, dates that are no identifiers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

One = Callable[[str], list[tuple[str, str]]]


@pytest.mark.parametrize(("text", "ip"), [
    ("my ip is one ninety two dot one sixty eight dot one dot twenty",
     "one ninety two dot one sixty eight dot one dot twenty"),
    ("try ten dot zero dot zero dot one", "ten dot zero dot zero dot one"),
])
def test_spoken_ipv4(one: One, text: str, ip: str) -> None:
    assert ("IP_ADDRESS", ip) in one(text)


def test_spoken_quad_with_an_octet_over_255_is_no_ip(one: One) -> None:
    got = one("version three hundred dot one dot one dot two")
    assert [e for e, _ in got if e == "IP_ADDRESS"] == []


def test_plus_belongs_to_the_international_number(one: One) -> None:
    got = one("you can reach me at plus four four seven nine one one one two three four five")
    assert ("PHONE_NUMBER", "plus four four seven nine one one one two three four five") in got


@pytest.mark.parametrize("text", [
    "We met on May 28 2016 10:15 AM at the office",
    "the appointment is june 3 2024 at 9:30",
])
def test_date_and_time_is_not_an_account_number(one: One, text: str) -> None:
    assert [e for e, _ in one(text) if e == "ACCOUNT_NUMBER"] == []


def test_spoken_ip_after_an_encoded_space(one: One) -> None:
    """A "%20" read aloud glues "twenty" to the first octet."""
    got = one("client ip percent twenty thirty six dot one oh six dot one seventy four dot "
              "eleven")
    assert [e for e, _ in got] == ["IP_ADDRESS"]


@pytest.mark.parametrize(("text", "ip"), [
    ("my ip is two thousand one colon d b eight colon eighty five a three colon zero "
     "colon zero colon eight a two e colon oh three seven oh colon seven three three four",
     "two thousand one colon d b eight colon eighty five a three colon zero colon zero "
     "colon eight a two e colon oh three seven oh colon seven three three four"),
    ("the server address is fe eighty c five b thirty one a eb six c ten sixteen dac six",
     "fe eighty c five b thirty one a eb six c ten sixteen dac six"),
])
def test_spoken_ipv6(one: One, text: str, ip: str) -> None:
    assert ("IP_ADDRESS", ip) in one(text)


@pytest.mark.parametrize("text", [
    "we had a bad face day with a cafe at eight and nine or ten",
    "the dead bee and a fed cab ate five bad beef at six",
    "my ip is a b c and then one two three",
])
def test_hex_words_among_numbers_are_no_ipv6(one: One, text: str) -> None:
    assert [e for e, _ in one(text) if e == "IP_ADDRESS"] == []


def test_spoken_ipv6_after_a_router_address_is_no_street(one: One) -> None:
    """"router address is" cues a network address: the hex run is no house number."""
    got = one("the router address is ab twelve c four d ninety one e two f seven")
    assert [e for e, _ in got] == ["IP_ADDRESS"]
