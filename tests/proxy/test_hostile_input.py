"""Hostile callers (issue 16, items 9-11): every bad body is a 4xx JSON error, malformed
HTTP is answered with a JSON page that quotes nothing, slow clients are cut."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from redact_gw.proxy.app import create_app
from redact_gw.proxy.runner import serve
from redact_gw.testing import FakeDetector
from redact_gw.testing_server import free_port
from tests.conftest import Env, MakeClient, write_config

CHAT = "/v1/chat/completions"


def _chat(content: str) -> str:
    return '{"model": "m", "messages": [{"role": "user", "content": "' + content + '"}]}'


# -- item 10: bad bodies -------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "code"), [
    ("[" * 1000 + "]" * 1000, "too_deep"),
    ('{"a": ' + "[" * 200 + "]" * 200 + "}", "too_deep"),
    (_chat("hi").replace('"m"', "1" + "0" * 5000), "invalid_number"),
    (_chat("hi").replace('"m"', "1" + "0" * 100), "invalid_number"),
    (_chat("hi").replace('"m"', "NaN"), "invalid_number"),
    (_chat("hi").replace('"m"', "-Infinity"), "invalid_number"),
    (_chat("hi").replace('"m"', "1e999"), "invalid_number"),
    (_chat("\\udc00 John Smith"), "invalid_utf8"),
    (_chat("John \\udfff Smith"), "invalid_utf8"),
])
@pytest.mark.parametrize("path", [CHAT, "/v1/redact"])
async def test_unreadable_bodies_are_a_400_json_error(make_client: MakeClient, env: Env,
                                                      raw: str, code: str,
                                                      path: str) -> None:
    client = await make_client()
    if path == "/v1/redact":
        raw = raw.replace('"messages"', '"turns"')
    resp = await client.post(path, data=raw.encode(), headers={
        **env.auth("admin" if path == "/v1/redact" else "ai"),
        "Content-Type": "application/json"})
    body = await resp.json()
    assert (resp.status, body["error"]["code"]) == (400, code)
    assert "John" not in json.dumps(body)


async def test_gzip_bodies_are_still_read(make_client: MakeClient, env: Env) -> None:
    import gzip
    client = await make_client()
    resp = await client.post("/v1/redact", data=gzip.compress(b'{"text": "I am John Smith"}'),
                             headers={**env.auth("admin"), "Content-Encoding": "gzip",
                                      "Content-Type": "application/json"})
    assert resp.status == 200 and "John" not in (await resp.json())["text"]


async def test_nul_in_stored_fields_and_filters_is_a_400(make_client: MakeClient,
                                                          env: Env) -> None:
    client = await make_client()
    admin = env.auth("admin")
    for method, path, doc in [
            ("POST", "/v1/redact", {"text": "hi", "channel": "ph\u0000one"}),
            ("PUT", "/v1/subjects/cust-1/opt-out", {"no_ai_processing": True,
                                                     "reason": "asked\u0000"}),
            ("GET", "/v1/audit?principal=a%00b", None),
            ("GET", "/v1/audit?action=x%00", None)]:
        resp = await client.request(method, path, json=doc, headers=admin)
        body = await resp.json()
        assert (resp.status, body["error"]["code"]) == (400, "nul_character"), path
    metrics = await (await client.get("/metrics")).text()
    assert 'redact_gw_vault_errors_total{operation="write"} 1' not in metrics


# -- items 9 and 11: the real server (serve) on a real port --------------------------------
@pytest.fixture
def served_env(env: Env) -> Env:
    write_config(env.root, {"server": {"max_body_bytes": 65536, "header_timeout_s": 1.0,
                                       "body_timeout_s": 1.5,
                                       "max_connections_per_client": 8}})
    return env


@pytest.fixture
async def gateway_port(served_env: Env) -> AsyncIterator[int]:
    app = create_app(served_env.settings(), detector_factory=FakeDetector)
    port, stop = free_port(), asyncio.Event()
    task = asyncio.create_task(serve(app, "127.0.0.1", port, stop=stop,
                                     shutdown_timeout_s=2))
    for _ in range(200):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    try:
        yield port
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[Records]:
    handler, root = Records(), logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


async def _exchange(port: int, raw: bytes, timeout: float = 5) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br", "x-custom"])
async def test_unsupported_content_encoding_is_415(gateway_port: int, served_env: Env,
                                                   encoding: str) -> None:
    headers = {**served_env.auth(), "Content-Type": "application/json",
               "Content-Encoding": encoding}
    async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{gateway_port}{CHAT}", data=_chat("hi").encode(),
            headers=headers) as resp:
        body = await resp.json()
    assert (resp.status, body["error"]["code"]) == (415, "unsupported_media_type")


async def test_malformed_http_gets_a_json_page_that_quotes_nothing(
        gateway_port: int, records: Records) -> None:
    raw = (b"POST /v1/redact HTTP/1.1\r\nHost: x\r\n"
           b"X-Card: 4539148803436467 Maria Garcia\x01\r\n\r\n")
    answer = await _exchange(gateway_port, raw)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400"
    assert b"application/json" in head and b"aiohttp" not in head and b"Python" not in head
    assert json.loads(body)["error"]["code"] == "bad_request"
    assert b"4539" not in answer and b"Maria" not in answer
    logged = [r for r in records.records if r.name.startswith("redact_gw")]
    assert not [r for r in records.records if r.exc_info and r.levelno >= logging.ERROR]
    access = [r for r in logged if r.name == "redact_gw.access"]
    assert [(r.__dict__["route"], r.__dict__["status"]) for r in access] == [
        ("unmatched", 400)]
    text = " ".join(r.getMessage() for r in records.records)
    assert "4539" not in text and "Maria" not in text


async def test_no_version_banner(gateway_port: int) -> None:
    answer = await _exchange(gateway_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                           b"Connection: close\r\n\r\n")
    head = answer.partition(b"\r\n\r\n")[0].lower()
    assert b"server: redact-gw\r\n" in head + b"\r\n"
    assert b"aiohttp" not in head and b"python" not in head


async def test_unfinished_headers_are_cut_at_the_deadline(gateway_port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway_port)
    writer.write(b"POST /v1/redact HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    try:
        data = await asyncio.wait_for(reader.read(), 6)
    finally:
        writer.close()
    assert data == b"" and time.monotonic() - started < 4  # closed, no answer


async def test_a_dribbled_body_is_answered_408_within_the_deadline(
        gateway_port: int, served_env: Env) -> None:
    key = served_env.keys["admin"]
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway_port)
    writer.write(b"POST /v1/redact HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + key.encode() + b"\r\n"
                 b"Content-Length: 100\r\n\r\n{")
    started = time.monotonic()

    async def dribble() -> None:
        for _ in range(20):
            await asyncio.sleep(0.5)  # 1 byte per 0.5 s: never done within the deadline
            writer.write(b" ")

    feeder = asyncio.create_task(dribble())
    data = b""
    try:
        async with asyncio.timeout(8):
            while chunk := await reader.read(65536):
                data += chunk
    except ConnectionError:
        pass  # closed while the client was still writing: as good as EOF
    finally:
        feeder.cancel()
        writer.close()
    assert time.monotonic() - started < 6  # the client meant to take 10 s
    assert data.startswith(b"HTTP/1.1 408")
    assert b'"request_timeout"' in data


async def test_one_client_cannot_hold_more_than_its_connections(
        gateway_port: int) -> None:
    held = [await asyncio.open_connection("127.0.0.1", gateway_port) for _ in range(12)]
    try:
        await asyncio.sleep(0.4)  # well within the 1 s header deadline
        closed = sum(reader.at_eof() for reader, _ in held)
        assert closed == 12 - 8  # the ones over the cap were closed at once
    finally:
        for _, writer in held:
            writer.close()
    await asyncio.sleep(0.3)
    answer = await _exchange(gateway_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                           b"Connection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200")  # the places are free again
