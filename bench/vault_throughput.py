"""Vault throughput: SQLite vs PostgreSQL, one and two gateway processes, side by side.

Starts real gateway processes (``python -m redact_gw.testing_server``: the real app
and HTTP server with the regex detector, so the vault dominates) sharing one vault,
then measures over HTTP:

- tokenize-and-store: ``POST /v1/redact`` of transcripts with ``--values`` values
  each, one new record per request, ``--concurrency`` clients spread over the
  processes -> requests/s and values/s;
- reveal: ``POST /v1/detokenize`` of one record's tokens (the real path: record
  read, unwrap, open, quota and audit-chain writes) -> latency p50 / p99.

Ratios are against SQLite with one process, measured in the same run.

    .venv/bin/python bench/vault_throughput.py [--requests 400] [--reveals 400]
        [--concurrency 16] [--pg-dsn postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg

from redact_gw.testing_server import GatewayHome, GatewayProcess, make_home

SEP = " ; "


@dataclass
class Result:
    """One (backend, processes) measurement."""

    backend: str
    procs: int
    redact_rps: float
    values_ps: float
    reveal_p50_ms: float
    reveal_p99_ms: float
    errors: int


@asynccontextmanager
async def vault_url(backend: str, root: Path, pg_dsn: str) -> AsyncIterator[str]:
    """A fresh vault: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        yield str(root / "vault.db")
        return
    schema = "bench_" + secrets.token_hex(4)
    conn = await asyncpg.connect(pg_dsn)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{pg_dsn}{'&' if '?' in pg_dsn else '?'}search_path={schema}"
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


def _values(i: int, n: int) -> list[str]:
    half = n // 2
    return ([f"caller{i}.{k}@example.com" for k in range(n - half)]
            + [f"{200 + i % 700:03d}-555-{k:04d}" for k in range(half)])


async def _gather_limited(n: int, limit: int, fn: object) -> None:
    sem = asyncio.Semaphore(limit)

    async def one(i: int) -> None:
        async with sem:
            await fn(i)  # type: ignore[operator]
    await asyncio.gather(*(one(i) for i in range(n)))


async def measure(http: aiohttp.ClientSession, home: GatewayHome, procs: list[GatewayProcess],
                  args: argparse.Namespace) -> tuple[float, list[float], int,
                                                     dict[str, list[str]]]:
    """Redact throughput (requests/s), reveal latencies (s), errors, tokens per record."""
    tokens: dict[str, list[str]] = {}
    errors = 0

    async def redact(i: int) -> None:
        nonlocal errors
        record = f"rec-{i}"
        body = {"text": SEP.join(_values(i, args.values)), "record_id": record}
        async with http.post(procs[i % len(procs)].url + "/v1/redact", json=body,
                             headers=home.auth()) as resp:
            doc = await resp.json()
        if resp.status != 200:
            errors += 1
            return
        tokens[record] = doc["text"].split(SEP)

    await _gather_limited(20, args.concurrency, lambda i: redact(100_000 + i))  # warm-up
    started = time.perf_counter()
    await _gather_limited(args.requests, args.concurrency, redact)
    rps = args.requests / (time.perf_counter() - started)
    latencies: list[float] = []
    records = [r for r in tokens if not r.startswith("rec-1000")]

    async def reveal(i: int) -> None:
        nonlocal errors
        record = records[(i * 7919) % len(records)]
        body = {"record_id": record, "tokens": tokens[record], "purpose": "compliance_audit"}
        t0 = time.perf_counter()
        async with http.post(procs[i % len(procs)].url + "/v1/detokenize", json=body,
                             headers=home.auth(admin=True)) as resp:
            await resp.read()
        latencies.append(time.perf_counter() - t0)
        errors += resp.status != 200

    await _gather_limited(args.reveals, args.concurrency, reveal)
    return rps, latencies, errors, tokens


async def run_case(backend: str, nprocs: int, args: argparse.Namespace) -> Result:
    """Start ``nprocs`` gateways on a fresh vault of ``backend`` and measure."""
    with tempfile.TemporaryDirectory() as tmp:
        async with vault_url(backend, Path(tmp), args.pg_dsn) as url:
            home = make_home(Path(tmp), url, vault={"pool_max_size": args.concurrency})
            procs = [GatewayProcess(home.config) for _ in range(nprocs)]
            try:
                for p in procs:  # one at a time: the first one creates the schema
                    await p.start()
                connector = aiohttp.TCPConnector(limit=args.concurrency * 2)
                async with aiohttp.ClientSession(connector=connector) as http:
                    rps, lat, errors, _ = await measure(http, home, procs, args)
            finally:
                await asyncio.gather(*(p.stop() for p in procs))
    lat.sort()
    return Result(backend, nprocs, rps, rps * args.values, statistics.median(lat) * 1000,
                  lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, errors)


def print_table(results: list[Result], args: argparse.Namespace) -> None:
    """Side-by-side table with ratios against SQLite x 1 process."""
    base = results[0]
    print(f"\nvault throughput: {args.requests} redacts x {args.values} values,"
          f" {args.reveals} reveals, concurrency {args.concurrency}")
    print(f"{'backend':<10} {'procs':>5} {'redact/s':>9} {'values/s':>9} {'x base':>7}"
          f" {'reveal p50':>11} {'p99':>8} {'x base':>7} {'errors':>6}")
    for r in results:
        print(f"{r.backend:<10} {r.procs:>5} {r.redact_rps:>9.0f} {r.values_ps:>9.0f}"
              f" {r.redact_rps / base.redact_rps:>7.2f} {r.reveal_p50_ms:>9.1f}ms"
              f" {r.reveal_p99_ms:>6.1f}ms {r.reveal_p50_ms / base.reveal_p50_ms:>7.2f}"
              f" {r.errors:>6}")
    print("(x base: throughput ratio and reveal p50 ratio vs sqlite x 1 process)")


async def main(args: argparse.Namespace) -> int:
    """Run every case, print the table; non-zero exit if any request failed."""
    results = []
    for backend in args.backends:
        for nprocs in (1, 2):
            results.append(await run_case(backend, nprocs, args))
            print(f"done: {backend} x {nprocs}", file=sys.stderr)
    print_table(results, args)
    return 1 if any(r.errors for r in results) else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags (sizes keep the default run to about a minute)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=400, help="redact requests per case")
    p.add_argument("--reveals", type=int, default=400, help="reveal requests per case")
    p.add_argument("--values", type=int, default=4, help="values per transcript")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--backends", nargs="+", default=["sqlite", "postgres"],
                   choices=["sqlite", "postgres"])
    p.add_argument("--pg-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
