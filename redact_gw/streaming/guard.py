"""``AnswerGuard``: one per response, for one caller and record.

``detect`` finds personal data in answer texts (through their decoded views,
``views.py``; one detector call per batch, long texts in overlapping windows);
``render`` replaces new finds by tokens (one vault transaction per batch, sealed in the
record's ``~answers`` sibling; those tokens are never restored) and restores the
caller's own tokens as far as the restore policy allows. ``guard_document`` does both
for every string of a JSON answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from redact_gw.answer_shapes import shape_spans
from redact_gw.detection.scoped import override_var
from redact_gw.engine import Redactor
from redact_gw.errors import NotFound, VaultUnavailable, fail_closed
from redact_gw.jsonpaths import Path, Selector, any_match, walk_strings
from redact_gw.model import KnownValue, PendingValue, Principal, Revealed, Segment, Span
from redact_gw.redaction import normalize, restore
from redact_gw.streaming.views import View, decode_view
from redact_gw.tokens import TOKEN_RE

log = logging.getLogger(__name__)


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
