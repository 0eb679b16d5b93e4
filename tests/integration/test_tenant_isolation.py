"""No tenant can starve another (issue 16, item 8): admission control, batches that
never mix tenants, fair sharing of detection workers, and a bounded load test."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redact_gw.detection.pool import DetectionPool, tenant_var
from redact_gw.errors import DetectionWorkerLost
from redact_gw.model import Segment
from redact_gw.settings import DetectionSettings
from redact_gw.testing import SlowDetector
from tests.conftest import Gateway, MakeClient, MakeGateway, write_config

SCRIPTED = "redact_gw.testing:scripted_detector"
TEXT = "call John Smith at 555-867-5309"


async def _as(tenant: str, work: Callable[[], Awaitable[Any]]) -> Any:
    tenant_var.set(tenant)  # a task of its own: its own context
    return await work()


async def test_a_tenant_that_crashes_a_worker_fails_only_its_own_jobs() -> None:
    pool = DetectionPool(DetectionSettings(batch_size=8, batch_wait_ms=50), workers=1,
                         factory=SCRIPTED)
    await pool.start()
    try:
        assert await pool.wait_warm(30)
        seg = [Segment(TEXT, "customer")]
        crash = asyncio.create_task(_as("evil", lambda: pool.detect(
            [Segment("@@crash", "customer")])))
        others = [asyncio.create_task(_as("good", lambda: pool.detect(seg)))
                  for _ in range(3)]
        results = await asyncio.gather(crash, *others, return_exceptions=True)
    finally:
        await pool.close()
    assert isinstance(results[0], DetectionWorkerLost)
    assert all(isinstance(r, list) and r[0] for r in results[1:]), results


async def test_over_the_admission_limits_is_429_with_retry_after(
        make_client: MakeClient, env: Any) -> None:
    write_config(env.root, {"admission": {"max_requests_per_principal": 1,
                                          "max_requests_per_tenant": 2,
                                          "retry_after_s": 3}})
    client = await make_client(detector=SlowDetector(0.6))

    def redact(key: str) -> Awaitable[Any]:
        return client.post("/v1/redact", json={"text": "hello"}, headers=env.auth(key))

    first = asyncio.create_task(redact("admin"))
    await asyncio.sleep(0.2)
    same_key = await redact("admin")  # the principal's one slot is taken
    assert same_key.status == 429 and same_key.headers["Retry-After"] == "3"
    assert (await same_key.json())["error"]["code"] == "too_many_requests"
    second = asyncio.create_task(redact("agent"))  # same tenant, another key: admitted
    await asyncio.sleep(0.2)
    third = await redact("supervisor")  # the tenant's two slots are taken
    assert third.status == 429
    other_tenant = asyncio.create_task(redact("other-admin"))  # globex is not limited
    assert [(await t).status for t in (first, second, other_tenant)] == [200, 200, 200]
    assert (await redact("admin")).status == 200  # the slots were given back


async def test_too_many_numbers_in_one_transcript_is_413(make_client: MakeClient,
                                                          env: Any) -> None:
    client = await make_client()
    text = " ".join(f"{i:05d}" for i in range(1_001))  # the attack used 19,000
    for path, doc, key in [("/v1/redact", {"text": text}, "admin"),
                           ("/v1/chat/completions", {"model": "m", "messages": [
                               {"role": "user", "content": text}]}, "ai")]:
        resp = await client.post(path, json=doc, headers=env.auth(key))
        assert resp.status == 413, path
        assert (await resp.json())["error"]["code"] == "too_many_numbers"


async def _chat_seconds(gw: Gateway, key: str, text: str) -> float:
    started = time.perf_counter()
    resp = await gw.client.post("/v1/chat/completions", headers=gw.env.auth(key), json={
        "model": "m", "messages": [{"role": "user", "content": text}]})
    await resp.read()
    assert resp.status == 200, resp.status
    return time.perf_counter() - started


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


async def test_a_flooding_tenant_does_not_slow_another_down(make_gateway: MakeGateway) -> None:
    """Bounded in time (~12 s): one tenant's requests each hold a worker 0.3 s, twelve
    at a time, without a pause; another tenant's p99 stays under twice its own."""
    gw = await make_gateway(worker_factory=SCRIPTED, config={
        "detection": {"workers": 2, "timeout_s": 30}})
    deadline = time.monotonic() + 30
    while (await gw.client.get("/readyz")).status != 200:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    quiet = "@@sleep=0.1 hello"  # detection dominates: less noise from a busy machine
    for _ in range(3):  # warm the path
        await _chat_seconds(gw, "other", quiet)
    unloaded = [await _chat_seconds(gw, "other", quiet) for _ in range(20)]
    stop = asyncio.Event()
    flooded = 0

    async def flood() -> None:
        nonlocal flooded
        while not stop.is_set():
            resp = await gw.client.post("/v1/chat/completions", headers=gw.env.auth("ai"),
                                        json={"model": "m", "messages": [
                                            {"role": "user", "content": "@@sleep=0.3 go"}]})
            await resp.read()
            flooded += resp.status == 200
            if resp.status == 429:
                await asyncio.sleep(0.05)

    flooders = [asyncio.create_task(flood()) for _ in range(12)]
    try:
        await asyncio.sleep(0.5)  # the flood is on: every flooder has a request queued
        loaded = [await _chat_seconds(gw, "other", quiet) for _ in range(20)]
    finally:
        stop.set()
        await asyncio.gather(*flooders)
    assert flooded >= 5  # the flooding tenant was served too, just not at others' cost
    base, under_load = _p99(unloaded), _p99(loaded)
    print(f"second tenant p99: unloaded {base * 1000:.0f} ms, during the flood"
          f" {under_load * 1000:.0f} ms (median {statistics.median(unloaded) * 1000:.0f}"
          f" / {statistics.median(loaded) * 1000:.0f} ms)")
    # With 20 samples a "p99" is the single slowest request, and one request of the
    # quiet tenant may structurally wait for one 0.3 s flood job to end (one worker
    # is always kept free, the other may be mid-job): asserting on it alone failed on
    # a loaded machine at 584 vs 226 ms with equal medians. The p90 and the median
    # still separate clearly from the unfair pool (median 224 -> 4,007 ms, p99 6 s).
    p90 = statistics.quantiles(loaded, n=10)[8]
    assert p90 < 2 * base, (base, p90)
    assert statistics.median(loaded) < 1.5 * statistics.median(unloaded)
    assert under_load < 2 * base + 0.3 + 0.1, (base, under_load)
