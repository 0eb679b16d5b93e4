"""Fail closed, and say why: every error mapping of the proxy, and client disconnects."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
import pytest

from redact_gw.demo import chunk
from redact_gw.errors import VaultUnavailable
from redact_gw.proxy import appkeys
from redact_gw.proxy.upstream import unless_disconnected
from redact_gw.testing import FailingDetector, Scripted, SlowDetector
from tests.conftest import MakeGateway

CHAT = {"model": "m", "messages": [{"role": "user", "content": "I am John Smith"}]}


async def _post(gw: Any, doc: Any = CHAT, **kw: Any) -> tuple[int, dict[str, Any]]:
    resp = await gw.client.post("/v1/chat/completions", json=doc, headers=gw.env.auth(), **kw)
    body = await resp.json()
    assert "John Smith" not in str(body)
    return resp.status, body


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_upstream_refused_is_502(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(upstream_url=f"http://127.0.0.1:{_free_port()}/v1")
    status, body = await _post(gw)
    assert (status, body["error"]["code"]) == (502, "upstream_unreachable")


async def test_upstream_timeout_is_504(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"upstream": {"read_timeout_s": 0.2}})
    gw.fake.then(Scripted(hang=True))
    status, body = await _post(gw)
    assert (status, body["error"]["code"]) == (504, "upstream_timeout")


@pytest.mark.parametrize("status", [400, 429, 500, 503])
async def test_upstream_error_status_passes_through(make_gateway: MakeGateway,
                                                    status: int) -> None:
    gw = await make_gateway()
    gw.fake.then(Scripted(status=status, json_body={"error": {"message": "nope"}}))
    got, body = await _post(gw)
    assert got == status and body == {"error": {"message": "nope"}}


async def test_non_json_error_body_is_scanned(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    gw.fake.then(Scripted(status=502, body=b"bad gateway for bob@evil.com",
                          headers={"Content-Type": "text/plain"}))
    resp = await gw.client.post("/v1/chat/completions", json=CHAT, headers=gw.env.auth())
    text = await resp.text()
    assert resp.status == 502 and "bob@evil.com" not in text and "[[EMAIL_ADDRESS:" in text


async def test_detection_failure_forwards_nothing(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(detector=FailingDetector())
    status, body = await _post(gw)
    assert (status, body["error"]["code"]) == (503, "detection_failed")
    assert gw.fake.received == []


async def test_detection_timeout_forwards_nothing(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(detector=SlowDetector(1.0), config={"detection": {"timeout_s": 0.2}})
    status, body = await _post(gw)
    assert (status, body["error"]["code"]) == (503, "detection_timeout")
    assert gw.fake.received == []


async def test_vault_failure_forwards_nothing(make_gateway: MakeGateway,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    gw = await make_gateway()
    async def broken(*_a: Any, **_k: Any) -> Any:
        raise VaultUnavailable()
    monkeypatch.setattr(gw.server.app[appkeys.STORE], "commit_entries", broken)
    status, body = await _post(gw)
    assert (status, body["error"]["code"]) == (503, "vault_unavailable")
    assert gw.fake.received == []


async def test_limits(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"proxy": {"max_messages": 2}})
    many = {"model": "m", "messages": [{"role": "user", "content": "x"}] * 3}
    status, body = await _post(gw, many)
    assert (status, body["error"]["code"]) == (413, "too_many_messages")
    status, body = await _post(gw, {"model": "m", "messages": [
        {"role": "user", "content": "John Smith " + "x" * 70000}]})
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    status, body = await _post(gw, {"model": "m", "messages": "John Smith"})
    assert (status, body["error"]["code"]) == (422, "invalid_input")
    resp = await gw.client.post("/v1/chat/completions", json=CHAT, headers={
        **gw.env.auth(), "X-Record-Id": "bad id"})
    assert resp.status == 422
    assert gw.fake.received == []


async def test_stream_duration_limit_ends_with_error_event(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"proxy": {"max_stream_seconds": 0.2}})
    gate = asyncio.Event()
    gw.fake.then_stream([chunk({"content": "hello "}), chunk({"content": "late"})],
                        gates={1: gate})
    resp = await gw.client.post("/v1/chat/completions", json={**CHAT, "stream": True},
                                headers=gw.env.auth())
    body = await resp.text()
    gate.set()
    assert '"code": "stream_too_long"' in body and "[DONE]" not in body
    assert await asyncio.wait_for(gw.fake.disconnected.wait(), 5)


async def test_client_disconnect_cancels_upstream(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    gate = asyncio.Event()
    gw.fake.then_stream([chunk({"content": "first words "}), chunk({"content": "more"})],
                        gates={1: gate})
    async with aiohttp.ClientSession() as session:
        resp = await session.post(gw.server.make_url("/v1/chat/completions"),
                                  json={**CHAT, "stream": True}, headers=gw.env.auth())
        line = await resp.content.readline()
        assert line.startswith(b"data: ")
        resp.close()  # the client goes away mid-stream
    await asyncio.wait_for(gw.fake.disconnected.wait(), 5)
    gate.set()
    tasks = [t for t in asyncio.all_tasks() if "_relay" in repr(t.get_coro())]
    assert tasks == []


class _Transport:
    def __init__(self) -> None:
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing


class _Request:
    def __init__(self) -> None:
        self.transport = _Transport()


async def test_disconnect_watcher_cancels_work_without_handler_cancellation() -> None:
    request = _Request()
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def work() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
    watcher = asyncio.ensure_future(unless_disconnected(request, work(),  # type: ignore[arg-type]
                                                        poll_s=0.01))
    await started.wait()
    request.transport.closing = True
    gone, _ = await asyncio.wait_for(watcher, 5)
    assert gone and cancelled.is_set()
