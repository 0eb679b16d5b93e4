"""The demo model speaks every dialect, calls tools when asked, rejects unknown models."""

from __future__ import annotations

import json
from typing import Any

from redact_gw.demo import DemoModel
from redact_gw.streaming.sse import SseDecoder

TOOLS_CHAT = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]


async def events(resp: Any) -> list[dict[str, Any]]:
    decoder = SseDecoder()
    out = []
    for line in (await resp.text()).splitlines(keepends=True):
        ev = decoder.feed(line)
        if ev is not None and ev.data and ev.data != "[DONE]":
            out.append(json.loads(ev.data))
    return out


async def test_every_dialect_streamed_and_not(aiohttp_client: Any) -> None:
    client = await aiohttp_client(DemoModel(verbose=False, word_delay_s=0).app())
    user = [{"role": "user", "content": "hi there"}]
    resp = await client.post("/v1/messages", json={"model": "demo-echo-1", "messages": user,
                                                   "max_tokens": 9})
    assert (await resp.json())["content"][0]["text"] == "You said: hi there"
    resp = await client.post("/v1/messages", json={"model": "demo-echo-1", "messages": user,
                                                   "max_tokens": 9, "stream": True})
    types = [e["type"] for e in await events(resp)]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    resp = await client.post("/v1/responses", json={"model": "demo-echo-1", "input": "hi"})
    assert (await resp.json())["output"][0]["content"][0]["text"] == "You said: hi"
    resp = await client.post("/v1/responses", json={"model": "demo-echo-1", "input": "hi",
                                                    "stream": True})
    assert (await events(resp))[-1]["type"] == "response.completed"
    resp = await client.post("/v1/completions", json={"model": "demo-echo-1", "prompt": "hi"})
    assert (await resp.json())["choices"][0]["text"] == "You said: hi"
    resp = await client.get("/v1/models/demo-echo-1")
    assert (await resp.json())["id"] == "demo-echo-1"


async def test_tool_calls_when_asked(aiohttp_client: Any) -> None:
    client = await aiohttp_client(DemoModel(verbose=False, word_delay_s=0).app())
    ask = [{"role": "user", "content": "use the tool for Maria"}]
    resp = await client.post("/v1/chat/completions", json={
        "model": "demo-echo-1", "messages": ask, "tools": TOOLS_CHAT})
    call = (await resp.json())["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["name"] == "lookup"
    assert json.loads(call["function"]["arguments"]) == {"text": "use the tool for Maria"}
    resp = await client.post("/v1/chat/completions", json={
        "model": "demo-echo-1", "messages": ask, "tools": TOOLS_CHAT, "stream": True})
    args = "".join(tc["function"].get("arguments", "") for e in await events(resp)
                   for tc in e["choices"][0]["delta"].get("tool_calls") or [])
    assert json.loads(args) == {"text": "use the tool for Maria"}
    resp = await client.post("/v1/messages", json={
        "model": "demo-echo-1", "messages": ask, "max_tokens": 9,
        "tools": [{"name": "lookup", "input_schema": {"type": "object"}}]})
    block = (await resp.json())["content"][0]
    assert block["type"] == "tool_use" and block["input"] == {"text": "use the tool for Maria"}
    resp = await client.post("/v1/responses", json={
        "model": "demo-echo-1", "input": "use the tool for Maria",
        "tools": [{"type": "function", "name": "lookup"}]})
    assert (await resp.json())["output"][0]["type"] == "function_call"


async def test_unknown_model_is_rejected_like_the_real_services(aiohttp_client: Any) -> None:
    client = await aiohttp_client(DemoModel(verbose=False, word_delay_s=0).app())
    user = [{"role": "user", "content": "hi"}]
    resp = await client.post("/v1/chat/completions", json={"model": "gpt-9", "messages": user})
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "model_not_found"
    resp = await client.post("/v1/messages", json={"model": "claude-9", "messages": user,
                                                   "max_tokens": 9})
    assert resp.status == 404
    assert (await resp.json())["error"]["type"] == "not_found_error"
    resp = await client.get("/v1/models/gpt-9")
    assert resp.status == 404
