"""The open live sessions (counted per principal and tenant, closed at shutdown) and the
token buckets that bound their messages."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from redact_gw.live.assist import Assist
from redact_gw.model import Principal


class Sessions:
    """The open sessions: counted per principal, closed with 1001 at shutdown once the
    message each is handling (a final being redacted) is answered."""

    def __init__(self, drain_s: float = 5.0) -> None:
        self.open: dict[web.WebSocketResponse, tuple[str, str]] = {}
        #: Per session: set while it is not handling a message.
        self.idle: dict[web.WebSocketResponse, asyncio.Event] = {}
        #: Per session with an assist service: its forwarding.
        self.assists: dict[web.WebSocketResponse, Assist] = {}
        #: Per tenant: the messages of all its sessions (``max_tenant_messages_per_s``).
        self.tenant_buckets: dict[str, Bucket] = {}
        #: Forwarding of sessions that ended, finishing what was queued.
        self.retiring: set[asyncio.Task[None]] = set()
        self.drain_s = drain_s

    def retire(self, assist: Assist) -> None:
        """Let an ended session's forwarding finish what is queued (within the service's
        timeout and retries, at most ``drain_s``), then close it; a task owned here, so
        a caller that hangs up (its handler cancelled) does not cut it short."""
        cfg = assist.cfg

        async def finish() -> None:
            try:
                await assist.drain(min(self.drain_s, cfg.timeout_s * (cfg.retries + 1)))
            finally:
                await assist.close()

        task = asyncio.create_task(finish(), name="live-assist-retire")
        self.retiring.add(task)
        task.add_done_callback(self.retiring.discard)

    def count(self, principal: Principal) -> tuple[int, int]:
        """Sessions the principal has open, and its tenant."""
        who = (principal.tenant, principal.name)
        owners = list(self.open.values())
        return (sum(1 for o in owners if o == who),
                sum(1 for o in owners if o[0] == principal.tenant))

    async def close_all(self, app: web.Application) -> None:
        """``on_shutdown``: finish in-flight messages, then tell clients we go away."""
        waits = [e.wait() for e in self.idle.values()]
        if waits:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits), self.drain_s)
        # the finals just answered reach the assist service too (same bound)
        drains = [a.drain(self.drain_s) for a in self.assists.values()]
        if drains:
            await asyncio.gather(*drains)
        for ws in list(self.open):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"going away")
        if self.retiring:  # each bounded by drain_s
            await asyncio.gather(*self.retiring, return_exceptions=True)


SESSIONS = web.AppKey("live_sessions", Sessions)


class Bucket:
    """Token bucket: ``rate`` messages per second, bursts of ``2 * rate``."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate, self.level, self.at = rate, 2 * rate, now

    def take(self, now: float) -> bool:
        """Take one message's token; False when the bucket is empty."""
        self.level = min(2 * self.rate, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level < 1:
            return False
        self.level -= 1
        return True
