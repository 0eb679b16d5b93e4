"""Headers both ways, hostile upstreams and answer-side failures (issue 16, items 3, 12
and 13)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

import pytest

from redact_gw.demo import chunk, completion
from redact_gw.model import KnownValue, Segment, Span
from redact_gw.proxy.headers import looks_personal
from redact_gw.streaming.guard import SCAN_WINDOW, window_starts
from redact_gw.testing import FakeDetector, Scripted, ScriptedDetector
from tests.conftest import MakeGateway

CHAT = "/v1/chat/completions"


def _chat(content: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": content}], **extra}


async def _events(resp: Any) -> list[str]:
    text = (await resp.read()).decode()
    return [block[len("data: "):] for block in text.split("\n\n") if block.startswith("data: ")]


# -- item 3: caller headers --------------------------------------------------------------
async def test_only_allow_listed_caller_headers_go_upstream(make_gateway: MakeGateway,
                                                            caplog: Any) -> None:
    gw = await make_gateway()
    caplog.set_level(logging.DEBUG)
    resp = await gw.client.post(CHAT, json=_chat(), headers={
        **gw.env.auth(), "X-Customer-Email": "maria.garcia@example.com",
        "Referer": "https://crm.example.com/customers/maria-garcia",
        "User-Agent": "crm-bot (maria.garcia@example.com)", "Cookie": "sid=maria",
        "X-Request-Id": "2125550123", "OpenAI-Beta": "assistants=v2",
        "anthropic-version": "2023-06-01", "anthropic-beta": "tools-2024-04-04",
        "Accept": "application/json"})
    assert resp.status == 200
    sent = dict((k.lower(), v) for k, v in gw.fake.last.headers)
    assert sent["openai-beta"] == "assistants=v2"
    assert sent["anthropic-version"] == "2023-06-01"
    assert sent["anthropic-beta"] == "tools-2024-04-04"
    assert sent["accept"] == "application/json"
    wire = json.dumps(gw.fake.last.headers)
    for leaked in ("maria", "crm", "2125550123", "sid="):
        assert leaked not in wire.lower(), leaked
    assert not {"x-customer-email", "referer", "cookie"} & set(sent)
    assert resp.headers["X-Request-Id"] != "2125550123"
    assert sent["x-request-id"] == resp.headers["X-Request-Id"]
    assert "2125550123" not in caplog.text


@pytest.mark.parametrize(("rid", "personal"), [
    ("2125550123", True), ("212-555-0123", True), ("123.45.6789", True),
    ("acct4539148803436467", True), ("maria.garcia.example.com", True),
    ("maria.garcia", True), ("rid-7", False), ("req_abc123", False),
    ("3f2a7c1e9b8d4c6a8e2f1a0b9c8d7e6f", False),
    ("123e4567-e89b-12d3-a456-426614174000", False), ("0123456789abcdef", False)])
def test_request_ids_that_look_personal(rid: str, personal: bool) -> None:
    assert looks_personal(rid) is personal


# -- item 12: upstream headers, non-JSON answers, stream caps -----------------------------
HOSTILE_HEADERS = {
    "X-Redact-No-Retention": "true", "X-Redact-Review": "required",
    "X-Redact-Risk-Tier": "low", "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Credentials": "true", "X-Customer": "Maria Garcia 212-555-0123",
    "Set-Cookie": "a=b", "X-Ratelimit-Remaining-Requests": "99",
    "X-Ratelimit-Reset-Tokens": "6m0s", "Retry-After": "Maria Garcia"}


@pytest.mark.parametrize("stream", [False, True])
async def test_upstream_headers_are_allow_listed(make_gateway: MakeGateway,
                                                 stream: bool) -> None:
    gw = await make_gateway()
    if stream:
        gw.fake.then_stream([chunk({"content": "hello"})], headers=HOSTILE_HEADERS)
    else:
        gw.fake.then(json_body=completion("hello"), headers=HOSTILE_HEADERS)
    resp = await gw.client.post(CHAT, json=_chat(stream=stream), headers=gw.env.auth())
    await resp.read()
    assert resp.status == 200
    got = {k.lower(): v for k, v in resp.headers.items()}
    assert "x-redact-no-retention" not in got and "x-redact-review" not in got
    assert got["x-redact-risk-tier"] != "low" or "x-redact-counts" in got  # ours, not theirs
    assert not [k for k in got if k.startswith("access-control-")]
    assert "x-customer" not in got and "set-cookie" not in got
    assert "Maria" not in json.dumps(dict(resp.headers))
    assert got["x-ratelimit-remaining-requests"] == "99"
    assert got["x-ratelimit-reset-tokens"] == "6m0s"


@pytest.mark.parametrize(("body", "ctype"), [
    (b"<html><body>Maria Garcia's account</body></html>", "text/html"),
    (b'{"choices": [', "application/json"),
    (b"\xff\xfe not utf-8", "application/json")])
async def test_a_non_json_200_is_a_502(make_gateway: MakeGateway, body: bytes,
                                       ctype: str) -> None:
    gw = await make_gateway()
    gw.fake.then(Scripted(body=body, headers={"Content-Type": ctype}))
    resp = await gw.client.post(CHAT, json=_chat(), headers=gw.env.auth())
    got = await resp.json()
    assert (resp.status, got["error"]["code"]) == (502, "upstream_not_json")
    assert "Maria" not in json.dumps(got)


async def test_a_non_json_model_list_is_a_502(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    gw.fake.then(Scripted(body=b"<html>Maria Garcia</html>", headers={
        "Content-Type": "text/html"}))
    resp = await gw.client.get("/v1/models", headers=gw.env.auth())
    got = await resp.json()
    assert (resp.status, got["error"]["code"]) == (502, "upstream_not_json")
    assert (await gw.client.get("/v1/models", headers=gw.env.auth())).status == 200


async def test_a_non_json_200_to_a_stream_request_is_a_502(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    gw.fake.then(Scripted(body=b"<html>oops</html>", headers={"Content-Type": "text/html"}))
    resp = await gw.client.post(CHAT, json=_chat(stream=True), headers=gw.env.auth())
    assert (resp.status, (await resp.json())["error"]["code"]) == (502, "upstream_not_json")


CAPS = {"proxy": {"max_event_bytes": 4096, "max_stream_bytes": 65536}}


def _last_error(events: list[str]) -> str:
    return str(json.loads(events[-1])["error"]["code"])


async def test_an_event_over_the_cap_ends_the_stream_with_an_error(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config=CAPS)
    gw.fake.then_stream([chunk({"content": "hello "}), chunk({"content": "x" * 10_000}),
                         chunk({"content": "after"})])
    resp = await gw.client.post(CHAT, json=_chat(stream=True), headers=gw.env.auth())
    events = await _events(resp)
    assert _last_error(events) == "upstream_event_too_large"
    assert "after" not in "".join(events) and "[DONE]" not in events


async def test_an_unterminated_huge_event_is_never_buffered_whole(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"proxy": {"max_event_bytes": 4096,
                                              "max_stream_bytes": 1_048_576}})
    # 64 MB without a line end: the gateway must give up after its 4 KB cap
    gw.fake.then(Scripted(events=[chunk({"content": "hello "}), b"data: " + b"a" * 65536] + [
        b"a" * 65536] * 1000))
    resp = await gw.client.post(CHAT, json=_chat(stream=True), headers=gw.env.auth())
    events = await asyncio.wait_for(_events(resp), 10)
    assert _last_error(events) == "upstream_event_too_large"
    await asyncio.wait_for(gw.fake.disconnected.wait(), 5)  # the upstream was dropped


async def test_a_stream_over_its_byte_cap_ends_with_an_error(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config=CAPS)
    gw.fake.then_stream([chunk({"content": "word "})] * 2000)
    resp = await gw.client.post(CHAT, json=_chat(stream=True), headers=gw.env.auth())
    events = await _events(resp)
    assert _last_error(events) == "upstream_stream_too_large"
    assert "[DONE]" not in events


# -- item 13: answer-side failures ---------------------------------------------------------
async def test_an_answer_that_cannot_be_scanned_says_so(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(detector=ScriptedDetector())
    gw.fake.then(json_body=completion("John Smith @@fail"))
    resp = await gw.client.post(CHAT, json=_chat(), headers=gw.env.auth())
    got = await resp.json()
    assert len(gw.fake.received) == 1  # the request was sent
    assert (resp.status, got["error"]["code"]) == (502, "answer_scan_failed")
    assert got["error"]["details"]["cause"] == "detection_failed"
    assert "forwarded" in got["error"]["message"] and "nothing was forwarded" not in json.dumps(
        got)
    assert "John" not in json.dumps(got)


async def test_a_streamed_answer_that_cannot_be_scanned_says_so(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway(detector=ScriptedDetector())
    gw.fake.then_stream([chunk({"content": "John Smith "}),
                         chunk({"content": "@@fail and more."})])
    resp = await gw.client.post(CHAT, json=_chat(stream=True), headers=gw.env.auth())
    events = await _events(resp)
    assert _last_error(events) == "answer_scan_failed"
    assert "John" not in "".join(events)


class MillionCharLimit(FakeDetector):
    """Refuses any text over spaCy's default ``nlp.max_length`` of 1,000,000."""

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        if any(len(s.text) > 1_000_000 for s in segments):
            raise ValueError("[E088] Text of length 2000000 exceeds maximum of 1000000")
        return super().detect(segments, known)


async def test_a_2mb_answer_is_scanned_in_windows(make_gateway: MakeGateway) -> None:
    # The fake detector's regexes over 2 MB take 1.5-2 s on a loaded machine: the test's
    # 2 s detection timeout would fail it for load, not for how windows are scanned.
    gw = await make_gateway(detector=MillionCharLimit(),
                            config={"detection": {"timeout_s": 30.0}})
    text = list(("lorem ipsum dolor sit amet " * 80_000)[:2_100_000])
    ends = [start + SCAN_WINDOW for start in window_starts("".join(text))][:-1]
    for i, end in enumerate(ends):  # an email across every window's end
        email = f" m{i:02d}@example.com "
        text[end - 8:end - 8 + len(email)] = email
    text[-30:] = " call 415-555-0199 right now. "
    gw.fake.then(json_body=completion("".join(text)))
    resp = await gw.client.post(CHAT, json=_chat(), headers=gw.env.auth())
    assert resp.status == 200, await resp.text()
    content = (await resp.json())["choices"][0]["message"]["content"]
    assert "@example.com" not in content and "555-0199" not in content
    assert content.count("[[EMAIL_ADDRESS:") == len(ends) >= 20
