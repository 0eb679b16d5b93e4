"""Stream detection is batched over a few words, and a quiet upstream never strands text."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp

from redact_gw.demo import chat_chunks, chunk
from redact_gw.testing import FakeDetector
from tests.conftest import MakeGateway

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello"}], "stream": True}


async def _stream_text(gw, **config) -> tuple[str, int]:
    async with aiohttp.ClientSession() as session:
        resp = await session.post(gw.server.make_url("/v1/chat/completions"), json=CHAT,
                                  headers=gw.env.auth())
        text = ""
        async for line in resp.content:
            if line.startswith(b"data: {"):
                for choice in json.loads(line[6:])["choices"]:
                    text += choice.get("delta", {}).get("content") or ""
        return text, resp.status


async def test_detection_runs_per_batch_not_per_word(make_gateway: MakeGateway) -> None:
    words = [f"word{i} " for i in range(60)]
    detector = FakeDetector()
    gw = await make_gateway(detector=detector, config={"proxy": {"min_emit_chars": 48}})
    gw.fake.then_stream(chat_chunks(words))
    before = detector.calls
    text, status = await _stream_text(gw)
    assert status == 200 and text == "".join(words)
    calls = detector.calls - before
    assert calls <= 20, calls  # ~6 words per call instead of one call per word


async def test_quiet_upstream_does_not_strand_ready_words(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"proxy": {"min_emit_chars": 500,
                                              "max_emit_delay_s": 0.1}})
    gate = asyncio.Event()
    gw.fake.then_stream([chunk({"role": "assistant", "content": ""}),
                         chunk({"content": "short words "}), chunk({"content": "rest"})],
                        gates={2: gate})
    async with aiohttp.ClientSession() as session:
        resp = await session.post(gw.server.make_url("/v1/chat/completions"), json=CHAT,
                                  headers=gw.env.auth())
        got = ""
        started = time.monotonic()
        while "short" not in got:
            line = await asyncio.wait_for(resp.content.readline(), 5)
            got += line.decode()
        waited = time.monotonic() - started
        gate.set()
        rest = (await resp.content.read()).decode()
    assert waited < 2.0
    assert "rest" in rest and rest.rstrip().endswith("data: [DONE]")
