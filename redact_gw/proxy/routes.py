"""Generic JSON routes for non-OpenAI AI services (a QA scorer, a summarizer...).

Each ``routes:`` entry of the config names a path, the upstream URL, the methods, the
JSON fields to tokenize (selectors, ``$..*`` for every string) and the fields whose
tokens are restored in the answer. The guarantees are the proxy's: one detection and
one vault transaction before anything leaves, answers scanned (``scan_answers``),
SSE answers relayed event by event, fail closed with a machine code.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from redact_gw.errors import InvalidInput
from redact_gw.jsonpaths import any_match, parse_selectors
from redact_gw.proxy.bodies import read_json
from redact_gw.proxy.upstream import ProxyCall, answer_json, answer_stream, is_event_stream
from redact_gw.settings import RouteSettings

Handler = Callable[[web.Request], Coroutine[Any, Any, web.StreamResponse]]


def route_handler(route: RouteSettings) -> Handler:
    """The handler of one configured route."""
    tokenize = parse_selectors(route.tokenize)
    restore = parse_selectors(route.restore)

    async def handle(request: web.Request) -> web.StreamResponse:
        call = ProxyCall.begin(request)
        doc = None
        if request.method != "GET" and (request.body_exists or request.can_read_body):
            doc = await read_json(request, call.settings.server.max_body_bytes)
            if not isinstance(doc, dict | list):
                raise InvalidInput("the body must be a JSON object or array",
                                   details={"field": "(body)"})
            await call.tokenize(doc, lambda p: any_match(tokenize, p))
        else:  # nothing to tokenize: the subject's and the record's opt-outs still apply
            await call.tokenize({}, lambda _p: False)
        async with call.send(request.method, route.upstream_url, doc) as resp:
            if is_event_stream(resp):
                return await answer_stream(call, resp, scan=route.scan_answers)
            return await answer_json(call, resp, scan=route.scan_answers,
                                     restore_only=restore)
    return handle


def add_routes(app: web.Application, routes: list[RouteSettings]) -> None:
    """Register every configured generic route."""
    for route in routes:
        handler = route_handler(route)
        for method in route.methods:
            app.router.add_route(method, route.path, handler)
