"""Rows of the review queue (migration 3) and the store methods that keep them.

No plaintext lands in these tables: a review copy, a regression case and a list
candidate are sealed under the record's data key (``redact_gw.review.sealing``), so
they expire, get erased and get crypto-shredded with the record. The clear columns
hold only what metrics may hold too: route templates, tiers, entity types, reason
codes, principal names, times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


def pack(names: Sequence[str]) -> str:
    """``["A", "B"]`` -> ``",A,B,"`` (so ``LIKE '%,A,%'`` matches one whole name)."""
    return "," + ",".join(sorted(set(names))) + "," if names else ","


def unpack(packed: str) -> list[str]:
    """The inverse of ``pack``."""
    return [p for p in packed.split(",") if p]


@dataclass(frozen=True, slots=True)
class ReviewItemRow:
    """One sampled transcript: metadata in clear, the tokenized copy sealed."""

    tenant: str
    item_id: str
    record_id: str
    route: str
    tier: str
    reasons: str  # packed reason codes
    entity_types: str  # packed entity types
    created_at: float
    expires_at: float | None
    dek_id: str
    sealed: bytes = field(repr=False)
    status: str = "open"


@dataclass(frozen=True, slots=True)
class VerdictRow:
    """One reviewer's verdict on an item (or on one token of it)."""

    tenant: str
    verdict_id: str
    item_id: str
    record_id: str
    route: str
    reviewer: str
    verdict: str  # correct | missed | not_pii
    entity_type: str | None
    token: str | None
    recognizer: str | None
    created_at: float
    review_s: float
    dek_id: str | None = None
    sealed_case: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ProposalRow:
    """An allow-list (from "not personal data") or deny-list candidate, value sealed."""

    tenant: str
    proposal_id: str
    kind: str  # allow | deny
    entity_type: str
    record_id: str
    dek_id: str
    sealed: bytes = field(repr=False)
    status: str = "pending"  # pending | approved | rejected
    proposed_by: str = ""
    created_at: float = 0.0
    decided_by: str | None = None
    decided_at: float | None = None
    #: Approved for this route template only (phased rollout); ``None``: every route.
    route: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewQuery:
    """Queue filters (all optional, combined with AND), newest first."""

    tenant: str
    route: str | None = None
    tier: str | None = None
    reason: str | None = None
    entity_type: str | None = None
    since: float | None = None
    status: str | None = None
    limit: int = 100


class ReviewStore(Protocol):
    """The review queue's part of ``VaultStore``; every method is one transaction."""

    async def add_review_item(self, row: ReviewItemRow, day_start: float, cap: int) -> bool:
        """Insert unless the tenant already queued ``cap`` items since ``day_start``."""
        ...

    async def review_items(self, query: ReviewQuery) -> list[ReviewItemRow]:
        """Items matching the filters, newest first."""
        ...

    async def get_review_item(self, tenant: str, item_id: str) -> ReviewItemRow | None:
        """One item of the tenant, or ``None``."""
        ...

    async def reseal_review_item(self, tenant: str, item_id: str, dek_id: str,
                                 sealed: bytes, entity_types: str) -> bool:
        """Replace the sealed copy (a missed value now tokenized); False when gone."""
        ...

    async def add_verdict(self, row: VerdictRow) -> bool:
        """Store a verdict and mark its item reviewed; False when the item is gone."""
        ...

    async def review_verdicts(self, tenant: str, since: float | None) -> list[VerdictRow]:
        """Verdicts of the tenant (sealed cases left out), oldest first."""
        ...

    async def get_verdict(self, tenant: str, verdict_id: str) -> VerdictRow | None:
        """One verdict with its sealed case, or ``None``."""
        ...

    async def add_proposal(self, row: ProposalRow) -> None:
        """Store a list candidate."""
        ...

    async def review_proposals(self, tenant: str, status: str | None) -> list[ProposalRow]:
        """Candidates of the tenant, oldest first."""
        ...

    async def decide_proposal(self, tenant: str, proposal_id: str, status: str,
                              decided_by: str, decided_at: float,
                              route: str | None = None) -> bool:
        """Approve (for ``route`` only, or every route) or reject a pending candidate,
        or widen or withdraw one approved for a single route; False otherwise."""
        ...

    async def purge_review_expired(self, now: float, tenant: str | None, limit: int) -> int:
        """Delete up to ``limit`` expired review items (with their verdicts' sealed cases
        and candidates) of records not on legal hold; returns how many items."""
        ...

    async def delete_review_of_record(self, tenant: str, record_id: str) -> int:
        """Erasure: drop every review item, sealed case and candidate of the record."""
        ...
