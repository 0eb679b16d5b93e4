"""Identifier-shaped numbers in answers are personal data, whatever their context.

On the request side the detector weighs context: "order 123-45-6789" is an order
number, a 9xx area was never issued as an SSN, 555-01xx is the fictional phone range.
An answer is written by a model, and a model that makes up a number is not to be
trusted to have made it up: in answers every SSN-shaped ``3-2-4`` number and every
NANP-shaped ``3-3-4`` number is sealed (``AnswerGuard.detect`` adds these spans to the
detector's).
"""

from __future__ import annotations

import re

from redact_gw.model import Span

RECOGNIZER = "AnswerIdentifierShape"
_SSN = re.compile(r"(?<![\w-])\d{3}([- ])\d{2}\1\d{4}(?![\w-]|[.,]\d)")
_NANP = re.compile(
    r"(?<![\w+-])(?:\+?1[-. ])?(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}(?![\w-]|[.,]\d)")


def shape_spans(text: str) -> list[Span]:
    """SSN-shaped (``US_SSN``; ``US_ITIN`` for a 9xx area) and NANP-shaped
    (``PHONE_NUMBER``) numbers of ``text``."""
    spans = []
    for m in _SSN.finditer(text):
        kind = "US_ITIN" if m.group(0).startswith("9") else "US_SSN"
        spans.append(Span(m.start(), m.end(), kind, 0.9, RECOGNIZER,
                          explanation="SSN-shaped number in an answer"))
    for m in _NANP.finditer(text):
        spans.append(Span(m.start(), m.end(), "PHONE_NUMBER", 0.9, RECOGNIZER,
                          explanation="NANP-shaped number in an answer"))
    return spans
