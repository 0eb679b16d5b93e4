"""Live calls under load: added delay per message, hold-back, CPU per call, memory per
session, for N concurrent simulated calls against a real gateway (a ``redact-gw serve``
process with its detection worker pool, Presidio + spaCy).

Each call is a customer and an agent taking turns; the customer says names, reads card
numbers and phone numbers aloud digit by digit and spells emails. Speech recognition is
simulated: a partial every ``--interval`` seconds (one more word each), a final per
utterance. Measured, per N (medians of ``--repeat`` runs; the machine is shared, so
expect noise):

* **added delay per message**: from sending a partial or final until the gateway has
  processed it and sent what it shows. Measured with a WebSocket ping sent right after
  each message: the gateway answers the ping only when its session loop reads the next
  frame, i.e. after the message was redacted and its answer sent. Deliberate hold-back
  (text held because a value may still be forming) is *not* in it;
* **baseline**: the same ping on the same sessions with no message before it (transport
  and event loop only), measured in the same run; the ratio is printed;
* **hold-back**: how long partial text was held before it was shown (the gateway's
  ``redact_gw_live_holdback_seconds`` histogram; bucket upper bounds);
* **CPU per call**: CPU seconds of the gateway and its workers per call-second (the
  share of one core one call takes), and per message processed; one core sustains
  ``interval / CPU per message`` calls (a call sends one message per interval). Per
  message is the robust one on a shared machine: per call-second counts only the CPU
  the machine gave the gateway while the run lasted;
* **memory per session**: gateway RSS with N sessions open minus before, divided by N.

Calls are independent, so they are not in step: call i starts i/n of an interval after
the first, and the partials of N calls arrive spread over each interval. ``--aligned``
starts them all at once, the worst case, where every partial of every call arrives in
the same burst.

    make live-bench                                     # N = 10, 50, 200; 3 runs each
    .venv/bin/python bench/live_latency.py -n 10 -n 50 --repeat 1 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from redact_gw.crypto.keyring import generate_key_file
from redact_gw.demo_live import partials_of
from redact_gw.policy.principals import create_api_key
from redact_gw.testing_server import free_port

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
NAMES = ["Maria Garcia", "John Smith", "Rebecca Jones", "Wei Chen", "Aisha Khan"]


def _spoken(number: str) -> str:
    return " ".join(DIGITS[int(c)] for c in number)


def script(rng: random.Random, turns: int) -> list[tuple[str, str]]:
    """(speaker, text) of one simulated call."""
    name = rng.choice(NAMES)
    first = name.split()[0].lower()
    customer = [
        f"hi this is {name} calling about my bill",
        f"my card number is {_spoken('4111111111111111')}",
        f"you can reach me on {_spoken('2125550' + str(rng.randint(100, 999)))}",
        f"my email is {first} dot {rng.randint(10, 99)} at example dot com",
        f"sure the card is {_spoken('5555555555554444')} thanks",
        f"it is {first}.{rng.randint(10, 99)}@example.com",
    ]
    agent = ["thank you for calling how can I help", "which card would you like to use",
             "what number can we reach you on", "and your email address please",
             "can you confirm the card once more", "could you spell that email for me"]
    out = []
    for i in range(turns):
        out += [("agent", agent[i % len(agent)]), ("customer", customer[i % len(customer)])]
    return out


class Call:
    """One simulated call: sends partials and finals, times each message's processing."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.sent: dict[int, float] = {}
        self.delays: list[float] = []
        self.final_seqs: set[int] = set()
        self.final_delays: list[float] = []
        self.baseline: list[float] = []
        self.finals = 0
        self.errors = 0

    async def read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.PONG:
                seq = int(msg.data or b"0")
                at = self.sent.pop(seq, None)
                if at is not None:
                    (self.baseline if seq < 0 else self.delays).append(
                        time.perf_counter() - at)
                    if seq in self.final_seqs:
                        self.final_delays.append(self.delays[-1])
            elif msg.type == aiohttp.WSMsgType.PING:
                await self.ws.pong(msg.data)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                kind = msg.json().get("type")
                self.finals += kind == "final"
                self.errors += kind == "error"

    async def run(self, lines: list[tuple[str, str]], interval: float, seq0: int,
                  phase: float = 0.0) -> None:
        await asyncio.sleep(phase)
        seq = seq0
        for n, (speaker, text) in enumerate(lines):
            base = {"segment_id": f"u{n}", "speaker": speaker}
            for kind, words in [*(("partial", p) for p in partials_of(text)),
                                ("final", text)]:
                seq += 1
                if kind == "final":
                    self.final_seqs.add(seq)
                self.sent[seq] = time.perf_counter()
                await self.ws.send_json({"type": kind, "text": words, **base})
                await self.ws.ping(str(seq).encode())
                await asyncio.sleep(interval / 2)
                seq += 1  # a bare ping half-way: the baseline (negative sequence numbers)
                self.sent[-seq] = time.perf_counter()
                await self.ws.ping(str(-seq).encode())
                await asyncio.sleep(interval / 2)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children (detection workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        pids += [int(c) for c in children]
    total = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _holdback(metrics: str) -> dict[float, float]:
    """Cumulative bucket counts of the hold-back histogram."""
    out = {}
    for line in metrics.splitlines():
        if line.startswith("redact_gw_live_holdback_seconds_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return out


def _not_detected(metrics: str) -> dict[str, float]:
    """Partials answered without detection, by reason (superseded, held_tail)."""
    out = {}
    for line in metrics.splitlines():
        if line.startswith("redact_gw_live_partials_not_detected_total{"):
            reason = line.split('reason="', 1)[1].split('"', 1)[0]
            out[reason] = float(line.rsplit(" ", 1)[1])
    return out


def _bucket_quantile(before: dict[float, float], after: dict[float, float], q: float
                     ) -> float:
    counts = {le: after[le] - before.get(le, 0.0) for le in after}
    total = counts.get(float("inf"), 0.0)
    if not total:
        return 0.0
    return next(le for le in sorted(counts) if counts[le] >= q * total)


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


async def one_run(base: str, key: str, pid: int, n: int, turns: int, interval: float,
                  seed: int, *, aligned: bool = False) -> dict[str, float]:
    rng = random.Random(seed)
    # no cap on connections (aiohttp's default of 100 would leave calls waiting)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        exposition = await (await http.get(f"{base}/metrics")).text()
        before_hold, before_skip = _holdback(exposition), _not_detected(exposition)
        rss0 = _rss_mb(pid)
        calls = []
        for i in range(n):
            ws = await http.ws_connect(f"{base}/v1/live", autoping=False,
                                       params={"record_id": f"bench-{seed}-{i}"},
                                       headers={"Authorization": f"Bearer {key}"})
            calls.append(Call(ws))
        readers = [asyncio.create_task(c.read()) for c in calls]
        cpu0, t0, own0 = _cpu_seconds(pid), time.monotonic(), time.process_time()
        rss_peak = [rss0]

        async def sample() -> None:
            while True:
                rss_peak.append(_rss_mb(pid))
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample())
        # independent calls are not in step: call i starts i/n of an interval late
        # (``--aligned``: all at once, every partial of every call in one burst)
        await asyncio.gather(*(c.run(script(rng, turns), interval, i * 100_000,
                                     0.0 if aligned else i * interval / n)
                               for i, c in enumerate(calls)))
        for _ in range(150):  # the last answers (at most 15 s)
            if not any(c.sent for c in calls):
                break
            await asyncio.sleep(0.1)
        cpu, seconds = _cpu_seconds(pid) - cpu0, time.monotonic() - t0
        own = time.process_time() - own0
        sampler.cancel()
        for c in calls:
            await c.ws.close()
        for r in readers:
            r.cancel()
        exposition = await (await http.get(f"{base}/metrics")).text()
        after_hold, after_skip = _holdback(exposition), _not_detected(exposition)
    delays = [d for c in calls for d in c.delays]
    finals = [d for c in calls for d in c.final_delays]
    base_rtt = [d for c in calls for d in c.baseline]
    skipped = {k: after_skip.get(k, 0.0) - before_skip.get(k, 0.0)
               for k in ("superseded", "held_tail")}
    cpu_per_call = cpu / (n * seconds)
    # per message the gateway handled: a partial dropped as superseded is not one
    cpu_per_msg = cpu / max(1.0, len(delays) - skipped["superseded"])
    return {"p50_ms": 1000 * _pct(delays, 0.5), "p99_ms": 1000 * _pct(delays, 0.99),
            "final_p50_ms": 1000 * _pct(finals, 0.5), "final_p99_ms": 1000 * _pct(finals, 0.99),
            "base_p50_ms": 1000 * _pct(base_rtt, 0.5),
            "base_p99_ms": 1000 * _pct(base_rtt, 0.99),
            "hold_p50_s": _bucket_quantile(before_hold, after_hold, 0.5),
            "hold_p99_s": _bucket_quantile(before_hold, after_hold, 0.99),
            "cpu_per_call": cpu_per_call, "cpu_ms_per_msg": 1000 * cpu_per_msg,
            # a call sends a message per interval: what one core keeps up with
            "calls_per_core": interval / cpu_per_msg,
            "mem_per_session_kb": 1024 * (max(rss_peak) - rss0) / n,
            "messages": len(delays), "lost": sum(len(c.sent) for c in calls),
            "dropped": skipped["superseded"], "held_tail": skipped["held_tail"],
            # the bench's own CPU (same cores as the gateway), share of one core
            "client_cpu": own / seconds,
            # offered vs processed: below the offer, the gateway (or the CPU the machine
            # gives it) is saturated and the delays are queueing
            "sent_per_s": n / interval, "done_per_s": len(delays) / seconds,
            "errors": sum(c.errors for c in calls)}


def _gateway(root: Path, workers: int, partial_context: int | None
             ) -> tuple[subprocess.Popen[bytes], str, str]:
    port = free_port()
    cfg: dict[str, Any] = {"server": {"port": port}, "vault": {"url": "vault.db"},
           "keys": {"path": "keys.yaml"}, "auth": {"principals_file": "principals.yaml"},
           "detection": {"workers": workers},
           "live": {"max_sessions_per_principal": 1000, "max_sessions_per_tenant": 1000}}
    if partial_context is not None:
        cfg["live"]["partial_context_turns"] = partial_context
    (root / "gw.yaml").write_text(yaml.safe_dump(cfg))
    generate_key_file(root / "keys.yaml")
    key = create_api_key(root / "principals.yaml", "bench", "bench", ["ai-service"])
    proc = subprocess.Popen(
        [sys.executable, "-c", "from redact_gw.cli import main; raise SystemExit(main())",
         "--config", str(root / "gw.yaml"), "--log-format", "text", "serve"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}", key


async def _ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if proc.poll() is not None:
                raise SystemExit("the gateway exited while starting")
            try:
                async with http.get(f"{base}/readyz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise SystemExit("the gateway never got ready")


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, base, key = _gateway(Path(tmp), args.workers, args.partial_context)
        try:
            await _ready(base, proc)
            print(f"gateway pid {proc.pid}, {args.workers} detection worker(s), "
                  f"{os.cpu_count()} cores (shared: numbers are noisy); partial every "
                  f"{args.interval}s, {args.turns * 2} utterances per call, calls "
                  f"{'in step' if args.aligned else 'spread over an interval'}; medians of "
                  f"{args.repeat} run(s)\n")
            await one_run(base, key, proc.pid, 2, 1, args.interval, 0)  # warm-up
            head = (f"{'N':>4} {'p50 ms':>7} {'p99 ms':>7} {'base p50':>8} {'base p99':>8}"
                    f" {'p99/base':>8} {'final p50':>9} {'final p99':>9}"
                    f" {'hold p50':>8} {'hold p99':>8} {'CPU/call':>8}"
                    f" {'CPU ms/msg':>10}"
                    f" {'calls/core':>10} {'KB/sess':>8} {'msgs':>6} {'lost':>5}"
                    f" {'dropped':>7} {'tail':>5} {'sent/s':>7} {'done/s':>7}"
                    f" {'bench CPU':>9} {'errors':>6}")
            print(head)
            for n in args.n:
                runs = [await one_run(base, key, proc.pid, n, args.turns, args.interval,
                                      seed, aligned=args.aligned)
                        for seed in range(1, args.repeat + 1)]
                m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                print(f"{n:>4} {m['p50_ms']:>7.1f} {m['p99_ms']:>7.1f} {m['base_p50_ms']:>8.1f}"
                      f" {m['base_p99_ms']:>8.1f} {m['p99_ms'] / m['base_p99_ms']:>8.1f}"
                      f" {m['final_p50_ms']:>9.1f} {m['final_p99_ms']:>9.1f}"
                      f" {m['hold_p50_s']:>7.2f}s {m['hold_p99_s']:>7.2f}s"
                      f" {m['cpu_per_call']:>8.3f} {m['cpu_ms_per_msg']:>10.1f}"
                      f" {m['calls_per_core']:>10.1f}"
                      f" {m['mem_per_session_kb']:>8.0f} {m['messages']:>6.0f}"
                      f" {m['lost']:>5.0f} {m['dropped']:>7.0f} {m['held_tail']:>5.0f}"
                      f" {m['sent_per_s']:>7.0f} {m['done_per_s']:>7.0f}"
                      f" {m['client_cpu']:>9.2f} {m['errors']:>6.0f}",
                      flush=True)
            print("\nfinal p50/p99: the same delay for finals alone (each is detected with "
                  "the call's earlier finals as context);\n"
                  "hold: upper bounds of the histogram bucket holding the quantile; "
                  "lost: messages whose processing was never confirmed (session closed);\n"
                  "dropped: partials superseded by a newer result of their segment while "
                  "they waited (never detected; their delay is until the newer one was "
                  "shown; CPU ms/msg counts handled messages only); tail: partials where "
                  "only the held-back tail grew (answered without detection); bench CPU: "
                  "this client's share of one core; errors: messages answered with an error "
                  "(detection timed out or at capacity: nothing shown)")
        finally:
            proc.terminate()
            proc.wait(30)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, action="append", help="concurrent calls (repeatable)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--turns", type=int, default=3, help="agent+customer turns per call")
    p.add_argument("--interval", type=float, default=0.2, help="seconds between partials")
    p.add_argument("--workers", type=int, default=1, help="detection worker processes")
    p.add_argument("--aligned", action="store_true",
                   help="start every call at once, so all partials arrive in bursts "
                        "(worst case; by default call i starts i/n of an interval late)")
    p.add_argument("--partial-context", type=int, default=None,
                   help="live.partial_context_turns (default: the gateway's)")
    args = p.parse_args()
    args.n = args.n or [10, 50, 200]
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
