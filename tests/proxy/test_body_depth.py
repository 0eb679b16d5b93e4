"""``bodies.decode_json`` at its edges: the depth limit, whichever way the brackets are
counted (the walk is skipped when the text cannot be too deep), and a byte order mark
(refused as ``json.loads`` refuses it, with the decoder kept between calls)."""

from __future__ import annotations

import pytest

from redact_gw.errors import BadRequest
from redact_gw.proxy.bodies import MAX_DEPTH, decode_json


def _nested(depth: int) -> bytes:
    return ('{"a": ' * (depth - 1) + "[]" + "}" * (depth - 1)).encode()


def test_a_body_at_the_depth_limit_is_read() -> None:
    doc = decode_json(_nested(MAX_DEPTH))
    for _ in range(MAX_DEPTH - 1):
        doc = doc["a"]
    assert doc == []


def test_one_level_deeper_is_refused() -> None:
    with pytest.raises(BadRequest) as err:
        decode_json(_nested(MAX_DEPTH + 1))
    assert err.value.code == "too_deep"


def test_brackets_inside_strings_do_not_refuse_a_shallow_body() -> None:
    assert decode_json(('{"text": "' + "[{" * MAX_DEPTH + '"}').encode()) == {
        "text": "[{" * MAX_DEPTH}


def test_a_lone_surrogate_in_a_shallow_body_is_refused() -> None:
    with pytest.raises(BadRequest) as err:
        decode_json(b'{"text": "John \\udfff"}')
    assert err.value.code == "invalid_utf8"


def test_a_byte_order_mark_is_malformed_json_at_line_1_column_1() -> None:
    with pytest.raises(BadRequest) as err:
        decode_json(b'\xef\xbb\xbf{"text": "hi"}')
    assert (err.value.code, err.value.message) == (
        "malformed_json", "the request body is not valid JSON (line 1, column 1)")
