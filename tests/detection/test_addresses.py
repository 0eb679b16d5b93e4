"""Street addresses and postcodes: Publication 28 suffixes, streets without a suffix,
units, boxes, the rest of the address on following lines, spoken numbers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

One = Callable[[str], list[tuple[str, str]]]


def _kinds(found: list[tuple[str, str]], entity: str) -> list[str]:
    return [text for e, text in found if e == entity]


@pytest.mark.parametrize(("text", "address"), [
    ("send it to 4410 Larkspur Xing please", "4410 Larkspur Xing"),
    ("the office moved to 77 Quarry Hollow last year", "77 Quarry Hollow"),
    ("it's 1190 N Cedar Trce, Unit 7", "1190 N Cedar Trce, Unit 7"),
])
def test_publication_28_suffixes_and_units(one: One, text: str, address: str) -> None:
    assert ("ADDRESS", address) in one(text)


def test_street_without_suffix_after_an_address_cue(one: One) -> None:
    assert ("ADDRESS", "882 Vesterbrogade 31") in one("my address is 882 Vesterbrogade 31")


@pytest.mark.parametrize("text", [
    "Ship it to Anna Moser, Via Franscini 71, 6500 Bellinzona. I loved Split 21000 in May.",
    "Send it to Via Franscini 71, 6500 Bellinzona. Thanks a lot 21000 times",
    # a place before the period ends the sentence whatever word comes next
    "Ship it to Anna Moser, Via Franscini 71, 6500 Bellinzona. Paul loved Split 21000.",
    # a street with a suffix ran past the period the same way
    "Ship it to Via Franscini 71, 6500 Bellinzona. I loved Church Road in Zurich.",
    "Ship to Via Franscini 71, 6500 Bellinzona. Thanks Church Road shop, Zurich",
])
def test_a_street_ends_at_its_sentence(one: One, text: str) -> None:
    # a street ran on past the period ("6500 Bellinzona. I loved Split 21000"),
    # outgrew the whole address line and left "Via Franscini" in clear
    got = _kinds(one(text), "ADDRESS")
    assert got[0] == "Via Franscini 71, 6500 Bellinzona"
    assert not any("." in a for a in got)


def test_a_sentence_opener_ends_the_street_after_a_small_town(one: One) -> None:
    # "Sonogno" is no known place nor a common word: "I" says the sentence ended
    text = "Ship it to Anna Moser, Via Cantonale 12, 6637 Sonogno. I loved Split 21000 in May."
    found = one(text)
    assert _clear(text, found, "Via Cantonale 12, 6637 Sonogno") == ""
    assert not any("." in a for a in _kinds(found, "ADDRESS"))


def test_an_abbreviation_in_a_street_name_is_no_sentence_end(one: One) -> None:
    assert ("ADDRESS", "12 St. Mary Close 4") in one("deliver to 12 St. Mary Close 4")


def _clear(text: str, found: list[tuple[str, str]], value: str) -> str:
    """The letters and digits of ``value`` (inside ``text``) that no span covers."""
    covered, pos = [False] * len(text), 0
    for _entity, piece in found:
        a = text.index(piece, pos)
        covered[a:a + len(piece)] = [True] * len(piece)
        pos = a + len(piece)
    at = text.index(value)
    return "".join(c for i, c in enumerate(value) if c.isalnum() and not covered[at + i])


@pytest.mark.parametrize(("text", "street"), [
    # Spanish "avenida" and "carretera" abbreviated: no place, no common word
    ("Send it to 870 Avda. Alameda Sundheim 46 Suite 610, Blaketown",
     "870 Avda. Alameda Sundheim 46 Suite 610"),
    ("Paulette Dupuis\n845 Crta. Cádiz-Málaga 82\nSuite 824\nla Pobla Tornesa\nSpain 22764",
     "845 Crta. Cádiz-Málaga 82"),
])
def test_a_dotted_abbreviation_is_no_sentence_end(one: One, text: str, street: str) -> None:
    # read as a sentence end, the street was dropped and its house number left in clear
    assert _clear(text, one(text), street) == ""


def test_whole_address_block_is_covered(one: One) -> None:
    text = "Ship to:\n58 Tamarack Crescent\n Suite 12\n Halifax, NS B3H 4R2"
    got = one(text)
    assert _kinds(got, "ADDRESS")[:2] == ["58 Tamarack Crescent", "Suite 12"]
    covered = " ".join(t for _e, t in got)
    assert all(part in covered for part in ("Halifax", "NS", "B3H 4R2"))


def test_po_box_and_military_address(one: One) -> None:
    assert ("ADDRESS", "PO Box 4417") in one("mail it to PO Box 4417 instead")
    assert ("ADDRESS", "PSC 4120, Box 88, APO AE 09012") in one(
        "forward to PSC 4120, Box 88, APO AE 09012 thanks")


def test_spoken_house_number_street_and_zip_are_one_span(one: One) -> None:
    text = "i live at twelve thirty four birchwood avenue denver co eight oh two one oh"
    assert ("ADDRESS", "twelve thirty four birchwood avenue denver co eight oh two one oh") \
        in one(text)


@pytest.mark.parametrize(("text", "code"), [
    ("the postcode is SW1A 2AA", "SW1A 2AA"),
    ("Ottawa, ON K1P 5J2", "K1P 5J2"),
    ("Austin, TX 78701-4432", "TX 78701-4432"),
])
def test_postcodes(one: One, text: str, code: str) -> None:
    assert code in " ".join(t for _e, t in one(text))


@pytest.mark.parametrize("text", [
    "there were 5 people in the park",
    "i waited 20 minutes for the bus",
    "we have 3 kids 2 dogs and a cat",
    "I can't reach the host, keep getting address 10.20.30.40 blocked",
    # a departure verb after a train's number: "to" is no address cue for it
    "train to Solothurn 4501 departs",
    "my address is 45 km Kowalski",
])
def test_numbers_before_words_are_not_addresses(one: One, text: str) -> None:
    assert _kinds(one(text), "ADDRESS") == []


@pytest.mark.parametrize(("text", "ip"), [("ping 203.0.113.77", "203.0.113.77"),
                                          ("Ping 198.51.100.23.", "198.51.100.23")])
def test_a_dotted_number_after_a_word_is_no_house_number(one: One, text: str,
                                                         ip: str) -> None:
    """A rare word before an IPv4 is no street name: the IP stays whole."""
    got = one(text)
    assert ("IP_ADDRESS", ip) in got
    assert _kinds(got, "ADDRESS") == []
