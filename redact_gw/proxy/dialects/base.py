"""The dialect seam: what one AI API looks like, and the one engine that proxies them all.

A ``Dialect`` is data plus a few small functions: the route, where its requests go
upstream and with which credential header, which request strings are protocol (all
others, long numbers and unknown object keys included, are tokenized), which answer
strings are protocol, how its stream events carry text (a ``StreamDialect``) and how
a gateway error ends its stream. ``proxy`` does the rest, the same for every dialect:
one detection and one vault transaction, opt-outs, risk tiers, the answer guard,
hold-back, metrics and audit (``proxy/upstream.py``, ``streaming/``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from redact_gw.errors import InvalidInput, PayloadTooLarge, RedactGwError
from redact_gw.jsonpaths import Path, Selector, format_path, get_at, set_at
from redact_gw.proxy.bodies import read_json
from redact_gw.proxy.dialects.content import decode_in_place, unredactable
from redact_gw.proxy.dialects.schema import KEYWORDS, schema_protocol
from redact_gw.proxy.upstream import (
    ProxyCall,
    answer_json,
    answer_stream,
    error_event,
    is_event_stream,
    join_url,
)
from redact_gw.settings import Settings
from redact_gw.streaming.dialect import StreamDialect
from redact_gw.streaming.sse import SseEvent

Pattern = tuple[str | int, ...]
ANY = "*"


def _matches(pattern: Pattern, path: Path) -> bool:
    return len(pattern) == len(path) and all(
        p in (ANY, q) for p, q in zip(pattern, path, strict=True))


@dataclass(frozen=True)
class Leaves:
    """Exact protocol leaves (``("messages", "*", "role")``; ``*`` is any key or index)
    and schema roots (every keyword leaf of the JSON schema there is protocol)."""

    leaves: Sequence[Pattern] = ()
    schemas: Sequence[Pattern] = ()

    def __call__(self, path: Path, value: Any = None) -> bool:
        """True when ``path`` is a protocol leaf (a schema keyword's only with a
        ``value`` that keyword can take, when it is given)."""
        if any(_matches(p, path) for p in self.leaves):
            return True
        return any(len(path) > len(r) and _matches(r, path[:len(r)])
                   and schema_protocol(path[len(r):], value) for r in self.schemas)


#: Object keys that are API vocabulary: never scanned (every other key is).
KNOWN_KEYS = KEYWORDS | frozenset({
    "annotations", "arguments", "audio", "background", "best_of", "budget_tokens",
    "cache_control", "call_id", "citations", "content", "context", "data", "detail",
    "dimensions", "disable_parallel_tool_use", "document", "echo", "effort",
    "encoding_format", "file", "file_data", "file_id", "file_url", "filename", "format",
    "frequency_penalty", "function", "function_call", "function_call_output",
    "functions", "id", "image_url", "include", "include_usage", "input", "input_audio",
    "input_file", "input_image", "input_schema", "input_text", "instructions",
    "is_error", "json_schema", "logit_bias", "logprobs", "max_completion_tokens",
    "max_output_tokens", "max_tokens", "media_type", "messages", "metadata",
    "modalities", "model", "n", "name", "output", "output_text", "parallel_tool_calls",
    "parameters", "prediction", "presence_penalty", "previous_response_id", "prompt",
    "reasoning", "reasoning_effort", "redacted_thinking", "refusal", "response_format",
    "role", "schema", "search_context_size", "seed", "service_tier", "signature",
    "source", "status", "stop", "stop_sequences", "store", "stream", "stream_options",
    "strict", "suffix", "summary", "system", "temperature", "text", "thinking", "title",
    "tool_call_id", "tool_calls", "tool_choice", "tool_result", "tool_use",
    "tool_use_id", "tools", "top_k", "top_logprobs", "top_p", "transcript", "truncation",
    "ttl", "type", "url", "user", "user_location", "verbosity", "voice",
    "web_search_options",
})


@dataclass(frozen=True)
class Target:
    """Where a dialect's requests go, and how the gateway's key is sent."""

    url: str
    api_key: str | None = field(repr=False)
    key_header: str = "Authorization"


def default_target(settings: Settings) -> Target:
    """``upstream.url`` and ``upstream.api_key``."""
    return Target(settings.upstream.url, settings.upstream.api_key)


def body_object(doc: Any, field_name: str | None = None) -> dict[str, Any]:
    """The body as an object (422 otherwise), with ``field_name`` present."""
    if not isinstance(doc, dict):
        raise InvalidInput("the body must be a JSON object", details={"field": "(body)"})
    if field_name is not None and field_name not in doc:
        raise InvalidInput(f"{field_name} is required", details={"field": field_name})
    return doc


@dataclass(frozen=True)
class Dialect:
    """One AI API, as the proxy engine needs to know it."""

    name: str
    route: str
    upstream_path: str
    protocol: Callable[[Path, Any], bool]
    answer_protocol: Sequence[Selector] = ()
    stream: Callable[[], StreamDialect] | None = None
    check: Callable[[Any, Settings], dict[str, Any]] = lambda doc, _s: body_object(doc)
    speaker: Callable[[dict[str, Any]], Callable[[Path], str | None]] = (
        lambda _doc: lambda _p: None)
    target: Callable[[Settings], Target] = default_target
    error: Callable[[RedactGwError], SseEvent] = error_event


def _public_path(path: Path) -> str:
    """The path for an error message, unless a key in it is the caller's own word (a
    key can carry personal data; the API's vocabulary cannot)."""
    if all(isinstance(p, int) or p in KNOWN_KEYS for p in path):
        return format_path(path)
    return "(a field under a key of the caller's)"


def _refuse_binary(doc: Any, dialect: Dialect, settings: Settings) -> frozenset[Path]:
    found = unredactable(doc)
    if found and dialect.route not in settings.proxy.allow_unredactable:
        raise InvalidInput(
            "this request carries content the gateway cannot redact (audio, files,"
            " images or data: URIs); nothing was forwarded. An operator can allow it"
            " for this route with proxy.allow_unredactable",
            code="unredactable_content", details={"field": _public_path(found[0])})
    return frozenset(found)


async def proxy(request: web.Request, dialect: Dialect) -> web.StreamResponse:
    """Tokenize, forward, scan and restore one request of ``dialect``."""
    call = ProxyCall.begin(request)
    settings = call.settings
    doc = dialect.check(await read_json(request, settings.server.max_body_bytes), settings)
    allowed = _refuse_binary(doc, dialect, settings)

    def scanned(p: Path) -> bool:
        return p not in allowed and not dialect.protocol(p, get_at(doc, p))

    encoded = decode_in_place(doc, scanned)
    await call.tokenize(doc, scanned,
                        dialect.speaker(doc),
                        lambda p: p[-1] not in KNOWN_KEYS,
                        # a long number is never protocol, even where a protocol string
                        # would be (``{"type": 4111111111111111}`` in a tool schema)
                        lambda p: p not in allowed)
    for path, encode in encoded:
        set_at(doc, path, encode(get_at(doc, path)))
    target = dialect.target(settings)
    scan = settings.proxy.scan_answers
    async with call.send("POST", join_url(target.url, dialect.upstream_path), doc,
                         api_key=target.api_key, key_header=target.key_header) as resp:
        if doc.get("stream") is True and is_event_stream(resp) and dialect.stream:
            return await answer_stream(call, resp, scan=scan, dialect=dialect.stream(),
                                       error=dialect.error)
        return await answer_json(call, resp, scan=scan, skip=dialect.answer_protocol)


def handler(dialect: Dialect) -> Callable[[web.Request], Any]:
    """The aiohttp handler of ``dialect``."""
    async def handle(request: web.Request) -> web.StreamResponse:
        return await proxy(request, dialect)
    handle.__doc__ = f"``POST {dialect.route}`` ({dialect.name})."
    return handle


def too_many(items: list[Any], limit: int, what: str) -> None:
    """413 ``too_many_messages`` past the configured limit."""
    if len(items) > limit:
        raise PayloadTooLarge(f"more than {limit} {what}", code="too_many_messages")


def check_messages(doc: Any, settings: Settings) -> dict[str, Any]:
    """An object whose ``messages`` is a list of objects, not too many (chat, Messages)."""
    body = body_object(doc)
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise InvalidInput("messages must be a list of objects", details={"field": "messages"})
    too_many(messages, settings.proxy.max_messages, "messages")
    return body


class OwnDeltaEvents:
    """Stream rules of dialects whose channels each have events of their own
    (Responses, Messages): held text goes out in a delta event of its own, a delta
    whose text is all held back is dropped, and no blank event is made."""

    def put(self, doc: dict[str, Any], key: tuple[Any, ...], text: str) -> bool:
        """Held text goes out in a delta event of its own."""
        return False

    def blank(self, template: dict[str, Any] | None) -> dict[str, Any] | None:
        """Per-channel events only."""
        return None

    def empty(self, doc: dict[str, Any]) -> bool:
        """A delta whose text is all held back is dropped."""
        return True


def dumps(doc: Any) -> str:
    """Compact JSON, non-ASCII kept."""
    return json.dumps(doc, ensure_ascii=False)
