"""Whole transcripts: recurrences, known values, partial repeats, span invariants."""

from __future__ import annotations

import re
from collections.abc import Callable

from redact_gw.detection import Detector
from redact_gw.model import KnownValue, Segment

Run = Callable[..., list[list[tuple[str, str]]]]

CALL = [
    Segment("Agent: thank you for calling, who am i speaking with", "agent"),
    Segment("Customer: it's dmitri fairbanks", "customer"),
    Segment("Agent: thanks mr fairbanks, can i have the card number", "agent"),
    Segment("Customer: four one one one one one one one one one one one one four four seven "
            "one", "customer"),
    Segment("Agent: and the email on file", "agent"),
    Segment("Customer: dmitri dot fairbanks at gmail dot com", "customer"),
    Segment("Agent: great, i'll charge the card ending in four four seven one, fairbanks", "agent"),
]


def test_a_value_caught_once_is_caught_where_it_recurs(detector: Detector) -> None:
    spans = detector.detect(CALL)
    got = [[(s.entity_type, seg.text[s.start:s.end]) for s in ss]
           for seg, ss in zip(CALL, spans, strict=True)]
    assert ("PERSON", "fairbanks") in got[2]
    assert got[3][0][0] == "CREDIT_CARD"
    assert ("CREDIT_CARD", "four four seven one") in got[6]
    assert ("PERSON", "fairbanks") in got[6]
    assert got[5] == [("EMAIL_ADDRESS", "dmitri dot fairbanks at gmail dot com")]


def test_known_values_recur_also_partially(run: Run) -> None:
    known = [KnownValue("PERSON", "Marta Kowalczyk"), KnownValue("CREDIT_CARD", "4111111111114471"),
             KnownValue("PHONE_NUMBER", "+1 (415) 555-0199")]
    got = run("so kowalczyk said the card ending in four four seven one was declined",
              "call her on 415 555 0199", known=known)
    assert ("PERSON", "kowalczyk") in got[0]
    assert ("CREDIT_CARD", "four four seven one") in got[0]
    assert got[1][0][1] == "415 555 0199"


def test_spans_are_sorted_non_overlapping_and_well_named(detector: Detector) -> None:
    for seg, spans in zip(CALL, detector.detect(CALL), strict=True):
        ends = -1
        for s in spans:
            assert s.start >= ends and s.start < s.end <= len(seg.text)
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", s.entity_type)
            assert 0 <= s.score <= 1 and s.recognizer and s.explanation
            value = seg.text[s.start:s.end]
            assert value.lower() not in (s.explanation or "").lower()
            ends = s.end


def test_empty_input(detector: Detector) -> None:
    assert detector.detect([]) == []
    assert detector.detect([Segment(""), Segment("\n\n")]) == [[], []]


def test_a_known_phrase_is_covered_whole_after_letters_that_lower_case_longer(run: Run) -> None:
    # "İ".lower() is two characters: offsets found in the lower-cased text were used in
    # the original one, so the span slid right and left the phrase's start in clear
    known = [KnownValue("ADDRESS", "old mill lane cottage")]
    for text in ("İİİİİİİİİİ we met at old mill lane cottage yesterday",
                 "İstanbul, then old mill lane cottage"):
        got = run(text, known=known)[0]
        assert ("ADDRESS", "old mill lane cottage") in got, got
