"""One live call: per-segment partial/final state, hold-back and redaction.

``LiveSession`` knows no WebSocket: ``feed(result, now)`` and ``tick(now)`` return the
messages to send; ``next_deadline()`` says when ``tick`` must run. Out messages::

    {"type": "partial" | "final", "segment_id": "s1", "offset": 11,
     "text": "[[CREDIT_CARD]] thanks ", "start": 12.3, "end": 14.0, "held": false}

The client keeps the first ``offset`` characters of what it shows for the segment and
appends ``text``: an ``offset`` below its length says which earlier text is replaced.
Partials show only what is certain (see ``holdback``), values as type masks; text held
longer than ``max_hold_s`` is shown as ``[[PENDING]]`` (never raw) and ``held`` is true.
A final is redacted like ``/v1/redact`` with the previous finals of the call as its
context (the agent's question, values recurring across turns): its values are tokens.
Detection gets the record's values at open and those of finals that left the context
window, never those of finals still in it: those are found again in their own turn,
with the same confidence and filters ``/v1/redact`` applies to the same turns, so a
final equals ``/v1/redact`` on the same turns by construction. Each final keeps the
NER its detection handed back (``Segment.ner``: offsets and labels, no text), so as
context it is not read by spaCy again (``detection.ner_memo``); everything else about
it is detected anew, with the context it has in each window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from redact_gw.engine import Redactor
from redact_gw.errors import InvalidInput
from redact_gw.live.holdback import PENDING_MASK, common_prefix, diff, hold_from, render, safe_cut
from redact_gw.live.messages import Result
from redact_gw.model import KnownValue, Principal, Revealed, Segment, Span
from redact_gw.redaction import Redacted


@dataclass(frozen=True, slots=True)
class Call:
    """Who and what a session redacts for."""

    tenant: str
    record_id: str
    subject_id: str | None
    channel: str | None
    principal: Principal | None
    no_retention: bool = False


@dataclass(slots=True)
class _Segment:
    id: str
    speaker: str | None = None
    raw: str = field(default="", repr=False)
    #: When each character of ``raw`` first arrived (monotonic seconds).
    arrived: list[float] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    #: What the client shows for this segment.
    sent: str = field(default="", repr=False)
    #: Raw offset up to which text is shown, and whether the rest is shown masked.
    cut: int = 0
    #: ``hold_from(raw)``: where the hold-back began when ``spans`` were detected.
    hold: int = 0
    masked: bool = False
    start: float | None = None
    end: float | None = None


#: Segments that may be open (partials without their final) at once.
MAX_OPEN = 16
_REMEMBER_FINISHED = 256

#: Observers: (kind, seconds held) for the hold-back histogram; kind for revisions.
HoldObserver = Callable[[float], None]
NotDetectedObserver = Callable[[], None]
RevisionObserver = Callable[[str], None]


class LiveSession:
    """Partials and finals of one call in, redacted segment updates out.

    Args:
        redactor: Detection and vault.
        call: Tenant, record, subject, channel, principal and the opt-out state.
        max_hold_s: Longest a partial's text is held back before it is shown masked.
        context_turns: Previous finals given to detection as context of a final.
        partial_context_turns: The last of those given as context of a partial (each
            partial is detected anew with its context: this bounds its cost; recurring
            values are found from ``known`` whatever the context).
        known: The record's values at open (detection context for recurrences).
    """

    def __init__(self, redactor: Redactor, call: Call, *, max_hold_s: float = 1.0,
                 context_turns: int = 8, partial_context_turns: int = 2,
                 known: list[KnownValue] | None = None,
                 on_hold: HoldObserver | None = None,
                 on_revision: RevisionObserver | None = None,
                 on_not_detected: NotDetectedObserver | None = None) -> None:
        self.redactor = redactor
        self.call = call
        self.max_hold_s = max_hold_s
        self.context_turns = context_turns
        self.partial_context_turns = min(partial_context_turns, context_turns)
        #: The record's values at open, then also those of finals out of the context.
        self._known = list(known or [])
        #: Token -> the caller's own value, for every value its finals tokenized: what
        #: an assist suggestion quoting the token may restore to.
        self.originals: dict[str, Revealed] = {}
        #: The previous finals given as context, each with the values it held.
        self._context: list[tuple[Segment, list[KnownValue]]] = []
        self._segments: dict[str, _Segment] = {}
        #: Recently finished segment ids (bounded), to refuse late partials.
        self._finished: dict[str, None] = {}
        self._on_hold = on_hold
        self._on_revision = on_revision
        self._on_not_detected = on_not_detected
        #: The redaction of the latest final (its ``placed`` values), for callers that
        #: answer in a format of their own (``live.vendor``).
        self.last_final: Redacted | None = None

    def view(self, segment_id: str) -> tuple[str, list[Span], int, bool] | None:
        """An open segment's raw text, values, offset shown up to, and whether the rest
        is shown as ``[[PENDING]]`` (``None`` once the segment had its final)."""
        seg = self._segments.get(segment_id)
        return None if seg is None else (seg.raw, seg.spans, seg.cut, seg.masked)

    def drop(self, segment_id: str) -> None:
        """Forget an open segment a recognizer superseded without a final (nothing is
        sent; a later result under the same id starts afresh)."""
        self._segments.pop(segment_id, None)

    async def feed(self, result: Result, now: float) -> list[dict[str, Any]]:
        """Process one partial or final; the messages to send (maybe none)."""
        if result.segment_id in self._finished:
            raise InvalidInput("this segment already had its final result",
                               code="segment_final", details={"field": "segment_id"})
        if result.segment_id not in self._segments and len(self._segments) >= MAX_OPEN:
            raise InvalidInput(f"at most {MAX_OPEN} segments may be open at once",
                               code="too_many_segments", details={"field": "segment_id"})
        seg = self._segments.setdefault(result.segment_id, _Segment(result.segment_id))
        seg.speaker = result.speaker or seg.speaker
        seg.start = result.start if result.start is not None else seg.start
        seg.end = result.end if result.end is not None else seg.end
        if result.kind == "final":
            return [await self._final(seg, result.text)]
        keep = common_prefix(seg.raw, result.text)
        grew = bool(seg.raw) and keep == len(seg.raw)
        arrived = seg.arrived[:keep] + [now] * (len(result.text) - keep)
        if grew and hold_from(result.text) == seg.hold:
            # Only the held-back tail grew (a number or an email being spelled out):
            # what is shown, text[:hold], and the values in it are as they were, so
            # detection could show nothing new; the partial that moves the hold-back
            # on is detected anew, whole, as is the final.
            seg.raw, seg.arrived = result.text, arrived
            if self._on_not_detected is not None:
                self._on_not_detected()
            out = self._show(seg, now)
            return [out] if out is not None else []
        # A partial gets the last ``partial_context_turns`` finals as text; the values
        # of the older finals still in the context window come as known values, so a
        # partial never shows what its final will mask as a recurrence.
        cut = max(0, len(self._context) - self.partial_context_turns)
        known = [*self._known, *(v for _, values in self._context[:cut] for v in values
                                 if v not in self._known)]
        context = [turn for turn, _ in self._context[cut:]]
        found = await self.redactor.detect([*context, Segment(result.text, seg.speaker)],
                                           known)
        # the segment changes only once detected: a failed detection leaves it as it
        # was shown, so a later tick never shows new text with values not looked for
        seg.raw, seg.arrived, seg.spans = result.text, arrived, found[-1]
        out = self._show(seg, now)
        return [out] if out is not None else []

    @property
    def known(self) -> list[KnownValue]:
        """The record's values so far: from before the call, and of every final since
        (detection context for what an assist service answers)."""
        return [*self._known, *(v for _, values in self._context for v in values
                                if v not in self._known)]

    def tick(self, now: float) -> list[dict[str, Any]]:
        """Show text held past ``max_hold_s`` as ``[[PENDING]]``."""
        out = []
        for seg in self._segments.values():
            msg = self._show(seg, now)
            if msg is not None:
                out.append(msg)
        return out

    def next_deadline(self) -> float | None:
        """When held text reaches ``max_hold_s`` (``None``: nothing is waiting)."""
        times = [seg.arrived[seg.cut] + self.max_hold_s for seg in self._segments.values()
                 if not seg.masked and seg.cut < len(seg.raw)]
        return min(times, default=None)

    def _show(self, seg: _Segment, now: float) -> dict[str, Any] | None:
        seg.hold = hold_from(seg.raw)
        cut = safe_cut(seg.hold, seg.spans)
        shown = render(seg.raw, seg.spans, cut)
        masked = cut < len(seg.raw) and now - seg.arrived[cut] >= self.max_hold_s
        if masked:
            shown += PENDING_MASK
        if cut > seg.cut and self._on_hold is not None:
            self._on_hold(now - seg.arrived[seg.cut])
        seg.cut, seg.masked = cut, masked
        if shown == seg.sent:
            return None
        return self._message(seg, "partial", shown, held=cut < len(seg.raw))

    async def _final(self, seg: _Segment, text: str) -> dict[str, Any]:
        c = self.call
        turn = Segment(text, seg.speaker)
        redacted = await self.redactor.redact(
            c.tenant, c.record_id, c.subject_id, [*self._turns(), turn],
            principal=c.principal, for_ai=True, channel=c.channel, known=self._known,
            keep_ner=True)
        self.last_final = redacted
        if redacted.ner and redacted.ner[-1] is not None:
            turn = replace(turn, ner=redacted.ner[-1])
        values = [] if redacted.no_retention else _values_of(redacted, len(self._context))
        if not redacted.no_retention:
            for token, revealed in redacted.originals.items():
                self.originals.setdefault(token, revealed)
        self._context.append((turn, values))
        while len(self._context) > self.context_turns:
            for value in self._context.pop(0)[1]:
                if value not in self._known:
                    self._known.append(value)
        del self._segments[seg.id]
        self._finished[seg.id] = None
        if len(self._finished) > _REMEMBER_FINISHED:
            del self._finished[next(iter(self._finished))]
        return self._message(seg, "final", redacted.texts[-1], held=False)

    def _turns(self) -> list[Segment]:
        return [turn for turn, _values in self._context]

    def _message(self, seg: _Segment, kind: str, shown: str, *, held: bool
                 ) -> dict[str, Any]:
        offset, text = diff(seg.sent, shown)
        if offset < len(seg.sent) and self._on_revision is not None:
            self._on_revision(kind)
        seg.sent = shown
        return {"type": kind, "segment_id": seg.id, "offset": offset, "text": text,
                "start": seg.start, "end": seg.end, "held": held}


def _values_of(redacted: Redacted, seg: int) -> list[KnownValue]:
    """The values tokenized in segment ``seg`` of a redaction (its own spelling)."""
    out: list[KnownValue] = []
    for e in redacted.entities:
        revealed = redacted.originals.get(e.token)
        if e.location.get("segment") == seg and revealed is not None:
            value = KnownValue(revealed.entity_type, revealed.value)
            if value not in out:
                out.append(value)
    return out
