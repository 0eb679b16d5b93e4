"""Every dialect's stream cut at arbitrary offsets (one character per event included):
exact restore, valid framing, no partial value, every full-text copy agreeing.

The engine runs against a stub vault and the regex ``FakeDetector``: no I/O, so
hypothesis can try many cuts quickly.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redact_gw import demo_dialects as dd
from redact_gw.demo import chunk
from redact_gw.model import KnownValue, PendingValue, Revealed, Segment, Span
from redact_gw.proxy.dialects.anthropic_messages import MessagesStream
from redact_gw.proxy.dialects.openai_chat import ChatStream
from redact_gw.proxy.dialects.openai_responses import ResponsesStream
from redact_gw.streaming.dialect import StreamDialect
from redact_gw.streaming.guard import AnswerGuard
from redact_gw.streaming.rewriter import SseRewriter
from redact_gw.streaming.sse import SseDecoder, SseEvent
from redact_gw.testing import FakeDetector
from tests.test_streaming import ORIGINALS, answer_text, expected_pattern

TOKENS = {etype: f"[[{etype}:{'abcdefghij'}]]" for etype in ORIGINALS}
PREFIX = "You said: "
TEXT = PREFIX + answer_text(TOKENS)
PATTERN = re.compile(re.escape(PREFIX) + expected_pattern().pattern)


class StubVault:
    """The caller's three values; answer finds get stable fresh tokens."""

    async def reveal(self, tenant: str, record_id: str, tokens: Sequence[str]
                     ) -> dict[str, Revealed]:
        by_token = {TOKENS[t]: Revealed(TOKENS[t], t, v, "ai") for t, v in ORIGINALS.items()}
        return {t: by_token[t] for t in tokens if t in by_token}

    async def known_values(self, tenant: str, record_id: str) -> list[KnownValue]:
        return []

    async def tokenize(self, tenant: str, record_id: str, subject_id: str | None,
                       pending: Sequence[PendingValue], no_retention: bool = False
                       ) -> dict[tuple[str, str], str]:
        def token(p: PendingValue) -> str:
            digest = hashlib.sha256(p.key.encode()).digest()
            return f"[[{p.entity_type}:" + "".join(
                "abcdefghijklmnopqrstuvwxyz234567"[b % 32] for b in digest[:10]) + "]]"
        return {(p.entity_type, p.key): token(p) for p in pending}


class StubRedactor:
    def __init__(self) -> None:
        self.vault = StubVault()
        self.detector = FakeDetector()

    async def detect(self, segments: Sequence[Segment],
                     known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        return self.detector.detect(segments, known)


async def rewrite(dialect: StreamDialect, raw: Sequence[bytes]) -> list[SseEvent]:
    """Run ``raw`` SSE bytes through the engine; the events the caller gets."""
    guard = AnswerGuard(StubRedactor(), "acme", "rec", None, lambda _t: True,  # type: ignore[arg-type]
                        restorable=set(TOKENS.values()), caller="ai", known=[])
    await guard.start()
    rw = SseRewriter(guard, dialect=dialect)
    decoder = SseDecoder()
    out: list[SseEvent] = []
    for line in b"".join(raw).decode().splitlines(keepends=True):
        event = decoder.feed(line)
        if event is not None:
            out += await rw.feed(event)
    out += await rw.finish()
    return out


def split(text: str, cuts: Sequence[int]) -> list[str]:
    points = [0, *sorted(set(cuts)), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(points)]


CUTS = st.one_of(st.just(None), st.lists(st.integers(0, len(TEXT)), max_size=12))
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def pieces_of(text: str, cuts: list[int] | None) -> list[str]:
    return list(text) if cuts is None else split(text, cuts)


def data(event: SseEvent) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(event.data or "")
    return doc


# -- Anthropic ------------------------------------------------------------------------------
def check_anthropic_framing(events: list[SseEvent]) -> dict[int, str]:
    """Order and fields as the SDK expects; returns each block's streamed text."""
    docs = [data(e) for e in events]
    for event, doc in zip(events, docs, strict=True):
        assert event.fields == [f"event: {doc['type']}"]
    assert docs[0]["type"] == "message_start" and docs[-1]["type"] == "message_stop"
    assert docs[-2]["type"] == "message_delta"
    open_blocks: set[int] = set()
    texts: dict[int, str] = {}
    for doc in docs[1:-2]:
        kind = doc["type"]
        if kind == "content_block_start":
            open_blocks.add(doc["index"])
            texts[doc["index"]] = ""
        elif kind == "content_block_delta":
            assert doc["index"] in open_blocks, "a delta outside its block"
            delta = doc["delta"]
            texts[doc["index"]] += delta.get("text", delta.get("partial_json", ""))
        elif kind == "content_block_stop":
            open_blocks.remove(doc["index"])
        else:
            assert kind == "ping"
    assert not open_blocks
    return texts


@SETTINGS
@given(cuts=CUTS)
def test_anthropic_text_stream_cut_anywhere(cuts: list[int] | None) -> None:
    message = dd.anthropic_message({"messages": []})
    message["content"] = [{"type": "text", "text": TEXT}]
    events = asyncio.run(rewrite(MessagesStream(),
                                 dd.anthropic_events(message, pieces_of(TEXT, cuts))))
    assert PATTERN.fullmatch(check_anthropic_framing(events)[0])


@SETTINGS
@given(cuts=st.one_of(st.just(None), st.lists(st.integers(0, len(TEXT) + 12), max_size=12)))
def test_anthropic_tool_input_stream_cut_anywhere(cuts: list[int] | None) -> None:
    message = dd.anthropic_message({"messages": []})
    message["content"] = [{"type": "tool_use", "id": "toolu_1", "name": "lookup",
                           "input": {"text": TEXT}}]
    raw = json.dumps({"text": TEXT})
    events = asyncio.run(rewrite(MessagesStream(),
                                 dd.anthropic_events(message, pieces_of(raw, cuts))))
    streamed = check_anthropic_framing(events)[0]
    assert PATTERN.fullmatch(json.loads(streamed)["text"])


# -- OpenAI Responses -----------------------------------------------------------------------
def check_responses(events: list[SseEvent], channel: str, copy: str) -> str:
    """Deltas in order, and every copy of the text equal to what the deltas gave."""
    docs = [data(e) for e in events]
    for event, doc in zip(events, docs, strict=True):
        assert event.fields == [f"event: {doc['type']}"]
    assert docs[-1]["type"] == "response.completed"
    streamed = "".join(d["delta"] for d in docs if d["type"] == channel + ".delta")
    done = [d for d in docs if d["type"] == channel + ".done"]
    assert len(done) == 1 and done[0][copy] == streamed
    kinds = [d["type"] for d in docs]
    assert max(i for i, k in enumerate(kinds) if k == channel + ".delta") < kinds.index(
        channel + ".done"), "a delta after its .done"
    item = next(d["item"] for d in docs if d["type"] == "response.output_item.done")
    final = docs[-1]["response"]["output"][0]
    for whole in (item, final):
        got = whole["arguments"] if copy == "arguments" else whole["content"][0]["text"]
        assert got == streamed
    return streamed


@SETTINGS
@given(cuts=CUTS)
def test_responses_text_stream_cut_anywhere(cuts: list[int] | None) -> None:
    body = {"input": TEXT[len(PREFIX):]}
    events = asyncio.run(rewrite(ResponsesStream(),
                                 dd.responses_events(body, pieces_of(TEXT, cuts))))
    streamed = check_responses(events, "response.output_text", "text")
    part = next(data(e)["part"] for e in events
                if data(e)["type"] == "response.content_part.done")
    assert part["text"] == streamed
    assert PATTERN.fullmatch(streamed)


@SETTINGS
@given(cuts=st.one_of(st.just(None), st.lists(st.integers(0, len(TEXT) + 12), max_size=12)))
def test_responses_function_call_stream_cut_anywhere(cuts: list[int] | None) -> None:
    body = {"input": "Use the tool: " + TEXT, "tools": [{"type": "function", "name": "f"}]}
    raw = json.dumps({"text": "Use the tool: " + TEXT})
    events = asyncio.run(rewrite(ResponsesStream(),
                                 dd.responses_events(body, pieces_of(raw, cuts))))
    streamed = check_responses(events, "response.function_call_arguments", "arguments")
    assert PATTERN.fullmatch(json.loads(streamed)["text"][len("Use the tool: "):])


# -- OpenAI chat and completions: chunks without optional fields ----------------------------
def chat_events(pieces: list[str], *, with_index: bool) -> list[bytes]:
    chunks = [chunk({"role": "assistant", "content": ""}),
              *[chunk({"content": p}) for p in pieces], chunk({}, finish_reason="stop")]
    if not with_index:
        for c in chunks:
            del c["choices"][0]["index"]
    return [*(dd.sse_event(None, c) for c in chunks), b"data: [DONE]\n\n"]


@SETTINGS
@given(cuts=CUTS, with_index=st.booleans())
def test_chat_stream_cut_anywhere_index_or_not(cuts: list[int] | None,
                                               with_index: bool) -> None:
    events = asyncio.run(rewrite(ChatStream(),
                                 chat_events(pieces_of(TEXT, cuts), with_index=with_index)))
    assert events[-1].data == "[DONE]"
    docs = [data(e) for e in events[:-1]]
    assert all(len(d["choices"]) == 1 for d in docs), "one channel, one entry"
    assert PATTERN.fullmatch("".join(d["choices"][0]["delta"].get("content") or ""
                                     for d in docs))
    assert docs[-1]["choices"][0]["finish_reason"] == "stop"


def test_index_less_finish_chunk_carries_the_held_text_in_its_one_choice() -> None:
    """Several local servers omit ``index``: the held tail must join the finishing
    choice, not a second entry the SDK never reads."""
    events = asyncio.run(rewrite(ChatStream(), chat_events(
        ["Hello John Sm", "ith"], with_index=False)))
    docs = [data(e) for e in events[:-1]]
    assert [len(d["choices"]) for d in docs] == [1, 1]
    assert docs[-1]["choices"][0]["delta"]["content"] == "Hello John Smith"
    assert docs[-1]["choices"][0]["finish_reason"] == "stop"


@SETTINGS
@given(cuts=CUTS)
def test_completions_stream_cut_anywhere(cuts: list[int] | None) -> None:
    chunks = [dd.text_completion(p, "m", None) for p in pieces_of(TEXT, cuts)]
    chunks.append(dd.text_completion("", "m"))
    for c in chunks:
        del c["choices"][0]["index"]
    raw = [*(dd.sse_event(None, c) for c in chunks), b"data: [DONE]\n\n"]
    events = asyncio.run(rewrite(ChatStream(), raw))
    docs = [data(e) for e in events[:-1]]
    assert all(len(d["choices"]) == 1 for d in docs)
    assert PATTERN.fullmatch("".join(d["choices"][0]["text"] for d in docs))
