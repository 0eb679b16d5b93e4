"""A demo agent-assist service: what a live session forwards to (``live.assist``).

``make run`` serves it beside the demo model (``/v1/assist`` for HTTP POSTs,
``/v1/assist/ws`` for a WebSocket); the tests use it as their fake. It keeps every
message it was sent (``seen``, also ``GET /v1/assist/seen?record_id=..``, for the live
demo to print what the assist side saw), prints them when ``verbose``, and answers each
final with one suggestion quoting it back: a token in it is restored for the caller by
the gateway, as far as the caller's restore policy allows.

Tests change ``status``, ``delay_s``, ``body`` (raw answer bytes) or ``reply`` (a
function from the message to the suggestions) to play a failing or hostile service.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

Reply = Callable[[dict[str, Any]], list[dict[str, Any]]]


def read_back(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The default reply: one suggestion per final, quoting it."""
    if doc.get("type") != "final":
        return []
    return [{"id": f"sg-{doc.get('segment_id')}",
             "text": f"Read back to confirm: {doc.get('text')}"}]


class FakeAssist:
    """The demo/fake assist service (see the module docstring)."""

    def __init__(self, *, verbose: bool = False, reply: Reply = read_back) -> None:
        self.verbose = verbose
        self.reply = reply
        self.seen: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.delay_s = 0.0
        self.body: bytes | None = None
        self.posts = 0

    def app(self) -> web.Application:
        """An app serving only the assist routes."""
        app = web.Application()
        self.add_routes(app)
        return app

    def add_routes(self, app: web.Application) -> None:
        """Add ``/v1/assist``, ``/v1/assist/ws`` and ``/v1/assist/seen``."""
        app.router.add_post("/v1/assist", self.post)
        app.router.add_get("/v1/assist/ws", self.websocket)
        app.router.add_get("/v1/assist/seen", self.seen_by_record)

    def _keep(self, request: web.Request, doc: dict[str, Any]) -> None:
        self.seen.append(doc)
        self.headers.append(dict(request.headers))
        del self.seen[:-1000], self.headers[:-1000]
        if self.verbose:
            print(f"[demo assist] saw {doc.get('type')} {doc.get('segment_id')}:"
                  f" {doc.get('text')!r}", flush=True)

    async def post(self, request: web.Request) -> web.Response:
        """One forwarded message; answered with suggestions."""
        self.posts += 1
        doc = await request.json()
        self._keep(request, doc)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.body is not None:
            return web.Response(body=self.body, status=self.status,
                                content_type="application/json")
        if self.status >= 300:
            return web.json_response({"error": "failing on purpose"}, status=self.status)
        suggestions = self.reply(doc)
        if not suggestions:
            return web.Response(status=204)
        return web.json_response({"suggestions": suggestions}, status=self.status)

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One session's messages; a suggestion sent back for each reply."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            doc = json.loads(msg.data)
            self._keep(request, doc)
            if self.body is not None:
                await ws.send_str(self.body.decode("utf-8", errors="replace"))
                continue
            for s in self.reply(doc):
                await ws.send_json({"type": "suggestion",
                                    "segment_id": doc.get("segment_id"), **s})
        return ws

    async def seen_by_record(self, request: web.Request) -> web.Response:
        """What the service was sent for one record (the demo prints it)."""
        record = request.query.get("record_id")
        return web.json_response([d for d in self.seen if d.get("record_id") == record])
