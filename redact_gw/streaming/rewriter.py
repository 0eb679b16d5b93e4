"""``SseRewriter``: incremental restore for SSE streams of any API.

A ``StreamDialect`` (``dialect.py``, ``proxy/dialects/``) says which strings of an event
are streamed text of which *channel* (a choice's content, a tool call's arguments, a
content block), which repeat a channel's whole text, and which event ends a channel.
Each event's channel text is appended to a buffer, the safe prefix (``holdback.py``)
is scanned, rendered (``guard.py``) and re-wrapped in the event's JSON, and the rest
waits for the next event. Half a token or a prefix of a value that is later masked
never leaves; a repeat carries exactly what the caller got in the deltas.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redact_gw.jsonpaths import Path, get_at, set_at, walk_strings
from redact_gw.model import Span
from redact_gw.streaming.dialect import PROTOCOL, Channel, Copy, StreamDialect
from redact_gw.streaming.guard import AnswerGuard, Piece, guard_document
from redact_gw.streaming.holdback import hold_start
from redact_gw.streaming.sse import SseEvent


@dataclass(slots=True)
class _Channel:
    key: tuple[Any, ...]
    pending: str = ""
    context: str = ""
    #: Everything the caller got of this channel (what ``Copy`` strings become).
    emitted: str = ""
    #: The last event that carried this channel: its fields, itself, the text's path.
    template: tuple[list[str], dict[str, Any], Path] | None = None


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """How much text may be held back and how much context detection sees.

    ``min_emit_chars`` batches detection: while less than that much text is ready to
    go out and no choice is finishing, the text waits for more (at most
    ``max_delay_s`` since the last emission, checked as events arrive). One detector
    call then covers several words instead of one.
    """

    max_hold: int = 256
    context_chars: int = 160
    min_emit_chars: int = 0
    max_delay_s: float = 0.25


class SseRewriter:
    """Rewrites an SSE answer stream event by event, for any ``StreamDialect``.

    ``feed(event)`` returns the events to send now (the event itself, none when all
    its text is held back, and before it any events made to flush channels it ends);
    ``finish()`` returns whatever is still held back when the stream ends. ``[DONE]``
    flushes first, so the terminator stays last. Without a dialect: OpenAI chat.
    """

    def __init__(self, guard: AnswerGuard, limits: StreamLimits = StreamLimits(),
                 dialect: StreamDialect | None = None) -> None:
        if dialect is None:  # the original dialect, for callers written before the seam
            from redact_gw.proxy.dialects.openai_chat import ChatStream
            dialect = ChatStream()
        self.guard = guard
        self.limits = limits
        self.dialect = dialect
        self._channels: dict[tuple[Any, ...], _Channel] = {}
        self._template: dict[str, Any] | None = None
        self._last_emit = time.monotonic()
        self._batched = False

    async def feed(self, event: SseEvent) -> list[SseEvent]:
        """Process one upstream event."""
        if event.data is None:
            return [event]
        if event.data.strip() == "[DONE]":
            return [*await self.finish(), event]
        try:
            chunk = json.loads(event.data)
        except json.JSONDecodeError:
            text = await guard_document(self.guard, event.data)
            return [SseEvent(event.fields, text)]
        if not isinstance(chunk, dict):
            return [SseEvent(event.fields, json.dumps(await guard_document(self.guard, chunk)))]
        return await self._rewrite(event.fields, chunk)

    async def finish(self) -> list[SseEvent]:
        """Flush every channel (none when nothing is held)."""
        return await self._flush(final=True)

    def flush_in(self) -> float | None:
        """Seconds until text held back for batching must go out (``None``: none held)."""
        if not self._batched:
            return None
        return max(0.0, self._last_emit + self.limits.max_delay_s - time.monotonic())

    async def tick(self) -> list[SseEvent]:
        """Send text held back for batching once ``flush_in`` has run out (upstream
        went quiet): a stalled upstream never keeps ready words from the client."""
        self._batched = False
        return await self._flush(final=False)

    async def _flush(self, final: bool) -> list[SseEvent]:
        channels = [c for c in self._channels.values() if c.pending]
        if not channels:
            return []
        doc = self.dialect.blank(self._template)
        done = set(map(id, channels)) if final else set()
        before = await self._emit(doc, {}, channels, done, [], force=not final)
        if doc is not None and not self.dialect.empty(doc):
            before.append(SseEvent([], json.dumps(doc, ensure_ascii=False)))
        return before

    async def _rewrite(self, fields: list[str], chunk: dict[str, Any]) -> list[SseEvent]:
        self._template = chunk
        self.dialect.prepare(chunk, self.guard.scan)
        placed, whole, copies = self._take_pieces(fields, chunk)
        had_text = any(text for _, text in placed.values())
        ending = {key for _, key in copies}
        ending |= {k for k in self._channels if self.dialect.finishing(chunk, k)}
        touched = {id(c): c for c, _ in placed.values()}
        for key in ending:
            touched.setdefault(id(self._channels[key]), self._channels[key])
        final = {id(self._channels[k]) for k in ending}
        paths = {id(c): p for p, (c, _) in placed.items()}
        before = await self._emit(chunk, paths, list(touched.values()), final, whole)
        for path, key in copies:
            set_at(chunk, path, self._channels[key].emitted)
        out = [*before]
        if not (had_text and all(get_at(chunk, p) == "" for p in placed)
                and self.dialect.empty(chunk)):
            out.append(SseEvent(fields, json.dumps(chunk, ensure_ascii=False)))
        return out

    def _take_pieces(self, fields: list[str], chunk: dict[str, Any]
                     ) -> tuple[dict[Path, tuple[_Channel, str]], list[tuple[Path, str]],
                                list[tuple[Path, tuple[Any, ...]]]]:
        """Move channel text into buffers (leaving ""), collect the strings scanned as
        they are and the copies of channels."""
        placed: dict[Path, tuple[_Channel, str]] = {}
        whole: list[tuple[Path, str]] = []
        copies: list[tuple[Path, tuple[Any, ...]]] = []
        for path, text in list(walk_strings(chunk)):
            kind = self.dialect.classify(chunk, path)
            if kind == PROTOCOL:
                continue
            if isinstance(kind, Copy) and kind.key in self._channels:
                copies.append((path, kind.key))
            elif isinstance(kind, Channel):
                channel = self._channels.setdefault(kind.key, _Channel(kind.key))
                channel.pending += text
                placed[path] = (channel, text)
                set_at(chunk, path, "")
            else:
                whole.append((path, text))
        for path, (channel, _) in placed.items():
            channel.template = (fields, chunk, path)
        return placed, whole, copies

    async def _emit(self, chunk: dict[str, Any] | None, paths: dict[int, Path],
                    channels: list[_Channel], final: set[int],
                    whole: list[tuple[Path, str]], *, force: bool = False
                    ) -> list[SseEvent]:
        """Scan and render what may go out; place it in ``chunk`` (at the channel's own
        path, or where the dialect puts it) or in new events, returned to go first."""
        cuts = [len(c.pending) if id(c) in final
                else hold_start(c.pending, self.limits.max_hold) for c in channels]
        live = [(c, cut) for c, cut in zip(channels, cuts, strict=True) if cut > 0]
        if not live and not whole:
            return []
        if (not force and not whole and not final and sum(cuts) < self.limits.min_emit_chars
                and time.monotonic() - self._last_emit < self.limits.max_delay_s):
            self._batched = True  # wait for a few more words: one detection for them all
            return []
        self._last_emit = time.monotonic()
        self._batched = False
        scan_texts = [c.context + c.pending for c, _ in live] + [t for _, t in whole]
        spans = await self.guard.detect(scan_texts)
        pieces: list[Piece] = []
        for (c, cut), found in zip(live, spans, strict=False):
            piece, cut = _safe_piece(c, cut, found)
            pieces.append(piece)
        pieces += [Piece(t, sp) for (_, t), sp in zip(whole, spans[len(live):], strict=True)]
        rendered = await self.guard.render(pieces)
        before: list[SseEvent] = []
        for (c, _), piece, text in zip(live, pieces, rendered, strict=False):
            c.context = (c.context + piece.text)[-self.limits.context_chars:]
            c.pending = c.pending[len(piece.text):]
            c.emitted += text
            if not text:
                continue
            if chunk is not None and id(c) in paths:
                set_at(chunk, paths[id(c)], text)
            elif chunk is None or not self.dialect.put(chunk, c.key, text):
                before += self._carrier(c, text)
        for (path, _), text in zip(whole, rendered[len(live):], strict=True):
            set_at(chunk, path, text)
        return before

    def _carrier(self, c: _Channel, text: str) -> list[SseEvent]:
        """A copy of the channel's last event carrying only ``text`` (other text blanked)."""
        if c.template is None:
            return []
        fields, template, path = c.template
        doc: dict[str, Any] = json.loads(json.dumps(template))
        for p, _ in list(walk_strings(doc)):
            if self.dialect.classify(doc, p) != PROTOCOL:
                set_at(doc, p, "")
        set_at(doc, path, text)
        return [SseEvent(list(fields), json.dumps(doc, ensure_ascii=False))]


def _safe_piece(c: _Channel, cut: int, spans: Sequence[Span]) -> tuple[Piece, int]:
    """The emittable prefix of a channel; a value crossing the cut is held whole."""
    offset = len(c.context)
    inside: list[Span] = []
    for s in spans:
        start, end = s.start - offset, s.end - offset
        if end <= 0:
            continue
        if start < cut < end:
            cut = max(start, 0)
    for s in spans:
        start, end = max(s.start - offset, 0), s.end - offset
        if 0 < end <= cut:
            inside.append(Span(start, end, s.entity_type, s.score, s.recognizer,
                               s.normalized, s.explanation))
    return Piece(c.pending[:cut], inside, key=c.key), cut
