"""Streaming restore and answer scanning, without HTTP: hold-back, views, fragmentation."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from redact_gw.demo import chunk
from redact_gw.engine import Redactor
from redact_gw.model import Segment
from redact_gw.proxy import appkeys
from redact_gw.streaming.guard import AnswerGuard, Piece
from redact_gw.streaming.holdback import hold_start
from redact_gw.streaming.rewriter import SseRewriter
from redact_gw.streaming.sse import SseDecoder, SseEvent
from redact_gw.streaming.views import decode_view
from redact_gw.tokens import TOKEN_RE
from tests.conftest import MakeClient

ORIGINALS = {"PERSON": "John Smith", "PHONE_NUMBER": "212-555-0123",
             "EMAIL_ADDRESS": "john.smith@gmail.com"}
#: Values the caller never sent, some encoded: they must come out as tokens.
INJECTED = [("PHONE_NUMBER", "415-555-0199"), ("EMAIL_ADDRESS", "jane.doe%40example.com"),
            ("CREDIT_CARD", "4111 1111 1111 1111"), ("IP_ADDRESS", "10.20.30.40")]


@pytest.mark.parametrize(("text", "held"), [
    ("", ""), ("hello world ", ""), ("hello wor", "wor"), ("call 212 555", "212 555"),
    ("call 212 555 ", "212 555 "), ("I am John", "John"), ("we met John Sm", "John Sm"),
    ("the end. Next", "Next"), ("see [[PERSON:abc", "[[PERSON:abc"), ("x [", "["),
    ("mail me at jane.doe%4", "jane.doe%4"), ("ok, fine", "fine"),
])
def test_hold_start_holds_only_what_may_still_grow(text: str, held: str) -> None:
    assert text[hold_start(text, 256):] == held


def test_hold_is_bounded_and_never_cuts_a_token() -> None:
    token = "[[PERSON:abcdefghij]]"
    for pad in range(0, 30):
        text = "x" * 300 + token + "y" * (50 + pad)
        cut = hold_start(text, 64)
        assert len(text) - cut <= 64 + len(token)
        assert token in text[:cut] or token in text[cut:]


def test_views_decode_and_map_back() -> None:
    raw = "write to jane.doe%40example.com or bob&#64;x.org or a\\u0040b.co"
    view = decode_view(raw)
    assert "jane.doe@example.com" in view.text and "bob@x.org" in view.text
    i = view.text.index("jane.doe@example.com")
    start, end = view.raw_span(i, i + len("jane.doe@example.com"))
    assert raw[start:end] == "jane.doe%40example.com"
    assert decode_view("plain text").starts is None


def test_sse_decoder_joins_data_lines_and_keeps_fields() -> None:
    d = SseDecoder()
    events = [d.feed(line) for line in ["event: x\r\n", "data: {\"a\":\n", "data: 1}\n", "\n"]]
    assert events[:3] == [None, None, None]
    ev = events[3]
    assert ev is not None and ev.fields == ["event: x"] and json.loads(ev.data or "") == {"a": 1}
    assert SseEvent(["event: x"], "[DONE]").encode() == b"event: x\ndata: [DONE]\n\n"


@pytest.fixture
async def setup(make_client: MakeClient) -> tuple[Redactor, dict[str, str]]:
    client = await make_client()
    redactor = client.app[appkeys.REDACTOR]
    red = await redactor.redact("acme", "rec-s", None, [Segment(
        "I am John Smith, phone 212-555-0123, mail john.smith@gmail.com", "user")])
    tokens = {m.group("type"): m.group(0) for m in TOKEN_RE.finditer(red.texts[0])}
    assert set(tokens) == set(ORIGINALS)
    return redactor, tokens


def answer_text(tokens: dict[str, str]) -> str:
    return (f"Hello {tokens['PERSON']}, we call {tokens['PHONE_NUMBER']} today. "
            f"Also {INJECTED[0][1]} or {INJECTED[1][1]} and card {INJECTED[2][1]} "
            f"from {INJECTED[3][1]} ok {tokens['EMAIL_ADDRESS']} bye")


def expected_pattern() -> re.Pattern[str]:
    parts = [re.escape(f"Hello {ORIGINALS['PERSON']}, we call {ORIGINALS['PHONE_NUMBER']}"
                       " today. Also "),
             r"\[\[PHONE_NUMBER:[a-z2-7]{10}\]\]", " or ", r"\[\[EMAIL_ADDRESS:[a-z2-7]{10}\]\]",
             " and card ", r"\[\[CREDIT_CARD:[a-z2-7]{10}\]\]", " from ",
             r"\[\[IP_ADDRESS:[a-z2-7]{10}\]\]",
             re.escape(f" ok {ORIGINALS['EMAIL_ADDRESS']} bye")]
    return re.compile("".join(parts))


async def run_stream(redactor: Redactor, pieces: list[str],
                     restorable: set[str]) -> tuple[str, list[SseEvent]]:
    guard = AnswerGuard(redactor, "acme", "rec-s", None, lambda _t: True,
                        restorable=restorable)
    await guard.start()
    rw = SseRewriter(guard)
    upstream = [chunk({"role": "assistant", "content": ""}),
                *[chunk({"content": p}) for p in pieces], chunk({}, finish_reason="stop")]
    out: list[SseEvent] = []
    for item in upstream:
        out += await rw.feed(SseEvent([], json.dumps(item)))
    out += await rw.feed(SseEvent([], "[DONE]"))
    assert out[-1].data == "[DONE]"
    text = ""
    empty = 0
    for ev in out[:-1]:
        doc = json.loads(ev.data or "")
        empty += not _has_content(doc)
        for choice in doc["choices"]:
            text += choice["delta"].get("content") or ""
    assert empty <= pieces.count(""), "an empty event was invented"
    assert len(out) <= len(upstream) + 1
    return text, out


def _has_content(doc: dict[str, Any]) -> bool:
    c = doc["choices"][0]
    return bool(c["delta"].get("content") or c["delta"].get("role") or c["finish_reason"])


async def test_two_way_cut_at_every_offset(setup: tuple[Redactor, dict[str, str]]) -> None:
    redactor, tokens = setup
    text = answer_text(tokens)
    pattern = expected_pattern()
    for i in range(len(text) + 1):
        out, _ = await run_stream(redactor, [text[:i], text[i:]], set(tokens.values()))
        assert pattern.fullmatch(out), (i, out)


async def test_every_token_and_value_cut_three_ways(setup: tuple[Redactor, dict[str, str]]
                                                    ) -> None:
    redactor, tokens = setup
    text = answer_text(tokens)
    pattern = expected_pattern()
    targets = [*tokens.values(), *(v for _, v in INJECTED)]
    for target in targets:
        start = text.index(target)
        end = start + len(target)
        for i in range(start, end + 1):
            for j in range(i, end + 1):
                out, _ = await run_stream(redactor, [text[:i], text[i:j], text[j:]],
                                          set(tokens.values()))
                assert pattern.fullmatch(out), (target, i, j, out)


async def test_one_character_per_event(setup: tuple[Redactor, dict[str, str]]) -> None:
    redactor, tokens = setup
    text = answer_text(tokens)
    out, events = await run_stream(redactor, list(text), set(tokens.values()))
    assert expected_pattern().fullmatch(out)
    assert len(events) < len(text)  # held pieces ride on later events, none invented


async def test_unknown_side_field_is_scanned(setup: tuple[Redactor, dict[str, str]]) -> None:
    redactor, tokens = setup
    guard = AnswerGuard(redactor, "acme", "rec-s", None, lambda _t: True,
                        restorable=set(tokens.values()))
    await guard.start()
    rw = SseRewriter(guard)
    item = chunk({"content": "hi "}, x_debug=f"leak bob@evil.com for {tokens['PERSON']}")
    out = await rw.feed(SseEvent([], json.dumps(item)))
    doc = json.loads(out[0].data or "")
    assert "bob@evil.com" not in out[0].data and "[[EMAIL_ADDRESS:" in doc["x_debug"]
    assert doc["x_debug"].endswith("for John Smith")


async def test_restore_policy_none_keeps_tokens(setup: tuple[Redactor, dict[str, str]]
                                                ) -> None:
    redactor, tokens = setup
    guard = AnswerGuard(redactor, "acme", "rec-s", None, lambda t: t == "PHONE_NUMBER",
                        restorable=set(tokens.values()))
    await guard.start()
    rw = SseRewriter(guard)
    text = f"{tokens['PERSON']} at {tokens['PHONE_NUMBER']} "
    out = await rw.feed(SseEvent([], json.dumps(chunk({"content": text}))))
    out += await rw.finish()
    got = "".join(json.loads(e.data or "")["choices"][0]["delta"]["content"] for e in out)
    assert got == f"{tokens['PERSON']} at 212-555-0123 "


async def test_answer_finds_are_never_restored_later(setup: tuple[Redactor, dict[str, str]]
                                                     ) -> None:
    redactor, tokens = setup
    first = AnswerGuard(redactor, "acme", "rec-s", None, lambda _t: True,
                        restorable=set(tokens.values()))
    await first.start()
    spans = await first.detect(["leaked 415-555-0199 here"])
    [leaked] = await first.render([Piece("leaked 415-555-0199 here", spans[0])])
    token = TOKEN_RE.search(leaked)
    assert token is not None and "415-555-0199" not in leaked
    second = AnswerGuard(redactor, "acme", "rec-s", None, lambda _t: True,
                        restorable=set(tokens.values()))
    await second.start()
    [again] = await second.render([Piece(f"echo {token.group(0)}")])
    assert again == f"echo {token.group(0)}"
