"""Pacing a live client: a WebSocket ping is answered once everything the client sent
before it was handled, so tests that look at each partial wait for it (partials sent
in a burst may be superseded by a newer one of their segment and never detected)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType


async def handled(ws: ClientWebSocketResponse, timeout: float = 10) -> list[dict[str, Any]]:
    """Ping; the messages the gateway sent until it answered (``ws`` must be opened
    with ``autoping=False``)."""
    await ws.ping(b"handled")
    out = []
    while True:
        msg = await ws.receive(timeout=timeout)
        if msg.type == WSMsgType.PONG and msg.data == b"handled":
            return out
        if msg.type == WSMsgType.PING:
            await ws.pong(msg.data)
            continue
        assert msg.type == WSMsgType.TEXT, msg
        out.append(json.loads(msg.data))


async def send_each(ws: ClientWebSocketResponse, msgs: list[dict[str, Any]]
                    ) -> list[dict[str, Any]]:
    """Send each message once the previous one was handled; every answer, in order."""
    out = []
    for m in msgs:
        await ws.send_json(m)
        out += await handled(ws)
    return out
