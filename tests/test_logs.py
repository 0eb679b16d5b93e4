"""Structured logs and request ids: formatter, middleware, access log, executors."""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from redact_gw.logs import (
    ContextThreadPoolExecutor,
    JsonFormatter,
    TextFormatter,
    accept_request_id,
    current_request_id,
    request_id_var,
    setup_logging,
)
from redact_gw.proxy.middlewares import request_id_header, request_id_middleware
from redact_gw.proxy.runner import serve
from redact_gw.testing_server import free_port
from tests.conftest import Env, MakeGateway

HEX32 = re.compile(r"[0-9a-f]{32}")


class Lines(logging.Handler):
    """Formats each record as JSON when it is emitted (in the emitting thread)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def of(self, logger: str) -> list[dict[str, Any]]:
        return [x for x in self.lines if x["logger"] == logger]


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _format(fmt: logging.Formatter, **extra: Any) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(fmt)
    logger = logging.getLogger("test.logs.format")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("hello %s", "world", extra=extra)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_json_line_has_the_fields_and_only_safe_extras() -> None:
    def in_request() -> str:
        request_id_var.set("req-1")
        return _format(JsonFormatter(), status=200, route="/v1/redact",
                       body="John Smith 212-555-0123", api_key="rgw_secret")
    out = contextvars.copy_context().run(in_request)
    assert out.count("\n") == 1
    doc = json.loads(out)
    assert doc["level"] == "WARNING" and doc["logger"] == "test.logs.format"
    assert doc["message"] == "hello world" and doc["request_id"] == "req-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", doc["ts"])
    assert doc["status"] == 200 and doc["route"] == "/v1/redact"
    assert "John Smith" not in out and "rgw_secret" not in out
    assert "request_id" not in json.loads(_format(JsonFormatter()))  # outside a request


def test_exceptions_are_logged_by_type_and_frames_never_message() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.logs.exc")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("jane@example.com is not allowed")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    doc = json.loads(stream.getvalue())
    assert doc["exc_type"] == "ValueError" and doc["exc_frames"]
    assert "jane@example.com" not in stream.getvalue()


def test_text_format_names_the_request() -> None:
    def in_request() -> str:
        request_id_var.set("abc")
        return _format(TextFormatter())
    out = contextvars.copy_context().run(in_request)
    assert " WARNING test.logs.format [abc] hello world" in out


@pytest.mark.parametrize("incoming", ["abc", "A.b_c-1", "x" * 64])
def test_well_formed_request_ids_are_kept(incoming: str) -> None:
    assert accept_request_id(incoming) == incoming


@pytest.mark.parametrize("incoming", [None, "", "x" * 65, "a b", "a\nb", "é", "a/b",
                                      '"}{"level":"ERROR'])
def test_other_request_ids_are_replaced(incoming: str | None) -> None:
    assert HEX32.fullmatch(accept_request_id(incoming))


def test_setup_logging_twice_keeps_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        setup_logging("text")
        setup_logging("json")
        ours = [h for h in root.handlers if h.name == "redact_gw.stderr"]
        assert len(ours) == 1
        logging.getLogger("redact_gw.test").warning("json please")
        err = capsys.readouterr().err
        assert json.loads(err.strip().splitlines()[-1])["message"] == "json please"
    finally:
        for h in [h for h in root.handlers if h not in before]:
            root.removeHandler(h)


async def test_context_executor_carries_the_request_id() -> None:
    loop = asyncio.get_running_loop()
    request_id_var.set("in-thread")
    with ContextThreadPoolExecutor(1) as ctx_pool, ThreadPoolExecutor(1) as plain:
        assert await loop.run_in_executor(ctx_pool, current_request_id) == "in-thread"
        # why it is needed: run_in_executor does not copy contextvars by itself
        assert await loop.run_in_executor(plain, current_request_id) is None


# -- through the gateway ----------------------------------------------------------------------
async def test_request_id_header_on_success_error_and_stream(
        make_gateway: MakeGateway, env: Env) -> None:
    gw = await make_gateway()
    c = gw.client
    resp = await c.post("/v1/redact", json={"text": "hi"},
                        headers={**env.auth(), "X-Request-Id": "call-42.a"})
    assert resp.status == 200 and resp.headers["X-Request-Id"] == "call-42.a"
    resp = await c.post("/v1/redact", json={"text": "hi"},
                        headers={**env.auth(), "X-Request-Id": "no good"})
    assert HEX32.fullmatch(resp.headers["X-Request-Id"])
    resp = await c.post("/v1/redact", json={"text": "hi"}, headers={"X-Request-Id": "r401"})
    assert resp.status == 401 and resp.headers["X-Request-Id"] == "r401"
    resp = await c.get("/v1/nothing", headers={**env.auth(), "X-Request-Id": "r404"})
    assert resp.status == 404 and resp.headers["X-Request-Id"] == "r404"
    resp = await c.post("/v1/redact", data=b"{not json", headers={**env.auth(),
                                                                  "X-Request-Id": "r400"})
    assert resp.status == 400 and resp.headers["X-Request-Id"] == "r400"
    resp = await c.post("/v1/chat/completions", headers={**env.auth(), "X-Request-Id": "s1"},
                        json={"model": "m", "stream": True,
                              "messages": [{"role": "user", "content": "hello there"}]})
    body = await resp.text()
    assert resp.status == 200 and resp.headers["X-Request-Id"] == "s1"
    assert "[DONE]" in body


async def test_every_line_of_a_request_carries_its_id(
        make_gateway: MakeGateway, env: Env, lines: Lines) -> None:
    gw = await make_gateway(upstream_url=f"http://127.0.0.1:{free_port()}/v1")
    resp = await gw.client.post(
        "/v1/chat/completions", headers={**env.auth(), "X-Request-Id": "up-down"},
        json={"model": "m", "messages": [{"role": "user", "content": "hi John Smith"}]})
    assert resp.status == 502
    mine = [x for x in lines.lines if x["logger"].startswith("redact_gw.proxy")]
    assert mine and all(x.get("request_id") == "up-down" for x in mine), mine


async def _echo_app() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        def work() -> None:
            logging.getLogger("redact_gw.test.worker").info("in the default executor")
        await asyncio.get_running_loop().run_in_executor(None, work)
        return web.json_response({"ok": True})

    async def stream(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"data: 1\n\n")
        return resp
    app = web.Application(middlewares=[request_id_middleware])
    app.on_response_prepare.append(request_id_header)
    app.router.add_get("/records/{record_id}", handler)
    app.router.add_get("/stream", stream)
    return app


async def test_runner_access_log_and_default_executor_carry_the_id(lines: Lines) -> None:
    port, stop = free_port(), asyncio.Event()
    task = asyncio.create_task(serve(await _echo_app(), "127.0.0.1", port, stop=stop,
                                     shutdown_timeout_s=2))
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(url + "/records/call-9?email=x@y.z",
                                        headers={"X-Request-Id": "rid-7"}) as resp:
                        assert resp.headers["X-Request-Id"] == "rid-7"
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            async with http.get(url + "/stream", headers={"X-Request-Id": "rid-8"}) as resp:
                assert resp.headers["X-Request-Id"] == "rid-8"
                await resp.read()
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    worker = lines.of("redact_gw.test.worker")
    assert [x.get("request_id") for x in worker] == ["rid-7"]
    access = lines.of("redact_gw.access")
    assert [(x["method"], x["route"], x["status"], x["request_id"]) for x in access] == [
        ("GET", "/records/{record_id}", 200, "rid-7"), ("GET", "/stream", 200, "rid-8")]
    assert all(isinstance(x["duration_ms"], float) for x in access)
    text = json.dumps(lines.lines)
    assert "call-9" not in text and "x@y.z" not in text  # no concrete path, no query
    events = [x.get("event") for x in lines.of("redact_gw.server")]
    assert events == ["listening", "shutdown_started", "shutdown_complete"]


@pytest.mark.parametrize(("argv", "expected"), [
    ((), JsonFormatter), (("--log-format", "text"), TextFormatter)])
def test_serve_logs_json_by_default_and_passes_the_shutdown_deadline(
        env: Env, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...],
        expected: type[logging.Formatter]) -> None:
    from redact_gw import cli
    from redact_gw.proxy import runner
    seen: dict[str, Any] = {}

    def fake_run(app: web.Application, host: str, port: int, **kwargs: Any) -> None:
        seen.update(kwargs, host=host, port=port)
        ours = [h for h in logging.getLogger().handlers if h.name == "redact_gw.stderr"]
        seen["formatter"] = type(ours[0].formatter)
    monkeypatch.setattr(runner, "run", fake_run)
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    cfg = yaml.safe_load(env.config_path.read_text())
    cfg["server"]["shutdown_timeout_s"] = 7
    env.config_path.write_text(yaml.safe_dump(cfg))
    try:
        assert cli.main(["--config", str(env.config_path), *argv, "serve"]) == 0
    finally:
        for h in [h for h in root.handlers if h not in before]:
            root.removeHandler(h)
        root.setLevel(level)
    assert seen["shutdown_timeout_s"] == 7 and seen["access_log"] is True
    assert seen["formatter"] is expected


class _ChattyDetector:
    """Logs from inside ``detect`` (which runs in the detection executor's thread)."""

    def warm_up(self) -> None:
        pass

    def detect(self, segments: Any, known: Any = ()) -> list[list[Any]]:
        logging.getLogger("redact_gw.test.detector").warning("detecting")
        return [[] for _ in segments]


async def test_lines_from_the_detection_thread_carry_the_request_id(
        make_client: Any, env: Env, lines: Lines) -> None:
    client = await make_client(_ChattyDetector())
    resp = await client.post("/v1/redact", json={"text": "hello"},
                             headers={**env.auth(), "X-Request-Id": "det-1"})
    assert resp.status == 200
    assert [x.get("request_id") for x in lines.of("redact_gw.test.detector")] == ["det-1"]


async def test_the_upstream_request_id_header_does_not_replace_ours(
        make_gateway: MakeGateway, env: Env) -> None:
    from redact_gw import demo
    from redact_gw.testing import Scripted
    gw = await make_gateway()
    gw.fake.then(Scripted(json_body=demo.completion("hi"), headers={"x-request-id": "up-1"}))
    gw.fake.then_stream(demo.chat_chunks(["hi"]), headers={"x-request-id": "up-2"})
    for stream in (False, True):
        resp = await gw.client.post(
            "/v1/chat/completions", headers={**env.auth(), "X-Request-Id": "mine"},
            json={"model": "m", "stream": stream,
                  "messages": [{"role": "user", "content": "hello"}]})
        await resp.read()
        assert resp.status == 200 and resp.headers.getall("X-Request-Id") == ["mine"]


async def test_the_request_id_is_passed_to_the_upstream(make_gateway: Any) -> None:
    gw = await make_gateway()
    body = {"model": "demo", "messages": [{"role": "user", "content": "hello"}]}
    r = await gw.client.post("/v1/chat/completions", json=body, headers={
        **gw.env.auth(), "X-Request-Id": "bad id with spaces"})
    assert r.status == 200
    ours = r.headers["X-Request-Id"]
    assert ours != "bad id with spaces"
    sent = dict((k.lower(), v) for k, v in gw.fake.received[-1].headers)
    assert sent["x-request-id"] == ours


def test_new_request_ids_are_uuid4_hex() -> None:
    import uuid

    from redact_gw.logs import new_request_id
    ids = {new_request_id() for _ in range(200)}
    assert len(ids) == 200
    for rid in ids:
        parsed = uuid.UUID(hex=rid)
        assert (parsed.hex, parsed.version, parsed.variant) == (rid, 4, uuid.RFC_4122)
