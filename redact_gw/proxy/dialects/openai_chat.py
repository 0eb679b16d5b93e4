"""OpenAI Chat Completions: ``POST /v1/chat/completions``, streamed or not.

Request: every string, long number and unknown key is tokenized except the real
protocol leaves below (a participant's ``name``, tool-call ids, function names,
``enum`` values, URLs are all scanned). Stream: text under ``choices[i].delta`` is a
channel per choice (and per tool call); a chunk without ``index`` is choice 0, as the
SDKs read it, and one channel never yields two entries.
"""

from __future__ import annotations

from typing import Any

from redact_gw.jsonpaths import Path, parse_selectors
from redact_gw.proxy.dialects.base import Dialect, Leaves, check_messages
from redact_gw.streaming.dialect import PROTOCOL, WHOLE, Channel, Kind

PROTOCOL_LEAVES = Leaves(leaves=[
    ("model",), ("messages", "*", "role"), ("messages", "*", "content", "*", "type"),
    ("messages", "*", "tool_calls", "*", "type"), ("messages", "*", "audio", "id"),
    ("messages", "*", "content", "*", "file", "file_id"),
    ("messages", "*", "content", "*", "input_audio", "format"),
    ("messages", "*", "content", "*", "image_url", "detail"),
    ("tools", "*", "type"), ("tool_choice",), ("tool_choice", "type"),
    ("function_call",), ("response_format", "type"), ("reasoning_effort",),
    ("service_tier",), ("modalities", "*"), ("audio", "voice"), ("audio", "format"),
    ("prediction", "type"), ("verbosity",), ("web_search_options", "search_context_size"),
    ("web_search_options", "user_location", "type"),
], schemas=[("tools", "*", "function", "parameters"), ("functions", "*", "parameters"),
            ("response_format", "json_schema", "schema")])

ANSWER_PROTOCOL = parse_selectors([
    "$.id", "$.object", "$.model", "$.system_fingerprint", "$.service_tier",
    "$.choices[*].finish_reason", "$.choices[*].message.role",
    "$.choices[*].message.tool_calls[*].id", "$.choices[*].message.tool_calls[*].type",
    "$.choices[*].message.tool_calls[*].function.name", "$.usage",
])


def message_role(doc: dict[str, Any]) -> Any:
    """The speaker of a path under ``messages[i]`` (detection context)."""
    def speaker(path: Path) -> str | None:
        if len(path) >= 2 and path[0] == "messages" and isinstance(path[1], int):
            role = doc["messages"][path[1]].get("role")
            return role if isinstance(role, str) else None
        return None
    return speaker


# -- the stream ----------------------------------------------------------------------------
#: Protocol strings of chat completion chunks: passed on untouched.
_CHUNK_TOP = frozenset({"id", "object", "model", "system_fingerprint", "service_tier"})
_DELTA_PROTOCOL = frozenset({"role", "id", "type", "name"})


def choice_index(choice: Any) -> Any:
    """A choice's (or tool call's) ``index``; missing means 0, as the SDKs read it."""
    index = choice.get("index", 0) if isinstance(choice, dict) else 0
    return index if isinstance(index, int) else 0


class ChatStream:
    """``chat.completion.chunk`` events (also legacy ``text_completion`` chunks)."""

    def prepare(self, doc: dict[str, Any], scan: bool) -> None:
        """Logprob tokens repeat the text in fragments no scan can follow: drop them."""
        if not scan:
            return
        for choice in doc.get("choices") or ():
            if isinstance(choice, dict) and choice.get("logprobs") is not None:
                choice["logprobs"] = None

    def classify(self, doc: dict[str, Any], path: Path) -> Kind:
        """Delta text (and a completion's ``text``) is channel text keyed by index."""
        if len(path) == 1 and path[0] in _CHUNK_TOP:
            return PROTOCOL
        if len(path) >= 3 and path[0] == "choices" and path[2] == "finish_reason":
            return PROTOCOL
        if len(path) == 3 and path[0] == "choices" and path[2] == "text":
            return Channel(self._key(doc, path))
        if len(path) >= 4 and path[0] == "choices" and path[2] == "delta":
            leaf = path[-1]
            if leaf in _DELTA_PROTOCOL and not (leaf == "name" and "function" not in path):
                return PROTOCOL
            return Channel(self._key(doc, path))
        return WHOLE

    def _key(self, doc: dict[str, Any], path: Path) -> tuple[Any, ...]:
        """The path with list positions replaced by the elements' ``index`` fields."""
        key: list[Any] = []
        node: Any = doc
        for part in path:
            child = node[part]
            key.append(choice_index(child) if isinstance(part, int) else part)
            node = child
        return tuple(key)

    def finishing(self, doc: dict[str, Any], key: tuple[Any, ...]) -> bool:
        """A choice with a ``finish_reason`` ends all its channels."""
        choices = doc.get("choices")
        if not isinstance(choices, list):
            return False
        return any(isinstance(c, dict) and c.get("finish_reason")
                   and choice_index(c) == key[1] for c in choices)

    def put(self, doc: dict[str, Any], key: tuple[Any, ...], text: str) -> bool:
        """Set channel text, creating the choice / tool call entry if absent."""
        node: Any = doc
        for i, part in enumerate(key[:-1]):
            nxt = key[i + 1]
            if isinstance(part, int):
                node = _indexed(node, part)
                if i == 1 and key[0] == "choices":
                    node.setdefault("finish_reason", None)
                continue
            if part not in node or node[part] is None:
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]
        node[key[-1]] = text
        return True

    def blank(self, template: dict[str, Any] | None) -> dict[str, Any] | None:
        """A chunk with the stream's ids and no choices."""
        base = template or {"object": "chat.completion.chunk"}
        return {**{k: v for k, v in base.items() if k in _CHUNK_TOP or k == "created"},
                "choices": []}

    def empty(self, doc: dict[str, Any]) -> bool:
        """Nothing beyond protocol fields and empty text."""
        return not any(_signal(v) for k, v in doc.items()
                       if k not in _CHUNK_TOP and k != "created")


def _indexed(items: list[Any], index: int) -> dict[str, Any]:
    for item in items:
        if isinstance(item, dict) and choice_index(item) == index:
            return item
    entry: dict[str, Any] = {"index": index}
    items.append(entry)
    return entry


def _signal(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_signal(v) for k, v in value.items() if k != "index")
    if isinstance(value, list):
        return any(_signal(v) for v in value)
    return value not in (None, "")


DIALECT = Dialect("openai_chat", "/v1/chat/completions", "chat/completions",
                  PROTOCOL_LEAVES, ANSWER_PROTOCOL, ChatStream, check_messages, message_role)
