"""What scoped detection overrides (phased rollout) cost a request: median /v1/redact
latency through the detection worker pool, same process, same run, rounds interleaved:

- ``hook_off``: the Redactor without the override hook (the path before rollout);
- ``none``: the hook on, no override anywhere (the default path);
- ``other``: the tenant has an override on another route (the default path + lookup);
- ``scoped``: the request's route has an override (a lowered threshold: the worker runs
  the same model under the scope's settings).

``--real`` runs the Presidio detector in the worker (loads spaCy; slower to start);
default: the regex ``ThresholdDetector``. On a shared machine quote the ratios.

    .venv/bin/python bench/rollout_overhead.py [requests-per-round] [--real]
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
from redact_gw.detection.scoped import override_var
from redact_gw.policy.principals import create_api_key
from redact_gw.proxy import appkeys
from redact_gw.proxy.app import create_app
from redact_gw.review.rollout_api import OVERRIDES
from redact_gw.settings import load_settings

TEXT = ("Customer: this is John Smith, call me at 555-123-4567 or john@example.org. "
        "I moved to Quahog last spring and my card ends 4242.")
MODES = ("hook_off", "none", "other", "scoped")
ROUNDS = 8


async def main(n: int, real: bool) -> None:
    root = Path(tempfile.mkdtemp(prefix="rollout-bench-"))
    (root / "redact-gw.yaml").write_text(yaml.safe_dump({
        "vault": {"url": "vault.db"}, "keys": {"path": "keys.yaml"},
        "auth": {"principals_file": "principals.yaml"}, "review": {"enabled": False},
        "detection": {"workers": 1, "timeout_s": 30}}))
    generate_key_file(root / "keys.yaml")
    ai = create_api_key(root / "principals.yaml", "bench", "acme", ["ai-service"])
    admin = create_api_key(root / "principals.yaml", "boss", "acme", ["admin"])
    settings = load_settings(root / "redact-gw.yaml", {})
    app = create_app(settings, worker_factory=None if real
                     else "redact_gw.testing:ThresholdDetector")
    client = TestClient(TestServer(app))
    await client.start_server()
    while (await client.get("/readyz")).status != 200:
        await asyncio.sleep(0.2)
    redactor = app[appkeys.REDACTOR]
    hook = redactor.scope
    live = app[OVERRIDES]
    await client.post("/v1/review/rollout", headers={"Authorization": f"Bearer {admin}"},
                      json={"thresholds": {"LOCATION": 0.3}, "scopes": ["/v1/redact"]})
    scoped = dict(live.tenants["acme"])
    other = {"/v1/chat/completions": scoped["/v1/redact"]}
    headers = {"Authorization": f"Bearer {ai}"}
    times: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(n):  # warm-up, not timed
        await (await client.post("/v1/redact", headers=headers, json={"text": TEXT})).read()
    try:
        for rnd in range(ROUNDS):
            for mode in MODES[rnd % 4:] + MODES[:rnd % 4]:  # each mode first in turn
                redactor.scope = None if mode == "hook_off" else hook
                live.tenants = ({"acme": scoped} if mode == "scoped" else
                                {"acme": other} if mode == "other" else {})
                for _ in range(n):
                    started = time.perf_counter()
                    resp = await client.post("/v1/redact", headers=headers,
                                             json={"text": TEXT})
                    assert resp.status == 200, await resp.text()
                    await resp.read()
                    times[mode].append(time.perf_counter() - started)
    finally:
        await client.close()
    base = statistics.median(times["hook_off"])
    live.tenants = {"acme": other}
    k = 200_000
    started = time.perf_counter()
    for _ in range(k):  # the hook's own work on the default path, per request
        override_var.reset(override_var.set(hook("acme") if hook else None))
    print(f"hook per request (tenant with an override on another route): "
          f"{(time.perf_counter() - started) / k * 1e6:.2f} us")
    print(f"detector: {'presidio (real)' if real else 'ThresholdDetector'}; "
          f"{ROUNDS * n} requests per mode, rounds interleaved")
    for mode in MODES:
        med = statistics.median(times[mode])
        print(f"{mode:9s} median {med * 1000:7.2f} ms   ratio to hook_off {med / base:5.3f}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    asyncio.run(main(int(args[0]) if args else 200, "--real" in sys.argv))
