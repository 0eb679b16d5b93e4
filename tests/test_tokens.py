import base64
import json

from hypothesis import given
from hypothesis import strategies as st

from redact_gw.tokens import (
    ID_ALPHABET,
    ID_LENGTH,
    TOKEN_RE,
    _base32_id,
    find_tokens,
    format_token,
    parse_token,
    token_prefix_start,
)

types = st.from_regex(r"[A-Z][A-Z0-9_]{0,20}", fullmatch=True)
ids = st.text(alphabet=ID_ALPHABET, min_size=ID_LENGTH, max_size=ID_LENGTH)


@given(types, ids)
def test_format_then_parse_round_trips(entity_type: str, token_id: str) -> None:
    token = format_token(entity_type, token_id)
    parsed = parse_token(token)
    assert parsed is not None and parsed.entity_type == entity_type and parsed.token == token


@given(types, st.text(max_size=40), st.text(max_size=40))
def test_token_survives_json_escaping_and_is_found_in_context(etype: str, before: str,
                                                              after: str) -> None:
    token = format_token(etype)
    for dumped in (json.dumps(token), json.dumps(token, ensure_ascii=True)):
        assert token in dumped  # no character of a token is escaped by JSON
    found = find_tokens(before + " " + token + " " + after)
    assert token in [m.token for m in found]


def test_tokens_are_random_and_type_tagged() -> None:
    tokens = {format_token("PERSON") for _ in range(2000)}
    assert len(tokens) == 2000
    assert all(TOKEN_RE.fullmatch(t) and t.startswith("[[PERSON:") for t in tokens)


def test_bad_types_are_refused() -> None:
    for bad in ("person", "", "A B", "X" * 41, "PHONE-NUMBER"):
        try:
            format_token(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad!r}")


@given(types, ids, st.text(alphabet="ab [:]", max_size=10))
def test_prefix_start_holds_back_exactly_unfinished_tokens(etype: str, tid: str,
                                                           lead: str) -> None:
    token = format_token(etype, tid)
    for cut in range(len(token)):
        text = lead + token[:cut]
        start = token_prefix_start(text)
        # everything before the hold-back point is safe to emit
        assert start <= len(lead) + cut
        if cut >= 1:
            assert start <= len(lead), (text, start)
    assert token_prefix_start(lead + token) == len(lead + token)  # complete: nothing held


def test_prefix_start_of_plain_text_is_end() -> None:
    assert token_prefix_start("hello world") == len("hello world")
    assert token_prefix_start("a [b] c") == len("a [b] c")


@given(st.binary(min_size=7, max_size=7))
def test_token_id_is_the_base32_of_its_random_bytes(raw: bytes) -> None:
    assert _base32_id(raw) == base64.b32encode(raw).decode("ascii")[:ID_LENGTH].lower()
