"""A client closing its connection: an unfinished answer's handler is cancelled, a
finished one's runs to its end and gets its access-log line.

The gateway's server (``GatewayRunner``, with ``handler_cancellation`` as the runner
sets it) in front of one streaming handler that writes the whole answer, then waits
until the test has seen the client's connection close before it returns: the moment
that, under uvloop, lost a stream's access-log line in one run in a few.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from redact_gw.proxy.accesslog import AccessLogger
from redact_gw.proxy.connections import GatewayRunner


class Stream:
    """A streaming handler: one event, then (``finish``) ``[DONE]`` and the end of the
    answer; it then holds until ``release``, as a handler's bookkeeping after a stream."""

    def __init__(self, finish: bool) -> None:
        self.finish = finish
        self.release = asyncio.Event()
        self.returned = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        try:
            await resp.write(b"data: one\n\n")
            if self.finish:
                await resp.write(b"data: [DONE]\n\n")
                await resp.write_eof()
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        self.returned.set()
        return resp


Serve = Callable[[Stream], Awaitable[tuple[str, GatewayRunner]]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    runners: list[GatewayRunner] = []

    async def start(handler: Stream) -> tuple[str, GatewayRunner]:
        app = web.Application()
        app.router.add_get("/v1/stream", handler.handle)
        runner = GatewayRunner(app, handle_signals=False, handler_cancellation=True,
                               access_log_class=AccessLogger,
                               access_log=logging.getLogger("redact_gw.access"))
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}/v1/stream", runner

    yield start
    for runner in runners:
        await runner.cleanup()


async def _closed(runner: GatewayRunner) -> None:
    """Wait until the server has seen the client's connection go."""
    assert runner.server is not None
    while runner.server.connections:
        await asyncio.sleep(0.01)


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, int]]:
    return [(r.__dict__["method"], r.__dict__["route"], r.__dict__["status"])
            for r in caplog.records if r.name == "redact_gw.access"]


async def test_a_stream_read_to_its_end_keeps_its_access_line_when_the_client_closes(
        serve: Serve,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="redact_gw.access")
    handler = Stream(finish=True)
    url, runner = await serve(handler)
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert await resp.read() == b"data: one\n\ndata: [DONE]\n\n"
    await asyncio.wait_for(_closed(runner), 5)  # the client is gone, the handler is not
    handler.release.set()
    await asyncio.wait_for(handler.returned.wait(), 5)
    for _ in range(10):  # aiohttp logs once the handler's task has returned
        await asyncio.sleep(0)
    assert not handler.cancelled.is_set()
    assert _access_lines(caplog) == [("GET", "/v1/stream", 200)]


async def test_an_unfinished_answer_is_still_cancelled_when_the_client_closes(
        serve: Serve) -> None:
    handler = Stream(finish=False)
    url, runner = await serve(handler)
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert await resp.content.readline() == b"data: one\n"
    # the client left mid-answer: the handler (and with it any upstream request) is cut
    await asyncio.wait_for(handler.cancelled.wait(), 5)
    assert not handler.returned.is_set()
    await asyncio.wait_for(_closed(runner), 5)
