"""Reading request bodies: size limit, strict UTF-8, JSON, no lone surrogates."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from redact_gw.errors import BadRequest, PayloadTooLarge

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def decode_json(raw: bytes) -> Any:
    """Strict UTF-8 then JSON; errors never echo the input."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request body is not valid UTF-8", code="invalid_utf8") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"the request body is not valid JSON (line {exc.lineno},"
                         f" column {exc.colno})", code="malformed_json") from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(doc):
        raise BadRequest("the request body holds an unpaired UTF-16 surrogate escape",
                         code="invalid_utf8")
    return doc


async def read_json(request: web.Request, limit: int) -> Any:
    """Read and decode a JSON body of at most ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes") from None
    if len(raw) > limit:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
    if not raw:
        raise BadRequest("the request body is empty", code="empty_body")
    return decode_json(raw)


def json_response(data: Any, *, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response that keeps non-ASCII text as UTF-8."""
    return web.Response(body=json.dumps(data, ensure_ascii=False).encode("utf-8"),
                        status=status, headers=headers, content_type="application/json",
                        charset="utf-8")
