"""Fakes and factories shipped with the package, for this project's tests and yours.

Nothing here is used by the gateway itself.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from redact_gw.model import KnownValue, Segment, Span

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("EMAIL_ADDRESS", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("US_SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("CREDIT_CARD", re.compile(r"\b(?:\d{4}[ -]?){3}\d{4}\b")),
    ("PHONE_NUMBER", re.compile(r"\b\d{3}[ -]\d{3}[ -]\d{4}\b")),
]


@dataclass
class FakeDetector:
    """Regex detector for fast tests: emails, SSNs, cards, phones and listed names."""

    names: Sequence[str] = ("John Smith", "Maria Garcia", "Rebecca Jones")
    calls: int = 0

    def warm_up(self) -> None:
        """Nothing to load."""

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """Find planted values; recurring known values are found too."""
        self.calls += 1
        out = []
        for seg in segments:
            spans: list[Span] = []
            for etype, pat in _PATTERNS:
                spans += [Span(m.start(), m.end(), etype, 0.9, "fake-" + etype.lower())
                          for m in pat.finditer(seg.text)]
            for name in [*self.names, *(k.value for k in known if k.entity_type == "PERSON")]:
                for m in re.finditer(re.escape(name), seg.text):
                    spans.append(Span(m.start(), m.end(), "PERSON", 0.85, "fake-person"))
            out.append(_non_overlapping(spans))
        return out


def _non_overlapping(spans: list[Span]) -> list[Span]:
    chosen: list[Span] = []
    for s in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if not chosen or s.start >= chosen[-1].end:
            chosen.append(s)
    return chosen


@dataclass
class FailingDetector:
    """A detector that always raises (fail-closed tests)."""

    message: str = "boom: John Smith 555-867-5309"  # PII in the message on purpose

    def warm_up(self) -> None:
        """Nothing to load."""

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """Raise."""
        raise RuntimeError(self.message)


@dataclass
class SlowDetector:
    """A detector that sleeps past any sane timeout."""

    seconds: float = 5.0

    def warm_up(self) -> None:
        """Nothing to load."""

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """Sleep, then find nothing."""
        time.sleep(self.seconds)
        return [[] for _ in segments]


@dataclass
class FakeClock:
    """A settable clock: ``clock()`` returns ``now``; ``advance(seconds)`` moves it."""

    now: float = 1_800_000_000.0
    history: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.history.append(self.now)
        self.now += seconds
