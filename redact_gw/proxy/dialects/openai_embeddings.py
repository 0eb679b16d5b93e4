"""OpenAI embeddings and models: ``POST /v1/embeddings``, ``GET /v1/models[/{id}]``.

Embeddings: ``input`` (strings, or token-id arrays, whose long numbers are scanned like
any other) is tokenized. Models: passed through, no personal data either way.
"""

from __future__ import annotations

from aiohttp import web

from redact_gw.jsonpaths import parse_selectors
from redact_gw.proxy.dialects.base import Dialect, Leaves
from redact_gw.proxy.upstream import (
    ProxyCall,
    client_headers,
    is_json_body,
    join_url,
    not_json,
    read_limited,
)

DIALECT = Dialect(
    "openai_embeddings", "/v1/embeddings", "embeddings",
    Leaves(leaves=[("model",), ("encoding_format",)]),
    parse_selectors(["$.object", "$.model", "$.data[*].object", "$.data[*].embedding",
                     "$.usage"]))


async def models(request: web.Request) -> web.StreamResponse:
    """``GET /v1/models`` and ``GET /v1/models/{model}``: passed through."""
    call = ProxyCall.begin(request)
    settings = call.settings
    tail = "models"
    model = request.match_info.get("model")
    if model is not None:
        tail += "/" + model
    async with call.send("GET", join_url(settings.upstream.url, tail), None) as resp:
        body = await read_limited(resp, settings.proxy.max_response_bytes)
        if resp.status < 400 and not is_json_body(body):
            not_json(call.meter)
        headers = {**client_headers(resp.headers), **call.headers()}
        return web.Response(body=body, status=resp.status, headers=headers)
