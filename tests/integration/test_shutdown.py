"""Graceful shutdown of a real gateway process: SIGTERM in the middle of a slow stream.

The gateway runs as ``python -m redact_gw.testing_server`` (the same settings, app,
cleanup contexts, runner and JSON logs as ``redact-gw serve``; only the detector is the
regex fake) in front of a fake upstream in this process whose stream the test releases
chunk by chunk. Each test runs on uvloop (``server.event_loop: auto``, the default) and
on asyncio's own loop: they order a loop turn differently (uvloop runs timer and socket
callbacks straight from libuv, not in turn with the callbacks already queued), and a
shutdown race may show on one loop only.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from redact_gw import demo
from redact_gw.logs import iter_json_lines
from redact_gw.testing import FakeUpstream, Scripted
from redact_gw.testing_server import GatewayHome, GatewayProcess, make_home

TEXT = ("one two three four five six seven eight nine ten eleven twelve thirteen"
        " fourteen fifteen sixteen seventeen eighteen nineteen twenty")
REQUEST_ID = "shutdown-test.1"


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[FakeUpstream, str]]:
    """A fake OpenAI-compatible upstream on a real port (handlers cancelled on
    disconnect, so ``fake.disconnected`` tells when the gateway dropped the stream)."""
    fake = FakeUpstream()
    runner = web.AppRunner(fake.app(), handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield fake, f"http://127.0.0.1:{port}/v1"
    await runner.cleanup()


@pytest.fixture(params=["auto", "asyncio"])
def loop_name(request: pytest.FixtureRequest) -> str:
    """``server.event_loop`` of the gateway process."""
    return str(request.param)


def _home(tmp_path: Path, upstream_url: str, shutdown_timeout_s: float,
          loop_name: str) -> GatewayHome:
    return make_home(tmp_path, "vault.db", upstream={"url": upstream_url},
                     server={"access_log": True, "log_format": "json",
                             "shutdown_timeout_s": shutdown_timeout_s,
                             "event_loop": loop_name},
                     retention={"purge": {"schedule": "every 1h"}})


def _script_slow_stream(fake: FakeUpstream, held_from: int) -> list[asyncio.Event]:
    """Stream TEXT word by word; events from ``held_from`` on wait for their gate."""
    events: list[Any] = [*demo.chat_chunks(demo.words(TEXT)), "[DONE]"]
    gates = {i: asyncio.Event() for i in range(held_from, len(events))}
    fake.then(Scripted(events=events, gates=gates))
    return list(gates.values())


async def _start_stream(http: aiohttp.ClientSession, gw: GatewayProcess,
                        home: GatewayHome) -> aiohttp.ClientResponse:
    resp = await http.post(
        gw.url + "/v1/chat/completions",
        headers={**home.auth(), "X-Request-Id": REQUEST_ID},
        json={"model": "demo-echo-1", "stream": True,
              "messages": [{"role": "user", "content": "count to twenty"}]})
    assert resp.status == 200, await resp.text()
    assert resp.headers["X-Request-Id"] == REQUEST_ID
    return resp


async def _next_data(resp: aiohttp.ClientResponse) -> str:
    """The payload of the next ``data:`` line of the stream."""
    while True:
        line = await asyncio.wait_for(resp.content.readline(), 10)
        if not line:
            raise EOFError("stream ended")
        if line.startswith(b"data: "):
            return line[6:].strip().decode()


def _content(data: list[str]) -> str:
    text = ""
    for payload in data:
        if payload == "[DONE]":
            continue
        for choice in json.loads(payload).get("choices", []):
            text += (choice.get("delta") or {}).get("content") or ""
    return text


async def _refused(port: int, within_s: float = 5.0) -> bool:
    """True once a new TCP connection to ``port`` is refused."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            return True
        writer.close()
        await asyncio.sleep(0.05)
    return False


async def _exit_code(gw: GatewayProcess, within_s: float) -> int:
    assert gw.proc is not None
    return await asyncio.wait_for(gw.proc.wait(), within_s)


def _check_clean_log(log: str) -> list[dict[str, Any]]:
    lines = list(iter_json_lines(log))
    assert "Traceback" not in log, log
    assert not [x for x in lines if x["level"] in ("ERROR", "CRITICAL")], log
    assert not [x for x in lines if "exc_type" in x], log
    events = [(x.get("event"), x.get("task")) for x in lines]
    assert ("shutdown_started", None) in events
    assert ("task_stopped", "retention-purge") in events
    assert ("task_stopped", "file-watch") in events
    assert ("vault_closed", None) in events
    assert events[-1] == ("shutdown_complete", None), events
    return lines


async def test_sigterm_mid_stream_finishes_the_stream_then_exits_cleanly(
        tmp_path: Path, upstream: tuple[FakeUpstream, str], loop_name: str) -> None:
    fake, url = upstream
    home = _home(tmp_path, url, shutdown_timeout_s=10, loop_name=loop_name)
    gates = _script_slow_stream(fake, held_from=4)
    gw = GatewayProcess(home.config, args=("--log-level", "INFO"))
    await gw.start()
    try:
        async with aiohttp.ClientSession() as http:
            resp = await _start_stream(http, gw, home)
            data = [await _next_data(resp)]  # the stream is flowing
            assert gw.proc is not None
            gw.proc.terminate()  # SIGTERM
            sigterm_at = time.monotonic()
            assert await _refused(gw.port), "new connections still accepted after SIGTERM"
            gw.proc.terminate()  # a second SIGTERM (docker stop, impatient operator)
            for gate in gates:  # the rest of the answer trickles in after the signal
                await asyncio.sleep(0.05)
                gate.set()
            while data[-1] != "[DONE]":
                data.append(await _next_data(resp))
            assert (await resp.content.read()).strip() == b""  # nothing after [DONE]
            resp.release()
        code = await _exit_code(gw, within_s=10)
        took = time.monotonic() - sigterm_at
    finally:
        log = gw.log(tail=None)
        await gw.stop()
    print(f"SIGTERM -> exit 0 in {took:.2f}s (stream finished after the signal)")
    assert _content(data) == TEXT
    assert code == 0, log
    assert took < 10, f"exit took {took:.1f}s"
    lines = _check_clean_log(log)
    access = [x for x in lines if x.get("event") == "access"
              and x.get("route") == "/v1/chat/completions"]
    assert [(x["method"], x["status"], x["request_id"]) for x in access] == [
        ("POST", 200, REQUEST_ID)]
    assert "count to twenty" not in log and "seventeen" not in log  # no bodies logged


async def test_stream_past_the_deadline_is_cut_and_the_process_still_exits(
        tmp_path: Path, upstream: tuple[FakeUpstream, str], loop_name: str) -> None:
    fake, url = upstream
    home = _home(tmp_path, url, shutdown_timeout_s=1, loop_name=loop_name)
    _script_slow_stream(fake, held_from=4)  # the gates are never opened
    gw = GatewayProcess(home.config, args=("--log-level", "INFO"))
    await gw.start()
    try:
        async with aiohttp.ClientSession() as http:
            resp = await _start_stream(http, gw, home)
            data = [await _next_data(resp)]
            assert gw.proc is not None
            gw.proc.terminate()
            sigterm_at = time.monotonic()
            with pytest.raises((aiohttp.ClientPayloadError, EOFError)):
                while True:  # cut at the deadline, never completed
                    data.append(await _next_data(resp))
            resp.release()
            code = await _exit_code(gw, within_s=10)
            took = time.monotonic() - sigterm_at
        await asyncio.wait_for(fake.disconnected.wait(), 5)  # upstream request dropped too
    finally:
        log = gw.log(tail=None)
        await gw.stop()
    print(f"SIGTERM -> stream cut, exit {code} in {took:.2f}s (deadline 1 s)")
    assert "[DONE]" not in data
    assert code == 0, log
    assert took < 4, f"exit took {took:.1f}s after a 1 s deadline"
    lines = _check_clean_log(log)
    cut = [x for x in lines if x.get("event") == "shutdown_deadline"]
    assert [(x["level"], x["connections"]) for x in cut] == [("WARNING", 1)]
