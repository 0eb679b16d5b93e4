"""Opt-out registry and erasure.

``no_ai_processing``: the subject's transcripts never reach an AI service (451).
``no_retention``: values are tokenized but nothing reversible is kept; setting the
flag also shreds what already exists for the subject. Erasure shreds every record of
the subject now, and every value written for the subject in any other record (its
``~answers`` sibling, or a record another subject's request created); records on legal
hold are excepted and reported. Every decision is audited by the caller-facing layer
through ``AuditLog``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redact_gw.audit import AuditLog
from redact_gw.errors import NotFound, OptedOut
from redact_gw.model import Clock, Principal
from redact_gw.transcripts.shapes import check_id
from redact_gw.vault.base import OptOutRow, RecordState, Removed, VaultStore


def check_subject_id(subject_id: object, field_name: str = "subject_id") -> str:
    """A subject id of the accepted form (the one id rule), or 422 naming the field."""
    checked = check_id(subject_id, field_name, required=True)
    assert checked is not None
    return checked


@dataclass(frozen=True, slots=True)
class Receipt:
    """What shredding a subject's data removed."""

    records: int
    values: dict[str, int] = field(default_factory=dict)
    held_records: int = 0
    #: Records not of the subject that held values written for it (values removed).
    other_records: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"records_shredded": self.records, "values_removed": sum(self.values.values()),
                "values_by_type": dict(sorted(self.values.items())),
                "records_on_legal_hold": self.held_records,
                "other_records_with_values_removed": self.other_records}


def optout_dict(row: OptOutRow) -> dict[str, Any]:
    """JSON form of a subject's flags."""
    return {"subject_id": row.subject_id, "no_ai_processing": row.no_ai_processing,
            "no_retention": row.no_retention, "reason": row.reason, "set_by": row.set_by,
            "set_at": row.set_at}


class OptOutRegistry:
    """Reads and changes opt-outs; shreds subject data when the flags demand it."""

    def __init__(self, store: VaultStore, audit: AuditLog, clock: Clock) -> None:
        self.store = store
        self.audit = audit
        self.clock = clock

    async def get(self, tenant: str, subject_id: str) -> OptOutRow | None:
        """The subject's flags, if any."""
        return await self.store.get_optout(tenant, subject_id)

    async def enforce(self, tenant: str, principal: Principal | None, subject_id: str | None,
                      record_id: str, *, for_ai: bool) -> bool:
        """Refuse AI processing of an opted-out subject; return ``no_retention``.

        The subjects are the request's and every subject the record already holds
        values of: naming a record of an opted-out subject is enough, whatever the
        request's own headers say.

        Raises:
            OptedOut: a subject opted out of automated processing and ``for_ai``.
        """
        state = await self.store.redaction_state(tenant, record_id, subject_id,
                                                 entries=False)
        return await self.decide(state, tenant, principal, record_id, for_ai=for_ai)

    async def decide(self, state: RecordState, tenant: str, principal: Principal | None,
                     record_id: str, *, for_ai: bool) -> bool:
        """``enforce`` on flags already read (``VaultStore.redaction_state``, which
        holds the request's subject too); audits a refusal, then raises ``OptedOut``."""
        no_retention = False
        for subject in sorted(state.optouts):
            row = state.optouts[subject]
            if for_ai and row.no_ai_processing:
                await self.audit.record("optout.refused", principal=principal, tenant=tenant,
                                        record_id=record_id,
                                        subject_id=subject, outcome="refused",
                                        reason="no_ai_processing")
                raise OptedOut()
            no_retention = no_retention or row.no_retention
        return no_retention

    async def set(self, principal: Principal, subject_id: str, *, no_ai_processing: bool,
                  no_retention: bool, reason: str | None) -> tuple[OptOutRow, Receipt | None]:
        """Create or replace flags; ``no_retention`` shreds existing reversible data."""
        row = OptOutRow(principal.tenant, subject_id, no_ai_processing, no_retention, reason,
                        principal.name, self.clock())
        await self.store.put_optout(row)
        receipt = (await self._shred_subject(principal.tenant, subject_id, "no_retention",
                                             forget=False) if no_retention else None)
        await self.audit.record(
            "optout.set", principal=principal, subject_id=subject_id,
            counts=receipt.values if receipt else None,
            reason=",".join(f for f, on in (("no_ai_processing", no_ai_processing),
                                             ("no_retention", no_retention)) if on) or "none")
        return row, receipt

    async def clear(self, principal: Principal, subject_id: str) -> None:
        """Remove the flags (404 when there were none)."""
        if not await self.store.delete_optout(principal.tenant, subject_id):
            raise NotFound("no opt-out recorded for this subject", code="optout_not_found")
        await self.audit.record("optout.clear", principal=principal, subject_id=subject_id)

    async def erase(self, principal: Principal, subject_id: str) -> Receipt:
        """Shred every record of the subject now and forget the subject id on them."""
        receipt = await self._shred_subject(principal.tenant, subject_id, "erasure",
                                            forget=True)
        await self.audit.record("erasure", principal=principal, subject_id=subject_id,
                                counts=receipt.values,
                                extra_counts={"records": {"shredded": receipt.records,
                                                          "on_legal_hold":
                                                              receipt.held_records}})
        return receipt

    async def _shred_subject(self, tenant: str, subject_id: str, reason: str,
                             forget: bool) -> Receipt:
        total = Removed()
        held = 0
        for record in await self.store.records_of_subject(tenant, subject_id):
            if record.legal_hold:
                held += 1
                continue
            total.add(await self.store.shred_record(tenant, record.record_id, self.clock(),
                                                    reason, forget))
        # values written for the subject in records created for someone else
        others = await self.store.shred_subject_values(tenant, subject_id, self.clock(),
                                                       reason)
        total.values = {k: total.values.get(k, 0) + others.values.get(k, 0)
                        for k in {*total.values, *others.values}}
        return Receipt(total.records, total.values, held, others.records)
