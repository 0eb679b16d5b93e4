"""Gateway-process CPU per short ``/v1/redact``, several checkouts side by side.

Starts one real gateway (``python -m redact_gw serve``: spaCy workers, SQLite vault) per
``--tree NAME=PATH`` checkout, each importing its own code, then drives the same short
utterances through each in turn, alternating the order every round, at each level of
requests in flight. It prints the CPU milliseconds per request of the gateway process
(all its threads: event loop, SQLite thread) and of its workers, read from ``/proc``,
and the medians with the ratio of the second tree to the first. CPU per request, not
the wall clock, so that a busy neighbour on a shared machine moves both trees alike.
With ``--records K`` each run spreads its utterances over K records (the turns of a
conversation posted one by one) instead of a new record each.

    .venv/bin/python -m bench.gateway_cpu --tree main=/path/to/main --tree branch=.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp

from bench.detection_throughput import Gateway
from bench.throughput_workloads import Text, short_utterances


class Tree(Gateway):
    """A gateway serving one checkout's code (no upstream: ``/v1/redact`` only)."""

    def __init__(self, name: str, path: Path, root: Path, workers: int) -> None:
        super().__init__(root, "http://127.0.0.1:9/v1", workers, code=path, quiet=True)
        self.name = name

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of the gateway process and of its workers."""
        cpu = self.cpu_seconds()
        return cpu["gateway"], cpu["workers"]


async def drive(tree: Tree, texts: Sequence[Text], in_flight: int,
                offset: int, records: int = 0) -> tuple[float, float, float, int]:
    """Each text once (a new record each, or spread over ``records``): gateway and
    worker CPU ms per request, requests per second, errors."""
    queue = list(enumerate(texts))[::-1]
    headers = {**tree.home.auth(), "Content-Type": "application/json"}
    errors = 0

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal errors
        while queue:
            i, text = queue.pop()
            record = offset + (i % records if records else i)
            body = json.dumps({"record_id": f"b-{record}", "turns": [
                {"speaker": s, "text": t} for s, t in text.turns]}).encode()
            async with http.post(tree.url + "/v1/redact", data=body, headers=headers) as r:
                await r.read()
                errors += r.status != 200
    gw0, w0 = tree.cpu()
    t0 = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight)) as http:
        await asyncio.gather(*(client(http) for _ in range(in_flight)))
    wall = time.perf_counter() - t0
    gw1, w1 = tree.cpu()
    n = len(texts)
    return 1000 * (gw1 - gw0) / n, 1000 * (w1 - w0) / n, n / wall, errors


async def bench(args: argparse.Namespace) -> None:
    texts, source = short_utterances(args.n, args.seed)
    print(f"{len(texts)} short utterances from {source}; load average"
          f" {os.getloadavg()[0]:.1f}")
    levels = [int(c) for c in args.in_flight.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        trees = []
        for spec in args.tree:
            name, _, path = spec.partition("=")
            (Path(tmp) / name).mkdir()
            trees.append(Tree(name, Path(path).resolve(), Path(tmp) / name, args.workers))
        try:
            for tree in trees:
                await tree.start()
                await drive(tree, texts[:60], 8, 900_000)  # warm every path
            results: dict[tuple[str, int], list[tuple[float, float, float, int]]] = {}
            for k in range(args.rounds):
                for c in levels:
                    for tree in trees if k % 2 == 0 else trees[::-1]:
                        r = await drive(tree, texts, c, 1_000_000 * (k + 1) + 10_000 * c,
                                        args.records)
                        results.setdefault((tree.name, c), []).append(r)
                        print(f"round {k + 1} {tree.name:>8s} c={c:<3d} gateway {r[0]:.2f}"
                              f" ms/req   workers {r[1]:.2f} ms/req   {r[2]:.0f} req/s"
                              + (f"   errors {r[3]}" if r[3] else ""), flush=True)
        finally:
            for tree in trees:
                await tree.stop()
    print("\nmedians: gateway ms/req / workers ms/req / req/s")
    for c in levels:
        med = {t.name: [statistics.median(r[i] for r in results[(t.name, c)])
                        for i in range(3)] for t in trees}
        line = "   ".join(f"{n} {m[0]:.2f} / {m[1]:.2f} / {m[2]:.0f}" for n, m in med.items())
        if len(trees) >= 2:
            a, b = trees[0].name, trees[1].name
            line += f"   gateway {b}/{a} x{med[b][0] / med[a][0]:.2f}"
        print(f"  c={c:<3d} {line}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tree", action="append", required=True,
                   help="NAME=PATH of a checkout (repeat; the first is the baseline)")
    p.add_argument("--in-flight", default="16,32,64")
    p.add_argument("--n", type=int, default=500, help="utterances per run")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--records", type=int, default=0,
                   help="records each run's utterances are spread over (0: one each)")
    p.add_argument("--seed", type=int, default=7)
    asyncio.run(bench(p.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
