"""The detection pool's batching, simulated: latency of one utterance by scheduling policy.

On a shared machine the wall clock of ``bench.detection_throughput`` measures the
neighbours as much as the gateway. This replays the pool's dispatch (``pool.py``) in
simulated time, deterministic for a seed, with a cost model measured in a worker
(``detect_each`` CPU per short utterance: 3.62 ms alone, 3.01 in batches of 2, 2.97
of 4, 2.60 of 8 and 2.61 of 16 for utterances of 114 characters on average; about
46 ms per 1,700-character call whatever the batch). A batch runs its NER first
(``NER_SHARE`` of its cost), then answers its transcripts one by one. The gateway
adds ``--gateway-ms`` to each request (half before detection, half after) and, as it
shares the two cores with the workers, makes the workers' work ``--contention`` times
slower (default 1.5: about 1.3 ms of gateway CPU beside 2.7 ms of worker CPU per
utterance). Real latencies on a shared machine are higher; the comparison between
policies, same costs and same arrivals, is the point.

Policies: ``fifo`` is the pool before issue 20 (a free worker takes its share of the
queue counted over idle workers only, first come first served, up to ``batch_size``;
answers shortest first); ``shortest`` is ``redact_gw.detection.schedule`` (shares that
finish together, a character budget per batch, highest response ratio next) with the
worker answering shortest first, as until stop 28; ``schedule`` is the pool now: the
same batches, utterances answered in the order picked (longest-waiting first), calls
after them.

    .venv/bin/python -m bench.pool_schedule_sim
    .venv/bin/python -m bench.pool_schedule_sim --requests 20000 --calls-in-flight 2
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import random
import statistics
import sys
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from redact_gw.detection import schedule

#: CPU per utterance by batch size, relative to large batches (measured, see above).
BATCH_FACTOR = {1: 3.62 / 2.61, 2: 3.01 / 2.61, 4: 2.97 / 2.61, 8: 1.0}
SHORT_S_PER_UNIT = 2.61e-3 / schedule.cost(114)
CALL_S_PER_UNIT = 46e-3 / schedule.cost(1_700)
NER_SHARE = 0.6
IPC_S = 0.3e-3  # a batch's frame out and its first answer back


@dataclass(eq=False)
class Job:
    chars: int
    queued_at: float
    started: float
    client: int
    solo: bool = False
    batch_key: object = None
    sent_at: float = 0.0


@dataclass(eq=False)
class Worker:
    busy_until: float = 0.0
    estimate_s: float = 0.0
    started: float = 0.0
    batch: list[Job] = field(default_factory=list)


def batch_seconds(jobs: Sequence[Job], contention: float,
                  shortest_first: bool = False) -> list[float]:
    """When each job of a batch is answered, from the batch's start: utterances in
    the order picked, then calls shortest first (``PresidioDetector.detect_each``), or
    every job shortest first (``shortest_first``, the worker until stop 28)."""
    k = len(jobs)
    factor = BATCH_FACTOR[max(b for b in BATCH_FACTOR if b <= k)]
    costs = [schedule.cost(j.chars) * (CALL_S_PER_UNIT if j.chars > 1_000
                                       else SHORT_S_PER_UNIT * factor) * contention
             for j in jobs]
    t = IPC_S + NER_SHARE * sum(costs)
    out = [0.0] * k
    def key(i: int) -> tuple[int, int]:
        return (jobs[i].chars, i) if shortest_first else (max(jobs[i].chars,
                                                               schedule.SHORT_CHARS), i)
    for i in sorted(range(k), key=key):
        t += (1 - NER_SHARE) * costs[i]
        out[i] = t
    return out


class Sim:
    def __init__(self, policy: str, texts: Sequence[int], calls: Sequence[int],
                 in_flight: int, call_clients: int, requests: int, gateway_s: float,
                 contention: float, batch_size: int = 16, wait_s: float = 0.002) -> None:
        self.policy, self.texts, self.calls = policy, texts, calls
        self.batch_size, self.wait_s, self.gateway_s = batch_size, wait_s, gateway_s
        self.contention = contention
        self.queue: deque[Job] = deque()
        self.workers = [Worker(), Worker()]
        self.events: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.now = 0.0
        self.pending = False
        self.unit_s = 15e-6
        self.left = requests
        self.latency: list[float] = []
        self.call_latency: list[float] = []
        self.waits: list[float] = []
        self.cpu = 0.0
        self.picks = itertools.count()
        for c in range(in_flight + call_clients):
            self.at(0.0, lambda c=c: self.request(c, c >= in_flight))

    def at(self, t: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self.events, (t, next(self.seq), fn))

    def gateway(self, then: Callable[[], None]) -> None:
        """Half a request's gateway work."""
        self.at(self.now + self.gateway_s / 2, then)

    def request(self, client: int, call: bool) -> None:
        if self.left <= 0:
            return
        self.left -= 1
        pool = self.calls if call else self.texts
        job = Job(pool[next(self.picks) % len(pool)], 0.0, self.now, client)

        def enqueue() -> None:
            job.queued_at = self.now
            self.queue.append(job)
            self.wakeup()
        self.gateway(enqueue)

    def wakeup(self) -> None:
        if self.pending:
            return
        idle = [w for w in self.workers if not w.batch]
        if self.wait_s and self.queue and idle and len(self.queue) < self.batch_size * len(
                idle):
            self.pending = True
            self.at(self.now + self.wait_s, self.dispatch)
        else:
            self.dispatch()

    def dispatch(self) -> None:
        self.pending = False
        for worker in sorted((w for w in self.workers if not w.batch),
                             key=lambda w: w.busy_until):
            if not self.queue:
                break
            jobs = self.take(worker)
            self.send(worker, jobs)

    def take(self, worker: Worker) -> list[Job]:
        if self.policy == "fifo":  # the pool before issue 20
            idle = sum(1 for w in self.workers if not w.batch)
            limit = min(self.batch_size, max(1, math.ceil(len(self.queue) / idle)))
            jobs: list[Job] = []
            while self.queue and len(jobs) < limit:
                jobs.append(self.queue.popleft())
            return jobs
        others = [max(0.0, w.estimate_s - (self.now - w.started)) / self.unit_s
                  if w.batch else 0.0 for w in self.workers if w is not worker]
        level = schedule.share(sum(schedule.cost(j.chars) for j in self.queue), others)
        jobs = schedule.pick(self.queue, self.now, level, self.batch_size, 50_000)
        taken = set(map(id, jobs))
        self.queue = deque(j for j in self.queue if id(j) not in taken)
        return jobs

    def send(self, worker: Worker, jobs: list[Job]) -> None:
        worker.batch, worker.started = jobs, self.now
        worker.estimate_s = self.unit_s * sum(schedule.cost(j.chars) for j in jobs)
        answers = batch_seconds(jobs, self.contention, self.policy != "schedule")
        for job, t in zip(jobs, answers, strict=True):
            job.sent_at = self.now
            self.waits.append(self.now - job.queued_at)
            self.at(self.now + t, lambda job=job: self.gateway(lambda job=job: self.done(job)))
        end = self.now + max(answers)
        self.cpu += (max(answers) - IPC_S) / self.contention
        self.at(end, lambda: self.free(worker, end - worker.started))

    def free(self, worker: Worker, elapsed: float) -> None:
        units = sum(schedule.cost(j.chars) for j in worker.batch)
        self.unit_s = 0.8 * self.unit_s + 0.2 * elapsed / units
        worker.batch = []
        self.wakeup()

    def done(self, job: Job) -> None:
        (self.call_latency if job.chars > 1_000 else self.latency).append(
            self.now - job.started)
        self.request(job.client, job.chars > 1_000)

    def run(self) -> Sim:
        while self.events:
            self.now, _, fn = heapq.heappop(self.events)
            fn()
        return self


def pct(values: Sequence[float], q: float) -> float:
    s = sorted(values)
    return 1000 * s[min(len(s) - 1, int(len(s) * q))]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--in-flight", type=lambda s: [int(x) for x in s.split(",")],
                   default=[1, 16, 32, 64])
    p.add_argument("--calls-in-flight", type=int, default=0,
                   help="clients sending call-length transcripts among the utterances")
    p.add_argument("--gateway-ms", type=float, default=2.0)
    p.add_argument("--contention", type=float, default=1.5)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    rng = random.Random(args.seed)
    try:
        from bench.throughput_workloads import calls, short_utterances
        texts = [t.chars for t in short_utterances(400, args.seed)[0]]
        longs = [t.chars for t in calls(20, args.seed)]
    except Exception:  # no eval data: the same spread of lengths
        texts = [rng.randint(50, 300) for _ in range(400)]
        longs = [rng.randint(1_500, 2_000) for _ in range(20)]
    print(f"{len(texts)} utterances (avg {statistics.mean(texts):.0f} chars), calls avg"
          f" {statistics.mean(longs):,.0f} chars; {args.calls_in_flight} call clients;"
          f" gateway {args.gateway_ms} ms/request, contention x{args.contention};"
          f" {args.requests} requests per run")
    for n in args.in_flight:
        for policy in ("fifo", "shortest", "schedule"):
            sim = Sim(policy, texts, longs, n, args.calls_in_flight, args.requests,
                      args.gateway_ms / 1000, args.contention).run()
            lat = sim.latency
            line = (f"  {n:3d} in flight  {policy:8s}  p50 {pct(lat, 0.5):6.1f} ms"
                    f"  p99 {pct(lat, 0.99):6.1f} ms   queue wait p50"
                    f" {pct(sim.waits, 0.5):5.1f} p99 {pct(sim.waits, 0.99):6.1f} ms"
                    f"   {len(lat) / sim.now:5.0f} utt/s   worker CPU"
                    f" {1000 * sim.cpu / (len(lat) + len(sim.call_latency)):.2f} ms/req")
            if sim.call_latency:
                line += (f"   calls p50 {pct(sim.call_latency, 0.5):.0f}"
                         f" p99 {pct(sim.call_latency, 0.99):.0f} ms")
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
