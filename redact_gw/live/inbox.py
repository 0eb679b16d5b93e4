"""What a live session received and has not handled yet.

Frames are read off the WebSocket as they arrive, by a task of their own, so that a
partial already superseded by a newer result of its segment is never detected: a
recognizer sends a partial every few hundred milliseconds, and under load detecting
each stale one in turn only makes every later answer later (speech recognition
services drop superseded partials the same way).

* Pings wait in line (the socket is opened with ``autoping=False``) and are answered
  when the session reaches them: a pong still means "everything sent before the ping
  was handled", as it did when the session read one frame at a time.
* Token buckets are taken when a frame arrives: a frame over the session's rate ends
  the reading (the session closes when it reaches it); one over the tenant's rate is
  marked, answered with an error and never handled.
* At most ``MAX_QUEUED`` frames wait; past that the reading pauses, so a slow session
  pushes back on its client through TCP as before.
* ``newest(result)``: for a partial, the latest result of its segment queued before
  any other segment's final (a final is never moved past another final: finals are
  each other's context). It is handled in the partial's place; the partial and the
  results of its segment in between are dropped, never shown.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import WSMessage, WSMsgType, web

from redact_gw.errors import RedactGwError
from redact_gw.live.limits import Bucket
from redact_gw.live.messages import Result

#: Frames waiting before the reading pauses.
MAX_QUEUED = 256
#: Frames that end the reading.
ENDS = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR)
#: Frames passed over when looking for a newer result.
_PASS = (WSMsgType.PING, WSMsgType.PONG)


@dataclass(slots=True)
class Item:
    """One frame received: when, whether over a rate (``"rate"``, ``"tenant"``), and
    its text parsed (once, when first needed)."""

    msg: WSMessage
    arrived: float
    limited: str | None = None
    parsed: Result | RedactGwError | None = None


class Inbox:
    """The frames of one session, in the order they came."""

    def __init__(self, ws: web.WebSocketResponse, bucket: Bucket, tenant: Bucket | None,
                 clock: Callable[[], float]) -> None:
        self.ws, self.bucket, self.tenant, self.clock = ws, bucket, tenant, clock
        self.items: collections.deque[Item] = collections.deque()
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._task = asyncio.create_task(self._read(), name="live-inbox")

    async def _read(self) -> None:
        while True:
            await self._room.wait()
            try:
                msg = await self.ws.receive()
            except Exception as exc:  # the session ends as on a broken connection
                msg = WSMessage(WSMsgType.ERROR, exc, None)
            item = Item(msg, self.clock())
            if msg.type == WSMsgType.TEXT:
                if not self.bucket.take(item.arrived):
                    item.limited = "rate"
                elif self.tenant is not None and not self.tenant.take(item.arrived):
                    item.limited = "tenant"
            self.items.append(item)
            self._arrived.set()
            if len(self.items) >= MAX_QUEUED:
                self._room.clear()
            if msg.type in ENDS or item.limited == "rate":
                return

    async def next(self, timeout: float) -> Item:
        """The oldest frame not handled yet (``TimeoutError`` after ``timeout``)."""
        if not self.items:
            self._arrived.clear()
            await asyncio.wait_for(self._arrived.wait(), timeout)
        item = self.items.popleft()
        if len(self.items) < MAX_QUEUED // 2:
            self._room.set()
        return item

    def newest(self, result: Result, parse: Callable[[Item], Result | RedactGwError]
               ) -> tuple[Result, int]:
        """The result to handle instead of partial ``result``, and how many results of
        its segment that drops (0: ``result`` itself is the newest)."""
        found = -1
        for i, item in enumerate(self.items):
            if item.msg.type in _PASS or item.limited == "tenant":
                continue
            if item.msg.type != WSMsgType.TEXT or item.limited is not None:
                break
            if item.parsed is None:
                item.parsed = parse(item)
            later = item.parsed
            if not isinstance(later, Result):
                continue  # answered with its error when reached
            if later.segment_id == result.segment_id:
                found = i
                if later.kind == "final":
                    break
            elif later.kind == "final":
                break
        if found < 0:
            return result, 0
        newest = self.items[found].parsed
        assert isinstance(newest, Result)
        keep: collections.deque[Item] = collections.deque()
        dropped = 0
        for i, item in enumerate(self.items):
            same = (i <= found and isinstance(item.parsed, Result)
                    and item.parsed.segment_id == result.segment_id)
            if same and item.limited is None:
                dropped += 1
            else:
                keep.append(item)
        self.items = keep
        return newest, dropped

    async def close(self) -> None:
        """Stop reading."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
