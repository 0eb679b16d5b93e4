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
* ``SseRewriter``: incremental restore for SSE streams of any API. A
  ``StreamDialect`` (``proxy/dialects/``) says which strings of an event are streamed
  text of which *channel* (a choice's content, a tool call's arguments, a content
  block), which repeat a channel's whole text, and which event ends a channel. Each
  event's channel text is appended to a buffer, the safe prefix is scanned, rendered
  and re-wrapped in the event's JSON, and the rest waits for the next event. Half a
  token or a prefix of a value that is later masked never leaves; a repeat carries
  exactly what the caller got in the deltas.
"""

from __future__ import annotations

import html
import json
import logging
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote_to_bytes

from redact_gw.answer_shapes import shape_spans
from redact_gw.detection.lexicon import REPEATERS, SCALES, SPOKEN_SEPARATORS, TEENS, TENS, UNITS
from redact_gw.detection.scoped import override_var
from redact_gw.engine import Redactor
from redact_gw.errors import NotFound, VaultUnavailable, fail_closed
from redact_gw.jsonpaths import Path, Selector, any_match, get_at, set_at, walk_strings
from redact_gw.model import KnownValue, PendingValue, Principal, Revealed, Segment, Span
from redact_gw.redaction import normalize, restore
from redact_gw.tokens import TOKEN_RE, find_tokens, token_prefix_start

log = logging.getLogger(__name__)

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
#: Spoken digits chain further: a card read aloud is 16 words or more.
_MAX_SPOKEN_WORDS = 48
_LOOKBACK = 200
#: Words people read numbers aloud with ("four one five", "double five", "dash").
SPOKEN_NUMBER_WORDS = frozenset({*UNITS, *TEENS, *TENS, *REPEATERS, *SCALES,
                                 *SPOKEN_SEPARATORS})


def _continuable(word: str) -> bool:
    """A word a value may go on after: number-like or capitalized, not sentence-final."""
    if word[-1] in ",;!?." or TOKEN_RE.fullmatch(word):
        return False
    return (any(c.isdigit() for c in word) or word[0].isupper() or "@" in word
            or _spoken(word))


def _spoken(word: str) -> bool:
    return word.lower().strip(",-") in SPOKEN_NUMBER_WORDS


def _value_start(text: str) -> int:
    """Start of the trailing partial word and the continuable words chained before it
    (up to ``_MAX_CHAIN_WORDS``, or ``_MAX_SPOKEN_WORDS`` of spoken digits)."""
    start = _LAST_WORD.search(text).start()  # type: ignore[union-attr]
    words = 0
    while words < _MAX_SPOKEN_WORDS:
        window_start = max(0, start - _LOOKBACK)
        m = _PREV_WORD.search(text, window_start, start)
        if m is None or not _continuable(m.group(1)):
            break
        words += 1
        if words > _MAX_CHAIN_WORDS and not _spoken(m.group(1)):
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
    #: Which answer text the piece continues (a stream channel, a JSON path); ``None``
    #: is a text of its own. Only the review copy's hook (``AnswerGuard.on_render``)
    #: reads it.
    key: Any = None


#: ``AnswerGuard.on_render``: per piece rendered, its key, its text with every value
#: found as a token (the caller's own values too: nothing restored), and per value
#: (token, span, whether the scan sealed it as new in the ``~answers`` sibling).
RenderHook = Callable[[Sequence[tuple[Any, str, list[tuple[str, Span, bool]]]]], None]


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
            context for recurrences); loaded from the vault when ``None`` (then only
            the caller's own values: never another principal's).
        originals: Token -> this request's own original: what ``restorable`` tokens
            restore to, so the answer gets the caller's spelling back, never the one
            another principal stored first; opened from the vault when ``None``.
    """

    def __init__(self, redactor: Redactor, tenant: str, record_id: str,
                 subject_id: str | None, allows: Callable[[str], bool], *,
                 scan: bool = True, no_retention: bool = False,
                 restorable: Collection[str] = frozenset(), caller: str | None = None,
                 known: Sequence[KnownValue] | None = None,
                 originals: Mapping[str, Revealed] | None = None) -> None:
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
        self._originals = originals
        #: Set by the review queue to keep the tokenized answer (``review/answer.py``).
        self.on_render: RenderHook | None = None

    async def start(self) -> None:
        """Open the restorable values; load the record's values as detection context."""
        with fail_closed(VaultUnavailable, "vault read"):
            if self._originals is not None:
                self._revealed = {t: self._originals[t] for t in self.restorable
                                  if t in self._originals}
            elif self.restorable:
                try:
                    self._revealed = await self.redactor.vault.reveal(
                        self.tenant, self.record_id, sorted(self.restorable))
                except NotFound:
                    self._revealed = {}
            if self.scan and self._load_known:
                self._known = await self.redactor.vault.known_values(
                    self.tenant, self.record_id,
                    self.redactor.share.senders(_caller(self.tenant, self.caller)))
        self._known_keys = {(v.entity_type, normalize(v.entity_type, v.value))
                            for v in self._revealed.values()}

    async def detect(self, texts: Sequence[str]) -> list[list[Span]]:
        """Spans of personal data in each text, in raw offsets (one detector call).

        A text longer than ``SCAN_WINDOW`` is scanned as overlapping windows (spaCy
        refuses texts over a million characters); their spans are merged, with every
        identifier-shaped number (``answer_shapes``) whatever its context."""
        if not self.scan or not any(texts):
            return [[] for _ in texts]
        views = [decode_view(t) for t in texts]
        windows = [(i, start, v.text[start:start + SCAN_WINDOW])
                   for i, v in enumerate(views) for start in window_starts(v.text)]
        scope = getattr(self.redactor, "scope", None)  # the route's or tenant's override
        ctx = override_var.set(scope(self.tenant) if scope is not None else None)
        try:
            found = await self.redactor.detect([Segment(w) for _, _, w in windows],
                                               self._known)
        finally:
            override_var.reset(ctx)
        per_text: list[list[Span]] = [[] for _ in texts]
        for (i, start, _), spans in zip(windows, found, strict=True):
            per_text[i].extend(_shift(s, start) for s in spans)
        adjust = getattr(self.redactor, "adjust", None)  # test stubs may have none
        if adjust is not None:  # the tenant's allow/deny lists approved from reviews
            per_text = adjust(self.tenant, [v.text for v in views], per_text)
        return [[_raw_span(view, s) for s in merge_spans([*spans, *shape_spans(view.text)])]
                for view, spans in zip(views, per_text, strict=True)]

    async def render(self, pieces: Sequence[Piece]) -> list[str]:
        """Tokenize new finds, keep or tokenize the caller's values, restore tokens."""
        plans = [self._plan(p) for p in pieces]
        pending = [pv for plan in plans for _, _, pv in plan if pv is not None]
        tokens = await self._tokenize(pending)
        texts = [_apply(p.text, plan, tokens) for p, plan in zip(pieces, plans, strict=True)]
        if self.on_render is not None:
            try:
                self.on_render(self._tokenized(pieces, plans, tokens))
            except Exception as exc:  # the review copy never fails the answer: none kept
                log.warning("review copy of the answer dropped (%s)", type(exc).__name__)
                self.on_render = None
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

    def _tokenized(self, pieces: Sequence[Piece],
                   plans: Sequence[list[tuple[Span, str, PendingValue | None]]],
                   tokens: dict[tuple[str, str], str]
                   ) -> list[tuple[Any, str, list[tuple[str, Span, bool]]]]:
        """Each piece as the review copy keeps it: every value a token, none restored."""
        mine = {(r.entity_type, normalize(r.entity_type, r.value)): t
                for t, r in self._revealed.items()}
        out = []
        for piece, plan in zip(pieces, plans, strict=True):
            found: list[tuple[str, Span, bool]] = []
            full: list[tuple[Span, str, PendingValue | None]] = []
            for span, value, pv in plan:
                key = (span.entity_type, normalize(span.entity_type, value, span.normalized))
                token = tokens[key] if pv is not None else mine[key]
                found.append((token, span, pv is not None))
                full.append((span, value, PendingValue(*key, value)))
            out.append((piece.key, _apply(piece.text, full, {**mine, **tokens}), found))
        return out

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


#: Characters of answer text given to the detector at once, and how far consecutive
#: windows overlap (a value shorter than that is whole in one of them).
SCAN_WINDOW = 100_000
SCAN_OVERLAP = 2_000


def window_starts(text: str, size: int = SCAN_WINDOW, overlap: int = SCAN_OVERLAP
                  ) -> list[int]:
    """Offsets of the windows covering ``text``: each starts after whitespace when it
    can, and overlaps the previous one by at least ``overlap`` characters."""
    starts = [0]
    while starts[-1] + size < len(text):
        target = starts[-1] + size - overlap
        space = text.rfind(" ", target - overlap // 2, target)
        starts.append(space + 1 if space > starts[-1] else target)
    return starts


def merge_spans(spans: Sequence[Span]) -> list[Span]:
    """Sorted, non-overlapping spans from overlapping windows: where two overlap the
    earlier-starting (then the longer) one is kept, and grown to cover the other."""
    out: list[Span] = []
    for s in sorted(spans, key=lambda x: (x.start, x.start - x.end)):
        if out and s.start < out[-1].end:
            last = out[-1]
            if s.end > last.end:
                out[-1] = Span(last.start, s.end, last.entity_type, last.score,
                               last.recognizer, None, last.explanation)
            continue
        out.append(s)
    return out


def _shift(s: Span, by: int) -> Span:
    if not by:
        return s
    return Span(s.start + by, s.end + by, s.entity_type, s.score, s.recognizer,
                s.normalized, s.explanation)


def _caller(tenant: str, name: str | None) -> Principal | None:
    return None if name is None else Principal(name, tenant)


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
    pieces = [Piece(s, sp, restore_only is None or any_match(restore_only, p), p)
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


#: What a dialect says about one string of an answer event.
PROTOCOL = "protocol"  # passed on untouched (ids, types, model names)
WHOLE = "whole"  # scanned and restored as it is


@dataclass(frozen=True, slots=True)
class Channel:
    """A piece of streamed text: appended to the channel ``key``'s buffer."""

    key: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Copy:
    """A repeat of channel ``key``'s whole text (``*.done`` events, a final response):
    replaced by exactly what the caller got of that channel."""

    key: tuple[Any, ...]


Kind = str | Channel | Copy


class StreamDialect(Protocol):
    """Where the text is in one API's answer events (``proxy/dialects/*``).

    The engine (``SseRewriter``) buffers channel text, holds back what may still grow,
    scans, restores and re-wraps it; the dialect only reads and writes its events.
    """

    def prepare(self, doc: dict[str, Any], scan: bool) -> None:
        """Drop what no scan can follow (logprob fragments); called first."""

    def classify(self, doc: dict[str, Any], path: Path) -> Kind:
        """``PROTOCOL``, ``WHOLE``, ``Channel(key)`` or ``Copy(key)`` for a string."""

    def finishing(self, doc: dict[str, Any], key: tuple[Any, ...]) -> bool:
        """Whether channel ``key`` ends with this event (flush all it holds first)."""

    def put(self, doc: dict[str, Any], key: tuple[Any, ...], text: str) -> bool:
        """Place text of channel ``key`` in an event that did not carry it; ``False``
        when the dialect cannot (a new event is then made from the channel's last)."""

    def blank(self, template: dict[str, Any] | None) -> dict[str, Any] | None:
        """An empty event to carry flushed text (``None``: use per-channel events)."""

    def empty(self, doc: dict[str, Any]) -> bool:
        """Whether an event left with no text may be dropped."""


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
