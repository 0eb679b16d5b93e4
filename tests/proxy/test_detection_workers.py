"""The gateway with detection in worker processes, as a caller and an operator see it.

Workers run ``redact_gw.testing.ScriptedDetector`` (markers ``@@spin=S`` burn CPU,
``@@sleep=S`` sleeps, ``@@crash`` kills the worker).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Gateway, MakeGateway

SCRIPTED = "redact_gw.testing:scripted_detector"
TEXT = "Customer John Smith, SSN 078-05-1120, wants a refund."


async def _until(cond: Callable[[], Any], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def _ready(gw: Gateway) -> bool:
    return (await gw.client.get("/readyz")).status == 200


def _chat(text: str) -> dict[str, Any]:
    return {"model": "demo", "messages": [{"role": "user", "content": text}]}


async def test_readyz_is_false_until_workers_are_warm(make_gateway: MakeGateway,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDACT_GW_TEST_WARM_S", "1.5")
    gw = await make_gateway(worker_factory="redact_gw.testing:slow_start_detector",
                            config={"detection": {"workers": 1}})
    assert (await gw.client.get("/healthz")).status == 200  # alive while warming
    r = await gw.client.get("/readyz")
    body = await r.json()
    assert r.status == 503 and body["checks"]["detection"] is False
    assert body["detection_workers"] == {"warm": 0, "configured": 1}
    r = await gw.client.post("/v1/redact", json={"text": TEXT}, headers=gw.env.auth())
    assert r.status == 503 and int(r.headers["Retry-After"]) >= 1
    assert (await r.json())["error"]["code"] == "detection_overloaded"
    await _until(lambda: _ready(gw))
    body = await (await gw.client.get("/readyz")).json()
    assert body["checks"] == {"detection": True, "vault": True, "migrations": True,
                              "keys": True}
    r = await gw.client.post("/v1/redact", json={"text": TEXT}, headers=gw.env.auth())
    assert r.status == 200 and "078-05-1120" not in await r.text()


async def test_healthz_answers_fast_while_every_worker_is_busy(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway(worker_factory=SCRIPTED,
                            config={"detection": {"workers": 2, "batch_size": 1,
                                                  "timeout_s": 30}})
    await _until(lambda: _ready(gw))
    busy = [asyncio.create_task(gw.client.post(
        "/v1/redact", json={"text": f"{TEXT} @@spin=2 #{i}"}, headers=gw.env.auth()))
        for i in range(4)]
    await asyncio.sleep(0.3)  # both workers are spinning on the CPU now
    times = []
    for _ in range(15):
        started = time.perf_counter()
        assert (await gw.client.get("/healthz")).status == 200
        times.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)
    # Generous bounds for a shared machine: the point is "not seconds behind detection".
    assert statistics.median(times) < 0.05 and max(times) < 0.25, times
    assert [r.status for r in await asyncio.gather(*busy)] == [200] * 4


async def test_a_full_queue_answers_503_with_retry_after(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(worker_factory=SCRIPTED,
                            config={"detection": {"workers": 1, "batch_size": 1,
                                                  "queue_size": 2, "timeout_s": 30}})
    await _until(lambda: _ready(gw))
    first = asyncio.create_task(gw.client.post(
        "/v1/redact", json={"text": "@@sleep=1.5"}, headers=gw.env.auth()))
    await asyncio.sleep(0.3)
    queued = [asyncio.create_task(gw.client.post(
        "/v1/redact", json={"text": f"{TEXT} {i}"}, headers=gw.env.auth())) for i in range(2)]
    await asyncio.sleep(0.2)
    r = await gw.client.post("/v1/redact", json={"text": TEXT}, headers=gw.env.auth())
    assert r.status == 503 and int(r.headers["Retry-After"]) >= 1
    body = await r.json()
    assert body["error"]["code"] == "detection_overloaded" and "1120" not in str(body)
    assert [x.status for x in await asyncio.gather(first, *queued)] == [200, 200, 200]


async def test_a_worker_crash_fails_closed_and_the_gateway_keeps_serving(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway(worker_factory=SCRIPTED, config={"detection": {"workers": 1}})
    await _until(lambda: _ready(gw))
    r = await gw.client.post("/v1/chat/completions", json=_chat(f"{TEXT} @@crash"),
                             headers=gw.env.auth())
    assert r.status == 503
    assert (await r.json())["error"]["code"] == "detection_worker_lost"
    assert gw.fake.received == []  # nothing forwarded, raw or not
    await _until(lambda: _ready(gw))
    r = await gw.client.post("/v1/chat/completions", json=_chat(TEXT), headers=gw.env.auth())
    assert r.status == 200
    sent = str(gw.fake.received[-1].body)
    assert "078-05-1120" not in sent and "John Smith" not in sent
    metrics = await (await gw.client.get("/metrics")).text()
    assert 'redact_gw_detection_worker_restarts_total{reason="worker_lost"} 1.0' in metrics
    rss = [line for line in metrics.splitlines()
           if line.startswith('redact_gw_detection_worker_rss_bytes{worker="0"}')]
    assert rss and float(rss[0].split()[-1]) > 10 * 2**20
