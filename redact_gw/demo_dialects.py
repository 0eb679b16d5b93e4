"""The demo model's answers in every dialect: Anthropic Messages, OpenAI Responses and
legacy completions (chat completions are in ``redact_gw.demo``).

Each answer quotes the last user message back ("You said: ..."). When the request
offers tools and the prompt mentions a tool, the answer is a tool call instead, whose
arguments quote the prompt: the hardest restore path (tokens inside streamed JSON).
A tool's result is quoted back ("Tool said: ..."). Streams are lists of SSE events,
word by word, shaped like the real services' (``sse_event`` encodes one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

MODELS = ("demo-echo-1", "demo-embed-1")
_WORDS = re.compile(r"\S+\s*|\s+")
_ASKS_FOR_TOOL = re.compile(r"\btool\b", re.IGNORECASE)


def sse_event(name: str | None, data: Any) -> bytes:
    """One SSE event (``event: name`` when named), data JSON-encoded."""
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def pieces(text: str) -> list[str]:
    """Words with their trailing whitespace."""
    return _WORDS.findall(text)


def known_model(model: Any) -> bool:
    """Models the demo serves (a real service rejects others)."""
    return model in MODELS


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                value = block.get("text", block.get("content", block.get("output", "")))
                parts.append(_text_of(value))
        return " ".join(p for p in parts if p)
    return "" if content is None else json.dumps(content)


def wants_tool(body: dict[str, Any], prompt: str) -> dict[str, Any] | None:
    """The first tool offered, when the prompt asks for a tool."""
    tools = body.get("tools")
    if isinstance(tools, list) and tools and isinstance(tools[0], dict) \
            and _ASKS_FOR_TOOL.search(prompt):
        return tools[0]
    return None


# -- Anthropic Messages ---------------------------------------------------------------------
def anthropic_prompt(body: dict[str, Any]) -> tuple[str, bool]:
    """The last user turn's text, and whether it is a tool result."""
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            content = msg.get("content")
            blocks = content if isinstance(content, list) else []
            results = [b for b in blocks if isinstance(b, dict)
                       and b.get("type") == "tool_result"]
            if results:
                return _text_of([{"text": _text_of(b.get("content"))} for b in results]), True
            return _text_of(content), False
    return "", False


def anthropic_blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer's content blocks."""
    prompt, is_result = anthropic_prompt(body)
    if is_result:
        return [{"type": "text", "text": f"Tool said: {prompt}"}]
    tool = wants_tool(body, prompt)
    if tool is not None:
        return [{"type": "tool_use", "id": "toolu_demo1", "name": tool.get("name", "tool"),
                 "input": {"text": prompt}}]
    return [{"type": "text", "text": f"You said: {prompt}" if prompt else "You said nothing."}]


def anthropic_message(body: dict[str, Any]) -> dict[str, Any]:
    """A non-streamed ``message``."""
    blocks = anthropic_blocks(body)
    stop = "tool_use" if blocks[0]["type"] == "tool_use" else "end_turn"
    return {"id": "msg_demo", "type": "message", "role": "assistant",
            "model": body.get("model") or MODELS[0], "content": blocks,
            "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1}}


def anthropic_events(message: dict[str, Any], parts: Sequence[str] | None = None
                     ) -> list[bytes]:
    """A streamed ``message``: text word by word, tool input in JSON pieces (or the
    given ``parts`` of the first block)."""
    start = {**message, "content": [], "stop_reason": None}
    out = [sse_event("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "tool_use":
            text, delta_type, field = json.dumps(block["input"]), "input_json_delta", \
                "partial_json"
            head = {**block, "input": {}}
        else:
            text, delta_type, field = block["text"], "text_delta", "text"
            head = {"type": "text", "text": ""}
        out.append(sse_event("content_block_start", {
            "type": "content_block_start", "index": index, "content_block": head}))
        out.append(sse_event("ping", {"type": "ping"}))
        for piece in (parts if parts is not None and index == 0 else pieces(text)):
            out.append(sse_event("content_block_delta", {
                "type": "content_block_delta", "index": index,
                "delta": {"type": delta_type, field: piece}}))
        out.append(sse_event("content_block_stop", {"type": "content_block_stop",
                                                    "index": index}))
    out.append(sse_event("message_delta", {
        "type": "message_delta", "delta": {"stop_reason": message["stop_reason"],
                                           "stop_sequence": None},
        "usage": {"output_tokens": 1}}))
    out.append(sse_event("message_stop", {"type": "message_stop"}))
    return out


def anthropic_error(status: int, kind: str, message: str) -> dict[str, Any]:
    """Anthropic's error body."""
    return {"type": "error", "error": {"type": kind, "message": message}}


# -- OpenAI Responses -----------------------------------------------------------------------
def responses_prompt(body: dict[str, Any]) -> tuple[str, bool]:
    """The last user input's text, and whether it is a function call's output."""
    items = body.get("input")
    if isinstance(items, str):
        return items, False
    for item in reversed(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call_output":
            return _text_of(item.get("output")), True
        if item.get("role") == "user":
            return _text_of(item.get("content")), False
    return "", False


def responses_output(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer's output items."""
    prompt, is_result = responses_prompt(body)
    tool = None if is_result else wants_tool(body, prompt)
    if tool is not None:
        return [{"type": "function_call", "id": "fc_demo1", "call_id": "call_demo1",
                 "name": tool.get("name", "tool"), "status": "completed",
                 "arguments": json.dumps({"text": prompt})}]
    text = f"Tool said: {prompt}" if is_result else (
        f"You said: {prompt}" if prompt else "You said nothing.")
    return [{"type": "message", "id": "msg_demo1", "role": "assistant",
             "status": "completed", "content": [
                 {"type": "output_text", "text": text, "annotations": []}]}]


def response(body: dict[str, Any], output: list[dict[str, Any]] | None = None,
             status: str = "completed") -> dict[str, Any]:
    """A non-streamed ``response``."""
    return {"id": "resp_demo", "object": "response", "created_at": 1, "status": status,
            "model": body.get("model") or MODELS[0], "output": output or [],
            "previous_response_id": body.get("previous_response_id"),
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2,
                      "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}}}


def responses_events(body: dict[str, Any], parts: Sequence[str] | None = None
                     ) -> list[bytes]:
    """A streamed ``response``: every event the real API sends for a text or call."""
    output = responses_output(body)
    seq = iter(range(1_000_000))

    def ev(kind: str, **fields: Any) -> bytes:
        return sse_event(kind, {"type": kind, "sequence_number": next(seq), **fields})
    out = [ev("response.created", response=response(body, status="in_progress")),
           ev("response.in_progress", response=response(body, status="in_progress"))]
    for oi, item in enumerate(output):
        if item["type"] == "function_call":
            out.append(ev("response.output_item.added", output_index=oi,
                          item={**item, "arguments": "", "status": "in_progress"}))
            for piece in parts if parts is not None else pieces(item["arguments"]):
                out.append(ev("response.function_call_arguments.delta", item_id=item["id"],
                              output_index=oi, delta=piece))
            out.append(ev("response.function_call_arguments.done", item_id=item["id"],
                          output_index=oi, arguments=item["arguments"]))
        else:
            text = item["content"][0]["text"]
            part = {"type": "output_text", "text": "", "annotations": []}
            out.append(ev("response.output_item.added", output_index=oi,
                          item={**item, "content": [], "status": "in_progress"}))
            out.append(ev("response.content_part.added", item_id=item["id"],
                          output_index=oi, content_index=0, part=part))
            for piece in parts if parts is not None else pieces(text):
                out.append(ev("response.output_text.delta", item_id=item["id"],
                              output_index=oi, content_index=0, delta=piece, logprobs=[]))
            out.append(ev("response.output_text.done", item_id=item["id"], output_index=oi,
                          content_index=0, text=text, logprobs=[]))
            out.append(ev("response.content_part.done", item_id=item["id"],
                          output_index=oi, content_index=0, part={**part, "text": text}))
        out.append(ev("response.output_item.done", output_index=oi, item=item))
    out.append(ev("response.completed", response=response(body, output)))
    return out


# -- legacy completions ---------------------------------------------------------------------
def completion_text(body: dict[str, Any]) -> str:
    """The prompt quoted back."""
    prompt = body.get("prompt")
    text = prompt[-1] if isinstance(prompt, list) and prompt else prompt
    return f"You said: {text}" if isinstance(text, str) else "You said nothing."


def text_completion(text: str, model: str, finish: str | None = "stop") -> dict[str, Any]:
    """A ``text_completion`` (or one streamed chunk of it)."""
    return {"id": "cmpl-demo", "object": "text_completion", "created": 1, "model": model,
            "choices": [{"text": text, "index": 0, "logprobs": None,
                         "finish_reason": finish}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def completion_events(body: dict[str, Any]) -> list[bytes]:
    """A streamed completion: one chunk per word, a finish chunk, ``[DONE]``."""
    model = body.get("model") or MODELS[0]
    chunks = [{**text_completion(p, model, None), "usage": None}
              for p in pieces(completion_text(body))]
    chunks.append({**text_completion("", model), "usage": None})
    return [*(sse_event(None, c) for c in chunks), b"data: [DONE]\n\n"]


def openai_model_error(model: Any) -> dict[str, Any]:
    """OpenAI's answer for an unknown model (status 404)."""
    return {"error": {"message": f"The model `{model}` does not exist or you do not have"
                                 " access to it.", "type": "invalid_request_error",
                      "param": "model", "code": "model_not_found"}}


def model_info(model: str) -> dict[str, Any]:
    """``GET /v1/models/{id}``."""
    return {"id": model, "object": "model", "created": 0, "owned_by": "redact-gw-demo"}
