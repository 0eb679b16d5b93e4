"""Access log without query strings, bodies, ids or keys: route template only."""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from redact_gw.proxy.middlewares import route_name


class AccessLogger(AbstractAccessLogger):
    """``method route status duration_ms`` per request."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse,
            time: float) -> None:
        """Write one line for a finished request."""
        route = route_name(request) if isinstance(request, web.Request) else "unmatched"
        self.logger.info("%s %s %s %.1fms", request.method, route, response.status,
                         time * 1000)
