"""``GET /v1/live?format=deepgram``: an ASR vendor's own streaming messages in, the
same messages out, redacted (formats: ``redact_gw.asr_formats``).

Each transcript in a vendor message is a segment of the ``LiveSession``: a partial is
shown only as far as the hold-back allows (values as ``[[TYPE]]`` masks, held words
left out of ``words``, or one ``[[PENDING]]`` item once held past ``max_hold_s``); a
final carries tokens, the words of each value merged into one item with the value's
first start and last end time. Segment ids are the vendor's where it has them
(Transcribe ``ResultId``, Call Analytics ``UtteranceId``, AssemblyAI ``turn_order``);
otherwise one per channel, counted on at each final (Google, Deepgram, AssemblyAI v2).
A vendor message the session has nothing new to show for is not answered; one without
a transcript (Deepgram ``Metadata``, AssemblyAI ``Begin``...) is answered with its
other strings scanned. Errors are the gateway's own ``{"type": "error"}`` messages.

The session follows the first alternative of a result (its hold-back, revisions and
assist forwarding). Every other alternative is redacted alongside it and answered in
place, so the message keeps the vendor's shape: a partial's alternative is detected on
its own (with the record's known values) and shown up to the same safe cut, its held
words left out; a final's alternatives are tokenized in one redaction with the
session's known values, which hold those the first alternative's final just
tokenized, so the same value gets the same token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from redact_gw.asr_formats import Format, get_format
from redact_gw.asr_formats.base import Value, redact_piece
from redact_gw.asr_formats.document import HELD, Parsed, parse, render
from redact_gw.engine import Redactor
from redact_gw.errors import InvalidInput
from redact_gw.jsonpaths import Path
from redact_gw.live.holdback import digit_runs, hold_from, safe_cut
from redact_gw.live.holdback import render as render_partial
from redact_gw.live.messages import Result
from redact_gw.live.session import Call, LiveSession
from redact_gw.model import Segment, Span

#: Partial vendor messages kept for re-sending when held text times out (per session).
_MAX_KEPT = 64

#: Segment id -> (text, values, shown until or ``None`` for a final) of an alternative.
AltViews = dict[str, tuple[str, list[Value], int | None]]


def check_format(name: str | None) -> Format | None:
    """The ``format`` query parameter (a 400 ``unknown_format`` before the upgrade)."""
    return None if name is None else get_format(name)


@dataclass(slots=True)
class VendorMessage:
    """One parsed vendor message (stands where ``messages.Result`` does)."""

    kind: str
    segment_id: str | None
    parsed: Parsed = field(repr=False)


def _partial_values(raw: str, spans: list[Span], cut: int) -> list[Value]:
    """The masks ``holdback.render`` puts in the shown text, as values."""
    runs = [r for r in digit_runs(raw[:cut])
            if not any(s.start < r.end and r.start < s.end for s in spans)]
    return [(s.start, s.end, f"[[{s.entity_type}]]") for s in [*spans, *runs]
            if s.end <= cut]


class VendorSession:
    """A ``LiveSession`` speaking one vendor's format."""

    def __init__(self, session: LiveSession, fmt: Format, redactor: Redactor) -> None:
        self.session = session
        self.fmt = fmt
        self.redactor = redactor
        self._counters: dict[str, int] = {}
        self._open: dict[str, set[str]] = {}
        #: Open segment id -> the latest partial message showing it, with its extras
        #: and its other alternatives' views.
        self._last: dict[str, tuple[Parsed, dict[Path, str], AltViews]] = {}
        #: The inner session's own messages (and speakers) of the last ``feed`` or
        #: ``tick``: what an assist service is sent, whatever the caller's format.
        self.native: list[tuple[dict[str, Any], str | None]] = []

    @property
    def call(self) -> Call:
        """Who and what the session redacts for."""
        return self.session.call

    def next_deadline(self) -> float | None:
        """When held text times out (see ``LiveSession``)."""
        return self.session.next_deadline()

    def parse(self, raw: str, max_chars: int) -> VendorMessage:
        """Read one vendor message and give its transcripts segment ids."""
        try:
            doc = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            raise InvalidInput("a message must be a JSON object",
                               details={"field": "(message)"}) from None
        parsed = parse(self.fmt, doc, live=True, max_chars=max_chars)
        per_channel: dict[str, int] = {}
        finals: set[str] = set()
        primary = ""
        for utt in parsed.utterances:
            if utt.alternative:  # another hypothesis of the result just before
                utt.segment_id = f"{primary}~alt{utt.alternative}"
                continue
            if not utt.segment_id:
                i = per_channel[utt.channel] = per_channel.get(utt.channel, -1) + 1
                utt.segment_id = f"{utt.channel}.{self._counters.get(utt.channel, 0)}.{i}"
            if utt.final:
                finals.add(utt.channel)
            primary = utt.segment_id
        for channel in finals:
            self._counters[channel] = self._counters.get(channel, 0) + 1
        first = parsed.utterances[0].segment_id if parsed.utterances else None
        return VendorMessage(parsed.kind, first, parsed)

    async def feed(self, msg: VendorMessage, now: float) -> list[dict[str, Any]]:
        """Process one vendor message; the vendor messages to send (maybe none)."""
        parsed = msg.parsed
        self.native = []
        self._drop_superseded(parsed)
        extra_texts = await self._scan_extras(parsed)
        finals: dict[str, tuple[str, list[Value]]] = {}
        changed = msg.kind != "partial"
        for utt in parsed.utterances:
            if utt.alternative:
                continue
            kind = "final" if utt.final else "partial"
            out = await self.session.feed(Result(kind, utt.segment_id, utt.text, utt.speaker,
                                                 utt.start, utt.end), now)
            changed = changed or bool(out)
            self.native.extend((m, utt.speaker) for m in out)
            ids = self._open.setdefault(utt.channel, set())
            if utt.final:
                done = self.session.last_final
                assert done is not None
                finals[utt.segment_id] = (done.texts[-1], list(done.placed[-1]))
                ids.discard(utt.segment_id)
                self._last.pop(utt.segment_id, None)
            else:
                ids.add(utt.segment_id)
        alts = await self._alternatives(parsed)
        for utt in parsed.utterances:
            if not utt.alternative and not utt.final:
                self._last[utt.segment_id] = (parsed, extra_texts, alts)
        while len(self._last) > _MAX_KEPT:
            del self._last[next(iter(self._last))]
        return [self._render(parsed, extra_texts, finals, alts)] if changed else []

    async def _alternatives(self, parsed: Parsed) -> AltViews:
        """Every alternative past the first, redacted: a final's tokenized in one
        redaction, a partial's masked up to its safe cut (held words left out)."""
        out: AltViews = {}
        finals = [u for u in parsed.utterances if u.alternative and u.final]
        partials = [u for u in parsed.utterances if u.alternative and not u.final]
        known = self.session.known
        if finals:
            c = self.call
            done = await self.redactor.redact(
                c.tenant, c.record_id, c.subject_id,
                [Segment(u.text, u.speaker) for u in finals], principal=c.principal,
                for_ai=True, channel=c.channel, known=known)
            for n, utt in enumerate(finals):
                out[utt.segment_id] = (done.texts[n], list(done.placed[n]), None)
        if partials:
            found = await self.redactor.detect([Segment(u.text, u.speaker)
                                                for u in partials], known)
            for utt, spans in zip(partials, found, strict=True):
                cut = safe_cut(hold_from(utt.text), spans)
                out[utt.segment_id] = (render_partial(utt.text, spans, cut),
                                       _partial_values(utt.text, spans, cut), cut)
        return out

    def tick(self, now: float) -> list[dict[str, Any]]:
        """Re-send the latest message of each segment whose held text timed out."""
        out: list[dict[str, Any]] = []
        seen: set[int] = set()
        self.native = []
        for m in self.session.tick(now):
            self.native.append((m, None))
            kept = self._last.get(m["segment_id"])
            if kept is not None and id(kept[0]) not in seen:
                seen.add(id(kept[0]))
                out.append(self._render(kept[0], kept[1], {}, kept[2]))
        return out

    def _drop_superseded(self, parsed: Parsed) -> None:
        """A recognizer's new hypothesis for a channel replaces its open partials."""
        present: dict[str, set[str]] = {}
        for utt in parsed.utterances:
            if utt.alternative:
                continue
            present.setdefault(utt.channel, set()).add(utt.segment_id)
        for channel, ids in present.items():
            for stale in self._open.get(channel, set()) - ids:
                self.session.drop(stale)
                self._last.pop(stale, None)
            self._open[channel] = self._open.get(channel, set()) & ids

    async def _scan_extras(self, parsed: Parsed) -> dict[Path, str]:
        """Strings outside the transcripts: detected on their own, shown masked (values
        as ``[[TYPE]]``, other runs of digits as ``[[NUMBER]]``)."""
        loose = [e for e in parsed.extras if e.inside is None]
        if not loose:
            return {}
        found = await self.redactor.detect([Segment(e.text, None) for e in loose])
        # as in partials, a run of four or more digits is never shown raw either
        return {e.path: redact_piece(e.text, _partial_values(e.text, spans, len(e.text)),
                                     0, len(e.text))
                for e, spans in zip(loose, found, strict=True)}

    def _render(self, parsed: Parsed, extra_texts: dict[Path, str],
                finals: dict[str, tuple[str, list[Value]]], alts: AltViews
                ) -> dict[str, Any]:
        texts: list[str] = []
        values: list[list[Value]] = []
        until: list[int | None] = []
        tails: list[str | None] = []
        for utt in parsed.utterances:
            if utt.alternative:
                text, vals, shown = alts[utt.segment_id]
                texts.append(text)
                values.append(vals)
                until.append(shown)
                tails.append(None)
                continue
            if utt.segment_id in finals:
                text, vals = finals[utt.segment_id]
                texts.append(text)
                values.append(vals)
                until.append(None)
                tails.append(None)
                continue
            view = self.session.view(utt.segment_id)
            if view is None or view[0] != utt.text:  # superseded since: show nothing
                view = (utt.text, [], 0, True)
            raw, spans, cut, masked = view
            texts.append(render_partial(raw, spans, cut) + (HELD if masked else ""))
            values.append(_partial_values(raw, spans, cut))
            until.append(cut)
            tails.append(HELD if masked else None)
        return render(parsed, texts, values, extra_texts, shown_until=until, tails=tails)
