"""``InlineDetection``: a detector run in a thread of the gateway's own process.

For the CLI, tests and very small deployments (``detection.in_process: true``). The
event loop never runs the detector, but the detector shares the process (and its
GIL) with it; ``DetectionPool`` is the production default.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

from redact_gw.detection.base import Detector
from redact_gw.detection.scoped import detector_for, override_var
from redact_gw.model import KnownValue, Segment, SegmentNer, Span


class InlineDetection:
    """Runs ``detector.detect`` in ``executor``."""

    def __init__(self, detector: Detector, executor: Executor) -> None:
        """Wrap a loaded, warmed detector and the executor to run it in."""
        self.detector = detector
        self.executor = executor

    @property
    def ready(self) -> bool:
        """Always: the detector was warmed before this was made."""
        return True

    async def detect(self, segments: Sequence[Segment],
                     known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """Detect in the executor."""
        loop = asyncio.get_running_loop()
        detector = detector_for(self.detector, override_var.get())
        return await loop.run_in_executor(self.executor, detector.detect,
                                          list(segments), list(known))

    async def detect_keeping(self, segments: Sequence[Segment],
                             known: Sequence[KnownValue] = ()
                             ) -> tuple[list[list[Span]], list[SegmentNer | None]]:
        """``detect``, and each segment's NER to keep, when the detector hands it back
        (``ner_memo``; else ``None`` each)."""
        detector = detector_for(self.detector, override_var.get())
        keeping = getattr(detector, "detect_keeping", None)
        if keeping is None:
            return await self.detect(segments, known), [None] * len(segments)
        loop = asyncio.get_running_loop()
        found: tuple[list[list[Span]], list[SegmentNer | None]] = await loop.run_in_executor(
            self.executor, keeping, list(segments), list(known))
        return found

    def status(self) -> dict[str, Any]:
        """One in-process worker, no queue of its own."""
        return {"workers": [{"index": 0, "pid": os.getpid(), "warm": True,
                             "in_process": True}], "queue": 0, "restarts": 0}
