"""The detection pool's worker processes: start, read answers, lose, replace.

``pool.DetectionPool`` queues transcripts and decides which worker takes which batch;
this mixin owns the processes themselves (``redact_gw.detection.worker``): starting
one and sending it its settings, reading its frames (each job's spans as soon as it
is done, then the end of the batch), killing one that holds a batch past the
timeout, and, when one is lost, retrying its unanswered jobs alone and starting a
replacement with backoff. See ``pool``'s docstring for the failure rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import struct
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redact_gw.detection import schedule
from redact_gw.detection.scoped import Override
from redact_gw.detection.worker import MAX_FRAME, encode
from redact_gw.errors import DetectionFailed, DetectionWorkerLost
from redact_gw.model import KnownValue, Segment, SegmentNer, Span
from redact_gw.settings import DetectionSettings

if TYPE_CHECKING:
    from collections import deque

    from redact_gw.metrics import Metrics

log = logging.getLogger("redact_gw.detection.pool")  # the pool's log lines, as before
_LEN = struct.Struct(">I")
_RESTART_BACKOFF = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)



@dataclass(eq=False)
class _Job:
    segments: list[Segment]
    known: list[KnownValue]
    chars: int
    future: asyncio.Future[list[list[Span]]]
    request_id: str | None = None
    job_id: int = 0
    tenant: str | None = None
    solo: bool = False  # retried alone after its batch's worker died
    override: Override | None = None  # scoped settings (``scoped.py``): batched apart
    keep_ner: bool = False  # the worker hands back each segment's NER (``ner_memo``)
    ner: list[SegmentNer | None] | None = None
    queued_at: float = 0.0  # perf_counter when queued
    sent_at: float = 0.0  # perf_counter when sent to a worker

    @property
    def batch_key(self) -> Override | None:
        """Jobs of one batch share their scoped settings."""
        return self.override


@dataclass(eq=False)
class _Worker:
    index: int
    proc: asyncio.subprocess.Process
    warm: bool = False
    batch: dict[int, _Job] | None = None
    deadline: asyncio.TimerHandle | None = None
    rss: int = 0
    jobs: int = 0
    reader: asyncio.Task[None] | None = None
    killed_for: str | None = None
    batch_started: float = 0.0
    estimate_s: float = 0.0  # the batch's expected seconds (``schedule.cost``)
    tenant: str | None = None
    ready: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())

class WorkerProcesses:
    """``DetectionPool``'s worker processes (a mixin: the state is the pool's)."""

    settings: DetectionSettings
    _factory: str | None
    _metrics: Metrics | None
    _python: str
    _log_format: str
    _queue: deque[_Job]
    _workers: dict[int, _Worker]
    _idle: deque[_Worker]
    _wakeup: asyncio.Event
    _tasks: set[asyncio.Task[Any]]
    _closing: bool
    _failures: dict[int, int]
    _job_seconds: float
    _unit_s: float
    restarts: int


    async def _spawn(self, index: int) -> None:
        proc = await asyncio.create_subprocess_exec(
            self._python, "-m", "redact_gw.detection.worker",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=MAX_FRAME)
        worker = _Worker(index, proc)
        self._workers[index] = worker
        assert proc.stdin is not None
        proc.stdin.write(encode({"settings": self.settings, "factory": self._factory,
                                 "log_format": self._log_format}))
        worker.reader = asyncio.create_task(self._read(worker),
                                            name=f"detection-worker-{index}")
        self._set_gauges()

    async def _read(self, worker: _Worker) -> None:
        stdout = worker.proc.stdout
        assert stdout is not None
        try:
            hello = await _read_frame(stdout)
            if not (isinstance(hello, tuple) and hello[0] == "ready"):
                raise ConnectionError("worker failed to start")
            worker.rss = int(hello[1].get("rss", 0))
            worker.warm = True
            self._failures[worker.index] = 0
            if not worker.ready.done():
                worker.ready.set_result(True)
            self._idle.append(worker)
            self._set_gauges()
            self._wakeup.set()
            log.info("detection worker %d ready (pid %d, %.0f MiB)", worker.index,
                     worker.proc.pid, worker.rss / 2**20)
            while True:
                frame = await _read_frame(stdout)
                if frame is None:
                    raise ConnectionError("worker exited")
                if frame[0] == "job":
                    self._answer(worker, frame[1], frame[2], frame[3])
                else:
                    self._finish(worker, frame[2])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any channel failure loses the worker
            await self._lost(worker, worker.killed_for or type(exc).__name__)

    def _answer(self, worker: _Worker, job_id: int, spans: list[list[Span]] | None,
                ner: list[SegmentNer | None] | None) -> None:
        """One job of the worker's batch is done (the rest may still be running)."""
        job = (worker.batch or {}).get(job_id)
        if job is None or job.future.done():
            return
        if self._metrics is not None:
            self._metrics.detection_job_seconds.observe(time.perf_counter() - job.sent_at)
        if spans is None:
            job.future.set_exception(DetectionFailed())
        else:
            job.ner = ner
            job.future.set_result(spans)

    def _finish(self, worker: _Worker, info: dict[str, int]) -> None:
        """The worker's batch is done: it takes work again."""
        batch = worker.batch or {}
        if batch:
            elapsed = time.perf_counter() - worker.batch_started
            self._job_seconds = 0.8 * self._job_seconds + 0.2 * elapsed / len(batch)
            units = sum(schedule.cost(j.chars) for j in batch.values())
            self._unit_s = 0.8 * self._unit_s + 0.2 * elapsed / units
        for job in batch.values():  # a worker answers every job; never leave one hanging
            _fail(job, DetectionFailed())
        if worker.deadline is not None:
            worker.deadline.cancel()
        worker.batch, worker.deadline = None, None
        worker.rss = int(info.get("rss", worker.rss))
        worker.jobs = int(info.get("jobs", worker.jobs))
        if worker.index in self._workers and not self._closing:
            self._idle.append(worker)
            self._wakeup.set()
        self._set_gauges()

    def _kill(self, worker: _Worker, reason: str) -> None:
        if worker.killed_for is None:
            worker.killed_for = reason
            log.error("detection worker %d: killed (%s)", worker.index, reason)
        with contextlib.suppress(ProcessLookupError):
            worker.proc.kill()

    async def _lost(self, worker: _Worker, reason: str) -> None:
        if worker.deadline is not None:
            worker.deadline.cancel()
        with contextlib.suppress(ProcessLookupError):
            worker.proc.kill()
        await worker.proc.wait()
        if not worker.ready.done():
            worker.ready.set_result(False)
        with contextlib.suppress(ValueError):
            self._idle.remove(worker)
        self._retry_or_fail([j for j in (worker.batch or {}).values() if not j.future.done()],
                            retry=reason != "timeout" and not self._closing)
        worker.batch = None
        if self._workers.get(worker.index) is worker:
            del self._workers[worker.index]
        self._set_gauges()
        if self._closing:
            return
        label = "timeout" if reason == "timeout" else ("start_failed" if not worker.warm
                                                      else "worker_lost")
        log.error("detection worker %d lost (%s, exit %s); starting a replacement",
                  worker.index, label, worker.proc.returncode)
        if self._metrics is not None:
            self._metrics.worker_restarts.labels(label).inc()
        self.restarts += 1
        failures = self._failures.get(worker.index, 0) if not worker.warm else 0
        self._failures[worker.index] = failures + 1
        delay = _RESTART_BACKOFF[min(failures, len(_RESTART_BACKOFF) - 1)]
        task = asyncio.create_task(self._respawn(worker.index, delay),
                                   name=f"detection-respawn-{worker.index}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _retry_or_fail(self, jobs: list[_Job], *, retry: bool) -> None:
        """A dead worker's unanswered jobs: when it held several, each is tried again
        alone (the innocent ones succeed, the culprit fails alone); else they fail."""
        retry = retry and len(jobs) > 1
        for job in reversed(jobs):
            if retry and not job.solo:
                job.solo = True
                self._queue.appendleft(job)
            else:
                _fail(job, DetectionWorkerLost())
        if retry:
            self._set_gauges()
            self._wakeup.set()

    async def _respawn(self, index: int, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if not self._closing:
            await self._spawn(index)

    def _set_gauges(self) -> None:
        if self._metrics is None:
            return
        self._metrics.detection_queue_depth.set(len(self._queue))
        self._metrics.detection_workers_alive.set(
            sum(1 for w in self._workers.values() if w.warm))
        for w in self._workers.values():
            if w.rss:
                self._metrics.detection_worker_rss.labels(str(w.index)).set(w.rss)

    def _set_queue_gauge(self) -> None:
        """The queue depth only: all that submitting and taking jobs change (on every
        request; the workers' gauges change when one starts, finishes or is lost)."""
        if self._metrics is not None:
            self._metrics.detection_queue_depth.set(len(self._queue))


def _fail(job: _Job, error: Exception) -> None:
    if not job.future.done():
        job.future.set_exception(error)


async def _read_frame(stream: asyncio.StreamReader) -> Any:
    try:
        head = await stream.readexactly(_LEN.size)
    except asyncio.IncompleteReadError:
        return None
    (size,) = _LEN.unpack(head)
    if size > MAX_FRAME:
        raise ConnectionError("frame too large")
    body = await stream.readexactly(size)
    return pickle.loads(body)  # noqa: S301 - our own worker process, over a private pipe
