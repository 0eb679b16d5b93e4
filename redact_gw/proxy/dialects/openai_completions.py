"""OpenAI legacy completions: ``POST /v1/completions`` (``prompt`` strings).

The prompt (a string or a list of strings; token-id arrays are numbers, scanned when
long) and ``suffix`` are tokenized; streamed ``text_completion`` chunks carry text in
``choices[i].text``, one channel per choice, read by the chat stream's rules.
"""

from __future__ import annotations

from redact_gw.jsonpaths import parse_selectors
from redact_gw.proxy.dialects.base import Dialect, Leaves, body_object
from redact_gw.proxy.dialects.openai_chat import ChatStream

DIALECT = Dialect(
    "openai_completions", "/v1/completions", "completions",
    Leaves(leaves=[("model",)]),
    parse_selectors(["$.id", "$.object", "$.model", "$.system_fingerprint",
                     "$.choices[*].finish_reason", "$.usage"]),
    ChatStream, lambda doc, _s: body_object(doc, "prompt"))
