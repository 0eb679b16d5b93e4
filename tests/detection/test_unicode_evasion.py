"""Invisible and look-alike characters cannot hide a value (issue 16, item 4)."""

from __future__ import annotations

import pytest

from redact_gw.detection import Detector
from redact_gw.detection.normalize import normal_view
from redact_gw.model import Segment

ZW, SHY, RLO = "\u200b", "\u00ad", "\u202e"

CASES = [
    (f"My name is Ma{ZW}ria Gar{ZW}cia.", f"Ma{ZW}ria Gar{ZW}cia", "PERSON"),
    ("write to maria.garcia\uff20example.com please", "maria.garcia\uff20example.com",
     "EMAIL_ADDRESS"),
    ("write to maria.garcia\ufe6bexample.com please", "maria.garcia\ufe6bexample.com",
     "EMAIL_ADDRESS"),
    ("write to maria.garcia @ example.com please", "maria.garcia @ example.com",
     "EMAIL_ADDRESS"),
    ("write to maria.garcia[at]example[dot]com please", "maria.garcia[at]example[dot]com",
     "EMAIL_ADDRESS"),
    ("write to maria.garcia (at) example (dot) com please",
     "maria.garcia (at) example (dot) com", "EMAIL_ADDRESS"),
    (f"my IBAN is DE89{ZW}3704{ZW}0044{ZW}0532{ZW}0130{ZW}00 thanks",
     f"DE89{ZW}3704{ZW}0044{ZW}0532{ZW}0130{ZW}00", "IBAN_CODE"),
    (f"card number 4111{SHY}1111{SHY}1111{SHY}1111 ok", f"4111{SHY}1111{SHY}1111{SHY}1111",
     "CREDIT_CARD"),
    ("my social is 123\u201345\u20136789 ok", "123\u201345\u20136789", "US_SSN"),
    ("call me at 212\u2013555\u20130123 today", "212\u2013555\u20130123", "PHONE_NUMBER"),
    ("my social is \uff11\uff12\uff13-\uff14\uff15-\uff16\uff17\uff18\uff19 ok",
     "\uff11\uff12\uff13-\uff14\uff15-\uff16\uff17\uff18\uff19", "US_SSN"),
    (f"reach me at {RLO}maria.garcia@example.com", f"{RLO}maria.garcia@example.com",
     "EMAIL_ADDRESS"),
    ("card number 4\u03011111 1111 1111 111\u03011 ok", "4\u03011111 1111 1111 111\u03011",
     "CREDIT_CARD"),
]


@pytest.mark.parametrize(("text", "value", "kind"), CASES)
def test_evasions_are_found_whole(detector: Detector, text: str, value: str,
                                  kind: str) -> None:
    [spans] = detector.detect([Segment(text, "customer")])
    found = [(text[s.start:s.end], s.entity_type) for s in spans]
    assert (value, kind) in found, found


def test_the_worker_pool_path_looks_at_the_views_too(detector: Detector) -> None:
    """A worker answers a batch through ``detect_each`` (``worker.run_batch``): it finds
    every evasion as ``detect`` does, also for a live final keeping its NER."""
    from redact_gw.detection.worker import run_batch
    jobs = [(n, [Segment(text, "customer")], [], None, n % 2 == 0)
            for n, (text, _, _) in enumerate(CASES)]
    answered = 0
    for job_id, spans, _ner in run_batch(detector, jobs):
        text, value, kind = CASES[job_id]
        assert (value, kind) in [(text[s.start:s.end], s.entity_type) for s in spans[0]]
        answered += 1
    assert answered == len(CASES)


def test_accented_names_are_read_as_written(detector: Detector) -> None:
    """A written accented name is no evasion: spaCy reads it as it is written."""
    text = "Mi nombre es Jos\u00e9 Garc\u00eda y vivo en Bogot\u00e1."
    assert normal_view(text).starts is None and normal_view(text).text == text
    [spans] = detector.detect([Segment(text, "customer")])
    assert "Jos\u00e9 Garc\u00eda" in [text[s.start:s.end] for s in spans]


def test_the_view_maps_back_exactly() -> None:
    raw = f"x {RLO}Ma{ZW}ri\u0301a\uff20ex{SHY}ample\u2013com{ZW}"
    view = normal_view(raw)
    assert view.text == "x Mar\u00eda@example-com"
    start = view.text.index("Mar")
    assert raw[slice(*view.raw_span(start, len(view.text)))] == raw[2:]
    assert normal_view("plain ascii, nothing to do").starts is None


async def test_the_whole_raw_value_is_replaced(detector: Detector) -> None:
    from redact_gw.detection.normalize import detect_through_views
    text = f"I am Ma{ZW}ria Gar{ZW}cia, mail maria.garcia\uff20example.com"
    [spans] = detect_through_views(detector.detect, [Segment(text, "customer")])
    left = text
    for s in sorted(spans, key=lambda s: -s.start):
        left = left[:s.start] + "#" + left[s.end:]
    assert left == "I am #, mail #"
