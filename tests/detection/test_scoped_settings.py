"""Scoped settings (``detection/scoped.py``) on the real detector: a disabled type is
gone, in a worker process too, and an override that names no type changes nothing
else (DATE_TIME and URL keep their low score, not opted in)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from redact_gw.detection import Detector
from redact_gw.detection.pool import DetectionPool
from redact_gw.detection.presidio_detector import PresidioDetector
from redact_gw.detection.scoped import Override, detector_for, override_var
from redact_gw.errors import ConfigError
from redact_gw.model import Segment
from redact_gw.review.replay import parse
from redact_gw.settings import DetectionSettings

LINES = [
    "Customer: I am John Smith, the meeting was on Tuesday 5 March 2024, see www.example.com.",
    "customer: my email is maria.garcia@example.com and my number is 415-555-0199",
    "agent: we will call you back tomorrow at 3pm, or check https://status.example.org/x",
    "customer: its rebecca jones card four one one one one one one one one one one one"
    " one one one one",
    "customer: i was born on march fourth nineteen eighty and i live in Boston",
    "customer: 12 Oak Street, Springfield, IL 62704; visit example.net on 2024-05-01",
    "agent: your appointment is next Monday at 10:30, the form is at http://forms.example.com",
    "customer: my ssn is 078-05-1120, send it to john.smith at gmail dot com",
]
TRANSCRIPTS = [[Segment(line, "customer")] for line in LINES]


def _types(results: list[list[list[Any]]]) -> set[str]:
    """Entity types found in the results of several transcripts."""
    return {s.entity_type for spans in results for seg in spans for s in seg}


@pytest.mark.parametrize("override", [
    Override.of({"CRYPTO": 0.4, "IBAN_CODE": 0.4}, 0.4, set()),  # thresholds as they are
    Override.of({}, None, {"CRYPTO"}),  # a type none of the lines holds
], ids=["thresholds", "disable-absent-type"])
def test_an_override_that_changes_nothing_gives_identical_spans(
        detector: Detector, override: Override) -> None:
    scoped = detector_for(detector, override)
    assert scoped is not detector
    want = [detector.detect(t) for t in TRANSCRIPTS]
    assert [scoped.detect(t) for t in TRANSCRIPTS] == want
    assert not _types(want) & {"DATE_TIME", "URL"}  # dates and URLs stay in the clear
    assert {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"} <= _types(want)


def test_scoped_settings_equal_a_detector_built_with_them(detector: Detector) -> None:
    """``with_settings`` derives what ``__init__`` derives (shared model, no reload)."""
    assert isinstance(detector, PresidioDetector)
    for base in (detector.settings, detector.settings.model_copy(update={
            "entities": ["PERSON", "EMAIL_ADDRESS", "DATE_TIME", "URL"]})):
        built = PresidioDetector(base, analyzer=detector.analyzer)
        scoped = detector.with_settings(base)
        assert scoped.analyzer is detector.analyzer
        assert [scoped.detect(t) for t in TRANSCRIPTS] == [built.detect(t)
                                                          for t in TRANSCRIPTS]
    named = detector.with_settings(base)  # DATE_TIME and URL named: opted in
    assert {"DATE_TIME", "URL"} <= _types([named.detect(t) for t in TRANSCRIPTS])
    with pytest.raises(ConfigError):
        detector.with_settings(detector.settings.model_copy(update={"language": "de"}))


def test_a_previewed_disable_changes_only_that_type(detector: Detector) -> None:
    """The preview's detector (``Proposal.settings``) opts nothing in either."""
    assert isinstance(detector, PresidioDetector)
    want = [detector.detect(t) for t in TRANSCRIPTS]
    absent = parse({"entities": {"CRYPTO": "disable"}}).settings(detector.settings)
    preview = PresidioDetector(absent, analyzer=detector.analyzer)
    assert [preview.detect(t) for t in TRANSCRIPTS] == want
    no_person = parse({"entities": {"PERSON": "disable"}}).settings(detector.settings)
    preview = PresidioDetector(no_person, analyzer=detector.analyzer)
    assert _types([preview.detect(t) for t in TRANSCRIPTS]) == _types(want) - {"PERSON"}


async def test_a_disabled_type_is_not_detected_in_a_worker(detector: Detector) -> None:
    pool = DetectionPool(DetectionSettings(), workers=1,
                         factory="redact_gw.detection:build_detector")
    await pool.start()
    try:
        assert await pool.wait_warm(120)
        plain = await asyncio.gather(*(pool.detect(t) for t in TRANSCRIPTS))
        assert plain == [detector.detect(t) for t in TRANSCRIPTS]
        token = override_var.set(Override.of({}, None, {"EMAIL_ADDRESS", "PERSON"}))
        try:
            scoped = await asyncio.gather(*(pool.detect(t) for t in TRANSCRIPTS))
        finally:
            override_var.reset(token)
        assert {"EMAIL_ADDRESS", "PERSON"} <= _types(plain)
        assert _types(scoped) == (
            _types(plain) - {"EMAIL_ADDRESS", "PERSON"})
        # every other span stays (a value they hid may now show: "garcia" a place)
        for before, after in zip(plain, scoped, strict=True):
            for was, now in zip(before, after, strict=True):
                assert {s for s in was if s.entity_type not in {"EMAIL_ADDRESS", "PERSON"}
                        } <= set(now)
    finally:
        await pool.close()
