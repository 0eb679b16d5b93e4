"""Serve an application until SIGTERM or SIGINT, then shut down gracefully.

On the first signal the gateway

1. stops listening: new connections are refused at once;
2. closes idle keep-alive connections and lets every in-flight request, SSE streams
   included, finish within ``server.shutdown_timeout_s``; at the deadline the
   connections still open are closed and their handlers cancelled (a stream is cut,
   its upstream request dropped). aiohttp alone would wait up to twice the timeout: it
   first cancels only the request's body reader, and the handler task only after a
   second wait;
3. runs the cleanup contexts in reverse order: the upstream session, detection
   executor, scheduled purge, vault (closed), file watcher and keys;

and the process exits 0. Further signals during the drain are logged and ignored: the
deadline bounds it. ``web.run_app`` (aiohttp 3.14) drains the same way on the first
signal, but keeps its signal handlers installed while draining: a second SIGTERM or
Ctrl+C raises ``GracefulExit`` inside the drain, cutting every stream, skipping the
cleanup contexts (the vault is never closed) and printing tracebacks. Here the drain
runs in a task of its own that no signal interrupts.

Slow and half-open clients: a connection whose request headers are not complete within
``server.header_timeout_s`` (also the idle keep-alive timeout) is closed, a body not
received within ``server.body_timeout_s`` is answered 408 (``proxy/bodies.py``), and
one client address holds at most ``server.max_connections_per_client`` connections
(``proxy/connections.py``, which also answers malformed HTTP with a JSON error page).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from redact_gw import runtime
from redact_gw.logs import ContextThreadPoolExecutor
from redact_gw.proxy import appkeys
from redact_gw.proxy.accesslog import AccessLogger
from redact_gw.proxy.connections import GatewayRunner
from redact_gw.settings import ServerSettings

log = logging.getLogger("redact_gw.server")
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def serve(app: web.Application, host: str, port: int, *,
                shutdown_timeout_s: float = 30.0, access_log: bool = True,
                stop: asyncio.Event | None = None, settle_gc: bool = False) -> None:
    """Run ``app`` on ``host:port`` until a signal (or ``stop``), then drain and clean up.

    Args:
        app: The application (its cleanup contexts start here).
        host: Interface to listen on.
        port: TCP port.
        shutdown_timeout_s: How long in-flight requests get to finish after a signal.
        access_log: Write one ``redact_gw.access`` line per request.
        stop: Set to shut down without a signal (tests).
        settle_gc: Once started, freeze what the process holds for the garbage
            collector (``runtime.settle_gc``): a full collection then no longer
            blocks the event loop for tens of milliseconds. ``run`` sets it; tests
            serving in their own process leave it off.
    """
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ContextThreadPoolExecutor(thread_name_prefix="default"))
    stop = stop or asyncio.Event()
    received: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            log.warning("%s received while shutting down; still draining", sig.name,
                        extra={"signal": sig.name})
            return
        received.append(sig.name)
        stop.set()

    for sig in _SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    settings = app.get(appkeys.SETTINGS)
    limits = settings.server if settings is not None else ServerSettings()
    kwargs: dict[str, Any] = {"access_log_class": AccessLogger,
                              "access_log": logging.getLogger("redact_gw.access")
                              if access_log else None,
                              # unfinished headers and idle keep-alive: closed
                              "keepalive_timeout": limits.header_timeout_s,
                              # after an early answer (408, 413), unread body bytes are
                              # drained for at most this long, then the connection closes
                              "lingering_time": 1.0}
    # aiohttp's own wait per connection ends a second after ``_cut``: with both timers
    # due at once, uvloop (which runs a due timer before callbacks already queued) could
    # cancel aiohttp's wait just as a cut handler ends, and aiohttp then resolves that
    # cancelled future: an InvalidStateError logged at ERROR instead of a clean exit
    runner = GatewayRunner(app, handle_signals=False, handler_cancellation=True,
                           shutdown_timeout=shutdown_timeout_s + 1.0,
                           max_connections_per_client=limits.max_connections_per_client,
                           **kwargs)
    try:
        await runner.setup()
        if settle_gc:  # after the start-up (vault, keys, pool), before any request
            frozen = runtime.settle_gc()
            log.info("garbage collector: %d objects of the start-up frozen", frozen,
                     extra={"event": "gc_frozen", "objects": frozen})
        site = web.TCPSite(runner, host, port)
        await site.start()
        log.info("listening on http://%s:%d", host, port, extra={"event": "listening"})
        await stop.wait()
        server = runner.server
        connections = len(server.connections) if server is not None else 0
        log.info("shutdown: %s received; no new connections, %d open connection(s) get"
                 " up to %gs to finish", received[0] if received else "stop", connections,
                 shutdown_timeout_s,
                 extra={"event": "shutdown_started", "signal": received[0] if received
                        else "stop", "connections": connections,
                        "timeout_s": shutdown_timeout_s})
    finally:
        started = time.monotonic()
        deadline = loop.call_later(shutdown_timeout_s, _cut, runner)
        try:
            # a task of its own: the drain must not run under a cancellation
            await asyncio.shield(asyncio.ensure_future(runner.cleanup()))
        finally:
            deadline.cancel()
            for sig in _SIGNALS:
                loop.remove_signal_handler(sig)
    log.info("shutdown complete in %.1fs", time.monotonic() - started,
             extra={"event": "shutdown_complete",
                    "seconds": round(time.monotonic() - started, 3)})


def _cut(runner: web.AppRunner) -> None:
    """The drain deadline: close what is still open (handlers are cancelled with it)."""
    server = runner.server
    connections = server.connections if server is not None else []
    if not connections:
        return
    log.warning("shutdown deadline reached: cutting %d connection(s) still in flight",
                len(connections), extra={"event": "shutdown_deadline",
                                         "connections": len(connections)})
    for conn in connections:
        conn.force_close()


def loop_factory(event_loop: str = "auto") -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory for ``auto`` when uvloop is installed, else ``None``
    (asyncio's own loop). uvloop runs the same code with less overhead per request:
    its transports, timers and cross-thread wake-ups are in C."""
    if event_loop != "auto":
        return None
    try:
        import uvloop
    except ImportError:  # not installed (e.g. Windows): asyncio's loop, same behaviour
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(app: web.Application, host: str, port: int, *, shutdown_timeout_s: float = 30.0,
        access_log: bool = True, event_loop: str = "auto") -> None:
    """``serve`` in a new event loop; returns once the gateway has shut down."""
    with asyncio.Runner(loop_factory=loop_factory(event_loop)) as loop_runner:
        loop_runner.run(serve(app, host, port, shutdown_timeout_s=shutdown_timeout_s,
                              access_log=access_log, settle_gc=True))
