"""Anthropic Messages, OpenAI Responses and completions driven by the real ``anthropic`` and
``openai`` SDKs, through the gateway, against the demo model's answers (FakeUpstream):
the upstream sees only tokens and the caller gets its own values back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import pytest

from redact_gw import demo_dialects as dd
from redact_gw.testing import Scripted
from redact_gw.tokens import TOKEN_RE
from tests.conftest import Gateway, MakeGateway
from tests.proxy.test_openai import PLANTED, USER_TEXT, assert_clean

SCHEMA = {"type": "object", "properties": {
    "text": {"type": "string", "description": "what John Smith said"},
    "type": {"type": "string", "description": "kind, e.g. for john.smith@gmail.com"}},
    "required": ["text"]}
ASK = "Use the tool for John Smith, phone 212-555-0123, mail john.smith@gmail.com"


def claude(gw: Gateway, key: str = "ai") -> anthropic.AsyncAnthropic:
    """The anthropic SDK, sending the gateway key as ``x-api-key``."""
    return anthropic.AsyncAnthropic(base_url=str(gw.server.make_url("")),
                                    api_key=gw.env.keys[key], max_retries=0, timeout=10)


def upstream_tokens(gw: Gateway) -> set[str]:
    return {m.group("type") for m in TOKEN_RE.finditer(gw.fake.last.body.decode())}


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_text_round_trip(make_gateway: MakeGateway, stream: bool) -> None:
    gw = await make_gateway()
    kwargs: dict[str, Any] = dict(
        model="demo-echo-1", max_tokens=64, metadata={"user_id": "john.smith@gmail.com"},
        system=[{"type": "text", "text": "You help John Smith (john.smith@gmail.com)."}],
        messages=[{"role": "user", "content": USER_TEXT}],
        extra_body={"x_notes": {"card": "4111 1111 1111 1111"}},
        extra_headers={"anthropic-beta": "tools-2099-01-01"})
    if stream:
        async with claude(gw).messages.stream(**kwargs) as s:
            text = "".join([t async for t in s.text_stream])
            final = await s.get_final_message()
        assert final.content[0].text == text  # type: ignore[union-attr]
    else:
        msg = await claude(gw).messages.create(**kwargs)
        text = msg.content[0].text  # type: ignore[union-attr]
    assert text == "You said: " + USER_TEXT
    got = gw.fake.last
    assert got.request_line == "POST /v1/messages HTTP/1.1"
    assert_clean(got.body)
    assert upstream_tokens(gw) == set(PLANTED)
    sent = got.json()
    assert sent["model"] == "demo-echo-1" and sent["messages"][0]["role"] == "user"
    assert sent["system"][0]["type"] == "text" and sent["max_tokens"] == 64
    # the gateway's upstream key in x-api-key; the caller's key never goes upstream
    assert got.header("x-api-key") == "sk-upstream-secret"
    assert got.header("anthropic-version") is not None
    assert got.header("anthropic-beta") == "tools-2099-01-01"
    assert gw.env.keys["ai"] not in json.dumps(got.headers)
    assert got.header("Authorization") is None


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_tool_use_round_trip(make_gateway: MakeGateway, stream: bool) -> None:
    gw = await make_gateway()
    client = claude(gw)
    tools = [{"name": "lookup", "description": "Look up 42 Main Street in Springfield",
              "input_schema": SCHEMA}]
    first: dict[str, Any] = dict(model="demo-echo-1", max_tokens=64, tools=tools,
                                 messages=[{"role": "user", "content": ASK}],
                                 extra_headers={"X-Record-Id": "r-claude"})
    if stream:
        async with client.messages.stream(**first) as s:
            msg = await s.get_final_message()
    else:
        msg = await client.messages.create(**first)
    sent = gw.fake.last.json()
    assert_clean(gw.fake.last.body)
    props = sent["tools"][0]["input_schema"]["properties"]
    assert props["type"]["type"] == "string"  # the keyword stays, the property's text not
    assert "[[EMAIL_ADDRESS:" in props["type"]["description"]
    assert sent["tools"][0]["input_schema"]["required"] == ["text"]
    block = msg.content[0]
    assert block.type == "tool_use" and block.name == "lookup"
    assert block.input == {"text": ASK}  # the tokens in the streamed JSON restored
    second = await client.messages.create(
        model="demo-echo-1", max_tokens=64, tools=tools, messages=[
            {"role": "user", "content": ASK},
            {"role": "assistant", "content": [block.model_dump()]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id,
                                          "content": "John Smith lives at 42 Main Street"}]}],
        extra_headers={"X-Record-Id": "r-claude"})
    assert_clean(gw.fake.last.body)
    assert gw.fake.last.json()["messages"][1]["content"][0]["id"] == block.id
    assert second.content[0].text == "Tool said: John Smith lives at 42 Main Street"  # type: ignore[union-attr]


async def test_anthropic_count_tokens_and_unknown_model(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    client = claude(gw)
    count = await client.messages.count_tokens(
        model="demo-echo-1", messages=[{"role": "user", "content": USER_TEXT}])
    assert count.input_tokens > 0
    assert gw.fake.last.request_line == "POST /v1/messages/count_tokens HTTP/1.1"
    assert_clean(gw.fake.last.body)
    gw.fake.then(status=404, json_body=dd.anthropic_error(404, "not_found_error",
                                                          "model: nope for John Smith"))
    with pytest.raises(anthropic.NotFoundError) as err:
        await client.messages.create(model="nope", max_tokens=8,
                                     messages=[{"role": "user", "content": "hi"}])
    assert "John Smith" not in str(err.value.body)


async def test_x_api_key_only_on_anthropic_routes(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    resp = await gw.client.post("/v1/chat/completions", json=body,
                                headers={"x-api-key": gw.env.keys["ai"]})
    assert resp.status == 401
    resp = await gw.client.post("/v1/messages", json={**body, "max_tokens": 5},
                                headers={"x-api-key": "rgw_wrong"})
    assert resp.status == 401


async def test_anthropic_own_upstream_and_key(make_gateway: MakeGateway) -> None:
    probe = await make_gateway()
    url = str(probe.upstream_server.make_url("/v1"))
    gw = await make_gateway(fake=probe.fake, upstream_url="http://127.0.0.1:9/v1", config={
        "upstream": {"anthropic": {"url": url, "api_key": "sk-ant-gateway"}}})
    msg = await claude(gw).messages.create(model="demo-echo-1", max_tokens=8,
                                           messages=[{"role": "user", "content": "hi"}])
    assert msg.content[0].text == "You said: hi"  # type: ignore[union-attr]
    assert gw.fake.last.header("x-api-key") == "sk-ant-gateway"


# -- OpenAI Responses -----------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True])
async def test_responses_text_round_trip(make_gateway: MakeGateway, stream: bool) -> None:
    gw = await make_gateway()
    kwargs: dict[str, Any] = dict(model="demo-echo-1", instructions="Help John Smith.",
                                  input=[{"role": "user", "content": [
                                      {"type": "input_text", "text": USER_TEXT}]}],
                                  previous_response_id="resp_earlier1")
    if stream:
        events = [e async for e in await gw.openai().responses.create(stream=True, **kwargs)]
        deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        done = [e.text for e in events if e.type == "response.output_text.done"]
        [completed] = [e.response for e in events if e.type == "response.completed"]
        assert done == [deltas] and completed.output_text == deltas
        text = deltas
    else:
        text = (await gw.openai().responses.create(**kwargs)).output_text
    assert text == "You said: " + USER_TEXT
    assert_clean(gw.fake.last.body)
    sent = gw.fake.last.json()
    assert sent["previous_response_id"] == "resp_earlier1"
    assert upstream_tokens(gw) == set(PLANTED)


@pytest.mark.parametrize("stream", [False, True])
async def test_responses_function_call_round_trip(make_gateway: MakeGateway,
                                                  stream: bool) -> None:
    gw = await make_gateway()
    client = gw.openai()
    tools = [{"type": "function", "name": "lookup", "description": "Find John Smith",
              "parameters": SCHEMA}]
    headers = {"X-Record-Id": "r-resp"}
    if stream:
        events = [e async for e in await client.responses.create(
            model="demo-echo-1", input=ASK, tools=tools, stream=True, extra_headers=headers)]
        args = "".join(e.delta for e in events
                       if e.type == "response.function_call_arguments.delta")
        [done] = [e.arguments for e in events
                  if e.type == "response.function_call_arguments.done"]
        [completed] = [e.response for e in events if e.type == "response.completed"]
        call = completed.output[0]
        assert done == args and call.arguments == args  # type: ignore[union-attr]
    else:
        call = (await client.responses.create(model="demo-echo-1", input=ASK, tools=tools,
                                              extra_headers=headers)).output[0]
    assert_clean(gw.fake.last.body)
    assert call.type == "function_call" and json.loads(call.arguments) == {"text": ASK}
    answer = await client.responses.create(model="demo-echo-1", tools=tools, input=[
        {"role": "user", "content": ASK}, call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id,
         "output": "John Smith: 212-555-0123"}], extra_headers=headers)
    assert_clean(gw.fake.last.body)
    assert answer.output_text == "Tool said: John Smith: 212-555-0123"


@pytest.mark.parametrize("stream", [False, True])
async def test_completions_round_trip(make_gateway: MakeGateway, stream: bool) -> None:
    gw = await make_gateway()
    if stream:
        chunks = [c async for c in await gw.openai().completions.create(
            model="demo-echo-1", prompt=USER_TEXT, stream=True)]
        assert all(len(c.choices) <= 1 for c in chunks)
        text = "".join(c.choices[0].text for c in chunks if c.choices)
    else:
        text = (await gw.openai().completions.create(model="demo-echo-1",
                                                     prompt=USER_TEXT)).choices[0].text
    assert text == "You said: " + USER_TEXT
    assert_clean(gw.fake.last.body)
    assert upstream_tokens(gw) == set(PLANTED)


async def test_model_by_id_and_unknown_path(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    gw.fake.then(json_body=dd.model_info("demo-echo-1"))
    model = await gw.openai().models.retrieve("demo-echo-1")
    assert model.id == "demo-echo-1"
    assert gw.fake.last.request_line == "GET /v1/models/demo-echo-1 HTTP/1.1"
    resp = await gw.client.get("/v1/nope")
    assert resp.status == 404
    body = await resp.json()
    assert body["error"]["code"] == "not_found"
    assert {"POST /v1/messages", "POST /v1/responses", "POST /v1/completions",
            "POST /v1/chat/completions"} <= set(body["error"]["details"]["routes"])


async def test_error_event_ends_an_anthropic_stream(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    message = dd.anthropic_message({"messages": [{"role": "user", "content": "hi there"}]})
    events = dd.anthropic_events(message)
    gw.fake.then(Scripted(events=[*events[:4], dd.sse_event("error", dd.anthropic_error(
        529, "overloaded_error", "overloaded for John Smith"))]))
    seen = ""
    with pytest.raises(anthropic.APIStatusError) as err:
        async with claude(gw).messages.stream(
                model="demo-echo-1", max_tokens=8,
                messages=[{"role": "user", "content": "hi"}]) as s:
            async for text in s.text_stream:
                seen += text
    assert seen == "You "  # what came before the error, then the error
    assert "John Smith" not in str(err.value) and "[[PERSON:" in str(err.value)


async def test_gateway_error_ends_an_anthropic_stream_as_its_sdk_expects(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"proxy": {"max_stream_seconds": 0.5}})
    message = dd.anthropic_message({"messages": [{"role": "user", "content": "hi there"}]})
    gw.fake.then(Scripted(events=dd.anthropic_events(message), gates={4: asyncio.Event()}))
    with pytest.raises(anthropic.APIStatusError) as err:
        async with claude(gw).messages.stream(
                model="demo-echo-1", max_tokens=8,
                messages=[{"role": "user", "content": "hi"}]) as s:
            async for _ in s.text_stream:
                pass
    assert err.value.body == {"type": "error", "error": {
        "type": "stream_too_long", "message": "the stream ran longer than 0.5 seconds"}}


async def test_batched_text_goes_out_in_its_own_block_delta_when_upstream_stalls(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"proxy": {"min_emit_chars": 4096,
                                              "max_emit_delay_s": 0.05}})
    message = dd.anthropic_message({"messages": [{"role": "user", "content": "a b c d"}]})
    gate = asyncio.Event()
    gw.fake.then(Scripted(events=dd.anthropic_events(message), gates={8: gate}))
    seen: list[str] = []
    async with claude(gw).messages.stream(
            model="demo-echo-1", max_tokens=8,
            messages=[{"role": "user", "content": "a b c d"}]) as s:
        async for text in s.text_stream:
            seen.append(text)
            gate.set()  # text arrived while the upstream was still stalled
    assert "".join(seen) == "You said: a b c d"
