"""``DetectionPool``: detection in worker processes, micro-batched, bounded, self-healing.

spaCy holds the GIL while it runs, so detection in threads of the gateway uses one
core and stalls the event loop's own work. The pool runs it in worker processes
(``redact_gw.detection.worker``, one per core by default), each warmed up at start.
The gateway's event loop only queues transcripts and moves pickled frames over pipes.

- **Micro-batching.** Transcripts wait in one queue. A free worker takes up to
  ``batch_size`` of them (and ``batch_chars`` characters) in one frame; when the
  queue is shorter than a batch it waits ``batch_wait_ms`` for more first. Under load
  the queue fills while workers are busy, so batches form without waiting; the
  worker runs one ``nlp.pipe`` over the whole batch. Which transcripts, and how many,
  is ``schedule.py``: shares that let the workers finish together, a budget of
  characters per batch, short transcripts first without starving long ones.
- **Tenants.** A batch holds one tenant's transcripts only (``tenant_var``, set by the
  gateway for each authenticated request), so one tenant's transcript that crashes or
  stalls a worker never fails another tenant's. Free workers go to the waiting tenant
  holding the fewest workers; while two or more tenants were active in the last
  ``_ACTIVE_S`` seconds, one tenant holds at most ``max_workers_per_tenant`` workers
  (0: all but one), so a flooding tenant always leaves a worker for the others.
- **Back-pressure.** Beyond ``queue_size`` waiting transcripts, ``detect`` raises
  ``DetectionOverloaded`` (503 with ``Retry-After`` from the measured pace), instead
  of letting latency grow without bound. While no worker is warm yet, the same.
- **Failure.** A worker that dies (crash, OOM kill) or holds a batch past the
  detection timeout (it is killed) fails the requests it held with
  ``DetectionWorkerLost`` (503): nothing is forwarded raw. When a crashed worker held
  several transcripts, each unanswered one is first tried again alone, so the
  innocent ones of the batch succeed and only the culprit fails. A replacement is started
  at once (with backoff if replacements keep failing) and the gateway keeps serving.
- **Memory.** Each worker reports its resident size with every batch
  (``status()``, metrics); spaCy's vocabulary growth is bounded inside the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import logging
import math
import os
import sys
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from redact_gw.detection import schedule
from redact_gw.detection.pool_workers import WorkerProcesses, _fail, _Job, _Worker
from redact_gw.detection.scoped import override_var
from redact_gw.detection.worker import encode
from redact_gw.errors import DetectionFailed, DetectionOverloaded
from redact_gw.logs import current_request_id
from redact_gw.model import KnownValue, Segment, SegmentNer, Span
from redact_gw.settings import DetectionSettings

if TYPE_CHECKING:
    from redact_gw.metrics import Metrics

log = logging.getLogger(__name__)
#: Seconds a tenant counts as active after its last transcript.
_ACTIVE_S = 10.0
#: The tenant of the current request (``None``: the CLI, benchmarks, tests): set by the
#: gateway's admission middleware, copied into the tasks a request starts.
tenant_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "redact_gw_tenant", default=None)


def default_workers(cgroup_cpu_max: str = "/sys/fs/cgroup/cpu.max") -> int:
    """One worker per CPU core this process may use.

    The cores it may run on (affinity), capped by a container's CPU quota (cgroup v2
    ``cpu.max``, e.g. ``200000 100000`` for two CPUs): a container limited to two
    CPUs on a 64-core host gets two workers, not 64.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    try:
        with open(cgroup_cpu_max) as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cores = min(cores, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cores)



class DetectionPool(WorkerProcesses):
    """Detection in warmed worker processes behind a bounded, batching queue."""

    def __init__(self, settings: DetectionSettings, *, workers: int | None = None,
                 factory: str | None = None, metrics: Metrics | None = None,
                 python: str = sys.executable, log_format: str = "text") -> None:
        """Configure (nothing starts until ``start``).

        Args:
            settings: Detection settings (batching, queue, timeouts, model).
            workers: Worker processes; default ``settings.workers`` or one per core.
            factory: ``module:callable`` building the detector in each worker
                (tests); default ``redact_gw.detection.build_detector``.
            metrics: Collectors to update (queue depth, batches, restarts...).
            python: Interpreter for the workers.
            log_format: ``json`` or ``text``, as the gateway logs (workers log to
                the same stderr).
        """
        self.settings = settings
        self.size = workers or settings.workers or default_workers()
        self._factory = factory
        self._metrics = metrics
        self._python = python
        self._log_format = log_format
        self._queue: deque[_Job] = deque()
        self._workers: dict[int, _Worker] = {}
        self._idle: deque[_Worker] = deque()
        self._wakeup = asyncio.Event()
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dispatcher: asyncio.Task[None] | None = None
        self._closing = False
        self._failures: dict[int, int] = {}
        self._job_seconds = 0.05  # moving average per transcript, for Retry-After
        self._unit_s = 15e-6  # moving average per unit of ``schedule.cost``
        self._seen: dict[str, float] = {}  # tenant -> when its last transcript came
        self.restarts = 0
        #: The start-up warm-up is over (``wait_warm`` returned).
        self.started_warm = False

    # -- lifetime -----------------------------------------------------------------
    async def start(self) -> None:
        """Start every worker (they warm up in the background; see ``wait_warm``)."""
        for index in range(self.size):
            await self._spawn(index)
        self._dispatcher = asyncio.create_task(self._dispatch(), name="detection-dispatch")

    async def wait_warm(self, timeout_s: float | None = None) -> bool:
        """Wait until every worker started by ``start`` is warm (or failed, or the time
        is up); ``True`` when all are warm. Either way the start-up is over: from then
        on the pool is ready whenever at least one worker is warm (a worker that failed
        to start keeps being retried in the background)."""
        futures = [w.ready for w in self._workers.values()]
        if not futures:  # every worker already failed to start
            self.started_warm = True
            return False
        try:  # asyncio.wait, not a timeout around gather: that would cancel the futures
            done, pending = await asyncio.wait(
                futures, timeout=timeout_s or self.settings.start_timeout_s)
        finally:
            self.started_warm = True
        return not pending and all(f.result() for f in done)

    async def close(self, timeout_s: float = 5.0) -> None:
        """Stop the workers (stdin closed, then killed after ``timeout_s``)."""
        self._closing = True
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
        for job in self._queue:
            _fail(job, DetectionFailed("the gateway is shutting down; nothing was forwarded",
                                       code="shutting_down"))
        self._queue.clear()
        workers = list(self._workers.values())
        for w in workers:
            if w.proc.stdin is not None:
                w.proc.stdin.close()
        for w in workers:
            try:
                await asyncio.wait_for(w.proc.wait(), timeout_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    w.proc.kill()
                await w.proc.wait()
            if w.reader is not None:
                w.reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await w.reader
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._workers.clear()
        self._set_gauges()

    # -- the public call ------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """The start-up warm-up is over and at least one worker is warm."""
        return self.started_warm and any(w.warm for w in self._workers.values())

    async def detect(self, segments: Sequence[Segment],
                     known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """Detect in one transcript; see the module docstring for every failure."""
        return await self._submit(segments, known, keep_ner=False).future

    async def detect_keeping(self, segments: Sequence[Segment],
                             known: Sequence[KnownValue] = ()
                             ) -> tuple[list[list[Span]], list[SegmentNer | None]]:
        """``detect``, and each segment's NER to keep (``ner_memo``)."""
        job = self._submit(segments, known, keep_ner=True)
        spans = await job.future
        return spans, job.ner if job.ner is not None else [None] * len(spans)

    def _submit(self, segments: Sequence[Segment], known: Sequence[KnownValue], *,
                keep_ner: bool) -> _Job:
        if self._closing:
            raise DetectionFailed("the gateway is shutting down; nothing was forwarded",
                                  code="shutting_down")
        if not any(w.warm for w in self._workers.values()):
            self._reject("warming")
            raise DetectionOverloaded("personal-data detection is starting; retry shortly",
                                      retry_after_s=5)
        if len(self._queue) >= self.settings.queue_size:
            self._reject("queue_full")
            raise DetectionOverloaded(retry_after_s=self._retry_after())
        tenant = tenant_var.get()
        job = _Job(list(segments), list(known), sum(len(s.text) for s in segments),
                   asyncio.get_running_loop().create_future(), current_request_id(),
                   tenant=tenant, override=override_var.get(), keep_ner=keep_ner,
                   queued_at=time.perf_counter())
        if tenant is not None:
            self._seen[tenant] = time.monotonic()
        self._queue.append(job)
        self._set_queue_gauge()
        self._wakeup.set()
        return job

    def status(self) -> dict[str, Any]:
        """Workers, queue and memory, for ``/readyz`` and benchmarks (no request data)."""
        return {
            "workers": [{"index": w.index, "pid": w.proc.pid, "warm": w.warm,
                         "busy": w.batch is not None, "rss_bytes": w.rss, "jobs": w.jobs}
                        for w in sorted(self._workers.values(), key=lambda w: w.index)],
            "queue": len(self._queue),
            "restarts": self.restarts,
        }

    # -- dispatch -------------------------------------------------------------------
    async def _dispatch(self) -> None:
        wait_s = self.settings.batch_wait_ms / 1000
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if (wait_s and self._queue and self._idle
                    and len(self._queue) < self.settings.batch_size * len(self._idle)):
                await asyncio.sleep(wait_s)  # let batches gather
            while self._queue and self._idle:
                worker = self._idle.popleft()
                if worker.index not in self._workers or not worker.warm:
                    continue
                jobs = self._take(worker)
                if not jobs:  # nothing waiting, or only tenants at their cap
                    self._idle.appendleft(worker)
                    break
                try:
                    await self._send(worker, jobs)
                except Exception as exc:  # never let the dispatcher die: fail closed
                    log.error("detection dispatch failed: %s", type(exc).__name__)
                    for job in jobs:
                        _fail(job, DetectionFailed())
                    self._kill(worker, "worker_lost")

    def _take(self, worker: _Worker) -> list[_Job]:
        """Live jobs for ``worker``: at least one, at most ``batch_size`` and
        ``batch_chars`` characters, and its share (``schedule.share``): with 16 short
        transcripts waiting and two idle workers, each gets 8, not one 16 and the other
        none; with the other worker about to finish, this one leaves it its part.
        """
        if any(j.future.done() for j in self._queue):  # the caller gave up
            self._queue = deque(j for j in self._queue if not j.future.done())
        found, tenant = self._next_tenant()
        if not found:
            self._set_queue_gauge()
            return []
        mine = [j for j in self._queue if j.tenant == tenant]
        now = time.perf_counter()
        others = sorted(max(0.0, w.estimate_s - (now - w.batch_started)) / self._unit_s
                        if w.batch is not None else 0.0
                        for w in self._workers.values() if w.warm and w is not worker)
        if tenant is not None and len(self._seen) >= 2:  # capped: fewer workers share it
            others = others[:max(0, self._cap() - 1)]
        level = schedule.share(sum(schedule.cost(j.chars) for j in mine), others)
        jobs = schedule.pick(mine, now, level, self.settings.batch_size,
                             self.settings.batch_chars)
        taken = set(map(id, jobs))
        self._queue = deque(j for j in self._queue if id(j) not in taken)
        self._set_queue_gauge()
        return jobs

    def _cap(self) -> int:
        return self.settings.max_workers_per_tenant or max(1, self.size - 1)

    def _next_tenant(self) -> tuple[bool, str | None]:
        """The waiting tenant holding the fewest workers (the longest waiting first),
        not counting tenants at their cap; ``(False, None)`` when none may take one."""
        busy: dict[str | None, int] = {}
        for w in self._workers.values():
            if w.batch is not None:
                busy[w.tenant] = busy.get(w.tenant, 0) + 1
        now = time.monotonic()
        self._seen = {t: seen for t, seen in self._seen.items() if now - seen < _ACTIVE_S}
        active = len(self._seen)
        cap = self._cap()
        found, best, best_busy = False, None, 0
        for job in self._queue:
            held = busy.get(job.tenant, 0)
            if job.tenant is not None and active >= 2 and held >= cap:
                continue
            if not found or held < best_busy:
                found, best, best_busy = True, job.tenant, held
        return found, best

    async def _send(self, worker: _Worker, jobs: list[_Job]) -> None:
        batch_id = next(self._ids)
        for job in jobs:
            job.job_id = next(self._ids)
        worker.batch = {job.job_id: job for job in jobs}
        worker.tenant = jobs[0].tenant
        worker.batch_started = time.perf_counter()
        worker.estimate_s = self._unit_s * sum(schedule.cost(j.chars) for j in jobs)
        for job in jobs:
            job.sent_at = worker.batch_started
        worker.deadline = asyncio.get_running_loop().call_later(
            self.settings.timeout_s + 1.0, self._kill, worker, "timeout")
        if self._metrics is not None:
            self._metrics.detection_batch.observe(len(jobs))
            for job in jobs:
                self._metrics.detection_queue_wait.observe(job.sent_at - job.queued_at)
        frame = encode((batch_id, [(j.job_id, j.segments, j.known, j.request_id, j.keep_ner)
                                   for j in jobs], jobs[0].override))
        stdin = worker.proc.stdin
        assert stdin is not None
        try:
            stdin.write(frame)
            await stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            log.error("detection worker %d: write failed (%s)", worker.index,
                      type(exc).__name__)
            self._kill(worker, "worker_lost")

    # -- bookkeeping ----------------------------------------------------------------
    def _retry_after(self) -> int:
        warm = max(1, sum(1 for w in self._workers.values() if w.warm))
        return max(1, math.ceil(len(self._queue) * self._job_seconds / warm))

    def _reject(self, reason: str) -> None:
        if self._metrics is not None:
            self._metrics.detection_rejected.labels(reason).inc()
