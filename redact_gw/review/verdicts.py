"""Pure helpers of the "missed personal data" verdict on an opened review copy.

A copy has ``segments`` (what went upstream, tokenized) and, for proxied calls, an
``answer`` (what came back, tokenized). A value missed in a segment was the caller's:
it is sealed in the record, like the request's values. A value missed in the answer
that the caller never sent (it is in no segment) is sealed in the record's
``~answers`` sibling, where the answer scan seals what it finds: never restored into
a caller's answer.
"""

from __future__ import annotations

import re
from typing import Any

from redact_gw.errors import InvalidInput
from redact_gw.review.answer import ANSWERS, CALLER
from redact_gw.streaming.guard import answer_record_id
from redact_gw.tokens import TOKEN_RE

MAX_SELECTION = 200
PARTS = ("segments", "answer")


def selected(doc: dict[str, Any], part: str, segment: int, start: int, end: int) -> str:
    """The text a reviewer selected; ``InvalidInput`` unless it lies inside one segment
    (or the answer), is at most ``MAX_SELECTION`` characters and touches no token."""
    if part == "answer":
        if not doc.get("answer"):
            raise InvalidInput("this item has no answer", details={"field": "part"})
        text: str = doc["answer"]
    elif part == "segments":
        segs = doc["segments"]
        if not (0 <= segment < len(segs)):
            raise InvalidInput("no such segment", details={"field": "segment"})
        text = segs[segment]["text"]
    else:
        raise InvalidInput("part must be segments or answer", details={"field": "part"})
    if not (0 <= start < end <= len(text)) or end - start > MAX_SELECTION:
        raise InvalidInput("the selection must lie inside the segment and be at most"
                           f" {MAX_SELECTION} characters", details={"field": "start"})
    value = text[start:end]
    if not value.strip() or TOKEN_RE.search(value) or any(
            m.start() < end and start < m.end() for m in TOKEN_RE.finditer(text)):
        raise InvalidInput("select text that is not (part of) a token",
                           details={"field": "start"})
    return value


def whole_word(value: str) -> re.Pattern[str]:
    """Whole-word occurrences of ``value``."""
    return re.compile(r"(?<!\w)" + re.escape(value) + r"(?!\w)")


def callers_value(doc: dict[str, Any], part: str, value: str) -> bool:
    """Whether the missed value is the caller's (selected in, or also in, a segment)."""
    if part == "segments":
        return True
    same = whole_word(value)
    return any(same.search(s["text"]) for s in doc["segments"])


def seal_in_copy(doc: dict[str, Any], part: str, segment: int, start: int, end: int,
                 token: str, entity_type: str, *, callers: bool) -> dict[str, Any]:
    """Put ``token`` in place of the selection and of the value's other whole-word
    occurrences (the segments and the answer for a caller's value, the answer only
    otherwise); add the reviewer's entity. Returns the regression case (sealed by the
    caller)."""
    text = doc["answer"] if part == "answer" else doc["segments"][segment]["text"]
    value = text[start:end]
    case = {"segment": text, "start": start, "end": end, "entity_type": entity_type,
            "part": part}
    replaced = text[:start] + token + text[end:]
    if part == "answer":
        doc["answer"] = replaced
    else:
        doc["segments"][segment]["text"] = replaced
    same = whole_word(value)
    if callers:
        for s in doc["segments"]:
            s["text"] = same.sub(token, s["text"])
    if doc.get("answer"):
        doc["answer"] = same.sub(token, doc["answer"])
    location: dict[str, Any] = ({"answer": True, "record": CALLER if callers else ANSWERS}
                                if part == "answer" else {"segment": segment})
    doc["entities"].append({"token": token, "entity_type": entity_type, "score": 1.0,
                            "recognizer": "reviewer", "location": location,
                            "explanation": "marked as missed by a reviewer"})
    return case


def entity_record(record_id: str, entity: dict[str, Any]) -> str:
    """The record an entity's value is sealed in: the item's, or its ``~answers``
    sibling for a value found in the answer that the caller never sent."""
    location = entity.get("location")
    if isinstance(location, dict) and location.get("record") == ANSWERS:
        return answer_record_id(record_id)
    return record_id
