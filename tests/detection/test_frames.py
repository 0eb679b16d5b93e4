"""What crosses the pipe between the gateway and a detection worker comes back whole."""

from __future__ import annotations

import io

from redact_gw.detection.worker import encode, read_frame
from redact_gw.model import KnownValue, Segment, SegmentNer, Span


def test_spans_segments_and_known_values_cross_the_pipe_unchanged() -> None:
    ner = SegmentNer("en_core_web_sm", ((b"\x01" * 8, ((0, 4, "PERSON"),)),))
    segments = [Segment("Jane called", "agent", ner), Segment("no speaker")]
    known = [KnownValue("PERSON", "Jane")]
    spans = [[Span(0, 4, "PERSON", 0.85, "SpacyRecognizer"),
              Span(5, 11, "PHONE_NUMBER", 0.4, "SpokenDigits", "5558675309", "spoken")], []]
    back = read_frame(io.BytesIO(encode((segments, known, spans))))
    assert back == (segments, known, spans)
    # every field, the ones equality skips (a segment's NER) and the defaults too
    assert [(s.text, s.speaker, s.ner) for s in back[0]] == [
        ("Jane called", "agent", ner), ("no speaker", None, None)]
    assert [(s.normalized, s.explanation) for s in back[2][0]] == [
        (None, None), ("5558675309", "spoken")]
    assert all(type(s) is Span for s in back[2][0])
