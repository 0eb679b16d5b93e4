"""Post-call vendor files through ``/v1/redact`` and ``redact-gw redact --format``.

Body: ``{"format": "deepgram", "transcript": {...the vendor's JSON...},
"record_id": .., "subject_id": .., "channel": ..}``. The answer is the same body with
``transcript`` redacted in the vendor's format (tokens in every transcript, the words
of each value merged into one item), plus what ``/v1/redact`` always adds
(``record_id``, ``entities``, ``risk_tier``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from redact_gw.asr_formats import get_format
from redact_gw.asr_formats.base import Value, bad_format, redact_piece
from redact_gw.asr_formats.document import Parsed, parse, render
from redact_gw.model import Segment
from redact_gw.redaction import Redacted
from redact_gw.transcripts.shapes import SegmentRef, check_id


@dataclass(frozen=True, slots=True)
class VendorTranscript:
    """A ``/v1/redact`` body holding a vendor document (mirrors ``Transcript``)."""

    body: dict[str, Any] = field(repr=False)
    parsed: Parsed
    segments: list[SegmentRef]
    record_id: str | None
    subject_id: str | None

    def render(self, redacted: Redacted) -> dict[str, Any]:
        """The body with its vendor document redacted."""
        utts = self.parsed.utterances
        values: list[list[Value]] = [list(p) for p in redacted.placed[:len(utts)]]
        texts = [redact_piece(u.text, v, 0, len(u.text)) for u, v in zip(utts, values,
                                                                          strict=True)]
        loose = [e for e in self.parsed.extras if e.inside is None]
        extra_texts = {e.path: t for e, t in zip(loose, redacted.texts[len(utts):],
                                                 strict=True)}
        out = {k: copy.deepcopy(v) for k, v in self.body.items() if k != "transcript"}
        out["transcript"] = render(self.parsed, texts, values, extra_texts)
        return out


def is_vendor_body(doc: Any) -> bool:
    """The body names a vendor ``format``."""
    return isinstance(doc, dict) and "format" in doc


def parse_vendor_body(doc: dict[str, Any], *, max_segments: int,
                      max_text_chars: int) -> VendorTranscript:
    """Read a ``{"format", "transcript"}`` body.

    Raises:
        BadRequest: unknown format, a transcript that is not the vendor's shape.
        InvalidInput: a bad record or subject id.
        PayloadTooLarge: more text or transcripts than configured.
    """
    fmt = get_format(doc.get("format"))
    if "transcript" not in doc:
        raise bad_format("a vendor format needs the vendor's JSON in transcript",
                         "transcript", code="bad_asr_format")
    if any(k in doc for k in ("text", "turns", "messages")):
        raise bad_format("a vendor format takes its text from transcript only", "(body)")
    parsed = parse(fmt, doc["transcript"], max_chars=max_text_chars,
                   max_segments=max_segments)
    refs = [SegmentRef(("transcript", *u.text_path) if u.text_path else
                       ("transcript", *(u.words_path or ())), Segment(u.text, u.speaker))
            for u in parsed.utterances]
    refs += [SegmentRef(("transcript", *e.path), Segment(e.text, None))
             for e in parsed.extras if e.inside is None]
    return VendorTranscript(doc, parsed, refs, check_id(doc.get("record_id"), "record_id"),
                            check_id(doc.get("subject_id"), "subject_id"))

