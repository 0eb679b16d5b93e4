"""What answering every alternative of a live vendor result costs: one call (partials
growing word by word, then the final, Deepgram live messages) through ``VendorSession``
with one alternative per result against two, in one process, alternating, medians of
CPU time per call (the detector runs in this process; a temp SQLite vault).

    .venv/bin/python -m bench.live_alternatives [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from redact_gw.asr_formats.deepgram import DEEPGRAM
from redact_gw.cli.common import open_vault
from redact_gw.crypto.keyring import generate_key_file
from redact_gw.detection import build_detector
from redact_gw.detection.inline import InlineDetection
from redact_gw.engine import Redactor
from redact_gw.live.session import Call, LiveSession
from redact_gw.live.vendor import VendorSession
from redact_gw.settings import load_settings

CALL = ["yes", "my", "card", "number", "is", "4111", "1111", "1111", "1111", "and", "my",
        "email", "is", "john", "dot", "smith", "at", "example", "dot", "com", "thanks"]
OTHER = [*CALL[:-1], "thank", "you"]


def _alt(words: list[str]) -> dict[str, Any]:
    return {"transcript": " ".join(words), "confidence": 0.9,
            "words": [{"word": w, "punctuated_word": w, "start": 1.0 + 0.4 * i,
                       "end": 1.3 + 0.4 * i, "confidence": 0.9} for i, w in enumerate(words)]}


def _message(n: int, final: bool, alternatives: int) -> dict[str, Any]:
    alts = [_alt(CALL[:n]), _alt(OTHER[:n + (1 if final else 0)])][:alternatives]
    return {"type": "Results", "channel_index": [0, 1], "start": 1.0, "duration": 0.4 * n,
            "is_final": final, "speech_final": final, "channel": {"alternatives": alts}}


async def _call(redactor: Redactor, record: str, alternatives: int) -> None:
    session = LiveSession(redactor, Call("acme", record, None, "voice", None))
    vendor = VendorSession(session, DEEPGRAM, redactor)
    for n in range(1, len(CALL) + 1):
        msg = vendor.parse(json.dumps(_message(n, False, alternatives)), 100_000)
        await vendor.feed(msg, time.monotonic())
    msg = vendor.parse(json.dumps(_message(len(CALL), True, alternatives)), 100_000)
    await vendor.feed(msg, time.monotonic())


async def main(rounds: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-alts-"))
    (root / "gw.yaml").write_text(yaml.safe_dump({
        "vault": {"url": "vault.db"}, "keys": {"path": "keys.yaml"},
        "auth": {"principals_file": "principals.yaml"}}))
    generate_key_file(root / "keys.yaml")
    settings = load_settings(root / "gw.yaml", {})
    detector = build_detector(settings.detection)
    detector.warm_up()
    cost: dict[int, list[float]] = {1: [], 2: []}
    with ThreadPoolExecutor(max_workers=1) as executor:
        async with open_vault(settings) as vault:
            redactor = Redactor(InlineDetection(detector, executor), vault,
                                settings.detection.timeout_s)
            await _call(redactor, "warm", 2)
            for r in range(rounds):
                for alternatives in (1, 2):
                    started = time.process_time()
                    await _call(redactor, f"call-{r}-{alternatives}", alternatives)
                    cost[alternatives].append(time.process_time() - started)
    one, two = statistics.median(cost[1]), statistics.median(cost[2])
    print(f"one call ({len(CALL) + 1} messages), 1 alternative:  {1000 * one:.0f} ms CPU"
          " (baseline)")
    print(f"one call ({len(CALL) + 1} messages), 2 alternatives: {1000 * two:.0f} ms CPU"
          f"  ratio {two / one:.2f} (medians of {rounds})")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=15)
    asyncio.run(main(p.parse_args().rounds))
