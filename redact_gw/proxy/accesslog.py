"""Access log without query strings, bodies, ids or keys: route template only."""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from redact_gw.logs import current_request_id
from redact_gw.proxy import appkeys
from redact_gw.proxy.middlewares import route_name


class AccessLogger(AbstractAccessLogger):
    """``method route status duration_ms`` per request, plus its request id.

    Never the concrete path (it can hold a record id), the query string, a header or a
    body. In JSON logs the same facts are fields: ``method``, ``route``, ``status``,
    ``duration_ms``, ``request_id``.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse,
            time: float) -> None:
        """Write one line for a finished request."""
        route = route_name(request) if isinstance(request, web.Request) else "unmatched"
        rid = request.get(appkeys.REQUEST_ID) or current_request_id()
        duration_ms = round(time * 1000, 1)
        extra = {"event": "access", "method": request.method, "route": route,
                 "status": response.status, "duration_ms": duration_ms}
        if rid is not None:
            extra["request_id"] = rid
        self.logger.info("%s %s %s %.1fms", request.method, route, response.status,
                         duration_ms, extra=extra)
