"""Gateway overhead per dialect: added latency (p50/p99) and stream time-to-first-byte.

Starts the demo model (as fake upstream) and the gateway in-process on free ports,
then, for each dialect (OpenAI chat, Responses, completions, Anthropic Messages),
calls the model directly and through the gateway, alternating, and prints both with
the difference. Not a test: numbers depend on the machine.

    .venv/bin/python bench/proxy_latency.py                 # fast fake detector
    .venv/bin/python bench/proxy_latency.py --real          # Presidio + spaCy detector
    .venv/bin/python bench/proxy_latency.py -n 300 --words 60
    .venv/bin/python bench/proxy_latency.py --dialect messages --dialect responses
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from redact_gw.crypto.keyring import generate_key_file
from redact_gw.demo import DemoModel
from redact_gw.policy.principals import create_api_key
from redact_gw.proxy.app import create_app
from redact_gw.settings import load_settings
from redact_gw.testing import FakeDetector

PROMPT = ("Hi, this is John Smith, my number is 212-555-0123 and my email is "
          "john.smith@gmail.com. ")


class CountingDetector:
    """Wraps a detector to count calls and time spent (the per-flush scan cost)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0
        self.seconds = 0.0

    def warm_up(self) -> None:
        self.inner.warm_up()

    def detect(self, segments: Any, known: Any = ()) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.detect(segments, known)
        finally:
            self.calls += 1
            self.seconds += time.perf_counter() - started


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def _gateway_app(root: Path, upstream: str, detector: Any) -> tuple[web.Application, str]:
    generate_key_file(root / "keys.yaml")
    key = create_api_key(root / "principals.yaml", "bench", "bench", ["ai-service"])
    cfg = {"vault": {"url": "vault.db"}, "keys": {"path": "keys.yaml"},
           "auth": {"principals_file": "principals.yaml"}}
    (root / "c.yaml").write_text(yaml.safe_dump(cfg))
    settings = load_settings(root / "c.yaml", {"REDACT_GW_UPSTREAM_URL": upstream + "/v1"})
    return create_app(settings, detector_factory=lambda: detector), key


async def _call(session: aiohttp.ClientSession, url: str, body: dict[str, Any],
                headers: dict[str, str]) -> tuple[float, float]:
    """(time to first body byte, total time) in seconds."""
    started = time.perf_counter()
    async with session.post(url, json=body, headers=headers) as resp:
        resp.raise_for_status()
        first = None
        async for _ in resp.content.iter_any():
            if first is None:
                first = time.perf_counter() - started
    return first or 0.0, time.perf_counter() - started


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run(n: int, words: int, real: bool, dialects: list[str]) -> None:
    if real:
        from redact_gw.detection import build_detector
        from redact_gw.settings import DetectionSettings
        inner: Any = build_detector(DetectionSettings())
    else:
        inner = FakeDetector()
    detector = CountingDetector(inner)
    model = DemoModel(verbose=False, word_delay_s=0.002)
    up_runner, upstream = await _start(model.app())
    with tempfile.TemporaryDirectory() as tmp:
        app, key = _gateway_app(Path(tmp), upstream, detector)
        gw_runner, gateway = await _start(app)
        try:
            await _measure(n, words, upstream, gateway, key, detector, real, dialects)
        finally:
            await gw_runner.cleanup()
            await up_runner.cleanup()


#: Per dialect: the path, the body for a prompt, extra headers for the gateway key.
DIALECTS: dict[str, tuple[str, Any]] = {
    "chat": ("/v1/chat/completions",
             lambda t: {"model": MODEL, "messages": [{"role": "user", "content": t}]}),
    "responses": ("/v1/responses", lambda t: {"model": MODEL, "input": t}),
    "messages": ("/v1/messages", lambda t: {"model": MODEL, "max_tokens": 256,
                                            "messages": [{"role": "user", "content": t}]}),
    "completions": ("/v1/completions", lambda t: {"model": MODEL, "prompt": t}),
}
MODEL = "demo-echo-1"


async def _measure(n: int, words: int, upstream: str, gateway: str, key: str,
                   detector: CountingDetector, real: bool, dialects: list[str]) -> None:
    text = " ".join((PROMPT * (words // 16 + 1)).split(" ")[:words])
    auth = {"Authorization": f"Bearer {key}"}
    print(f"detector: {'Presidio + spaCy' if real else 'FakeDetector (regex)'}; "
          f"prompt {words} words; answer streamed word by word (2 ms apart upstream)")
    async with aiohttp.ClientSession() as session:
        for name in dialects:
            path, build = DIALECTS[name]
            body = build(text)
            results: dict[str, list[tuple[float, float]]] = {k: [] for k in (
                "direct", "gateway", "direct_stream", "gateway_stream")}
            for _ in range(5):  # warm-up
                await _call(session, gateway + path, body, auth)
            calls_before, secs_before = detector.calls, detector.seconds
            for i in range(n):
                rid = {"X-Record-Id": f"bench-{name}-{i}"}
                results["direct"].append(await _call(session, upstream + path, body, {}))
                results["gateway"].append(await _call(
                    session, gateway + path, body, {**auth, **rid}))
            stream_body = {**body, "stream": True}
            stream_n = max(5, n // 5)
            calls_mid, secs_mid = detector.calls, detector.seconds
            for i in range(stream_n):
                rid = {"X-Record-Id": f"bench-{name}-s-{i}"}
                results["direct_stream"].append(await _call(
                    session, upstream + path, stream_body, {}))
                results["gateway_stream"].append(await _call(
                    session, gateway + path, stream_body, {**auth, **rid}))
            print(f"\n== {name} ({path})")
            _report(results)
            per_call = (calls_mid - calls_before) / n
            per_stream = (detector.calls - calls_mid) / stream_n
            print(f"detector calls: {per_call:.1f} per non-streaming call (request +"
                  f" answer), {per_stream:.1f} per stream of ~{words + 3} words")
            print(f"detector time:  {(secs_mid - secs_before) / n * 1000:.2f} ms per call,"
                  f" {(detector.seconds - secs_mid) / stream_n * 1000:.2f} ms per stream")


def _report(results: dict[str, list[tuple[float, float]]]) -> None:
    print(f"{'':34}{'p50 ms':>10}{'p99 ms':>10}")
    rows = [("non-streaming total", "direct", "gateway", 1),
            ("stream first byte", "direct_stream", "gateway_stream", 0),
            ("stream total", "direct_stream", "gateway_stream", 1)]
    for label, direct, via, idx in rows:
        d = [r[idx] for r in results[direct]]
        g = [r[idx] for r in results[via]]
        print(f"{label + ' direct':34}{_pct(d, .5):10.2f}{_pct(d, .99):10.2f}")
        print(f"{label + ' via gateway':34}{_pct(g, .5):10.2f}{_pct(g, .99):10.2f}")
        added = [b - a for a, b in zip(d, g, strict=True)]
        print(f"{label + ' added':34}{_pct(added, .5):10.2f}{_pct(added, .99):10.2f}")
    mean = statistics.mean(r[1] for r in results["gateway"]) * 1000
    print(f"(mean gateway non-streaming: {mean:.2f} ms over {len(results['gateway'])} calls)")


def main() -> None:
    """Parse arguments and run."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=200, help="non-streaming calls per side")
    p.add_argument("--words", type=int, default=40, help="prompt length in words")
    p.add_argument("--real", action="store_true", help="use the Presidio + spaCy detector")
    p.add_argument("--dialect", action="append", choices=list(DIALECTS),
                   help="only these dialects (repeatable; default: all)")
    args = p.parse_args()
    asyncio.run(run(args.n, args.words, args.real, args.dialect or list(DIALECTS)))


if __name__ == "__main__":
    main()
