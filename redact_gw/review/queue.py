"""The review queue: sample, seal, list, open, take verdicts.

``ReviewService`` is what the JSON API and the console call (the console never opens
the vault itself). The queue holds the tokenized copy of what went upstream, sealed
under the record's data key: no original and no plaintext lands in a review table.
Sampling never fails the caller's request: a vault error while queueing is counted
(``redact_gw_review_skipped_total{cause="error"}``) and logged by type only.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redact_gw.audit import AuditLog
from redact_gw.detection.entities import ENTITY_DESCRIPTIONS
from redact_gw.errors import InvalidInput, NotFound
from redact_gw.model import Clock, PendingValue, Principal, Revealed
from redact_gw.policy.roles import Permission, require
from redact_gw.redaction import Entity, normalize
from redact_gw.review import sampling, verdicts
from redact_gw.review.metrics import ReviewMetrics
from redact_gw.review.sealing import open_json, seal_json
from redact_gw.settings import Settings
from redact_gw.streaming.guard import answer_record_id
from redact_gw.tokens import TOKEN_RE
from redact_gw.vault.review_base import (
    ProposalRow,
    ReviewItemRow,
    ReviewQuery,
    VerdictRow,
    pack,
    unpack,
)
from redact_gw.vault.service import Vault

log = logging.getLogger(__name__)
#: Reveal one token (record, purpose, token, its entity type) in full, through the API's
#: reveal path (quota, audit, metrics).
RevealGate = Callable[[Principal, str, str, str, str], Awaitable[Revealed]]


@dataclass(frozen=True, slots=True)
class ReviewCopy:
    """An opened item: its metadata row and the tokenized copy."""

    row: ReviewItemRow
    segments: list[dict[str, Any]]
    answer: str | None
    entities: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (tokens only: the copy is what the AI service saw)."""
        r = self.row
        return {"item_id": r.item_id, "record_id": r.record_id, "route": r.route,
                "tier": r.tier, "reasons": unpack(r.reasons),
                "entity_types": unpack(r.entity_types), "status": r.status,
                "created_at": _iso(r.created_at), "segments": self.segments,
                "answer": self.answer, "entities": self.entities}


#: How long a reached daily cap is taken as still reached without asking the store.
CAP_RECHECK_S = 60.0


def _day(ts: float) -> float:
    """Start of the UTC day of ``ts`` (the daily cap's window)."""
    return ts - ts % 86400


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def item_summary(r: ReviewItemRow) -> dict[str, Any]:
    """Queue listing entry: metadata only."""
    return {"item_id": r.item_id, "record_id": r.record_id, "route": r.route,
            "tier": r.tier, "reasons": unpack(r.reasons),
            "entity_types": unpack(r.entity_types), "status": r.status,
            "created_at": _iso(r.created_at)}


class ReviewService:
    """Sampling, the sealed queue and verdicts for one gateway."""

    def __init__(self, settings: Settings, vault: Vault, audit: AuditLog, clock: Clock,
                 metrics: ReviewMetrics, *, reveal: RevealGate,
                 draw: Callable[[], float] = random.random) -> None:
        self.settings = settings
        self.review = settings.review
        self.vault = vault
        self.store = vault.store
        self.audit = audit
        self.clock = clock
        self.metrics = metrics
        self.reveal = reveal
        self.draw = draw
        #: Tenant -> (UTC day start, clock time) when its daily cap was found reached:
        #: until ``CAP_RECHECK_S`` later, a sampled transcript of that day is counted
        #: as skipped at once, without reading the record, sealing a copy and asking
        #: the store to refuse it (once the cap is reached, every sample of a busy
        #: tenant paid two vault round trips and a seal for nothing).
        self._cap_reached: dict[str, tuple[float, float]] = {}

    # -- sampling -------------------------------------------------------------------------
    async def offer(self, principal: Principal, record_id: str, subject_id: str | None,
                    channel: str | None, route: str, tier: str,
                    segments: Sequence[tuple[str | None, str]], entities: Sequence[Entity],
                    *, near_misses: Sequence[str] = (), answer: str | None = None,
                    answer_entities: Sequence[Entity] = (),
                    no_retention: bool = False) -> str | None:
        """Queue the tokenized transcript (and the tokenized answer of a proxied call,
        with the values found in it) if the sampling rule says so; its item id."""
        if not self.review.enabled:
            return None
        entities = [*entities, *answer_entities]
        rule = sampling.rule_for(self.review, principal.tenant, route)
        why = sampling.reasons(rule, tier=tier, scores=[e.score for e in entities],
                               recognizers=[e.recognizer for e in entities],
                               low_below=self.settings.risk.low_confidence_below,
                               near_misses=near_misses, draw=self.draw())
        if not why:
            return None
        if no_retention:  # nothing reversible may be kept for this subject
            self.metrics.skipped.labels("no_retention").inc()
            return None
        if self._cap_known_reached(principal.tenant):
            self.metrics.skipped.labels("daily_cap").inc()
            return None
        try:
            return await self._enqueue(principal.tenant, record_id, subject_id, channel,
                                       route, tier, why, segments, entities, answer)
        except Exception as exc:  # sampling must never fail the caller's request
            log.warning("review sampling failed (%s)", type(exc).__name__)
            self.metrics.skipped.labels("error").inc()
            return None

    async def offer_refused_reveal(self, principal: Principal, record_id: str,
                                   text: str | None, tokens: Sequence[str]) -> str | None:
        """A reveal on the record was refused (no right, quota): a near miss. The item
        holds what the caller asked about (its tokenized text, or the tokens), the
        tokens typed from the vault; nothing when the record is unknown here."""
        rule = sampling.rule_for(self.review, principal.tenant, "/v1/detokenize")
        if not (self.review.enabled and rule.near_misses):
            return None
        try:
            record = await self.store.get_record(principal.tenant, record_id)
            if record is None or record.wrapped_dek is None:
                return None
            asked = text if text is not None else " ".join(tokens)
            found = list(dict.fromkeys(m.group(0) for m in TOKEN_RE.finditer(asked)))
            entries = await self.store.get_entries(principal.tenant, record_id, found)
            entities = [Entity(e.token, e.entity_type, 1.0, "vault", {},
                               "sealed earlier in this record") for e in entries]
            return await self._enqueue(principal.tenant, record_id, record.subject_id,
                                       record.channel, "/v1/detokenize", "low",
                                       ["reveal_refused"], [(None, asked)], entities, None)
        except Exception as exc:  # never changes the refusal the caller gets
            log.warning("review sampling failed (%s)", type(exc).__name__)
            self.metrics.skipped.labels("error").inc()
            return None

    async def _enqueue(self, tenant: str, record_id: str, subject_id: str | None,
                       channel: str | None, route: str, tier: str, why: list[str],
                       segments: Sequence[tuple[str | None, str]], entities: Sequence[Entity],
                       answer: str | None) -> str | None:
        record, dek = await self.vault.data_key(tenant, record_id, subject_id, channel,
                                                create=True)
        assert record.dek_id is not None
        item_id = "rvw_" + secrets.token_hex(10)
        doc = {"segments": [{"speaker": s, "text": t} for s, t in segments],
               "answer": answer, "entities": [e.to_dict() for e in entities]}
        now = self.clock()
        expires = (self.vault.expiry(tenant, record.channel, "*", now)
                   if self.vault.expiry else None)
        row = ReviewItemRow(tenant, item_id, record_id, route, tier, pack(why),
                            pack([e.entity_type for e in entities]), now, expires,
                            record.dek_id, seal_json(dek, "copy", tenant, record_id, item_id,
                                                     record.dek_id, doc))
        day = _day(now)
        if not await self.store.add_review_item(row, day, self.review.daily_cap):
            self._cap_reached[tenant] = (day, now)
            self.metrics.skipped.labels("daily_cap").inc()
            return None
        for reason in why:
            self.metrics.queued.labels(route, reason).inc()
        return item_id

    def _cap_known_reached(self, tenant: str) -> bool:
        """The store refused an item of the tenant today less than ``CAP_RECHECK_S``
        ago (items erased since free room again: the store is asked again after that)."""
        seen = self._cap_reached.get(tenant)
        if seen is None:
            return False
        now = self.clock()
        # a clock stepped back (negative age) asks the store again
        if seen[0] == _day(now) and 0 <= now - seen[1] < CAP_RECHECK_S:
            return True
        del self._cap_reached[tenant]
        return False

    # -- reading --------------------------------------------------------------------------
    async def items(self, principal: Principal, query: ReviewQuery) -> list[ReviewItemRow]:
        """The tenant's queue, filtered."""
        require(principal, Permission.REVIEW)
        if query.tenant != principal.tenant:
            raise NotFound("unknown review item", code="review_item_not_found")
        return await self.store.review_items(query)

    async def _row(self, principal: Principal, item_id: str) -> ReviewItemRow:
        require(principal, Permission.REVIEW)
        row = await self.store.get_review_item(principal.tenant, item_id)
        if row is None:
            raise NotFound("unknown review item", code="review_item_not_found")
        return row

    async def open(self, principal: Principal, item_id: str) -> ReviewCopy:
        """Open an item's sealed copy (another tenant's item answers 404)."""
        row = await self._row(principal, item_id)
        doc = await self.open_copy(row)
        return ReviewCopy(row, doc["segments"], doc.get("answer"), doc["entities"])

    async def open_copy(self, row: ReviewItemRow) -> dict[str, Any]:
        """The item's sealed copy, opened (no permission check: callers have done it)."""
        _record, dek = await self.vault.data_key(row.tenant, row.record_id)
        doc: dict[str, Any] = open_json(dek, "copy", row.tenant, row.record_id, row.item_id,
                                        row.dek_id, row.sealed)
        return doc

    # -- verdicts -------------------------------------------------------------------------
    async def correct(self, principal: Principal, item_id: str) -> None:
        """Everything personal in the item was tokenized, and only that."""
        row = await self._row(principal, item_id)
        await self._verdict(principal, row, "correct", None, None, None)

    async def missed(self, principal: Principal, item_id: str, segment: int, start: int,
                     end: int, entity_type: str, part: str = "segments") -> tuple[str, str]:
        """A value the gateway missed, in a segment or (``part="answer"``) the answer:
        seal it as a token (``review.verdicts``) in the record and the copy, keep a
        sealed regression case, count the incident. Returns the new token and the
        verdict's id (an admin may promote the value to the deny list)."""
        row = await self._row(principal, item_id)
        if entity_type not in self._known_types():
            raise InvalidInput("unknown entity type", details={"field": "entity_type"})
        doc = await self.open_copy(row)
        value = verdicts.selected(doc, part, segment, start, end)
        callers = verdicts.callers_value(doc, part, value)
        record, dek = await self.vault.data_key(row.tenant, row.record_id)
        target = row.record_id if callers else answer_record_id(row.record_id)
        tokens = await self.vault.tokenize(
            row.tenant, target, record.subject_id,
            [PendingValue(entity_type, normalize(entity_type, value), value)],
            channel=record.channel)
        token = next(iter(tokens.values()))
        assert record.dek_id is not None
        case = verdicts.seal_in_copy(doc, part, segment, start, end, token, entity_type,
                                     callers=callers)
        types = pack([*unpack(row.entity_types), entity_type])
        await self.store.reseal_review_item(row.tenant, row.item_id, record.dek_id, seal_json(
            dek, "copy", row.tenant, row.record_id, row.item_id, record.dek_id, doc), types)
        verdict_id = "vdt_" + secrets.token_hex(10)
        sealed_case = seal_json(dek, "case", row.tenant, row.record_id, verdict_id,
                                record.dek_id, case)
        gap = ("missed_instance" if entity_type in unpack(row.entity_types)
               else "missed_type")
        await self._verdict(principal, row, "missed", entity_type, token, gap,
                            verdict_id=verdict_id, dek_id=record.dek_id, case=sealed_case)
        self.metrics.misses.labels(entity_type, row.route, gap).inc()
        return token, verdict_id

    async def not_pii(self, principal: Principal, item_id: str, token: str,
                      purpose: str) -> str:
        """A token that is not personal data: reveal it (audited, with the purpose and
        the quota), and keep it as a sealed allow-list candidate. Returns its id."""
        row = await self._row(principal, item_id)
        doc = await self.open_copy(row)
        entity = next((e for e in doc["entities"] if e["token"] == token), None)
        if entity is None:
            raise InvalidInput("the token is not one of this item's", details={"field":
                                                                                "token"})
        revealed = await self.reveal(principal, verdicts.entity_record(row.record_id, entity),
                                     purpose, token, entity["entity_type"])
        record, dek = await self.vault.data_key(row.tenant, row.record_id)
        assert record.dek_id is not None
        proposal_id = "prp_" + secrets.token_hex(10)
        sealed = seal_json(dek, "candidate", row.tenant, row.record_id, proposal_id,
                           record.dek_id, {"value": revealed.value})
        await self.store.add_proposal(ProposalRow(
            row.tenant, proposal_id, "allow", revealed.entity_type, row.record_id,
            record.dek_id, sealed, "pending", principal.name, self.clock()))
        await self._verdict(principal, row, "not_pii", revealed.entity_type, token,
                            entity.get("recognizer"))
        return proposal_id

    async def _verdict(self, principal: Principal, row: ReviewItemRow, verdict: str,
                       entity_type: str | None, token: str | None, recognizer: str | None,
                       *, verdict_id: str | None = None, dek_id: str | None = None,
                       case: bytes | None = None) -> None:
        now = self.clock()
        vrow = VerdictRow(row.tenant, verdict_id or "vdt_" + secrets.token_hex(10),
                          row.item_id, row.record_id, row.route, principal.name, verdict,
                          entity_type, token, recognizer, now, max(0.0, now - row.created_at),
                          dek_id, case)
        if not await self.store.add_verdict(vrow):
            raise NotFound("unknown review item", code="review_item_not_found")
        self.metrics.verdicts.labels(verdict).inc()
        await self.audit.record("review.verdict", principal=principal,
                                record_id=row.record_id, outcome=verdict,
                                counts={entity_type: 1} if entity_type else None)

    def _known_types(self) -> set[str]:
        return set(ENTITY_DESCRIPTIONS)
