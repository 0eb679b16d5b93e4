"""Owned background tasks: every periodic job is a cleanup context that starts its task
with the app and cancels and awaits it on shutdown (nothing is left running)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)
CleanupCtx = Callable[[web.Application], AsyncIterator[None]]


def periodic_ctx(name: str, delay: Callable[[], float],
                 work: Callable[[], Awaitable[object]]) -> CleanupCtx:
    """A cleanup context running ``work`` after every ``delay()`` seconds.

    A failing run is logged by exception type only (messages may quote data) and the
    loop goes on; cancellation at shutdown ends it.
    """
    async def loop() -> None:
        while True:
            await asyncio.sleep(delay())
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("%s failed: %s", name, type(exc).__name__)

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(loop(), name=name)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            log.info("%s task stopped", name, extra={"event": "task_stopped", "task": name})
    return ctx
