"""Dates: birth dates always, other dates only when DATE_TIME is named in
``detection.entities``, and date digits never typed as an account number."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from redact_gw.detection import Detector
from redact_gw.detection.entities import ENTITY_DESCRIPTIONS
from redact_gw.detection.presidio_detector import PresidioDetector
from redact_gw.model import Segment
from redact_gw.settings import DetectionSettings

One = Callable[[str], list[tuple[str, str]]]


@pytest.fixture(scope="module")
def opted_in(detector: Detector) -> One:
    assert isinstance(detector, PresidioDetector)
    det = PresidioDetector(DetectionSettings(entities=sorted(ENTITY_DESCRIPTIONS)),
                           analyzer=detector.analyzer)

    def go(text: str) -> list[tuple[str, str]]:
        return [(s.entity_type, text[s.start:s.end])
                for s in det.detect([Segment(text, None)])[0]]
    return go


@pytest.mark.parametrize("text", [
    "my appointment is on march fourth twenty twenty five",
    "see you on 03/04/2025 then",
])
def test_other_dates_are_left_by_default(one: One, text: str) -> None:
    assert one(text) == []


@pytest.mark.parametrize(("text", "date"), [
    ("my appointment is on march fourth twenty twenty five",
     "march fourth twenty twenty five"),
    ("see you on 03/04/2025 then", "03/04/2025"),
    ("We met on May 28 2016 10:15 AM", "May 28 2016 10:15 AM"),
])
def test_opted_in_dates_are_redacted(opted_in: One, text: str, date: str) -> None:
    assert ("DATE_TIME", date) in opted_in(text)


@pytest.mark.parametrize(("text", "kept"), [
    ("card 4111 1111 1111 1111 please", ("CREDIT_CARD", "4111 1111 1111 1111")),
    ("ship to 1200 Elm Street 2024", ("ADDRESS", "1200 Elm Street 2024")),
])
def test_opted_in_dates_do_not_split_cards_or_addresses(opted_in: One, text: str,
                                                       kept: tuple[str, str]) -> None:
    assert opted_in(text) == [kept]


def test_birth_dates_stay_on(one: One) -> None:
    assert ("DATE_OF_BIRTH", "1984") in one("I was born in 1984")


@pytest.mark.parametrize(("text", "date"), [
    ("Logged: 2019-06-30 07:45:12.5501 by the system", "2019-06-30 07:45:12.5501"),
    ("we have been open since 11/9/1951", "11/9/1951"),
    ("the treaty of nineteen forty seven was signed", "nineteen forty seven"),
    ("a nineteen ninety nine model with low miles", "nineteen ninety nine"),
    ("we moved here in two thousand nine", "two thousand nine"),
    ("the meeting is on october twenty first at ten", "october twenty first"),
    ("date may ninth twenty twenty three eleven fifteen name",
     "may ninth twenty twenty three eleven fifteen"),
])
def test_opted_in_dates_are_one_span(opted_in: One, text: str, date: str) -> None:
    """The whole date or timestamp, never its seconds as an identifier."""
    got = opted_in(text)
    assert ("DATE_TIME", date) in got
    assert [e for e, _ in got if e in ("ACCOUNT_NUMBER", "PHONE_NUMBER")] == []


@pytest.mark.parametrize("text", [
    "Logged: 2019-06-30 07:45:12.5501 by the system",
    "a nineteen ninety nine model with low miles",
])
def test_these_dates_are_still_left_by_default(one: One, text: str) -> None:
    assert one(text) == []


@pytest.mark.parametrize("text", [
    "version 1.2.3 of the app",
    "it may rain in may",
    "a total of two thousand ten people came",
])
def test_no_date_where_there_is_none(opted_in: One, text: str) -> None:
    assert [e for e, _ in opted_in(text) if e == "DATE_TIME"] == []


def test_written_birth_date_is_always_redacted(one: One) -> None:
    assert ("DATE_OF_BIRTH", "11/9/1951") in one("my date of birth is 11/9/1951")


@pytest.mark.parametrize("text", [
    "the band has been arguing about it for years",
    "we spoke last night and again this morning",
])
def test_vague_times_are_no_dates_even_opted_in(opted_in: One, text: str) -> None:
    assert [e for e, _ in opted_in(text) if e == "DATE_TIME"] == []


@pytest.mark.parametrize(("text", "url"), [
    ("just posted it on www dot harbourkites dot co dot nz", "www dot harbourkites dot co dot nz"),
    ("my website is loomandlathe dot ch thanks", "loomandlathe dot ch"),
])
def test_opted_in_spoken_web_address(opted_in: One, text: str, url: str) -> None:
    assert ("URL", url) in opted_in(text)


@pytest.mark.parametrize("text", [
    "version two dot oh is out",
    "email me at ana dot lopez at mailbox dot org",
])
def test_no_web_address_where_there_is_none(opted_in: One, text: str) -> None:
    assert [e for e, _ in opted_in(text) if e == "URL"] == []


def test_spoken_web_address_left_by_default(one: One) -> None:
    assert one("my website is loomandlathe dot ch thanks") == []
