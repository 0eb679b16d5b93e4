"""How the detection pool schedules waiting transcripts (``detection/schedule.py``):
shares that finish together, a character budget per batch, short first without
starving long ones; then the same seen from callers of a real pool of workers."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from redact_gw.detection import schedule
from redact_gw.metrics import Metrics
from redact_gw.testing import FakeDetector
from tests.detection.test_pool import MakePool, make_pool, seg, until

__all__ = ["make_pool"]  # the fixture
LONG = "word " * 400  # a call-length transcript: 2,000 characters


@dataclass(eq=False)
class Job:
    chars: int
    queued_at: float = 0.0
    solo: bool = False
    batch_key: object = None


def units(n: int, chars: int = 200) -> float:
    return n * schedule.cost(chars)


# -- the policy, deterministic ----------------------------------------------------------
def test_two_idle_workers_split_the_queue_evenly() -> None:
    assert schedule.share(units(10), [0.0]) == units(5)


def test_a_free_worker_leaves_a_share_to_a_worker_about_to_finish() -> None:
    # the other worker has one utterance left: this one takes about half, not all ten
    assert units(5) <= schedule.share(units(10), [units(1)]) <= units(6)
    # the other has just taken sixteen: this one takes every waiting utterance
    assert schedule.share(units(10), [units(16)]) == units(10)


def test_utterances_are_first_come_first_served_among_themselves() -> None:
    jobs = [Job(chars, queued_at=i * 0.001) for i, chars in enumerate([300, 50, 220, 120])]
    batch = schedule.pick(jobs, now=0.01, level=units(2), batch_size=16, batch_chars=50_000)
    assert batch == jobs[:2]


def test_a_short_utterance_goes_ahead_of_a_call_that_waited_as_long() -> None:
    call, line = Job(2_000, queued_at=0.0), Job(150, queued_at=0.001)
    batch = schedule.pick([call, line], now=0.02, level=units(1, 150), batch_size=16,
                          batch_chars=50_000)
    assert batch == [line]


def test_a_call_that_waited_long_enough_goes_first() -> None:
    """The call's priority grows with its wait: behind a stream of fresh utterances it
    leads the next batch once it has waited about twice as long as they have."""
    call = Job(2_000, queued_at=0.0)

    def first_at(now: float) -> Job:
        lines = [Job(150, queued_at=now - 0.1 + i * 0.001) for i in range(8)]
        return schedule.pick([call, *lines], now=now, level=units(4), batch_size=16,
                             batch_chars=50_000)[0]
    assert first_at(0.15) is not call  # waited 0.15 s against their 0.1 s: not yet
    call_first = first_at(0.3)
    assert call_first is call  # waited 0.3 s against their 0.1 s


def test_a_batch_of_calls_is_bounded_by_the_character_budget() -> None:
    calls = [Job(1_800, queued_at=i * 0.001) for i in range(16)]
    batch = schedule.pick(calls, now=0.1, level=units(16, 1_800), batch_size=16,
                          batch_chars=50_000)
    assert len(batch) == 2  # about 100 ms of a worker, not sixteen calls' worth
    one = schedule.pick([Job(9_000)], now=0.1, level=0, batch_size=16, batch_chars=50_000)
    assert len(one) == 1  # a transcript above the budget still goes, alone


def test_retried_jobs_go_alone_and_scoped_settings_are_batched_apart() -> None:
    solo = Job(100, queued_at=0.0, solo=True)
    others = [Job(100, queued_at=0.001), Job(100, queued_at=0.002, batch_key="scoped")]
    assert schedule.pick([solo, *others], 0.1, units(9), 16, 50_000) == [solo]
    assert schedule.pick(others, 0.1, units(9), 16, 50_000) == others[:1]


# -- a real pool (``make_pool`` of test_pool.py: ScriptedDetector workers) ---------------
async def test_a_short_transcript_is_not_stuck_behind_a_queue_of_calls(
        make_pool: MakePool) -> None:
    """Six calls of 0.5 s each arrive at two idle workers; a chat line comes right
    after. It is answered when the first call ends, not after three calls per worker
    (1.5 s: each worker used to take its half of the queue in one batch)."""
    pool = await make_pool(workers=2, batch_size=16, batch_wait_ms=0)
    calls = [asyncio.create_task(pool.detect(seg(f"@@sleep=0.5 #{i} {LONG}")))
             for i in range(6)]
    await until(lambda: all(w["busy"] for w in pool.status()["workers"]))
    started = time.perf_counter()
    assert await pool.detect(seg("call John Smith")) == FakeDetector().detect(
        seg("call John Smith"))
    waited = time.perf_counter() - started
    assert waited < 1.1, waited
    assert len(await asyncio.gather(*calls)) == 6


async def test_a_call_is_not_starved_by_a_stream_of_short_lines(make_pool: MakePool) -> None:
    """Short lines keep the queue full without a pause; a call that arrives among them
    is still answered within a bounded wait, and the stream keeps being served."""
    pool = await make_pool(workers=1, batch_size=4, batch_wait_ms=0)
    stop = asyncio.Event()
    served = 0

    async def stream(k: int) -> None:
        nonlocal served
        while not stop.is_set():
            await pool.detect(seg(f"@@sleep=0.03 hello {k}"))
            served += 1

    streams = [asyncio.create_task(stream(k)) for k in range(8)]
    try:
        await until(lambda: served >= 8)
        started = time.perf_counter()
        await pool.detect(seg(f"@@sleep=0.05 {LONG}"))
        waited = time.perf_counter() - started
        before = served
        await until(lambda: served >= before + 8)
    finally:
        stop.set()
        await asyncio.gather(*streams)
    assert waited < 2.0, waited  # strict shortest-first would never take it


async def test_queue_wait_and_worker_time_are_reported_apart(make_pool: MakePool) -> None:
    metrics = Metrics()
    pool = await make_pool(workers=1, metrics=metrics, batch_size=1, batch_wait_ms=0)
    first = asyncio.create_task(pool.detect(seg("@@sleep=0.6 first")))
    await until(lambda: pool.status()["workers"][0]["busy"])
    await asyncio.gather(first, pool.detect(seg("second")))
    sample = metrics.registry.get_sample_value
    wait_le = "redact_gw_detection_queue_wait_seconds_bucket"
    job_le = "redact_gw_detection_job_seconds_bucket"
    assert sample("redact_gw_detection_queue_wait_seconds_count") == 2
    assert sample(wait_le, {"le": "0.3"}) == 1  # the first went straight to the worker,
    assert sample(wait_le, {"le": "1.0"}) == 2  # the second waited for it
    assert sample("redact_gw_detection_job_seconds_count") == 2
    assert sample(job_le, {"le": "0.3"}) == 1 and sample(job_le, {"le": "1.0"}) == 2
