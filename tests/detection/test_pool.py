"""The detection worker pool: real worker processes, batching, back-pressure, failures.

Workers run ``redact_gw.testing.ScriptedDetector`` (regex detection that obeys
``@@crash``, ``@@spin=S``, ``@@sleep=S``, ``@@fail`` markers), except the last test,
which runs the real Presidio detector in a worker and compares with in-process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from redact_gw.detection import Detector
from redact_gw.detection.pool import DetectionPool
from redact_gw.errors import DetectionFailed, DetectionOverloaded, DetectionWorkerLost
from redact_gw.metrics import Metrics
from redact_gw.model import Segment
from redact_gw.settings import DetectionSettings
from redact_gw.testing import FakeDetector

SCRIPTED = "redact_gw.testing:scripted_detector"
TEXT = "call John Smith at 555-867-5309 or john@example.com"
MakePool = Callable[..., Awaitable[DetectionPool]]


@pytest.fixture
async def make_pool() -> AsyncIterator[MakePool]:
    pools: list[DetectionPool] = []

    async def make(workers: int = 1, factory: str = SCRIPTED, warm: bool = True,
                   metrics: Metrics | None = None, **settings: Any) -> DetectionPool:
        pool = DetectionPool(DetectionSettings(**settings), workers=workers,
                             factory=factory, metrics=metrics)
        pools.append(pool)
        await pool.start()
        if warm:
            assert await pool.wait_warm(30)
        return pool
    yield make
    for pool in pools:
        await pool.close()


def seg(text: str) -> list[Segment]:
    return [Segment(text, "customer")]


async def until(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_spans_match_the_detector_run_in_process(make_pool: MakePool) -> None:
    pool = await make_pool(workers=2)
    texts = [f"{TEXT} #{i}" for i in range(30)]
    got = await asyncio.gather(*(pool.detect(seg(t)) for t in texts))
    assert got == [FakeDetector().detect(seg(t)) for t in texts]
    assert pool.ready and [w["warm"] for w in pool.status()["workers"]] == [True, True]
    assert all(w["rss_bytes"] > 0 for w in pool.status()["workers"])


async def test_concurrent_transcripts_are_micro_batched(make_pool: MakePool) -> None:
    metrics = Metrics()
    pool = await make_pool(workers=1, metrics=metrics, batch_size=8, batch_wait_ms=5)
    await asyncio.gather(*(pool.detect(seg(f"{TEXT} @@sleep=0.01 #{i}")) for i in range(40)))
    batches = metrics.registry.get_sample_value("redact_gw_detection_batch_size_count")
    jobs = metrics.registry.get_sample_value("redact_gw_detection_batch_size_sum")
    assert jobs == 40
    assert batches is not None and batches <= 10  # 8 per batch, not one call each


async def test_waiting_transcripts_are_shared_between_workers(make_pool: MakePool) -> None:
    pool = await make_pool(workers=2, batch_size=16, batch_wait_ms=50)
    await asyncio.gather(*(pool.detect(seg(f"{TEXT} @@sleep=0.05 #{i}")) for i in range(8)))
    # results come job by job; the per-worker counts with each batch's last frame
    await until(lambda: sum(w["jobs"] for w in pool.status()["workers"]) == 8)
    assert sorted(w["jobs"] for w in pool.status()["workers"]) == [4, 4]


async def test_a_short_transcript_is_answered_before_a_long_one_in_its_batch(
        make_pool: MakePool) -> None:
    pool = await make_pool(workers=1, batch_size=8, batch_wait_ms=50)
    long = asyncio.create_task(pool.detect(seg("@@sleep=1.0 " + "word " * 400)))
    short = asyncio.create_task(pool.detect(seg(TEXT)))
    assert await short == FakeDetector().detect(seg(TEXT))
    assert not long.done()  # same batch, still running: the short one did not wait
    await long


async def test_batches_are_bounded_by_characters(make_pool: MakePool) -> None:
    metrics = Metrics()
    pool = await make_pool(workers=1, metrics=metrics, batch_size=64, batch_chars=200,
                           batch_wait_ms=5)
    await asyncio.gather(*(pool.detect(seg("x" * 150 + f" #{i}")) for i in range(6)))
    assert metrics.registry.get_sample_value("redact_gw_detection_batch_size_count") == 6


async def test_a_full_queue_answers_overloaded_with_retry_after(make_pool: MakePool) -> None:
    metrics = Metrics()
    pool = await make_pool(workers=1, metrics=metrics, queue_size=3, batch_size=1)
    busy = asyncio.create_task(pool.detect(seg("@@sleep=1.5")))
    await until(lambda: pool.status()["workers"][0]["busy"])
    waiting = [asyncio.create_task(pool.detect(seg(f"{TEXT} {i}"))) for i in range(3)]
    await asyncio.sleep(0.05)
    with pytest.raises(DetectionOverloaded) as info:
        await pool.detect(seg(TEXT))
    assert info.value.status == 503 and info.value.retry_after_s is not None
    assert info.value.retry_after_s >= 1
    assert metrics.registry.get_sample_value("redact_gw_detection_rejected_total",
                                             {"reason": "queue_full"}) == 1
    await busy
    assert len(await asyncio.gather(*waiting)) == 3  # the queued ones were served


async def test_the_gauges_follow_the_queue_and_the_workers(make_pool: MakePool) -> None:
    metrics = Metrics()
    pool = await make_pool(workers=1, metrics=metrics, batch_size=1)
    value = metrics.registry.get_sample_value
    assert value("redact_gw_detection_workers_alive") == 1
    assert value("redact_gw_detection_worker_rss_bytes", {"worker": "0"}) > 10 * 2**20
    busy = asyncio.create_task(pool.detect(seg("@@sleep=1")))
    await until(lambda: pool.status()["workers"][0]["busy"])
    waiting = [asyncio.create_task(pool.detect(seg(f"{TEXT} {i}"))) for i in range(3)]
    await asyncio.sleep(0)
    assert value("redact_gw_detection_queue_depth") == 3  # queued while the worker is busy
    await busy
    await asyncio.gather(*waiting)
    assert value("redact_gw_detection_queue_depth") == 0  # every one was taken
    assert value("redact_gw_detection_workers_alive") == 1


async def test_a_crashed_worker_fails_only_the_culprit_and_is_replaced(
        make_pool: MakePool) -> None:
    metrics = Metrics()
    pool = await make_pool(workers=1, metrics=metrics, batch_size=8, batch_wait_ms=20)
    held = [asyncio.create_task(pool.detect(seg(f"{TEXT} #{i}"))) for i in range(3)]
    crash = asyncio.create_task(pool.detect(seg("@@crash")))
    results = await asyncio.gather(*held, crash, return_exceptions=True)
    # the batch's jobs were tried again one by one: the innocent ones succeed
    assert results[:3] == [FakeDetector().detect(seg(f"{TEXT} #{i}")) for i in range(3)]
    assert isinstance(results[3], DetectionWorkerLost) and results[3].status == 503
    await until(lambda: pool.status()["restarts"] == 2 and pool.ready)  # crashed twice
    assert await pool.detect(seg(TEXT)) == FakeDetector().detect(seg(TEXT))
    assert metrics.registry.get_sample_value("redact_gw_detection_worker_restarts_total",
                                             {"reason": "worker_lost"}) == 2


async def test_a_killed_worker_is_replaced_and_the_other_keeps_serving(
        make_pool: MakePool) -> None:
    pool = await make_pool(workers=2, batch_size=1)
    busy = asyncio.create_task(pool.detect(seg("@@sleep=5")))
    await until(lambda: any(w["busy"] for w in pool.status()["workers"]))
    victim = next(w for w in pool.status()["workers"] if w["busy"])
    os.kill(victim["pid"], signal.SIGKILL)
    with pytest.raises(DetectionWorkerLost):
        await busy
    assert await pool.detect(seg(TEXT)) == FakeDetector().detect(seg(TEXT))  # the other
    await until(lambda: sum(w["warm"] for w in pool.status()["workers"]) == 2)
    assert victim["pid"] not in [w["pid"] for w in pool.status()["workers"]]


async def test_a_worker_stuck_past_the_timeout_is_killed_and_replaced(
        make_pool: MakePool) -> None:
    metrics = Metrics()
    pool = await make_pool(workers=1, metrics=metrics, timeout_s=0.5, batch_size=1)
    started = time.monotonic()
    with pytest.raises(DetectionWorkerLost):
        await pool.detect(seg("@@sleep=60"))
    assert time.monotonic() - started < 10
    await until(lambda: pool.ready and pool.status()["restarts"] == 1)
    assert metrics.registry.get_sample_value("redact_gw_detection_worker_restarts_total",
                                             {"reason": "timeout"}) == 1
    assert await pool.detect(seg(TEXT)) == FakeDetector().detect(seg(TEXT))


async def test_one_failing_transcript_does_not_fail_its_batch(
        make_pool: MakePool, capfd: pytest.CaptureFixture[str]) -> None:
    pool = await make_pool(workers=1, batch_size=8, batch_wait_ms=20)
    good = [asyncio.create_task(pool.detect(seg(f"{TEXT} #{i}"))) for i in range(3)]
    bad = asyncio.create_task(pool.detect(seg("@@fail")))
    assert len(await asyncio.gather(*good)) == 3
    with pytest.raises(DetectionFailed) as info:
        await bad
    assert "John" not in info.value.message
    assert pool.status()["restarts"] == 0
    # the worker process logged the failure by type only (its stderr is ours)
    err = capfd.readouterr().err
    assert "detection failed: RuntimeError" in err
    assert "John Smith" not in err and "555-867-5309" not in err


async def test_not_ready_and_overloaded_until_warm(make_pool: MakePool,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDACT_GW_TEST_WARM_S", "1.0")
    pool = await make_pool(workers=1, factory="redact_gw.testing:slow_start_detector",
                           warm=False)
    assert not pool.ready
    with pytest.raises(DetectionOverloaded) as info:
        await pool.detect(seg(TEXT))
    assert info.value.retry_after_s is not None
    assert await pool.wait_warm(30) and pool.ready
    assert await pool.detect(seg(TEXT)) == FakeDetector().detect(seg(TEXT))


async def test_a_worker_that_cannot_start_is_retried_and_never_ready(
        make_pool: MakePool) -> None:
    metrics = Metrics()
    pool = await make_pool(workers=1, factory="redact_gw.testing:no_such_factory",
                           warm=False, metrics=metrics)
    assert await pool.wait_warm(20) is False
    assert not pool.ready
    with pytest.raises(DetectionOverloaded):
        await pool.detect(seg(TEXT))
    await until(lambda: (metrics.registry.get_sample_value(
        "redact_gw_detection_worker_restarts_total", {"reason": "start_failed"}) or 0) >= 1)


async def test_a_dispatch_failure_fails_closed_and_the_pool_recovers(
        make_pool: MakePool, monkeypatch: pytest.MonkeyPatch) -> None:
    import redact_gw.detection.pool as pool_module
    pool = await make_pool(workers=1)
    real = pool_module.encode

    def broken(obj: object) -> bytes:
        monkeypatch.setattr(pool_module, "encode", real)  # only the first frame fails
        raise TypeError("cannot pickle")
    monkeypatch.setattr(pool_module, "encode", broken)
    with pytest.raises(DetectionFailed):
        await pool.detect(seg(TEXT))
    await until(lambda: pool.ready and pool.status()["restarts"] == 1)
    assert await pool.detect(seg(TEXT)) == FakeDetector().detect(seg(TEXT))


async def test_close_stops_every_worker_process(make_pool: MakePool) -> None:
    pool = await make_pool(workers=2)
    pids = [w["pid"] for w in pool.status()["workers"]]
    await pool.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(DetectionFailed):
        await pool.detect(seg(TEXT))


async def test_real_detector_in_a_worker_matches_in_process(make_pool: MakePool,
                                                            detector: Detector) -> None:
    pool = await make_pool(workers=1, factory="redact_gw.detection:build_detector")
    transcripts = [
        [Segment("agent: can i have your name and card number", "agent"),
         Segment("customer: its rebecca jones card four one one one one one one one one"
                 " one one one one one one one", "customer")],
        [Segment("email me at maria.garcia@example.com or call 415-555-0199", "customer")],
        [Segment("my ssn is 078-05-1120 and i live in Boston", "customer")],
    ]
    got = await asyncio.gather(*(pool.detect(t) for t in transcripts))
    assert got == [detector.detect(t) for t in transcripts]
    assert all(got)


def test_default_workers_follow_a_container_cpu_quota(tmp_path: Any) -> None:
    from redact_gw.detection.pool import default_workers
    cores = len(os.sched_getaffinity(0))
    quota = tmp_path / "cpu.max"
    quota.write_text("50000 100000\n")  # half a CPU
    assert default_workers(str(quota)) == 1
    quota.write_text("max 100000\n")
    assert default_workers(str(quota)) == cores
    assert default_workers(str(tmp_path / "absent")) == cores


def test_workers_can_be_set_from_the_environment(tmp_path: Any) -> None:
    from redact_gw.settings import load_settings
    config = tmp_path / "c.yaml"
    config.write_text("detection: {workers: 3}\n")
    assert load_settings(config, {}).detection.workers == 3
    assert load_settings(config, {"REDACT_GW_DETECTION_WORKERS": "1"}).detection.workers == 1
