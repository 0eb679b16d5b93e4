"""Purge throughput on a large SQLite vault, and gateway latency while a purge runs.

Usage:
    .venv/bin/python bench/purge_throughput.py [--values 1000000] [--batch-size 2000]

Builds a vault of N expired values (synthetic ciphertext rows written straight to the
store: a purge never decrypts, so this is what it sees), then:
  1. measures purge throughput (values/s) with the production code path (run_purge);
  2. measures POST /v1/redact latency of an in-process gateway (fake detector, so the
     number is the vault's share) without a purge and while a purge of the same size
     runs in the same process, and prints p50/p99 and their ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from aiohttp.test_utils import TestClient, TestServer

from redact_gw.audit import AuditLog
from redact_gw.crypto.keyring import generate_key_file
from redact_gw.jobs.purge import run_purge
from redact_gw.policy.principals import create_api_key
from redact_gw.proxy import appkeys
from redact_gw.proxy.app import create_app
from redact_gw.settings import load_settings
from redact_gw.testing import FakeDetector
from redact_gw.vault.base import EntryRow, RecordRow
from redact_gw.vault.sqlite import SqliteStore

TEXT = "This is John Smith, card 4111 1111 1111 1111, phone 212-555-0123"


async def fill(store: SqliteStore, n: int, per_record: int = 100) -> None:
    """Write ``n`` expired synthetic entries in records of ``per_record`` values."""
    past = time.time() - 10 * 86400
    for r in range(0, n // per_record):
        rec = RecordRow("bench", f"r{r}", None, past, f"d{r}", "k", os.urandom(60))
        rows = [EntryRow("bench", f"r{r}", f"[[PHONE_NUMBER:{r:06d}{i:04d}]]", "PHONE_NUMBER",
                         os.urandom(32), os.urandom(48), past, past + 86400)
                for i in range(per_record)]
        await store.commit_entries(rec, rows)


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


async def latency(client: TestClient, key: str, seconds: float,
                  until: asyncio.Task[object] | None = None) -> list[float]:
    """Sequential /v1/redact calls for ``seconds`` (or until the task is done)."""
    out: list[float] = []
    deadline = time.perf_counter() + seconds
    i = 0
    while (not until.done()) if until else time.perf_counter() < deadline:
        t = time.perf_counter()
        r = await client.post("/v1/redact", json={"text": TEXT, "record_id": f"live{i % 50}"},
                              headers={"Authorization": f"Bearer {key}"})
        await r.read()
        assert r.status == 200
        out.append((time.perf_counter() - t) * 1000)
        i += 1
    return out


async def main(values: int, batch: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="rgw-bench-"))
    generate_key_file(root / "keys.yaml")
    key = create_api_key(root / "principals.yaml", "bench", "bench", ["ai-service"])
    (root / "c.yaml").write_text(yaml.safe_dump({
        "vault": {"url": "vault.db"}, "keys": {"path": "keys.yaml"},
        "auth": {"principals_file": "principals.yaml"}}))
    store = SqliteStore(root / "vault.db")
    await store.open()
    t = time.perf_counter()
    await fill(store, values)
    print(f"filled {values:,} values in {time.perf_counter() - t:.1f}s")
    t = time.perf_counter()
    report = await run_purge(store, AuditLog(store, time.time), time.time, batch_size=batch)
    secs = time.perf_counter() - t
    removed = sum(report.values.values())
    print(f"purge: {removed:,} values, {report.records_shredded:,} records shredded in"
          f" {secs:.1f}s -> {removed / secs:,.0f} values/s (batch {batch})")
    size = (root / "vault.db").stat().st_size
    print(f"vault file after purge + incremental vacuum: {size / 1e6:.1f} MB")

    app = create_app(load_settings(root / "c.yaml", {}),
                     detector_factory=lambda: FakeDetector())
    async with TestClient(TestServer(app)) as client:
        await latency(client, key, 1.0)  # warm up
        base = await latency(client, key, 5.0)
        await fill(app[appkeys.STORE], values // 2)
        cfg = app[appkeys.SETTINGS].retention.purge
        purge = asyncio.create_task(run_purge(app[appkeys.STORE], app[appkeys.AUDIT],
                                              time.time, batch_size=cfg.batch_size,
                                              pause_s=cfg.pause_s))
        t = time.perf_counter()
        during = await latency(client, key, 0, until=purge)
        report = await purge
        secs = time.perf_counter() - t
        n = sum(report.values.values())
        print(f"in-gateway purge (batch {cfg.batch_size}, pause {cfg.pause_s}s) of {n:,}"
              f" values took {secs:.1f}s while serving -> {n / secs:,.0f} values/s")
    await store.close()
    b50, b99 = statistics.median(base), pct(base, 0.99)
    d50, d99 = statistics.median(during), pct(during, 0.99)
    print(f"/v1/redact latency without purge: p50 {b50:.2f} ms  p99 {b99:.2f} ms"
          f"  (n={len(base)})")
    print(f"/v1/redact latency during purge:  p50 {d50:.2f} ms  p99 {d99:.2f} ms"
          f"  (n={len(during)})  ratio p50 x{d50 / b50:.2f}  p99 x{d99 / b99:.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--values", type=int, default=1_000_000)
    ap.add_argument("--batch-size", type=int, default=2000)
    a = ap.parse_args()
    asyncio.run(main(a.values, a.batch_size))
