"""Detection fixtures over the session-wide real detector (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from redact_gw.detection import Detector
from redact_gw.model import KnownValue, Segment, Span

Found = list[tuple[str, str]]


def found(texts: Sequence[str], spans: list[list[Span]]) -> list[Found]:
    """(entity type, covered text) per segment."""
    return [[(s.entity_type, t[s.start:s.end]) for s in seg]
            for t, seg in zip(texts, spans, strict=True)]


@pytest.fixture(scope="session")
def run(detector: Detector) -> Callable[..., list[Found]]:
    """Detect over texts (one segment each) and return (entity, text) per segment."""
    def go(*texts: str, known: Sequence[KnownValue] = (),
           speakers: Sequence[str | None] | None = None) -> list[Found]:
        who = speakers or [None] * len(texts)
        segs = [Segment(t, s) for t, s in zip(texts, who, strict=True)]
        return found(texts, detector.detect(segs, known))
    return go


@pytest.fixture(scope="session")
def one(run: Callable[..., list[Found]]) -> Callable[[str], Found]:
    """Detect over a single text."""
    return lambda text: run(text)[0]
