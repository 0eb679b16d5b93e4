"""The detection seam.

A detector looks at the segments of one transcript (turns, messages, fields) together,
so that an agent's question can be context for the customer's answer and a value found
once is found again where it recurs. It is synchronous and CPU-bound: the gateway only
ever calls it inside the detection executor, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from redact_gw.model import KnownValue, Segment, SegmentNer, Span


class Detector(Protocol):
    """Finds personal data in the segments of one transcript."""

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """Return, for each segment, its spans sorted by start, non-overlapping.

        Args:
            segments: The transcript's texts in order, with speaker labels.
            known: Values already tokenized in this record; each recurrence (also a
                partial one, such as a surname alone or a card's last four digits
                read aloud) must be returned as a span of the same entity type.

        Offsets are into each segment's original text: normalization is a view for
        detection, never a rewrite. Spans never cross a segment.
        """
        ...

    def warm_up(self) -> None:
        """Load models and run one detection so the first request is not slow."""
        ...


class DetectionService(Protocol):
    """How the gateway runs a detector: ``DetectionPool`` (worker processes, the
    default) or ``InlineDetection`` (a thread of the gateway: CLI, tests)."""

    @property
    def ready(self) -> bool:
        """Warm and able to take a transcript."""
        ...

    async def detect(self, segments: Sequence[Segment],
                     known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """``Detector.detect`` without blocking the event loop."""
        ...

    def status(self) -> dict[str, Any]:
        """Workers and queue, for readiness and benchmarks (never request data)."""
        ...


@runtime_checkable
class KeepsNer(Protocol):
    """A detection service that can hand back each segment's NER (``ner_memo``), so a
    caller detecting the same segments again as context (a live call) skips spaCy."""

    async def detect_keeping(self, segments: Sequence[Segment],
                             known: Sequence[KnownValue] = ()
                             ) -> tuple[list[list[Span]], list[SegmentNer | None]]:
        """``DetectionService.detect``, and per segment its NER (``None``: not kept)."""
        ...
