"""What review sampling costs a request: median /v1/redact latency with sampling off vs
every request sampled (tokenized copy sealed and inserted), same process, same run.
With ``--proxy``: a streamed chat call through the demo model, review off vs on but
never sampled (the tokenized answer is still collected) vs every call sampled (the
answer sealed into the copy too).

Fake regex detector and a SQLite vault, so the figure is the review queue's own cost;
on a shared machine quote the ratio, not the absolute numbers.

    .venv/bin/python bench/review_overhead.py [requests-per-round] [--proxy]
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
from redact_gw.testing import FakeDetector, FakeUpstream

TEXT = "Customer: this is John Smith, call me at 555-123-4567 or john@example.org."


async def run(rate: float, n: int, *, proxy: bool = False,
              enabled: bool = True) -> list[float]:
    """Latencies of ``n`` redactions (or streamed chat calls) with the given random
    sampling rate."""
    root = Path(tempfile.mkdtemp(prefix="review-bench-"))
    (root / "redact-gw.yaml").write_text(yaml.safe_dump({
        "vault": {"url": "vault.db"}, "keys": {"path": "keys.yaml"},
        "auth": {"principals_file": "principals.yaml"},
        "review": {"enabled": enabled, "daily_cap": 1_000_000, "default": {
            "random_rate": rate, "tiers": [], "low_confidence": False,
            "near_misses": False}}}))
    generate_key_file(root / "keys.yaml")
    key = create_api_key(root / "principals.yaml", "bench", "acme", ["ai-service"])
    upstream = TestServer(FakeUpstream().app())
    await upstream.start_server()
    settings = load_settings(root / "redact-gw.yaml", {
        "REDACT_GW_UPSTREAM_URL": str(upstream.make_url("/v1"))})
    app = create_app(settings, detector_factory=FakeDetector)
    client = TestClient(TestServer(app))
    await client.start_server()
    headers = {"Authorization": f"Bearer {key}"}
    out = []
    try:
        for i in range(n):
            started = time.perf_counter()
            if proxy:
                resp = await client.post("/v1/chat/completions", headers=headers, json={
                    "model": "demo-echo-1", "stream": True,
                    "messages": [{"role": "user", "content": TEXT}]})
            else:
                resp = await client.post("/v1/redact", headers=headers,
                                         json={"text": TEXT, "record_id": f"r{i}"})
            await resp.read()
            assert resp.status == 200
            out.append(time.perf_counter() - started)
    finally:
        await client.close()
        await upstream.close()
    return out


async def main(n: int, proxy: bool) -> None:
    modes = {"review off": (0.0, False), "review on, not sampled": (0.0, True),
             "every call sampled": (1.0, True)} if proxy else {
             "sampling off": (0.0, True), "every request sampled": (1.0, True)}
    results: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(3):  # interleaved rounds: drift on a busy machine hits all
        for name, (rate, enabled) in modes.items():
            results[name] += await run(rate, n, proxy=proxy, enabled=enabled)
    for name, xs in results.items():
        xs.sort()
        print(f"{name}: median {statistics.median(xs) * 1000:.2f} ms,"
              f" p90 {xs[int(len(xs) * 0.9)] * 1000:.2f} ms (n={len(xs)})")
    base = statistics.median(results[next(iter(modes))])
    for name in list(modes)[1:]:
        print(f"median ratio, {name} / {next(iter(modes))}:"
              f" {statistics.median(results[name]) / base:.2f}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--proxy"]
    asyncio.run(main(int(args[0]) if args else 200, "--proxy" in sys.argv))
