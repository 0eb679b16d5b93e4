"""Streamed and whole answers with values models make up (issue 16, items 5 and 6):
spoken digits are held back like written ones; identifier-shaped numbers are sealed."""

from __future__ import annotations

import json

import pytest

from redact_gw.answer_shapes import shape_spans
from redact_gw.demo import chunk
from redact_gw.detection import Detector
from redact_gw.engine import Redactor
from redact_gw.proxy import appkeys
from redact_gw.streaming.guard import AnswerGuard
from redact_gw.streaming.holdback import hold_start
from redact_gw.streaming.rewriter import SseRewriter
from redact_gw.streaming.sse import SseEvent
from tests.conftest import MakeClient

SPOKEN = "four one five five five five five one two one two"


@pytest.mark.parametrize(("text", "held"), [
    ("the number on file is four one five five five", "four one five five five"),
    ("is four one five double five dash", "four one five double five dash"),
    ("call " + SPOKEN + " now ok", "ok"),  # not past a plain word
    ("the one", "one"),
])
def test_spoken_digits_are_held_back(text: str, held: str) -> None:
    assert text[hold_start(text, 256):] == held


def test_spoken_hold_is_bounded_by_max_hold() -> None:
    text = "x " + "five " * 200
    assert len(text) - hold_start(text, 64) <= 64


@pytest.fixture
async def redactor(make_client: MakeClient, detector: Detector) -> Redactor:
    client = await make_client(detector=detector)
    return client.app[appkeys.REDACTOR]  # type: ignore[no-any-return]


async def _stream(redactor: Redactor, words: list[str]) -> list[str]:
    guard = AnswerGuard(redactor, "acme", "rec-spoken", None, lambda _t: True)
    await guard.start()
    rw = SseRewriter(guard)
    sent: list[str] = []
    for item in [*(chunk({"content": w}) for w in words), chunk({}, finish_reason="stop")]:
        for ev in await rw.feed(SseEvent([], json.dumps(item))):
            sent += [c["delta"].get("content") or "" for c in json.loads(ev.data or "")["choices"]]
    for ev in await rw.feed(SseEvent([], "[DONE]")):
        if ev.data != "[DONE]":
            sent += [c["delta"].get("content") or "" for c in json.loads(ev.data or "")["choices"]]
    return sent


async def test_streamed_spoken_phone_number_never_leaks_a_prefix(redactor: Redactor) -> None:
    text = f"Sure. The phone number on file is {SPOKEN}. Anything else?"
    whole = await AnswerGuard(redactor, "acme", "rec-spoken", None,
                              lambda _t: True).detect([text])
    assert [s.entity_type for s in whole[0]] == ["PHONE_NUMBER"]  # masked when whole
    words = [w + " " for w in text.split(" ")]
    sent = await _stream(redactor, words)
    out = "".join(sent)
    assert "[[PHONE_NUMBER:" in out and out.endswith("Anything else? ")
    for digit in ("four", "five", "one two"):
        assert digit not in out, (digit, sent)


@pytest.mark.parametrize(("text", "value", "kind"), [
    ("Your order number is 123-45-6789.", "123-45-6789", "US_SSN"),
    ("Your confirmation code: 900-12-3456", "900-12-3456", "US_ITIN"),
    ("Tracking 415-555-0100 shipped", "415-555-0100", "PHONE_NUMBER"),
    ("case (212) 555-0142 closed", "(212) 555-0142", "PHONE_NUMBER"),
    ("version 587 65 4321 of the form", "587 65 4321", "US_SSN"),
])
async def test_identifier_shaped_numbers_in_answers_are_sealed(
        redactor: Redactor, text: str, value: str, kind: str) -> None:
    guard = AnswerGuard(redactor, "acme", "rec-shapes", None, lambda _t: True)
    await guard.start()
    [spans] = await guard.detect([text])
    assert [(text[s.start:s.end], s.entity_type) for s in spans] == [(value, kind)]
    sent = "".join(await _stream(redactor, [w + " " for w in text.split(" ")]))
    assert value not in sent and f"[[{kind}:" in sent


@pytest.mark.parametrize("text", [
    "It costs 1,234.56 dollars", "between 2021-2023 we grew", "call ext 1234",
    "the ratio 123-456 is fine", "ISBN 978-3-16-148410-0", "v1.123-45-6789x",
    "id 123-45-67890", "12-345-6789", "tel 212-555-01234"])
def test_other_numbers_are_not_identifier_shaped(text: str) -> None:
    assert shape_spans(text) == []
