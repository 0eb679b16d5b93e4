"""Middlewares: one names the request, one renders every error as JSON, one
authenticates the caller.

No response ever carries a stack trace or echoes the request; unexpected exceptions
are logged by type only (their messages can quote the input) and answered 500.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from redact_gw.errors import BadRequest, RedactGwError, Unauthorized
from redact_gw.logs import request_id_var
from redact_gw.proxy import appkeys
from redact_gw.proxy.bodies import json_response
from redact_gw.proxy.connections import SERVER_NAME
from redact_gw.proxy.headers import request_id
from redact_gw.review.lists import ROUTE as lists_route

log = logging.getLogger(__name__)
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})
CONSOLE_PREFIX = "/console"

_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
               413: "payload_too_large", 415: "unsupported_media_type"}


def route_name(request: web.Request) -> str:
    """The route template (``/v1/records/{record_id}``), never the concrete path."""
    try:
        info = request.match_info  # a dict: empty (falsy) for routes without parameters
    except AssertionError:  # a request aiohttp could not parse has no match info
        return "unmatched"
    resource = info.route.resource if info is not None and info.route else None
    return resource.canonical if resource is not None else "unmatched"


def error_response(exc: RedactGwError) -> web.Response:
    """Render a gateway error as its JSON body and status (and ``Retry-After``, and the
    error class's fixed ``headers``, e.g. ``Upgrade`` of a 426)."""
    headers = dict(exc.headers)
    if exc.retry_after_s is not None:
        headers["Retry-After"] = str(exc.retry_after_s)
    return json_response(exc.to_dict(), status=exc.status, headers=headers or None)


REQUEST_ID_HEADER = "X-Request-Id"


@web.middleware
async def request_id_middleware(request: web.Request,
                                handler: Handler) -> web.StreamResponse:
    """Outermost: give the request an id and answer it in ``X-Request-Id``.

    A well-formed incoming ``X-Request-Id`` (``[A-Za-z0-9._-]{1,64}``) that does not look
    like personal data (``headers.request_id``) is kept, anything else replaced by a
    new id. The id is set in ``request_id_var`` for the request's own
    task (and the tasks and executor calls it starts), so every log line of its handling,
    the access log's included, carries it. Streamed answers get the header from
    ``request_id_header`` (``on_response_prepare``), before their first byte.
    """
    rid = request_id(request.headers.get(REQUEST_ID_HEADER))
    request[appkeys.REQUEST_ID] = rid
    request_id_var.set(rid)  # the request runs in its own task: no reset needed
    lists_route.set(route_name(request))  # list entries approved for one route first
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers[REQUEST_ID_HEADER] = rid
        raise
    if not response.prepared:
        response.headers[REQUEST_ID_HEADER] = rid
    return response


async def request_id_header(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: every answer, streamed or not, names its request."""
    rid = request.get(appkeys.REQUEST_ID)
    if rid is not None:
        response.headers[REQUEST_ID_HEADER] = rid
    response.headers["Server"] = SERVER_NAME  # no version banner


def check_target(request: web.Request) -> None:
    """400 for U+0000 in the path or query (record ids, audit filters): PostgreSQL
    refuses NUL in text and would answer as if the vault had failed."""
    if "\x00" in request.path or any("\x00" in k or "\x00" in v
                                     for k, v in request.query.items()):
        raise BadRequest("the request path or query must not contain NUL characters",
                         code="nul_character")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into ``{"error": {"code", "message"}}`` with the right status."""
    metrics = request.app[appkeys.METRICS]
    started = time.perf_counter()
    status = 500
    try:
        check_target(request)
        response = await handler(request)
        status = response.status
        return response
    except RedactGwError as exc:
        status = exc.status
        metrics.errors.labels(exc.code).inc()
        response = error_response(exc)
        if exc.status == 408:  # a slow sender gets no second chance on this connection
            response.force_close()
        return response
    except web.HTTPException as exc:
        status = exc.status
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        metrics.errors.labels(code).inc()
        body: dict[str, object] = {"code": code, "message": exc.reason.lower()}
        if exc.status == 404:  # never a bare "not found": say what is served
            body["details"] = {"routes": served_routes(request.app)}
        return json_response({"error": body},
                             status=exc.status, headers={
                                 k: v for k, v in exc.headers.items() if k == "Allow"})
    except Exception as exc:
        log.error("unhandled %s on %s", type(exc).__name__, route_name(request))
        metrics.errors.labels("internal_error").inc()
        return error_response(RedactGwError())
    finally:
        metrics.request_done(route_name(request), request.method, status,
                             time.perf_counter() - started)


def served_routes(app: web.Application) -> list[str]:
    """``METHOD /path`` of every registered route (configured ones included)."""
    return sorted({f"{r.method} {r.resource.canonical}" for r in app.router.routes()
                   if r.method != "HEAD" and r.resource is not None})


#: Routes where the gateway key may come as ``x-api-key`` (Anthropic's clients).
X_API_KEY_ROUTES = frozenset({"/v1/messages", "/v1/messages/count_tokens"})


def bearer_key(request: web.Request) -> str | None:
    """The API key from ``Authorization: Bearer <key>``, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the authenticated principal; 401 for a missing or unknown key."""
    if (request.path in PUBLIC_PATHS or request.match_info.http_exception is not None
            or request.path == CONSOLE_PREFIX or request.path.startswith(CONSOLE_PREFIX + "/")):
        # public, a 404/405 naming the routes, or the console (its own sessions)
        return await handler(request)
    key = bearer_key(request)
    if key is None and route_name(request) in X_API_KEY_ROUTES:
        key = request.headers.get("x-api-key", "").strip() or None
    # a key it does not know re-reads the principals file (rate-limited): fresh keys work
    principal = await request.app[appkeys.PRINCIPALS].authenticate_fresh(key) if key else None
    if principal is None:
        raise Unauthorized()
    request[appkeys.PRINCIPAL] = request.app[appkeys.ROLES].resolve(principal)
    return await handler(request)
