"""Parsing and serializing the three transcript shapes."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from redact_gw.errors import InvalidInput, PayloadTooLarge
from redact_gw.jsonpaths import Path, format_path, set_at
from redact_gw.model import Segment

Shape = Literal["text", "turns", "messages"]
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")


@dataclass(frozen=True, slots=True)
class SegmentRef:
    """A segment and where it sits in the document."""

    path: Path
    segment: Segment

    @property
    def location(self) -> dict[str, Any]:
        """Index fields for the response: ``turn``/``message``/``part`` as they apply."""
        loc: dict[str, Any] = {"path": format_path(self.path)}
        if self.path and self.path[0] in ("turns", "messages"):
            loc[str(self.path[0])[:-1]] = self.path[1]
            if len(self.path) > 3 and isinstance(self.path[3], int):
                loc["part"] = self.path[3]
        return loc


@dataclass(frozen=True, slots=True)
class Transcript:
    """A parsed request body."""

    shape: Shape
    doc: dict[str, Any] = field(repr=False)
    segments: list[SegmentRef]
    record_id: str | None
    subject_id: str | None

    def with_texts(self, texts: list[str]) -> dict[str, Any]:
        """A deep copy of the document with each segment's text replaced, in order."""
        out: dict[str, Any] = _copy_json(self.doc)
        for ref, text in zip(self.segments, texts, strict=True):
            set_at(out, ref.path, text)
        return out


_SCALARS = (str, int, float, bool, type(None))


def _copy_json(value: Any) -> Any:
    """A deep copy of parsed JSON (what ``copy.deepcopy`` gives, several times faster:
    no memo, as parsed JSON shares no parts); anything else is deep-copied."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    if isinstance(value, _SCALARS):  # immutable
        return value
    return copy.deepcopy(value)


def check_id(value: Any, name: str, *, required: bool = False) -> str | None:
    """A record or subject id of the accepted form (or ``None`` when optional and absent).

    Raises:
        InvalidInput: wrong type or characters, naming the field.
    """
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise InvalidInput(f"{name} must be a string of 1-128 letters, digits or ._:@-",
                           details={"field": name})
    return value


def _optional_id(doc: dict[str, Any], name: str) -> str | None:
    return check_id(doc.get(name), name)


def _need(cond: bool, field_name: str, what: str) -> None:
    if not cond:
        raise InvalidInput(f"{field_name} must be {what}", details={"field": field_name})


def _turn_segments(turns: Any) -> list[SegmentRef]:
    _need(isinstance(turns, list), "turns", "a list of turns")
    refs = []
    for i, turn in enumerate(turns):
        where = f"turns[{i}]"
        _need(isinstance(turn, dict), where, "an object")
        _need(isinstance(turn.get("text"), str), f"{where}.text", "a string")
        speaker = turn.get("speaker")
        _need(speaker is None or isinstance(speaker, str), f"{where}.speaker", "a string")
        refs.append(SegmentRef(("turns", i, "text"), Segment(turn["text"], speaker)))
    return refs


def _message_segments(messages: Any) -> list[SegmentRef]:
    _need(isinstance(messages, list), "messages", "a list of messages")
    refs = []
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        _need(isinstance(msg, dict), where, "an object")
        role = msg.get("role")
        _need(isinstance(role, str), f"{where}.role", "a string")
        content = msg.get("content")
        if isinstance(content, str):
            refs.append(SegmentRef(("messages", i, "content"), Segment(content, role)))
        elif isinstance(content, list):
            for j, part in enumerate(content):
                pw = f"{where}.content[{j}]"
                _need(isinstance(part, dict), pw, "an object")
                if part.get("type") == "text":
                    _need(isinstance(part.get("text"), str), f"{pw}.text", "a string")
                    refs.append(SegmentRef(("messages", i, "content", j, "text"),
                                           Segment(part["text"], role)))
        else:
            _need(content is None, f"{where}.content", "a string, a list of parts or null")
    return refs


def parse_transcript(doc: Any, *, max_segments: int = 2000,
                     max_text_chars: int = 200_000) -> Transcript:
    """Recognize the shape of ``doc`` and collect its segments.

    Raises:
        InvalidInput: not an object, no known shape, or a field of the wrong type.
        PayloadTooLarge: more segments or characters than configured.
    """
    _need(isinstance(doc, dict), "(body)", "a JSON object")
    shapes = [s for s in ("text", "turns", "messages") if s in doc]
    if len(shapes) != 1:
        raise InvalidInput("the body must have exactly one of text, turns or messages",
                           details={"field": "(body)"})
    shape: Shape = shapes[0]  # type: ignore[assignment]
    if shape == "text":
        _need(isinstance(doc["text"], str), "text", "a string")
        segments = [SegmentRef(("text",), Segment(doc["text"], None))]
    elif shape == "turns":
        segments = _turn_segments(doc["turns"])
    else:
        segments = _message_segments(doc["messages"])
    if len(segments) > max_segments:
        raise PayloadTooLarge(f"more than {max_segments} turns or messages")
    if sum(len(s.segment.text) for s in segments) > max_text_chars:
        raise PayloadTooLarge(f"more than {max_text_chars} characters of text")
    return Transcript(shape, doc, segments, _optional_id(doc, "record_id"),
                      _optional_id(doc, "subject_id"))
