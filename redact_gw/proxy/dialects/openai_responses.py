"""OpenAI Responses: ``POST /v1/responses``, streamed or not.

Request: ``input`` (a string or items: messages, ``input_text`` parts,
``function_call`` arguments, ``function_call_output``), ``instructions``, tool
descriptions and schemas' text are tokenized; ``previous_response_id`` passes through
(state held upstream is the upstream's business; what the gateway sends is tokenized).

Stream: every ``*.delta`` event is channel text, keyed by its kind, output item and
content part. The full-text repeats (``response.output_text.done``'s ``text``,
``content_part.done``, ``output_item.done``, the whole response in
``response.completed``) end that channel and are replaced by exactly what the caller
got in the deltas, so nothing held back leaks through a copy and every copy agrees.
"""

from __future__ import annotations

from typing import Any

from redact_gw.jsonpaths import Path, parse_selectors
from redact_gw.proxy.dialects.base import Dialect, Leaves, OwnDeltaEvents, body_object
from redact_gw.streaming.dialect import PROTOCOL, WHOLE, Channel, Copy, Kind

_ITEM = ("input", "*")
PROTOCOL_LEAVES = Leaves(leaves=[
    ("model",), (*_ITEM, "type"), (*_ITEM, "role"), (*_ITEM, "status"),
    (*_ITEM, "content", "*", "type"), (*_ITEM, "content", "*", "detail"),
    (*_ITEM, "content", "*", "file_id"), ("tools", "*", "type"), ("tool_choice",),
    ("tool_choice", "type"), ("text", "format", "type"), ("text", "verbosity"),
    ("reasoning", "effort"), ("reasoning", "summary"), ("truncation",), ("service_tier",),
    ("include", "*"), ("previous_response_id",),
], schemas=[("tools", "*", "parameters"), ("text", "format", "schema")])

_RESPONSE_PROTOCOL = ["id", "object", "status", "model", "previous_response_id",
                      "tool_choice", "truncation", "service_tier", "usage",
                      "incomplete_details", "text.format.type", "text.verbosity",
                      "reasoning", "tools[*].type", "output[*].id", "output[*].type",
                      "output[*].role", "output[*].status", "output[*].call_id",
                      "output[*].content[*].type", "output[*].summary[*].type",
                      "output[*].encrypted_content", "error.code"]
ANSWER_PROTOCOL = parse_selectors(["$." + p for p in _RESPONSE_PROTOCOL])

_TEXT = "response.output_text"
_ARGS = "response.function_call_arguments"
_REFUSAL = "response.refusal"
_SUMMARY = "response.reasoning_summary_text"
_ENDS_ALL = frozenset({"response.completed", "response.failed", "response.incomplete",
                       "response.error", "error"})
_ITEM_PROTOCOL = frozenset({"id", "type", "role", "status", "call_id", "encrypted_content"})
_TOP_PROTOCOL = frozenset({"type", "item_id", "code"})


def _item_copy(rest: Path, oi: Any) -> Kind:
    """A path inside an output item (number ``oi``): protocol, a copy, or text."""
    if len(rest) == 1 and rest[0] in _ITEM_PROTOCOL:
        return PROTOCOL
    if rest == ("arguments",):
        return Copy((_ARGS, oi, None))
    if len(rest) == 3 and rest[0] in ("content", "summary"):
        if rest[2] == "type":
            return PROTOCOL
        kind = {"text": _SUMMARY if rest[0] == "summary" else _TEXT,
                "refusal": _REFUSAL}.get(str(rest[2]))
        if kind is not None:
            return Copy((kind, oi, rest[1]))
    return WHOLE


def _response(rest: Path) -> Kind:
    """A path inside a whole ``response`` object."""
    if len(rest) >= 3 and rest[0] == "output" and isinstance(rest[1], int):
        return _item_copy(rest[2:], rest[1])
    if any(s.matches(rest) for s in ANSWER_PROTOCOL):
        return PROTOCOL
    return WHOLE


class ResponsesStream(OwnDeltaEvents):
    """The Responses API's typed events."""

    def prepare(self, doc: dict[str, Any], scan: bool) -> None:
        """Logprob tokens repeat the text in fragments no scan can follow: drop them."""
        if scan and isinstance(doc.get("logprobs"), list):
            doc["logprobs"] = []

    def classify(self, doc: dict[str, Any], path: Path) -> Kind:
        """Deltas are channels; ``.done`` texts, parts, items and responses copies."""
        kind = str(doc.get("type", ""))
        oi = doc.get("output_index")
        sub = doc.get("content_index", doc.get("summary_index"))
        if len(path) == 1 and path[0] in _TOP_PROTOCOL:
            return PROTOCOL
        if path[0] == "response":
            return _response(path[1:])
        if path[0] == "item":
            return _item_copy(path[1:], oi)
        if path[0] == "part" and len(path) == 2:
            if path[1] == "type":
                return PROTOCOL
            text_kind = {"text": _SUMMARY if "summary" in kind else _TEXT,
                         "refusal": _REFUSAL}.get(str(path[1]))
            return Copy((text_kind, oi, sub)) if text_kind else WHOLE
        if len(path) == 1 and kind.endswith(".delta") and path[0] == "delta":
            return Channel((kind[:-len(".delta")], oi, sub))
        if len(path) == 1 and kind.endswith(".done"):
            return Copy((kind[:-len(".done")], oi, sub))
        return WHOLE

    def finishing(self, doc: dict[str, Any], key: tuple[Any, ...]) -> bool:
        """A ``.done`` event ends its channel (an item's, all of the item's); the
        response's end ends all."""
        kind = str(doc.get("type", ""))
        if kind in _ENDS_ALL:
            return True
        if kind == "response.output_item.done":
            return bool(key[1] == doc.get("output_index"))
        sub = doc.get("content_index", doc.get("summary_index"))
        if kind.endswith(".done"):
            return key == (kind[:-len(".done")], doc.get("output_index"), sub)
        return False


DIALECT = Dialect("openai_responses", "/v1/responses", "responses", PROTOCOL_LEAVES,
                  ANSWER_PROTOCOL, ResponsesStream,
                  lambda doc, _s: body_object(doc, "input"))
