"""Answer handling: restore the caller's tokens, tokenize what the caller did not send.

Three layers, top-down:

* ``decode_view`` and ``hold_start``: pure functions. A *view* decodes percent-,
  ``\\uXXXX``- and HTML-encoded characters so detection sees ``john%40x.com`` as an
  email, and maps every view offset back to the raw text. ``hold_start`` says how much
  of a streamed text must be held back: a possibly unfinished token, the trailing
  partial word, and the run of number-like or capitalized words before it.
* ``AnswerGuard``: one per response. ``detect`` finds personal data in answer texts
  (through their views, one detector call per batch); ``render`` replaces new finds by
  tokens (one vault transaction per batch; those tokens are never restored) and
  restores the caller's own tokens as far as the restore policy allows.
* ``SseRewriter``: incremental restore for OpenAI-style SSE streams. Text under
  ``choices[*].delta`` is a per-choice (and per tool call) channel; each event's
  channel text is appended to a buffer, the safe prefix is scanned, rendered and
  re-wrapped in the event's JSON, and the rest waits for the next event. Half a token
  or a prefix of a value that is later masked never leaves.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from redact_gw.engine import Redactor
from redact_gw.errors import NotFound, VaultUnavailable, fail_closed
from redact_gw.jsonpaths import Path, Selector, any_match, walk_strings
from redact_gw.model import KnownValue, PendingValue, Revealed, Segment, Span
from redact_gw.redaction import normalize, restore
from redact_gw.tokens import TOKEN_RE, find_tokens, token_prefix_start

# -- encoded views ------------------------------------------------------------------------
_ESCAPES = re.compile(
    r"(?P<pct>(?:%[0-9A-Fa-f]{2})+)|\\u(?P<u>[0-9A-Fa-f]{4})"
    r"|(?P<ent>&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});)")


@dataclass(frozen=True, slots=True)
class View:
    """Decoded text plus, per decoded character, its raw ``[start, end)``."""

    text: str = field(repr=False)
    starts: list[int] | None = field(default=None, repr=False)
    ends: list[int] | None = field(default=None, repr=False)

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Raw offsets covering view characters ``[start, end)``."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def _decode_escape(m: re.Match[str]) -> str | None:
    if m.group("pct"):
        try:
            return unquote_to_bytes(m.group("pct")).decode("utf-8")
        except UnicodeDecodeError:
            return None
    if m.group("u"):
        ch = chr(int(m.group("u"), 16))
        return None if 0xD800 <= ord(ch) <= 0xDFFF else ch
    decoded = html.unescape(m.group("ent"))
    return None if decoded == m.group("ent") else decoded


def decode_view(raw: str) -> View:
    """Decode percent-, ``\\uXXXX``- and HTML-encoded characters, keeping an offset map."""
    if not _ESCAPES.search(raw):
        return View(raw)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    cursor = 0
    for m in _ESCAPES.finditer(raw):
        decoded = _decode_escape(m)
        if decoded is None:
            continue
        for i in range(cursor, m.start()):
            out.append(raw[i])
            starts.append(i)
            ends.append(i + 1)
        out.append(decoded)
        starts.extend([m.start()] * len(decoded))
        ends.extend([m.end()] * len(decoded))
        cursor = m.end()
    for i in range(cursor, len(raw)):
        out.append(raw[i])
        starts.append(i)
        ends.append(i + 1)
    return View("".join(out), starts, ends)


# -- hold-back ----------------------------------------------------------------------------
_LAST_WORD = re.compile(r"\S*\Z")
_PREV_WORD = re.compile(r"(\S+)\s+\Z")
_MAX_CHAIN_WORDS = 8
_LOOKBACK = 200


def _continuable(word: str) -> bool:
    """A word a value may go on after: number-like or capitalized, not sentence-final."""
    if word[-1] in ",;!?." or TOKEN_RE.fullmatch(word):
        return False
    return any(c.isdigit() for c in word) or word[0].isupper() or "@" in word


def _value_start(text: str) -> int:
    """Start of the trailing partial word and the continuable words chained before it."""
    start = _LAST_WORD.search(text).start()  # type: ignore[union-attr]
    for _ in range(_MAX_CHAIN_WORDS):
        window_start = max(0, start - _LOOKBACK)
        m = _PREV_WORD.search(text, window_start, start)
        if m is None or not _continuable(m.group(1)):
            break
        start = m.start(1)
    return start


def hold_start(text: str, max_hold: int) -> int:
    """Offset from which ``text`` must be held back while more may follow.

    Held back: a tail that may still grow into a token, the trailing partial word
    (anything without whitespace: an email, a URL, a percent-encoded value) and the
    number-like or capitalized words right before it (a phone number, card or IBAN
    in groups, a name, an address). At most ``max_hold`` characters are held, and a
    complete token is never cut.
    """
    cut = min(token_prefix_start(text), _value_start(text))
    floor = len(text) - max_hold
    if cut >= floor:
        return cut
    for tok in find_tokens(text[max(0, floor - 64):floor + 64]):
        base = max(0, floor - 64)
        if base + tok.start < floor < base + tok.end:
            return base + tok.start
    return floor


# -- the guard ----------------------------------------------------------------------------
def answer_record_id(record_id: str) -> str:
    """Where values found in answers (never sent by the caller) are sealed.

    A sibling of the caller's record: its tokens are never restored, in this answer
    or later ones, because restore only opens tokens of the caller's own record.
    ``~`` is not allowed in caller record ids, so it cannot collide.
    """
    return f"{record_id}~answers"


@dataclass(frozen=True, slots=True)
class Piece:
    """An answer text with the spans found in it, and whether tokens may be restored."""

    text: str = field(repr=False)
    spans: Sequence[Span] = ()
    restore: bool = True


class AnswerGuard:
    """Per-response answer processing for one caller and record.

    Args:
        redactor: Detection and vault access.
        tenant: The caller's tenant.
        record_id: The caller's record.
        subject_id: Subject of the record, for values sealed from answers.
        allows: Whether the caller may get originals of an entity type back.
        scan: Whether answers are scanned for personal data at all.
        no_retention: The subject opted out of retention: values found in answers
            get fresh tokens and nothing reversible is stored.
        restorable: Tokens this request's values were tokenized to.
        caller: The calling principal's name. Besides ``restorable``, only tokens of
            values this principal itself sent (in any request) are restored: a token
            it merely passes along (it could have it from anywhere) stays a token, or
            proxying would be a reveal without purpose, role or audit.
        known: The record's values as the request's redaction left them (detection
            context for recurrences); loaded from the vault when ``None``.
    """

    def __init__(self, redactor: Redactor, tenant: str, record_id: str,
                 subject_id: str | None, allows: Callable[[str], bool], *,
                 scan: bool = True, no_retention: bool = False,
                 restorable: Collection[str] = frozenset(), caller: str | None = None,
                 known: Sequence[KnownValue] | None = None) -> None:
        self.redactor = redactor
        self.tenant = tenant
        self.record_id = record_id
        self.subject_id = subject_id
        self.allows = allows
        self.scan = scan
        self.no_retention = no_retention
        self.restorable = frozenset(restorable)
        self.caller = caller
        self._missing: set[str] = set()
        self.found: dict[str, int] = {}
        #: Values put back into the answer so far, by entity type.
        self.restored: dict[str, int] = {}
        self._known: list[KnownValue] = list(known or [])
        self._load_known = known is None
        self._known_keys: set[tuple[str, str]] = set()
        self._revealed: dict[str, Revealed] = {}

    async def start(self) -> None:
        """Open the restorable values; load the record's values as detection context."""
        with fail_closed(VaultUnavailable, "vault read"):
            if self.restorable:
                try:
                    self._revealed = await self.redactor.vault.reveal(
                        self.tenant, self.record_id, sorted(self.restorable))
                except NotFound:
                    self._revealed = {}
            if self.scan and self._load_known:
                self._known = await self.redactor.vault.known_values(self.tenant,
                                                                     self.record_id)
        self._known_keys = {(v.entity_type, normalize(v.entity_type, v.value))
                            for v in self._revealed.values()}

    async def detect(self, texts: Sequence[str]) -> list[list[Span]]:
        """Spans of personal data in each text, in raw offsets (one detector call)."""
        if not self.scan or not any(texts):
            return [[] for _ in texts]
        views = [decode_view(t) for t in texts]
        found = await self.redactor.detect([Segment(v.text) for v in views], self._known)
        out = []
        for view, spans in zip(views, found, strict=True):
            out.append([_raw_span(view, s) for s in spans])
        return out

    async def render(self, pieces: Sequence[Piece]) -> list[str]:
        """Tokenize new finds, keep or tokenize the caller's values, restore tokens."""
        plans = [self._plan(p) for p in pieces]
        pending = [pv for plan in plans for _, _, pv in plan if pv is not None]
        tokens = await self._tokenize(pending)
        texts = [_apply(p.text, plan, tokens) for p, plan in zip(pieces, plans, strict=True)]
        await self._reveal([t for t, p in zip(texts, pieces, strict=True) if p.restore])
        return [self._restore(t) if p.restore else t
                for t, p in zip(texts, pieces, strict=True)]

    def _plan(self, piece: Piece) -> list[tuple[Span, str, PendingValue | None]]:
        """Per span: its decoded value and the pending vault value (None: keep raw)."""
        plan: list[tuple[Span, str, PendingValue | None]] = []
        for s in piece.spans:
            value = decode_view(piece.text[s.start:s.end]).text
            key = normalize(s.entity_type, value, s.normalized)
            if (s.entity_type, key) in self._known_keys and self.allows(s.entity_type):
                plan.append((s, value, None))
            else:
                plan.append((s, value, PendingValue(s.entity_type, key, value)))
                self.found[s.entity_type] = self.found.get(s.entity_type, 0) + 1
        return plan

    async def _tokenize(self, pending: list[PendingValue]) -> dict[tuple[str, str], str]:
        if not pending:
            return {}
        with fail_closed(VaultUnavailable, "vault write"):
            return await self.redactor.vault.tokenize(
                self.tenant, answer_record_id(self.record_id), self.subject_id, pending,
                no_retention=self.no_retention)

    async def _reveal(self, texts: Sequence[str]) -> None:
        """Open further tokens of the record that this caller itself sent earlier."""
        if self.caller is None:
            return
        wanted = {m.group(0) for t in texts for m in TOKEN_RE.finditer(t)}
        new = sorted(wanted - self._revealed.keys() - self._missing)
        if not new:
            return
        with fail_closed(VaultUnavailable, "vault read"):
            try:
                values = await self.redactor.vault.reveal(self.tenant, self.record_id, new)
            except NotFound:
                values = {}
        mine = {t: v for t, v in values.items() if v.sent_by == self.caller}
        self._revealed.update(mine)
        self._missing.update(t for t in new if t not in mine)

    def _restore(self, text: str) -> str:
        result = restore(text, self._revealed,
                         lambda t: "full" if self.allows(t) else "none")
        for entity_type, n in result.revealed.items():
            self.restored[entity_type] = self.restored.get(entity_type, 0) + n
        return result.text


def _raw_span(view: View, s: Span) -> Span:
    start, end = view.raw_span(s.start, s.end)
    return Span(start, end, s.entity_type, s.score, s.recognizer, s.normalized,
                s.explanation)


def _apply(text: str, plan: list[tuple[Span, str, PendingValue | None]],
           tokens: dict[tuple[str, str], str]) -> str:
    out: list[str] = []
    cursor = 0
    for span, _value, pv in plan:
        out.append(text[cursor:span.start])
        out.append(text[span.start:span.end] if pv is None
                   else tokens[(pv.entity_type, pv.key)])
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)


async def guard_document(guard: AnswerGuard, doc: Any, *, skip: Sequence[Selector] = (),
                         restore_only: Sequence[Selector] | None = None) -> Any:
    """Scan and restore every string of a JSON answer in place (one batch); returns it.

    Args:
        guard: The response's guard.
        doc: Parsed JSON answer (modified in place; a bare string is returned anew).
        skip: Protocol fields left untouched (ids, model names, enums).
        restore_only: Restore tokens only under these selectors (``None``: everywhere).
    """
    items = [(p, s) for p, s in walk_strings(doc) if not any_match(skip, p)]
    spans = await guard.detect([s for _, s in items])
    pieces = [Piece(s, sp, restore_only is None or any_match(restore_only, p))
              for (p, s), sp in zip(items, spans, strict=True)]
    rendered = await guard.render(pieces)
    if isinstance(doc, str):
        return rendered[0] if rendered else doc
    for (path, _), text in zip(items, rendered, strict=True):
        _set(doc, path, text)
    return doc


def _set(doc: Any, path: Path, value: Any) -> None:
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


# -- SSE ----------------------------------------------------------------------------------
@dataclass(slots=True)
class SseEvent:
    """One server-sent event: its non-data field lines and its joined data."""

    fields: list[str] = field(default_factory=list)
    data: str | None = field(default=None, repr=False)

    def encode(self) -> bytes:
        """Wire form, ending with the blank line."""
        lines = list(self.fields)
        if self.data is not None:
            lines += ["data: " + line for line in self.data.split("\n")]
        return ("\n".join(lines) + "\n\n").encode("utf-8")


class SseDecoder:
    """Turns lines of an SSE body into events (``feed`` one line at a time)."""

    def __init__(self) -> None:
        self._event = SseEvent()
        self._data: list[str] = []

    def feed(self, line: str) -> SseEvent | None:
        """Consume one line (with or without its line ending); return a finished event."""
        line = line.rstrip("\r\n")
        if line:
            if line.startswith("data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(" ") else value)
            else:
                self._event.fields.append(line)
            return None
        return self.flush()

    def flush(self) -> SseEvent | None:
        """The event under construction, if it has anything."""
        if not self._data and not self._event.fields:
            return None
        event = self._event
        event.data = "\n".join(self._data) if self._data else None
        self._event, self._data = SseEvent(), []
        return event


#: Protocol strings of chat completion chunks: passed on untouched.
_CHUNK_TOP = frozenset({"id", "object", "model", "system_fingerprint", "service_tier"})
_DELTA_PROTOCOL = frozenset({"role", "id", "type", "name"})


@dataclass(slots=True)
class _Channel:
    path: Path
    pending: str = ""
    context: str = ""


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
    """Rewrites an OpenAI chat-completion SSE stream, event by event.

    ``feed(event)`` returns the events to send now (zero or one); ``finish()`` returns
    whatever is still held back, as one last chunk, when the stream ends. ``[DONE]``
    flushes first, so the terminator stays last.
    """

    def __init__(self, guard: AnswerGuard, limits: StreamLimits = StreamLimits()) -> None:
        self.guard = guard
        self.limits = limits
        self._channels: dict[Path, _Channel] = {}
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
        out = await self._rewrite(chunk)
        if out is None:
            return []
        return [SseEvent(event.fields, json.dumps(out, ensure_ascii=False))]

    async def finish(self) -> list[SseEvent]:
        """Flush every channel into one last chunk (none when nothing is held)."""
        channels = [c for c in self._channels.values() if c.pending]
        if not channels:
            return []
        chunk = self._blank_chunk()
        await self._emit(chunk, channels, final=set(map(id, channels)), whole=[])
        return [SseEvent([], json.dumps(chunk, ensure_ascii=False))]

    def flush_in(self) -> float | None:
        """Seconds until text held back for batching must go out (``None``: none held)."""
        if not self._batched:
            return None
        return max(0.0, self._last_emit + self.limits.max_delay_s - time.monotonic())

    async def tick(self) -> list[SseEvent]:
        """Send text held back for batching once ``flush_in`` has run out (upstream
        went quiet): a stalled upstream never keeps ready words from the client."""
        channels = [c for c in self._channels.values() if c.pending]
        self._batched = False
        if not channels:
            return []
        chunk = self._blank_chunk()
        await self._emit(chunk, channels, final=set(), whole=[], force=True)
        if not _has_signal(chunk):
            return []
        return [SseEvent([], json.dumps(chunk, ensure_ascii=False))]

    def _blank_chunk(self) -> dict[str, Any]:
        base = self._template or {"object": "chat.completion.chunk"}
        return {**{k: v for k, v in base.items() if k in _CHUNK_TOP or k == "created"},
                "choices": []}

    async def _rewrite(self, chunk: dict[str, Any]) -> dict[str, Any] | None:
        self._template = chunk
        if self.guard.scan:
            self._drop_logprobs(chunk)
        had_signal = _has_signal(chunk)
        touched, whole = self._take_pieces(chunk)
        finishing = _finishing_choices(chunk)
        for key in [k for k in self._channels if k[1] in finishing]:
            touched.setdefault(key, self._channels[key])
        final = {id(c) for c in touched.values() if c.path[1] in finishing}
        await self._emit(chunk, list(touched.values()), final, whole)
        if had_signal and not _has_signal(chunk):
            return None
        return chunk

    def _drop_logprobs(self, chunk: dict[str, Any]) -> None:
        """Logprob tokens repeat the text in fragments no scan can follow: drop them."""
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict) and choice.get("logprobs") is not None:
                choice["logprobs"] = None

    def _take_pieces(self, chunk: dict[str, Any]
                     ) -> tuple[dict[Path, _Channel], list[tuple[Path, str]]]:
        """Move channel text into buffers (leaving ""), collect other scannable strings."""
        touched: dict[Path, _Channel] = {}
        whole: list[tuple[Path, str]] = []
        for path, text in list(walk_strings(chunk)):
            kind = _classify(path)
            if kind == "protocol":
                continue
            if kind == "whole":
                whole.append((path, text))
                continue
            key = _channel_key(chunk, path)
            channel = self._channels.setdefault(key, _Channel(key))
            channel.pending += text
            touched[key] = channel
            _set(chunk, path, "")
        return touched, whole

    async def _emit(self, chunk: dict[str, Any], channels: list[_Channel], final: set[int],
                    whole: list[tuple[Path, str]], *, force: bool = False) -> None:
        cuts = [len(c.pending) if id(c) in final
                else hold_start(c.pending, self.limits.max_hold) for c in channels]
        live = [(c, cut) for c, cut in zip(channels, cuts, strict=True) if cut > 0]
        if not live and not whole:
            return
        if (not force and not whole and not final and sum(cuts) < self.limits.min_emit_chars
                and time.monotonic() - self._last_emit < self.limits.max_delay_s):
            self._batched = True  # wait for a few more words: one detection for them all
            return
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
        for (c, _), piece, text in zip(live, pieces, rendered, strict=False):
            c.context = (c.context + piece.text)[-self.limits.context_chars:]
            c.pending = c.pending[len(piece.text):]
            if text:
                _put(chunk, c.path, text)
        for (path, _), text in zip(whole, rendered[len(live):], strict=True):
            _set(chunk, path, text)


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
    return Piece(c.pending[:cut], inside), cut


def _classify(path: Path) -> str:
    """``protocol`` (untouched), ``channel`` (streamed text) or ``whole`` (scan as is)."""
    if len(path) == 1 and path[0] in _CHUNK_TOP:
        return "protocol"
    if len(path) >= 3 and path[0] == "choices" and path[2] == "finish_reason":
        return "protocol"
    if len(path) >= 4 and path[0] == "choices" and path[2] == "delta":
        leaf = path[-1]
        if leaf in _DELTA_PROTOCOL and not (leaf == "name" and "function" not in path):
            return "protocol"
        return "channel"
    return "whole"


def _channel_key(chunk: dict[str, Any], path: Path) -> Path:
    """The path with list positions replaced by the elements' ``index`` fields."""
    key: list[Any] = []
    node: Any = chunk
    for part in path:
        child = node[part]
        if isinstance(part, int) and isinstance(child, dict) and isinstance(
                child.get("index"), int):
            key.append(child["index"])
        else:
            key.append(part)
        node = child
    return tuple(key)


def _put(chunk: dict[str, Any], key: Path, text: str) -> None:
    """Set channel text in ``chunk``, creating the choice / tool call entry if absent."""
    node: Any = chunk
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


def _indexed(items: list[Any], index: int) -> dict[str, Any]:
    for item in items:
        if isinstance(item, dict) and item.get("index") == index:
            return item
    entry: dict[str, Any] = {"index": index}
    items.append(entry)
    return entry


def _finishing_choices(chunk: dict[str, Any]) -> set[Any]:
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        return set()
    return {c.get("index") for c in choices if isinstance(c, dict) and c.get("finish_reason")}


def _has_signal(chunk: dict[str, Any]) -> bool:
    """Whether a chunk carries anything beyond protocol fields and empty text."""
    return any(_signal(v) for k, v in chunk.items() if k not in _CHUNK_TOP and k != "created")


def _signal(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_signal(v) for k, v in value.items() if k != "index")
    if isinstance(value, list):
        return any(_signal(v) for v in value)
    return value not in (None, "")
