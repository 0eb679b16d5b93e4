"""One loaded model used from two threads at once gives each thread its own answer.

spaCy's memory zone frees every string added while it is open, whoever added it, so two
overlapping detections on one engine used to fail with ``KeyError`` (E018) or read freed
strings. An in-process gateway whose last detection still runs when the next app starts
(tests do this with one shared detector) hits exactly that.
"""

from __future__ import annotations

import threading

from redact_gw.detection.base import Detector
from redact_gw.model import Segment

_TEXTS = [
    "hi this is maria kowalski calling from 14 Hill Street in Leeds",
    "my card is 4111 1111 1111 1111 and my email is jo.smith@example.org",
    "Please call Priya Natarajan on 020 7946 0958 about the Denver office",
    "the account holder is Tomasz Wiśniewski born 3 March 1984",
]


def test_overlapping_detections_on_one_model_each_get_their_own_answer(
        detector: Detector) -> None:
    expected = {t: detector.detect([Segment(t)]) for t in _TEXTS}
    errors: list[BaseException] = []
    wrong: list[str] = []
    start = threading.Barrier(2)

    def run(offset: int) -> None:
        start.wait()
        try:
            for k in range(40):
                text = _TEXTS[(k + offset) % len(_TEXTS)]
                if detector.detect([Segment(text)]) != expected[text]:
                    wrong.append(text)
        except BaseException as exc:  # any failure is the finding
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert not wrong
