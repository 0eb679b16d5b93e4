"""The arithmetic of the external evaluation: leaks, precision, over-redaction.

A *gold value* leaks ("leak-any") when at least one of its letters or digits is outside
every predicted span, whatever the predicted type: the AI service would read it. It
leaks fully ("leak-full") when none of its letters or digits is inside a predicted span.
Gold values without a letter or digit are not counted.

*Precision* is the share of predicted spans that overlap some gold value (of any label,
also labels not scored here, such as organizations). *Non-PII tokens replaced* is the
share of word tokens (``\\w+``) outside every gold value that overlap a predicted span.
A *PII-free sentence* has no gold value at all; it is *flagged* when any span is
predicted in it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

_TOKEN = re.compile(r"\w+")

#: presidio-evaluator's labels -> the entity type the gateway is scored on. Labels not
#: listed (ORGANIZATION, TITLE, AGE, JUNK) are not personal data for this gateway's
#: policy: they are not scored, and their words do not count as non-PII words either.
LABELS: Mapping[str, str] = {
    "PERSON": "PERSON",
    "STREET_ADDRESS": "ADDRESS",
    "ZIP_CODE": "ZIP_CODE",
    "GPE": "LOCATION",
    "LOCATION": "LOCATION",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "CREDIT_CARD": "CREDIT_CARD",
    "US_SSN": "US_SSN",
    "IBAN_CODE": "IBAN_CODE",
    "IP_ADDRESS": "IP_ADDRESS",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
    "DATE_TIME": "DATE_TIME",
    "NRP": "NRP",
    "DOMAIN_NAME": "URL",
}


@dataclass(frozen=True, slots=True)
class Labeled:
    """A gold value in a rendered sentence: character range and scored type."""

    start: int
    end: int
    entity: str | None  # None: labeled but not scored (organization, title, age...)


@dataclass(slots=True)
class Cell:
    """Gold values of one type and how many leaked."""

    values: int = 0
    leak_any: int = 0
    leak_full: int = 0


@dataclass(slots=True)
class Tally:
    """All counts for one system on one source and rendering."""

    cells: dict[str, Cell] = field(default_factory=lambda: defaultdict(Cell))
    spans: int = 0
    spans_on_gold: int = 0
    tokens: int = 0
    tokens_replaced: int = 0
    pii_free: int = 0
    pii_free_flagged: int = 0
    sentences: int = 0


def coverage(length: int, spans: Iterable[tuple[int, int]]) -> bytearray:
    """One byte per character: 1 where some predicted span covers it."""
    mask = bytearray(length)
    for start, end in spans:
        mask[start:end] = b"\x01" * (end - start)
    return mask


def leak(text: str, start: int, end: int, mask: bytearray) -> tuple[bool, bool] | None:
    """``(leak_any, leak_full)`` of ``text[start:end]``; ``None`` if it has no alnum."""
    covered = [mask[i] for i in range(start, end) if text[i].isalnum()]
    if not covered:
        return None
    return not all(covered), not any(covered)


def score(text: str, gold: Sequence[Labeled], predicted: Sequence[tuple[int, int]],
          tally: Tally) -> list[tuple[Labeled, bool]]:
    """Add one sentence to ``tally``; return each scored gold value with leak-any."""
    mask = coverage(len(text), predicted)
    tally.sentences += 1
    leaks = []
    for g in gold:
        if g.entity is None:
            continue
        result = leak(text, g.start, g.end, mask)
        if result is None:
            continue
        cell = tally.cells[g.entity]
        cell.values += 1
        cell.leak_any += result[0]
        cell.leak_full += result[1]
        leaks.append((g, result[0]))
    for start, end in predicted:
        tally.spans += 1
        tally.spans_on_gold += any(start < g.end and g.start < end for g in gold)
    for tok in _TOKEN.finditer(text):
        if any(tok.start() < g.end and g.start < tok.end() for g in gold):
            continue
        tally.tokens += 1
        tally.tokens_replaced += any(mask[tok.start():tok.end()])
    if not gold:
        tally.pii_free += 1
        tally.pii_free_flagged += bool(predicted)
    return leaks


def pooled(tally: Tally, entities: Iterable[str]) -> Cell:
    """The cells of ``entities`` added up."""
    out = Cell()
    for e in entities:
        c = tally.cells.get(e)
        if c:
            out.values += c.values
            out.leak_any += c.leak_any
            out.leak_full += c.leak_full
    return out


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` or ``None`` when there is nothing to divide."""
    return part / whole if whole else None
