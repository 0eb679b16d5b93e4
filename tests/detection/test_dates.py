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
