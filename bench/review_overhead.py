"""What review sampling costs a request: median /v1/redact latency with sampling off vs
every request sampled (tokenized copy sealed and inserted), same process, same run.

Fake regex detector and a SQLite vault, so the figure is the review queue's own cost;
on a shared machine quote the ratio, not the absolute numbers.

    .venv/bin/python bench/review_overhead.py [requests-per-round]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from aiohttp.test_utils import TestClient, TestServer

from redact_gw.crypto.keyring import generate_key_file
from redact_gw.policy.principals import create_api_key
from redact_gw.proxy.app import create_app
from redact_gw.settings import load_settings
from redact_gw.testing import FakeDetector

TEXT = "Customer: this is John Smith, call me at 555-123-4567 or john@example.org."


async def run(rate: float, n: int) -> list[float]:
    """Latencies of ``n`` redactions with the given random sampling rate."""
    root = Path(tempfile.mkdtemp(prefix="review-bench-"))
    (root / "redact-gw.yaml").write_text(yaml.safe_dump({
        "vault": {"url": "vault.db"}, "keys": {"path": "keys.yaml"},
        "auth": {"principals_file": "principals.yaml"},
        "review": {"daily_cap": 1_000_000, "default": {
            "random_rate": rate, "tiers": [], "low_confidence": False}}}))
    generate_key_file(root / "keys.yaml")
    key = create_api_key(root / "principals.yaml", "bench", "acme", ["ai-service"])
    app = create_app(load_settings(root / "redact-gw.yaml", {}), detector_factory=FakeDetector)
    client = TestClient(TestServer(app))
    await client.start_server()
    headers = {"Authorization": f"Bearer {key}"}
    out = []
    try:
        for i in range(n):
            started = time.perf_counter()
            resp = await client.post("/v1/redact", headers=headers,
                                     json={"text": TEXT, "record_id": f"r{i}"})
            await resp.read()
            assert resp.status == 200
            out.append(time.perf_counter() - started)
    finally:
        await client.close()
    return out


async def main(n: int) -> None:
    results: dict[float, list[float]] = {0.0: [], 1.0: []}
    for _ in range(3):  # interleaved rounds: drift on a busy machine hits both
        for rate in results:
            results[rate] += await run(rate, n)
    for rate, xs in results.items():
        xs.sort()
        print(f"random_rate={rate}: median {statistics.median(xs) * 1000:.2f} ms,"
              f" p90 {xs[int(len(xs) * 0.9)] * 1000:.2f} ms (n={len(xs)})")
    ratio = statistics.median(results[1.0]) / statistics.median(results[0.0])
    print(f"median ratio, every request sampled / sampling off: {ratio:.2f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
