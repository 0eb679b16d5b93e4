"""The depth limit of request bodies holds at its edge, whichever way the brackets are
counted (``bodies.decode_json`` skips its walk when the text cannot be too deep)."""

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
