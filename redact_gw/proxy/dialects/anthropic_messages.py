"""Anthropic Messages: ``POST /v1/messages`` and ``POST /v1/messages/count_tokens``.

Request: ``system`` (a string or blocks), content blocks (text, ``tool_use`` input,
``tool_result`` content, documents' text), tool descriptions and input schemas,
``metadata`` and unknown keys are tokenized; base64 images and PDFs are refused
unless the route allows them (``proxy.allow_unredactable``). The caller may send its
gateway key as ``x-api-key``; upstream gets ``upstream.anthropic.api_key`` in
``x-api-key`` (never the caller's), and ``anthropic-version``/``anthropic-beta`` as sent.

Stream: a channel per content block and delta kind (``text_delta``'s ``text``,
``input_json_delta``'s ``partial_json``, ``thinking``). ``content_block_stop`` ends its
block's channels: what was held back goes out first as one more
``content_block_delta``; ``message_delta``, ``message_stop`` and ``error`` end all.
"""

from __future__ import annotations

from typing import Any

from redact_gw.errors import RedactGwError
from redact_gw.jsonpaths import Path, parse_selectors
from redact_gw.proxy.dialects.base import (
    Dialect,
    Leaves,
    OwnDeltaEvents,
    Target,
    check_messages,
    dumps,
)
from redact_gw.settings import Settings
from redact_gw.streaming.dialect import PROTOCOL, WHOLE, Channel, Kind
from redact_gw.streaming.sse import SseEvent

_BLOCK = ("messages", "*", "content", "*")
PROTOCOL_LEAVES = Leaves(leaves=[
    ("model",), ("messages", "*", "role"), (*_BLOCK, "type"), (*_BLOCK, "signature"),
    (*_BLOCK, "data"), (*_BLOCK, "source", "type"), (*_BLOCK, "source", "media_type"),
    (*_BLOCK, "cache_control", "type"), (*_BLOCK, "cache_control", "ttl"),
    (*_BLOCK, "content", "*", "type"), (*_BLOCK, "content", "*", "source", "type"),
    (*_BLOCK, "content", "*", "source", "media_type"),
    (*_BLOCK, "source", "content", "*", "type"),
    ("system", "*", "type"), ("system", "*", "cache_control", "type"),
    ("tools", "*", "type"), ("tools", "*", "cache_control", "type"),
    ("tool_choice", "type"), ("thinking", "type"), ("service_tier",),
], schemas=[("tools", "*", "input_schema")])

ANSWER_PROTOCOL = parse_selectors([
    "$.id", "$.type", "$.role", "$.model", "$.stop_reason", "$.content[*].type",
    "$.content[*].id", "$.content[*].signature", "$.content[*].data", "$.usage",
    "$.input_tokens"])


def speaker(doc: dict[str, Any]) -> Any:
    """``system`` speaks as the system; ``messages[i]`` as its role."""
    def who(path: Path) -> str | None:
        if path and path[0] == "system":
            return "system"
        if len(path) >= 2 and path[0] == "messages" and isinstance(path[1], int):
            role = doc["messages"][path[1]].get("role")
            return role if isinstance(role, str) else None
        return None
    return who


def target(settings: Settings) -> Target:
    """``upstream.anthropic`` (the main upstream when it names no URL of its own)."""
    own = settings.upstream.anthropic
    if own.url is None:
        return Target(settings.upstream.url, own.api_key or settings.upstream.api_key,
                      "x-api-key")
    return Target(own.url, own.api_key, "x-api-key")


def error_event(error: RedactGwError) -> SseEvent:
    """Anthropic's ``error`` event (the SDK raises it as an API error)."""
    return SseEvent(["event: error"], dumps({"type": "error", "error": {
        "type": error.code, "message": error.message}}))


# -- the stream ----------------------------------------------------------------------------
_DELTA_TEXT = {"text": "text", "partial_json": "json", "thinking": "thinking"}
_ENDS_ALL = frozenset({"message_delta", "message_stop", "error"})
_MESSAGE_PROTOCOL = frozenset({"id", "type", "role", "model", "stop_reason"})
_BLOCK_PROTOCOL = frozenset({"type", "id", "signature", "data"})


class MessagesStream(OwnDeltaEvents):
    """Anthropic's typed SSE events."""

    def prepare(self, doc: dict[str, Any], scan: bool) -> None:
        """Nothing to drop."""

    def classify(self, doc: dict[str, Any], path: Path) -> Kind:
        """Delta text is channel text; ids, types and stop reasons are protocol."""
        kind = doc.get("type")
        if path == ("type",) or "usage" in path:
            return PROTOCOL
        if kind == "content_block_delta" and len(path) == 2 and path[0] == "delta":
            if path[1] in _DELTA_TEXT:
                return Channel((doc.get("index"), _DELTA_TEXT[str(path[1])]))
            return PROTOCOL if path[1] in ("type", "signature") else WHOLE
        if kind == "message_start" and len(path) == 2 and path[1] in _MESSAGE_PROTOCOL:
            return PROTOCOL
        if kind == "message_start" and path[:2] == ("message", "content") and \
                path[-1] in _BLOCK_PROTOCOL:
            return PROTOCOL
        if kind == "content_block_start" and len(path) == 2 and path[1] in _BLOCK_PROTOCOL:
            return PROTOCOL
        if kind == "message_delta" and path == ("delta", "stop_reason"):
            return PROTOCOL
        if kind == "error" and path == ("error", "type"):
            return PROTOCOL
        return WHOLE

    def finishing(self, doc: dict[str, Any], key: tuple[Any, ...]) -> bool:
        """``content_block_stop`` ends its block; the message's end ends all."""
        kind = doc.get("type")
        if kind == "content_block_stop":
            return bool(doc.get("index") == key[0])
        return kind in _ENDS_ALL


DIALECT = Dialect("anthropic_messages", "/v1/messages", "messages", PROTOCOL_LEAVES,
                  ANSWER_PROTOCOL, MessagesStream, check_messages, speaker, target,
                  error_event)
COUNT_TOKENS = Dialect("anthropic_count_tokens", "/v1/messages/count_tokens",
                       "messages/count_tokens", PROTOCOL_LEAVES, ANSWER_PROTOCOL, None,
                       check_messages, speaker, target)
