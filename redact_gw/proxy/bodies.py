"""Reading request bodies: size limit, encodings, strict UTF-8, strict JSON.

Everything a JSON parser or a database would choke on is a 4xx here, never a 500 or a
503: nesting deeper than ``MAX_DEPTH``, integers of more than ``MAX_NUMBER_DIGITS``
digits, ``NaN``/``Infinity`` and floats that overflow (``1e999``), unpaired UTF-16
surrogate escapes, and content encodings other than ``identity``/``gzip``/``deflate``
(415). ``reject_nul`` refuses U+0000 in the fields stored as plain text (PostgreSQL
refuses NUL in text columns and would otherwise count a vault error).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from redact_gw.errors import (
    BadRequest,
    InvalidInput,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
)
from redact_gw.proxy import appkeys

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
#: Containers nested deeper than this are refused (Python's own limit is near 1,000).
MAX_DEPTH = 128
#: Digits of a JSON number beyond which it is refused (a card number has 19 at most).
MAX_NUMBER_DIGITS = 64
#: Request ``Content-Encoding`` values the gateway decodes.
ACCEPTED_ENCODINGS = frozenset({"identity", "gzip", "deflate"})


def _bad_number(what: str) -> BadRequest:
    return BadRequest(f"the request body holds {what}; only finite JSON numbers of at most"
                      f" {MAX_NUMBER_DIGITS} digits are accepted", code="invalid_number")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _bad_number("an integer that is too long")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS + 16:
        raise _bad_number("a number that is too long")
    value = float(text)
    if math.isinf(value):
        raise _bad_number("a number out of range")
    return value


def _parse_constant(_name: str) -> Any:
    raise _bad_number("NaN or Infinity")


#: ``json.loads`` with hooks builds a decoder and its scanner per call; one is kept
#: (decoding keeps no state between calls).
_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float,
                            parse_constant=_parse_constant)


def _check_depth_and_surrogates(doc: Any, surrogates: bool) -> None:
    """Iteratively (no recursion to exhaust): depth and lone surrogates."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                raise _too_deep()
            for k, v in value.items():
                if surrogates and not _utf8_ok(k):
                    raise _surrogate()
                stack.append((v, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                raise _too_deep()
            stack.extend((v, depth + 1) for v in value)
        elif surrogates and isinstance(value, str) and not _utf8_ok(value):
            raise _surrogate()


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _too_deep() -> BadRequest:
    return BadRequest(f"the request body is nested deeper than {MAX_DEPTH} levels",
                      code="too_deep")


def _surrogate() -> BadRequest:
    return BadRequest("the request body holds an unpaired UTF-16 surrogate escape",
                      code="invalid_utf8")


def decode_json(raw: bytes) -> Any:
    """Strict UTF-8 then strict JSON; errors never echo the input."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request body is not valid UTF-8", code="invalid_utf8") from None
    try:
        if text.startswith("\ufeff"):  # json.loads' own refusal, kept word for word
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)",
                                       text, 0)
        doc = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"the request body is not valid JSON (line {exc.lineno},"
                         f" column {exc.colno})", code="malformed_json") from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError:  # int() past Python's own digit limit, or another number quirk
        raise _bad_number("a number that cannot be read") from None
    surrogates = bool(_SURROGATE_ESCAPE.search(text))
    # a container at depth d needs d opening brackets: with no more than MAX_DEPTH in the
    # whole text (those inside strings counted too) and no surrogate escape, the walk
    # could not refuse anything, so skip it (most bodies of per-utterance calls)
    if surrogates or text.count("[") + text.count("{") > MAX_DEPTH:
        _check_depth_and_surrogates(doc, surrogates)
    return doc


def check_encoding(headers: Mapping[str, str]) -> None:
    """415 for a ``Content-Encoding`` the gateway does not decode (``br``, ``zstd``...)."""
    raw = headers.get("Content-Encoding")
    if raw is None:
        return
    for part in raw.split(","):
        if part.strip().lower() not in ACCEPTED_ENCODINGS:
            raise UnsupportedMediaType(
                "the request body's Content-Encoding is not supported; send it"
                " uncompressed, gzip or deflate")


async def read_json(request: web.Request, limit: int) -> Any:
    """Read and decode a JSON body of at most ``limit`` bytes."""
    check_encoding(request.headers)
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
    deadline = request.app[appkeys.SETTINGS].server.body_timeout_s
    try:
        if request.content.is_eof():  # all of it arrived with the headers: no wait
            raw = await request.read()
        else:
            async with asyncio.timeout(deadline):
                raw = await request.read()
    except TimeoutError:
        raise RequestTimeout(f"the request body was not received within {deadline:g}"
                             " seconds") from None
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes") from None
    if len(raw) > limit:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
    if not raw:
        raise BadRequest("the request body is empty", code="empty_body")
    return decode_json(raw)


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """``read_json`` within ``server.max_body_bytes``; 422 unless it is an object."""
    doc = await read_json(request, request.app[appkeys.SETTINGS].server.max_body_bytes)
    if not isinstance(doc, dict):
        raise InvalidInput("the request body must be a JSON object",
                           details={"field": "(body)"})
    return doc


def reject_nul(value: str | None, field: str) -> str | None:
    """``value`` unless it holds U+0000 (a 400 naming ``field``, never the value)."""
    if value is not None and "\x00" in value:
        raise BadRequest(f"{field} must not contain NUL characters", code="nul_character",
                         details={"field": field})
    return value


def json_response(data: Any, *, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response that keeps non-ASCII text as UTF-8 (orjson: several times faster
    than ``json.dumps`` on the small bodies of per-utterance calls)."""
    try:
        body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # a type orjson does not know: the standard encoder's behaviour
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return web.Response(body=body,
                        status=status, headers=headers, content_type="application/json",
                        charset="utf-8")
