"""The gateway's HTTP connections: a JSON error page for malformed HTTP, no version
banner, and a cap on the connections one client address may hold open.

aiohttp answers a request it cannot parse (a bad header, a bad request line) itself,
before any middleware, with a plain-text 400 quoting the offending bytes: those can be
a card number or a name. ``GatewayRequestHandler.handle_error`` answers instead with
``{"error": {"code": "bad_request", ...}}`` quoting nothing, logs only the exception's
type, and closes the connection; the access log then records it as ``unmatched``.

A client that closes its connection cancels the request's handler (the runner sets
``handler_cancellation``: a gone client drops its upstream request), except once the
answer was sent in full: a stream's handler writes its own end, and a client closing
right after reading it must not cost the handler's remaining bookkeeping (the review
offer, the access-log line written when the handler returns).

aiohttp has no public hook for any of this, so ``GatewayRunner`` swaps in the two
subclasses below when it builds its server (``tests/proxy/test_connections.py`` fails
if a new aiohttp version changes that).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import ContentEncodingError
from aiohttp.http_writer import StreamWriter
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger("redact_gw.server")

#: The ``Server`` header of every answer: no version banner.
SERVER_NAME = "redact-gw"
_CODES = {400: "bad_request", 408: "request_timeout", 413: "payload_too_large",
          431: "headers_too_large", 500: "internal_error", 504: "timeout"}


def error_page(status: int, exc: BaseException | None = None) -> web.Response:
    """A JSON error answer for a request that never reached the application."""
    code = _CODES.get(status, "bad_request" if status < 500 else "internal_error")
    message = "the request is not valid HTTP" if status < 500 else "internal error"
    if isinstance(exc, ContentEncodingError):  # e.g. br without a brotli decoder
        status, code = 415, "unsupported_media_type"
        message = ("the request body's Content-Encoding is not supported; send it"
                   " uncompressed, gzip or deflate")
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    resp = web.Response(status=status, body=body, content_type="application/json",
                        headers={"Server": SERVER_NAME})
    resp.force_close()
    return resp


def answered_in_full(request: web.BaseRequest | None) -> bool:
    """True once ``request``'s response has been written to the end (``write_eof``)."""
    if request is None:
        return False
    writer = request.writer
    return isinstance(writer, StreamWriter) and writer._eof  # no public flag in aiohttp


class GatewayRequestHandler(RequestHandler):
    """One connection: JSON error pages, and refused beyond the per-client cap."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Count the connection against its client address; close it when over."""
        server = self._manager
        super().connection_made(transport)
        if isinstance(server, GatewayServer) and not server.admit(self, transport):
            log.warning("connection refused: too many open connections from one client",
                        extra={"event": "connection_refused"})
            self.force_close()
            transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        """Release the connection's place; cancel the handler unless its answer is
        already sent in full."""
        server = self._manager
        if isinstance(server, GatewayServer):
            server.release(self)
        if answered_in_full(self._current_request):
            # The client read the whole answer (a stream ends with the handler's own
            # write_eof) and closed before the handler returned: let the handler finish
            # as if the client had stayed, or its review offer and access-log line are
            # lost (under uvloop, often). aiohttp cancels the task this attribute holds;
            # an unfinished answer is still cancelled (its upstream request dropped).
            self._task_handler = None
        super().connection_lost(exc)

    def handle_error(self, request: Any, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """Answer with a JSON error that quotes nothing; log the exception type only."""
        if exc is not None:
            log.warning("request not handled (%d): %s", status, type(exc).__name__,
                        extra={"event": "malformed_request", "status": status})
        if request.writer.output_size > 0:
            raise ConnectionError("the response had already started")
        return error_page(status, exc)


class GatewayServer(web.Server):
    """An aiohttp ``Server`` that makes ``GatewayRequestHandler``s and counts each
    client address's open connections."""

    max_per_client: int = 0  # 0: no cap
    per_host: Counter[str]
    hosts: dict[RequestHandler, str]

    def __call__(self) -> RequestHandler:
        return GatewayRequestHandler(self, loop=self._loop, **self._kwargs)

    def admit(self, handler: RequestHandler, transport: asyncio.BaseTransport) -> bool:
        """Register ``handler``'s client; False when it already holds the maximum."""
        peer = transport.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        if self.max_per_client and self.per_host[host] >= self.max_per_client:
            return False
        self.per_host[host] += 1
        self.hosts[handler] = host
        return True

    def release(self, handler: RequestHandler) -> None:
        """Forget ``handler``'s connection."""
        host = self.hosts.pop(handler, None)
        if host is not None:
            self.per_host[host] -= 1
            if self.per_host[host] <= 0:
                del self.per_host[host]


class GatewayRunner(web.AppRunner):
    """An ``AppRunner`` whose server is a ``GatewayServer``."""

    def __init__(self, app: web.Application, *, max_connections_per_client: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._max_per_client = max_connections_per_client

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = GatewayServer  # same state, our connection handlers
        assert isinstance(server, GatewayServer)
        server.max_per_client = self._max_per_client
        server.per_host, server.hosts = Counter(), {}
        return server
