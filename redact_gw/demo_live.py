"""Replay a recorded call against a running gateway's ``GET /v1/live``.

``python -m redact_gw.demo_live --key "$KEY"`` reads ``examples/live_call.json`` (an
agent and a customer; the customer says a name, reads a card number aloud and spells
an email), sends each utterance as speech recognition would (a partial per word, every
``--interval`` seconds, then the final) and prints what the agent's screen shows as the
messages come back: partials that never show a value ahead of detection, finals with
tokens, and the assist service's suggestions (``--assist demo``, the demo assist service
``make run`` starts). At the end it prints what the assist side saw
(``GET /v1/assist/seen`` of the demo model): tokens, never the values.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import aiohttp


def partials_of(text: str) -> list[str]:
    """The partials a recognizer sends for ``text``: word by word, a long word first
    heard half."""
    words = text.split()
    out = []
    for k, word in enumerate(words):
        head = " ".join(words[:k])
        if len(word) > 5:
            out.append(f"{head} {word[:len(word) // 2]}".strip())
        out.append(f"{head} {word}".strip())
    return out


class Screen:
    """What the agent's screen shows per segment, from the gateway's messages."""

    def __init__(self) -> None:
        self.shown: dict[str, str] = {}
        self.speakers: dict[str, str] = {}
        self.suggestions: list[dict[str, Any]] = []
        self.finals = 0

    def apply(self, msg: dict[str, Any]) -> str | None:
        """Apply one message; the line to print (None: nothing to print)."""
        kind = msg.get("type")
        if kind in ("partial", "final"):
            sid = msg["segment_id"]
            text = self.shown.get(sid, "")[:msg["offset"]] + msg["text"]
            self.shown[sid] = text
            self.finals += kind == "final"
            who = self.speakers.get(sid, "")
            return f"{sid:>3} {who:<8} {kind:<7}| {text}"
        if kind == "suggestion":
            self.suggestions.append(msg)
            return f"{msg.get('segment_id') or '':>3} {'assist':<8} suggest| {msg['text']}"
        if kind == "error":
            return f"{msg.get('segment_id') or '':>3} {'':<8} error  | {msg['error']['code']}"
        return None


async def replay(gateway: str, key: str, call: dict[str, Any], *, assist: str | None,
                 interval: float, settle: float = 15.0) -> Screen:
    """Send the call; print the screen as it changes; return it."""
    screen = Screen()
    params = {"record_id": call["record_id"], "subject_id": call["subject_id"],
              "channel": "voice"}
    if assist:
        params["assist"] = assist
    async with aiohttp.ClientSession() as http, http.ws_connect(
            f"{gateway.rstrip('/')}/v1/live", params=params,
            headers={"Authorization": f"Bearer {key}"}) as ws:
        opened = await ws.receive_json(timeout=10)
        print(f"opened {opened}")

        async def read() -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    line = screen.apply(json.loads(msg.data))
                    if line is not None:
                        print(line, flush=True)
            print(f"closed by the gateway: code {ws.close_code}", flush=True)

        reader = asyncio.create_task(read())
        for n, utt in enumerate(call["utterances"], 1):
            sid = f"s{n}"
            screen.speakers[sid] = utt["speaker"]
            base = {"segment_id": sid, "speaker": utt["speaker"], "start": utt["start"]}
            for partial in partials_of(utt["text"]):
                await ws.send_json({"type": "partial", "text": partial, **base})
                await asyncio.sleep(interval)
            await ws.send_json({"type": "final", "text": utt["text"], "end": utt["end"],
                                **base})
        for _ in range(int(settle / 0.1)):  # the last finals and suggestions
            await asyncio.sleep(0.1)
            done = screen.finals == len(call["utterances"])
            if done and (not assist or len(screen.suggestions) >= screen.finals):
                break
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    return screen


async def assist_saw(demo: str, record_id: str) -> list[dict[str, Any]]:
    """What the demo assist service was sent for the record."""
    async with aiohttp.ClientSession() as http, http.get(
            f"{demo.rstrip('/')}/v1/assist/seen", params={"record_id": record_id}) as r:
        r.raise_for_status()
        seen: list[dict[str, Any]] = await r.json()
        return seen


def main(argv: list[str] | None = None) -> int:
    """``python -m redact_gw.demo_live --key KEY [--gateway URL] [--call FILE]``."""
    p = argparse.ArgumentParser(prog="python -m redact_gw.demo_live", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--key", default=os.environ.get("REDACT_GW_DEMO_KEY"),
                   help="gateway API key (default: $REDACT_GW_DEMO_KEY)")
    p.add_argument("--gateway", default="http://localhost:8080")
    p.add_argument("--demo", default="http://localhost:8099",
                   help="the demo model, where the demo assist service runs")
    p.add_argument("--call", default="examples/live_call.json", type=Path)
    p.add_argument("--assist", default="demo", help="live.assist service ('' for none)")
    p.add_argument("--interval", type=float, default=0.2, help="seconds between partials")
    args = p.parse_args(argv)
    if not args.key:
        print("demo_live: give --key (or export REDACT_GW_DEMO_KEY)", file=sys.stderr)
        return 2
    call = json.loads(args.call.read_text(encoding="utf-8"))
    call["record_id"] = f"{call['record_id']}-{secrets.token_hex(3)}"  # a new call each run
    try:
        screen = asyncio.run(replay(args.gateway, args.key, call,
                                    assist=args.assist or None, interval=args.interval))
        if args.assist == "demo":
            print("\nwhat the assist service saw:")
            for doc in asyncio.run(assist_saw(args.demo, call["record_id"])):
                print(f"  {doc['type']} {doc['segment_id']}: {doc['text']}")
        if screen.finals < len(call["utterances"]):
            print("demo_live: not every utterance got its final back", file=sys.stderr)
            return 1
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        print(f"demo_live: {type(exc).__name__}: is `make run` running? {exc}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
