"""The messages of a live session: what comes in, parsed and checked.

In (one JSON object per WebSocket text message)::

    {"type": "partial" | "final", "segment_id": "s1", "speaker": "customer",
     "text": "my card is four one", "start": 12.3, "end": 14.0}

``speaker``, ``start`` and ``end`` are optional. A ``partial`` replaces the previous
partial of its segment (it may revise words already sent); a ``final`` closes the
segment. Out: see ``session.LiveSession``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from redact_gw.errors import InvalidInput, PayloadTooLarge
from redact_gw.transcripts.shapes import check_id

KINDS = ("partial", "final")


@dataclass(frozen=True, slots=True)
class Result:
    """One partial or final result of a segment."""

    kind: str
    segment_id: str
    text: str = field(repr=False)
    speaker: str | None = None
    start: float | None = None
    end: float | None = None


def _time(doc: dict[str, Any], name: str) -> float | None:
    value = doc.get(name)
    if value is None:
        return None
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or value < 0):
        raise InvalidInput(f"{name} must be a non-negative number of seconds",
                           details={"field": name})
    return float(value)


def parse_result(raw: str, max_chars: int) -> Result:
    """Parse one incoming message.

    Raises:
        InvalidInput: not JSON, not an object, or a field of the wrong type.
        PayloadTooLarge: ``text`` longer than ``max_chars`` (the caller closes the session).
    """
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise InvalidInput("a message must be a JSON object", details={"field": "(message)"}
                           ) from None
    if not isinstance(doc, dict):
        raise InvalidInput("a message must be a JSON object", details={"field": "(message)"})
    kind = doc.get("type")
    if kind not in KINDS:
        raise InvalidInput("type must be partial or final", details={"field": "type"})
    segment_id = check_id(doc.get("segment_id"), "segment_id", required=True)
    assert segment_id is not None
    text = doc.get("text")
    if not isinstance(text, str):
        raise InvalidInput("text must be a string", details={"field": "text"})
    speaker = doc.get("speaker")
    if speaker is not None and (not isinstance(speaker, str) or len(speaker) > 64):
        raise InvalidInput("speaker must be a string of at most 64 characters",
                           details={"field": "speaker"})
    if len(text) > max_chars:
        raise PayloadTooLarge(f"a segment may have at most {max_chars} characters",
                              code="segment_too_long")
    return Result(kind, segment_id, text, speaker, _time(doc, "start"), _time(doc, "end"))
