"""Answer handling: restore the caller's tokens, tokenize what the caller did not send.

Three layers, top-down:

* ``views.decode_view`` and ``holdback.hold_start``: pure functions. A *view* decodes
  percent-, ``\\uXXXX``- and HTML-encoded characters so detection sees ``john%40x.com``
  as an email, and maps every view offset back to the raw text. ``hold_start`` says
  how much of a streamed text must be held back: a possibly unfinished token, the
  trailing partial word, and the run of number-like or capitalized words before it.
* ``guard.AnswerGuard``: one per response. ``detect`` finds personal data in answer
  texts (through their views, one detector call per batch); ``render`` replaces new
  finds by tokens (one vault transaction per batch; those tokens are never restored)
  and restores the caller's own tokens as far as the restore policy allows.
* ``rewriter.SseRewriter``: incremental restore for SSE streams (``sse.py``: events on
  the wire) of any API. A ``dialect.StreamDialect`` (``proxy/dialects/``) says which
  strings of an event are streamed text of which *channel* (a choice's content, a tool
  call's arguments, a content block), which repeat a channel's whole text, and which
  event ends a channel. Each event's channel text is appended to a buffer, the safe
  prefix is scanned, rendered and re-wrapped in the event's JSON, and the rest waits
  for the next event. Half a token or a prefix of a value that is later masked never
  leaves; a repeat carries exactly what the caller got in the deltas.

The names below are importable from ``redact_gw.streaming`` itself too.
"""

from __future__ import annotations

from redact_gw.streaming.dialect import PROTOCOL, WHOLE, Channel, Copy, Kind, StreamDialect
from redact_gw.streaming.guard import (
    SCAN_OVERLAP,
    SCAN_WINDOW,
    AnswerGuard,
    Piece,
    RenderHook,
    answer_record_id,
    guard_document,
    merge_spans,
    window_starts,
)
from redact_gw.streaming.holdback import SPOKEN_NUMBER_WORDS, hold_start
from redact_gw.streaming.rewriter import SseRewriter, StreamLimits
from redact_gw.streaming.sse import SseDecoder, SseEvent
from redact_gw.streaming.views import View, decode_view

__all__ = [
    "PROTOCOL", "SCAN_OVERLAP", "SCAN_WINDOW", "SPOKEN_NUMBER_WORDS", "WHOLE",
    "AnswerGuard", "Channel", "Copy", "Kind", "Piece", "RenderHook", "SseDecoder",
    "SseEvent", "SseRewriter", "StreamDialect", "StreamLimits", "View",
    "answer_record_id", "decode_view", "guard_document", "hold_start", "merge_spans",
    "window_starts",
]
