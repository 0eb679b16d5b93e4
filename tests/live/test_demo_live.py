"""The live demo replays its sample call: the screen gets tokens, the assist service
sees nothing raw, suggestions come back (fast fake detector; README runs the real one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from redact_gw.demo_assist import FakeAssist
from redact_gw.demo_live import partials_of, replay
from tests.conftest import Env, MakeClient, write_config

CALL = Path(__file__).resolve().parents[2] / "examples" / "live_call.json"


def test_partials_grow_word_by_word() -> None:
    assert partials_of("hi this is Rebecca") == ["hi", "hi this", "hi this is",
                                                 "hi this is Reb", "hi this is Rebecca"]


async def test_replay_of_the_sample_call(aiohttp_server: Any, make_client: MakeClient,
                                         env: Env) -> None:
    fake = FakeAssist()
    assist = await aiohttp_server(fake.app())
    write_config(env.root, {"live": {"max_messages_per_s": 1000, "assist": {"demo": {
        "url": str(assist.make_url("/v1/assist"))}}}})
    client = await make_client(settings=env.settings())
    call = json.loads(CALL.read_text())
    screen = await replay(str(client.make_url("")), env.keys["ai"], call, assist="demo",
                          interval=0)
    assert screen.finals == len(call["utterances"]) == len(screen.suggestions)
    assert screen.shown["s2"].startswith("hi, this is [[PERSON:")
    assert "Maria Garcia" not in str(fake.seen) and "Maria Garcia" not in str(screen.shown)
    assert len(fake.seen) == len(call["utterances"])
    # the caller's own values come back in the suggestions
    assert "Maria Garcia" in screen.suggestions[1]["text"]
