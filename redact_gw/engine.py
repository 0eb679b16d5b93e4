"""The redaction pipeline: detect off the loop, seal in the vault, place tokens.

``Redactor`` is what handlers and the CLI call. It owns no lifetimes: the detection
service (worker pool or in-process thread) and the vault are made and closed by the
app's cleanup contexts (or the CLI's ``async with``), and handed in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from redact_gw.audit import AuditLog
from redact_gw.detection.base import DetectionService, KeepsNer
from redact_gw.detection.scoped import Override, override_var
from redact_gw.errors import DetectionFailed, SubjectRequired, VaultUnavailable, fail_closed
from redact_gw.model import KnownValue, Principal, Revealed, Segment, SegmentNer, Span
from redact_gw.policy.optout import OptOutRegistry
from redact_gw.policy.sharing import ShareGroups
from redact_gw.redaction import Redacted, apply_tokens, pending_values
from redact_gw.tokens import TOKEN_RE
from redact_gw.vault.base import RecordState
from redact_gw.vault.service import Vault

log = logging.getLogger(__name__)
#: (tenant, texts, spans per text) -> spans per text.
SpanAdjuster = Callable[[str, Sequence[str], Sequence[Sequence[Span]]], list[list[Span]]]


def _drop_spans_over_tokens(text: str, spans: Sequence[Span]) -> list[Span]:
    """Existing tokens (e.g. an answer echoed back) are never tokenized again."""
    tokens = [(m.start(), m.end()) for m in TOKEN_RE.finditer(text)]
    if not tokens:
        return list(spans)
    return [s for s in spans if not any(s.start < e and b < s.end for b, e in tokens)]


def _span_counts(spans: Sequence[Sequence[Span]]) -> dict[str, int]:
    """Spans per entity type: what ``Redacted.counts`` gives once each is tokenized."""
    out: dict[str, int] = {}
    for ss in spans:
        for s in ss:
            out[s.entity_type] = out.get(s.entity_type, 0) + 1
    return out


def _check_spans(text: str, spans: Sequence[Span]) -> None:
    last = 0
    for s in spans:
        if not (last <= s.start < s.end <= len(text)):
            raise DetectionFailed()
        last = s.end


class Redactor:
    """Tokenizes segments of one record, failing closed at every step."""

    def __init__(self, detection: DetectionService, vault: Vault, timeout_s: float, *,
                 optouts: OptOutRegistry | None = None, audit: AuditLog | None = None,
                 require_subject: bool = False, redact_allowed_for_no_ai: bool = True,
                 observe: Callable[[float], None] | None = None,
                 adjust: SpanAdjuster | None = None,
                 share: ShareGroups | None = None,
                 scope: Callable[[str], Override | None] | None = None) -> None:
        self.detection = detection
        self.vault = vault
        self.timeout_s = timeout_s
        self.observe = observe
        self.optouts = optouts
        self.audit = audit
        self.require_subject = require_subject
        self.redact_allowed_for_no_ai = redact_allowed_for_no_ai
        #: Per-tenant allow/deny lists approved from reviews (``review/lists.py``).
        self.adjust = adjust
        self.share = share or ShareGroups()
        #: Tenant -> the detection override of the request's route or tenant, if any
        #: (``review/rollout.py``); ``None`` keeps the gateway's own settings.
        self.scope = scope

    async def detect(self, segments: Sequence[Segment],
                     known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """Detect off the event loop; any failure or timeout is ``DetectionFailed``.

        Overload (``DetectionOverloaded``) and a lost worker pass through as they are:
        both are 503s that tell the caller to retry.
        """
        return (await self.detect_keeping(segments, known, keep_ner=False))[0]

    async def detect_keeping(self, segments: Sequence[Segment],
                             known: Sequence[KnownValue] = (), *, keep_ner: bool = True
                             ) -> tuple[list[list[Span]], list[SegmentNer | None]]:
        """``detect``, and each segment's NER to keep when ``keep_ner`` and the
        detection service hands it back (``detection.ner_memo``; else ``None`` each)."""
        started = time.perf_counter()
        ner: list[SegmentNer | None] = [None] * len(segments)
        service = self.detection
        with fail_closed(DetectionFailed, "detection"):
            try:  # a timeout scope, not wait_for: no second task per request
                async with asyncio.timeout(self.timeout_s):
                    if keep_ner and isinstance(service, KeepsNer):
                        spans, kept = await service.detect_keeping(segments, known)
                        if len(kept) == len(segments):
                            ner = kept
                    else:
                        spans = await service.detect(segments, known)
            except TimeoutError:
                log.error("detection timed out after %.1fs", self.timeout_s)
                raise DetectionFailed("personal-data detection timed out; nothing was"
                                      " forwarded", code="detection_timeout") from None
        if self.observe is not None:
            self.observe(time.perf_counter() - started)
        if len(spans) != len(segments):
            raise DetectionFailed()
        out = []
        for seg, ss in zip(segments, spans, strict=True):
            kept_spans = _drop_spans_over_tokens(seg.text, ss)
            _check_spans(seg.text, kept_spans)
            out.append(kept_spans)
        return out, ner

    async def redact(self, tenant: str, record_id: str, subject_id: str | None,
                     segments: Sequence[Segment],
                     locations: Sequence[Mapping[str, Any]] | None = None, *,
                     principal: Principal | None = None, for_ai: bool = True,
                     channel: str | None = None,
                     known: Sequence[KnownValue] | None = None,
                     keep_ner: bool = False, answer_scan: bool = True) -> Redacted:
        """Enforce opt-outs, detect, seal and tokenize; audit a summary.

        Args:
            tenant: Tenant owning the record.
            record_id: Record the values belong to.
            subject_id: Opaque customer id, for opt-outs and erasure.
            segments: Texts to tokenize, in document order.
            locations: Location fields per segment for the entity report.
            principal: Caller, for the audit trail.
            for_ai: The result goes to an AI service (the default, failing closed):
                subjects who opted out of automated processing are refused (451).
            channel: Channel name for retention periods (chat, voice...).
            known: Values detection looks for again, instead of the record's (a live
                session passes those of the record at its open, so finals do not depend
                on values its own earlier turns stored); only the caller's own values.
            keep_ner: Hand back each segment's NER (``Redacted.ner``), for a caller that
                gives the same segments again as context (``detection.ner_memo``).
            answer_scan: Fill ``Redacted.known`` and ``Redacted.originals``, which a
                caller scanning and restoring an answer needs; ``False`` (``/v1/redact``,
                the CLI: no answer comes back) leaves both empty.
        """
        if for_ai and self.require_subject and subject_id is None:
            raise SubjectRequired()
        # one read for the opt-out flags, the record and (unless given) its values
        with fail_closed(VaultUnavailable, "vault read"):
            state = await self.vault.store.redaction_state(tenant, record_id, subject_id,
                                                           entries=known is None)
        no_retention = await self._optout(state, tenant, principal, record_id,
                                          for_ai=for_ai or not self.redact_allowed_for_no_ai)
        # the caller's own values (and its share group's) only: another principal's
        # pieces recurring as tokens would tell the caller which pieces they are
        if no_retention:
            known = []
        elif known is None:
            with fail_closed(VaultUnavailable, "vault read"):
                known = await self.vault.known_values(tenant, record_id,
                                                      self.share.senders(principal),
                                                      read=state)
        ctx = override_var.set(self.scope(tenant) if self.scope is not None else None)
        try:
            spans, ner = await self.detect_keeping(segments, known, keep_ner=keep_ner)
        finally:
            override_var.reset(ctx)
        texts = [s.text for s in segments]
        if self.adjust is not None:
            spans = self.adjust(tenant, texts, spans)
        values = pending_values(texts, spans)
        # the summary goes into the transaction that stores the values (when any are new)
        event = None if self.audit is None else self.audit.prepare(
            "proxy" if for_ai else "redact", principal=principal, tenant=tenant,
            record_id=record_id, subject_id=subject_id, counts=_span_counts(spans),
            reason="no_retention" if no_retention else None)
        with fail_closed(VaultUnavailable, "vault write"):
            tokens = await self.vault.tokenize(
                tenant, record_id, subject_id, values, channel=channel,
                no_retention=no_retention, sent_by=principal.name if principal else None,
                read=state, audit=event)
        result = apply_tokens(texts, spans, tokens, locations, keys=[v.key for v in values])
        result.no_retention = no_retention
        result.ner = ner
        if answer_scan and not no_retention:
            result.known = [*known, *(KnownValue(v.entity_type, v.original) for v in values)]
            # restore gives back this request's own spelling, never one another
            # principal stored first under the same token
            sender = principal.name if principal else None
            for v in values:
                token = tokens[(v.entity_type, v.key)]
                result.originals.setdefault(token, Revealed(token, v.entity_type, v.original,
                                                            sender))
        if self.audit is not None and event is not None:
            await self.audit.complete(event)  # appends it unless the values' write did
        return result

    async def _optout(self, state: RecordState, tenant: str, principal: Principal | None,
                      record_id: str, *, for_ai: bool) -> bool:
        if self.optouts is None:
            return False
        with fail_closed(VaultUnavailable, "opt-out lookup"):
            return await self.optouts.decide(state, tenant, principal, record_id,
                                             for_ai=for_ai)
