"""The line gates before Presidio's pattern recognizers skip work, never a value.

Each gate must pass on every line its recognizer finds something in: checked against
the recognizers themselves, on their own kinds of values and on random lines of
digits, letters and separators.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from presidio_analyzer import EntityRecognizer

from redact_gw.detection import entities as E
from redact_gw.detection.engine import transcript_registry
from redact_gw.detection.pattern_gates import MIN_DIGITS, NEEDS, possible

RECOGNIZERS: dict[str, EntityRecognizer] = {
    r.supported_entities[0]: r for r in transcript_registry("en")}

VALUES = [
    "card 4111 1111 1111 1111 ok", "card 4111-1111-1111-1111", "5500000000000004",
    "ssn 078-05-1120 thanks", "ssn 078 05 1120", "ssn 078051120", "53690-4399",
    "itin 912-70-1234", "itin 912701234", "account 12345678 please", "passport A12345678",
    "iban DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432",
    "wallet 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "ip 192.168.0.1", "ip ::ffff:10.0.0.1",
    "ip 2001:db8::8a2e:370:7334", "ip ::", "mac 00:1A:2B:3C:4D:5E", "mac 001a.2b3c.4d5e",
    "call me at 212-555-0134", "phone +44 20 7946 0958", "mail john.smith@example.com",
    "see www.example.com/page", "https://example.org",
]


def _finds(entity: str, line: str) -> bool:
    return bool(RECOGNIZERS[entity].analyze(line, [entity], None))  # type: ignore[arg-type]


def test_every_presidio_pattern_entity_has_a_gate() -> None:
    assert set(RECOGNIZERS) == set(NEEDS)


@pytest.mark.parametrize("line", VALUES)
def test_a_line_a_recognizer_matches_always_passes_its_gate(line: str) -> None:
    matched = [e for e in RECOGNIZERS if _finds(e, line)]
    assert matched, f"no recognizer matches the sample {line!r}"
    assert set(matched) <= set(possible(line, list(RECOGNIZERS)))


def test_ordinary_lines_run_few_recognizers() -> None:
    assert possible("I was born in 1984 and moved here in 2003", list(NEEDS)) == [
        E.PHONE_NUMBER]
    assert possible("my order is 12 boxes at 3 dollars", list(NEEDS)) == []
    assert possible("pay 10.25 by 4.30 on the 12th", list(NEEDS)) == [
        E.PHONE_NUMBER, E.IP_ADDRESS]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789 -.:/ABCDEFabcxyz@", min_size=4, max_size=48))
def test_random_lines_never_lose_a_match(line: str) -> None:
    gated = set(possible(line, list(RECOGNIZERS)))
    for entity in RECOGNIZERS:
        if entity not in gated:
            assert not _finds(entity, line), (entity, line)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VALUES), st.sampled_from(sorted(MIN_DIGITS)), st.data())
def test_a_test_is_false_under_its_digit_minimum(line: str, entity: str,
                                                  data: st.DataObject) -> None:
    # ``possible`` skips a test when the line has fewer digits than MIN_DIGITS: that
    # skip is exact only if the test itself says no there, whatever the line
    fewer = data.draw(st.integers(0, MIN_DIGITS[entity] - 1))
    assert not NEEDS[entity](line, fewer)
    assert not NEEDS[entity]("4" * 40 + " DE89 1BoatSLRHtKNngkd 212-555-0134", fewer)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="abcdefxyz ABF019.:-@/_'\u0661", max_size=40))
def test_possible_is_every_test_run_in_full(line: str) -> None:
    # the digit minimums and the one scan of digit-free lines skip tests, never a type
    ndigits = sum(ch.isdigit() for ch in line)
    everything = sorted(NEEDS)
    assert possible(line, everything) == [e for e in everything if NEEDS[e](line, ndigits)]
