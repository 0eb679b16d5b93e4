import pytest

from redact_gw.errors import InvalidInput, PayloadTooLarge
from redact_gw.transcripts import parse_transcript


def test_turns_keep_speakers_and_extra_fields() -> None:
    doc = {"turns": [{"speaker": "agent", "text": "hi", "ts": 1},
                     {"speaker": "customer", "text": "hello", "x": {"y": 1}}], "meta": [1]}
    t = parse_transcript(doc)
    assert [r.segment.speaker for r in t.segments] == ["agent", "customer"]
    out = t.with_texts(["HI", "HELLO"])
    assert out == {"turns": [{"speaker": "agent", "text": "HI", "ts": 1},
                             {"speaker": "customer", "text": "HELLO", "x": {"y": 1}}],
                   "meta": [1]}
    assert doc["turns"][0]["text"] == "hi"  # input untouched
    assert t.segments[1].location == {"path": "turns[1].text", "turn": 1}


def test_messages_with_parts_and_null_content() -> None:
    doc = {"messages": [{"role": "assistant", "content": None, "tool_calls": []},
                        {"role": "user", "content": [{"type": "text", "text": "a"},
                                                     {"type": "image_url"}]}]}
    t = parse_transcript(doc)
    assert len(t.segments) == 1
    assert t.segments[0].location == {"path": "messages[1].content[0].text", "message": 1,
                                      "part": 0}


@pytest.mark.parametrize(("doc", "field"), [
    ({"turns": "x"}, "turns"),
    ({"turns": [1]}, "turns[0]"),
    ({"messages": [{"content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "u", "content": [{"type": "text", "text": 1}]}]},
     "messages[0].content[0].text"),
    ({"text": "x", "subject_id": 5}, "subject_id"),
    ({}, "(body)"),
])
def test_wrong_shapes_name_the_field(doc: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_transcript(doc)
    assert info.value.details["field"] == field


def test_limits() -> None:
    with pytest.raises(PayloadTooLarge):
        parse_transcript({"turns": [{"text": "a"}] * 3}, max_segments=2)
    with pytest.raises(PayloadTooLarge):
        parse_transcript({"text": "abcdef"}, max_text_chars=5)
