"""The OpenAI-compatible surface: ``/v1/chat/completions``, ``/v1/embeddings``, ``/v1/models``.

An unmodified OpenAI SDK pointed at ``http://gateway/v1`` works as before. Every
string of a request that can carry personal data is tokenized before anything is
sent; protocol fields (model, ids, roles, enums, schema types, data URLs) are left
as they are so the upstream still understands the request. Answers are scanned and
the caller's own tokens restored (``streaming.AnswerGuard``), streams event by event.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from redact_gw.errors import InvalidInput, PayloadTooLarge
from redact_gw.jsonpaths import Path, any_match, parse_selectors
from redact_gw.proxy.bodies import read_json
from redact_gw.proxy.upstream import (
    ProxyCall,
    answer_json,
    answer_stream,
    client_headers,
    is_event_stream,
    join_url,
    read_limited,
)

#: Request strings the upstream must see verbatim.
CHAT_PROTOCOL = parse_selectors([
    "$.model", "$.messages[*].role", "$.messages[*].name", "$.messages[*].tool_call_id",
    "$.messages[*].tool_calls[*].id", "$.messages[*].tool_calls[*].type",
    "$.messages[*].tool_calls[*].function.name", "$.messages[*].function_call.name",
    "$.messages[*].content[*].type", "$.messages[*].content[*].image_url",
    "$.messages[*].content[*].input_audio", "$.messages[*].content[*].file.file_id",
    "$.messages[*].content[*].file.file_data", "$.messages[*].audio.id",
    "$.tools[*].type", "$.tools[*].function.name", "$.tools..parameters..type",
    "$.tools..parameters..required", "$.tools..parameters..enum",
    "$.tools..parameters..format", "$.tools..parameters..pattern", "$.tools..$ref",
    "$.functions[*].name", "$.functions..parameters..type",
    "$.functions..parameters..required", "$.tool_choice", "$.function_call",
    "$.response_format.type", "$.response_format.json_schema.name",
    "$.response_format..schema..type", "$.response_format..schema..required",
    "$.response_format..schema..enum", "$.reasoning_effort", "$.service_tier",
    "$.modalities", "$.audio", "$.prediction.type", "$.verbosity", "$.stream_options",
    "$.web_search_options.search_context_size",
])
#: Answer strings passed on verbatim (never scanned, never restored).
CHAT_ANSWER_PROTOCOL = parse_selectors([
    "$.id", "$.object", "$.model", "$.system_fingerprint", "$.service_tier",
    "$.choices[*].finish_reason", "$.choices[*].message.role",
    "$.choices[*].message.tool_calls[*].id", "$.choices[*].message.tool_calls[*].type",
    "$.choices[*].message.tool_calls[*].function.name", "$.usage",
])
EMBEDDINGS_PROTOCOL = parse_selectors(["$.model", "$.encoding_format"])
EMBEDDINGS_ANSWER_PROTOCOL = parse_selectors([
    "$.object", "$.model", "$.data[*].object", "$.data[*].embedding", "$.usage"])


def _message_role(doc: dict[str, Any]) -> Any:
    def speaker(path: Path) -> str | None:
        if len(path) >= 2 and path[0] == "messages" and isinstance(path[1], int):
            role = doc["messages"][path[1]].get("role")
            return role if isinstance(role, str) else None
        return None
    return speaker


def _check_chat(doc: Any, max_messages: int) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise InvalidInput("the body must be a JSON object", details={"field": "(body)"})
    messages = doc.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise InvalidInput("messages must be a list of objects", details={"field": "messages"})
    if len(messages) > max_messages:
        raise PayloadTooLarge(f"more than {max_messages} messages", code="too_many_messages")
    return doc


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """``POST /v1/chat/completions``, streaming or not."""
    call = ProxyCall.begin(request)
    settings = call.settings
    doc = _check_chat(await read_json(request, settings.server.max_body_bytes),
                      settings.proxy.max_messages)
    await call.tokenize(doc, lambda p: not any_match(CHAT_PROTOCOL, p), _message_role(doc))
    scan = settings.proxy.scan_answers
    url = join_url(settings.upstream.url, "chat/completions")
    async with call.send("POST", url, doc) as resp:
        if doc.get("stream") is True and is_event_stream(resp):
            return await answer_stream(call, resp, scan=scan)
        return await answer_json(call, resp, scan=scan, skip=CHAT_ANSWER_PROTOCOL)


async def embeddings(request: web.Request) -> web.StreamResponse:
    """``POST /v1/embeddings``: ``input`` (and any other text) tokenized."""
    call = ProxyCall.begin(request)
    settings = call.settings
    doc = await read_json(request, settings.server.max_body_bytes)
    if not isinstance(doc, dict):
        raise InvalidInput("the body must be a JSON object", details={"field": "(body)"})
    await call.tokenize(doc, lambda p: not any_match(EMBEDDINGS_PROTOCOL, p))
    url = join_url(settings.upstream.url, "embeddings")
    async with call.send("POST", url, doc) as resp:
        return await answer_json(call, resp, scan=settings.proxy.scan_answers,
                                 skip=EMBEDDINGS_ANSWER_PROTOCOL)


async def models(request: web.Request) -> web.StreamResponse:
    """``GET /v1/models``: passed through (no personal data either way)."""
    call = ProxyCall.begin(request)
    settings = call.settings
    async with call.send("GET", join_url(settings.upstream.url, "models"), None) as resp:
        body = await read_limited(resp, settings.proxy.max_response_bytes)
        headers = {**client_headers(resp.headers), **call.headers()}
        return web.Response(body=body, status=resp.status, headers=headers)


def add_routes(app: web.Application) -> None:
    """Register the OpenAI-compatible routes."""
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_get("/v1/models", models)
