"""The storage seam: rows the vault keeps and the ``VaultStore`` protocol.

A store holds ciphertext, wrapped data keys, keyed fingerprints, opt-out flags and
the audit chain. It never sees a key-encryption key or a plaintext value, so one
contract test-suite can check every backend for the same guarantees.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from redact_gw.audit_chain import ChainKey, canonical
from redact_gw.vault.override_base import OverrideStore
from redact_gw.vault.review_base import ReviewStore
from redact_gw.vault.session_base import ConsoleSessionStore


@dataclass(frozen=True, slots=True)
class RecordRow:
    """A record and its wrapped data key (``None`` once shredded or never kept)."""

    tenant: str
    record_id: str
    subject_id: str | None
    created_at: float
    dek_id: str | None
    kek_id: str | None
    wrapped_dek: bytes | None = field(repr=False)
    no_retention: bool = False
    legal_hold: bool = False
    channel: str | None = None
    shredded_at: float | None = None


@dataclass(frozen=True, slots=True)
class EntryRow:
    """One sealed original value."""

    tenant: str
    record_id: str
    token: str
    entity_type: str
    fingerprint: bytes = field(repr=False)
    sealed: bytes = field(repr=False)
    created_at: float
    expires_at: float | None = None
    sent_by: str | None = None
    #: The subject the value was written for (erasure finds it in any record).
    subject_id: str | None = None
    #: Associated-data layout the value was sealed with (1: before schema version 2).
    aad_version: int = 1


@dataclass(slots=True)
class Claim:
    """Values first stored without a subject, sent again for one: in the transaction of
    ``commit_entries``, every entry of the record with one of ``fingerprints`` (by
    default those of the entries committed) and still no subject is re-sealed by
    ``reseal`` (the associated data binds the subject) and given ``subject_id``.
    ``claimed`` is set to how many were. An exception of ``reseal`` (a row that fails
    to open) rolls the whole commit back."""

    subject_id: str
    reseal: Callable[[EntryRow], bytes] = field(repr=False)
    aad_version: int
    fingerprints: Sequence[bytes] | None = field(default=None, repr=False)
    #: False when the read before detection saw no value without a subject in the
    #: record: a backend may then spare the claim its own transaction, but must fail
    #: the commit with ``RecordRaceLost`` should it meet one anyway (a writer stored it
    #: since), so the caller's retry claims it.
    likely: bool = True
    #: Entity type -> values claimed (set by the store).
    claimed: dict[str, int] = field(default_factory=dict)

    def note(self, audit: AuditAppend | None) -> None:
        """Record the values claimed in ``audit``'s event, before it is appended
        (``"claimed"``, counts by entity type, never a value): who gave which record's
        values to which subject stays traceable."""
        if audit is not None and self.claimed:
            event = json.loads(audit.payload)
            event["claimed"] = dict(sorted(self.claimed.items()))
            audit.payload = canonical(event)


@dataclass(frozen=True, slots=True)
class Rewrap:
    """A data key re-wrapped under a new KEK, applied only if still under ``old_kek_id``."""

    tenant: str
    record_id: str
    old_kek_id: str
    new_kek_id: str
    wrapped_dek: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class OptOutRow:
    """A subject's opt-out flags in one tenant."""

    tenant: str
    subject_id: str
    no_ai_processing: bool
    no_retention: bool
    reason: str | None
    set_by: str
    set_at: float


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One stored audit event; ``payload`` is canonical JSON covered by ``hash``."""

    seq: int
    ts: float
    tenant: str | None
    principal: str | None
    action: str
    record_id: str | None
    payload: str
    prev_hash: str
    hash: str


@dataclass(slots=True)
class AuditAppend:
    """An audit event ready to append (``AuditLog.prepare``), so that a write can carry
    it in its own transaction (``commit_entries(audit=...)``): both are kept or
    neither. ``row`` is set once it is committed."""

    ts: float
    tenant: str | None
    principal: str | None
    action: str
    record_id: str | None
    payload: str = field(repr=False)
    key: ChainKey | None = field(default=None, repr=False)
    row: AuditRow | None = None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for reading the audit log (all optional, combined with AND)."""

    tenant: str | None = None
    since: float | None = None
    until: float | None = None
    principal: str | None = None
    record_id: str | None = None
    action: str | None = None
    after_seq: int = 0
    limit: int = 100


@dataclass(slots=True)
class Removed:
    """What a purge batch or a shred removed: values by entity type, records shredded."""

    values: dict[str, int] = field(default_factory=dict)
    records: int = 0

    def add(self, other: Removed) -> None:
        """Accumulate another batch."""
        for k, v in other.values.items():
            self.values[k] = self.values.get(k, 0) + v
        self.records += other.records

    @property
    def total(self) -> int:
        """Number of values removed."""
        return sum(self.values.values())


@dataclass(frozen=True, slots=True)
class RecordState:
    """What a redaction reads before it detects, in one read (``redaction_state``):
    the record, the opt-out flags of its subjects, and its entries when asked for."""

    record: RecordRow | None
    #: The record's subject, every subject its values were written for, and the
    #: request's own subject when it named one.
    subjects: frozenset[str]
    #: Subject -> its opt-out flags, for the subjects that have any.
    optouts: dict[str, OptOutRow]
    #: Every entry of the record (only when asked for and the record holds a key).
    entries: list[EntryRow] = field(default_factory=list)
    #: Whether ``entries`` is every entry of the record (asked for; no record, or a
    #: record without a key, holds none).
    complete: bool = False


class RecordRaceLost(Exception):
    """The record was created concurrently with another data key; reload and retry."""


class VaultStore(ReviewStore, ConsoleSessionStore, OverrideStore, Protocol):
    """Persistence for the vault. Every method is one transaction."""

    # -- lifetime -------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect and apply pending schema migrations (when configured to)."""
        ...

    async def close(self) -> None:
        """Release connections; idempotent."""
        ...

    async def ping(self) -> bool:
        """True when the store answers a trivial query."""
        ...

    async def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied."""
        ...

    async def schema_versions(self) -> list[int]:
        """Migration versions applied so far, ascending (empty on a new database)."""
        ...

    # -- records and entries -------------------------------------------------------------
    async def get_record(self, tenant: str, record_id: str) -> RecordRow | None:
        """The record, or ``None`` when unknown in this tenant."""
        ...

    async def find_by_fingerprints(self, tenant: str, record_id: str,
                                   fingerprints: Sequence[bytes]) -> list[EntryRow]:
        """Entries of the record whose fingerprint is in ``fingerprints``."""
        ...

    async def commit_entries(self, record: RecordRow, entries: Sequence[EntryRow],
                             audit: AuditAppend | None = None, *,
                             claim: Claim | None = None) -> dict[bytes, str]:
        """Atomically create the record if absent (or give a shredded one a new data key)
        and add entries.

        Entries whose fingerprint already exists in the record are not inserted; the
        existing token wins. Returns fingerprint -> token for every entry given.
        ``audit``: an event appended with the entries (and its ``row`` set), or with
        none of them when the call fails. ``claim``: values already in the record
        without a subject become the subject's, in the same transaction (``Claim``).

        Raises:
            RecordRaceLost: the record holds a different data key than
                ``record.dek_id`` (entries were sealed under the wrong key).
        """
        ...

    async def ensure_record(self, record: RecordRow) -> RecordRow:
        """Insert the record unless it exists; return the stored row."""
        ...

    async def get_entries(self, tenant: str, record_id: str,
                          tokens: Sequence[str]) -> list[EntryRow]:
        """Entries of the record with the given tokens (missing ones are absent)."""
        ...

    async def record_entries(self, tenant: str, record_id: str) -> list[EntryRow]:
        """Every entry of the record."""
        ...

    async def removed_tokens(self, tenant: str, record_id: str,
                             tokens: Sequence[str]) -> set[str]:
        """Which of the tokens were purged or shredded (tombstoned)."""
        ...

    async def record_counts(self, tenant: str, record_id: str) -> dict[str, int]:
        """Live values per entity type in the record."""
        ...

    async def record_expiry(self, tenant: str, record_id: str) -> float | None:
        """Latest expiry among the record's live values (``None``: none expire)."""
        ...

    async def set_legal_hold(self, tenant: str, record_id: str, hold: bool) -> bool:
        """Set or lift a legal hold; False when the record is unknown."""
        ...

    async def redaction_state(self, tenant: str, record_id: str, subject_id: str | None, *,
                              entries: bool) -> RecordState:
        """The record, the opt-out flags of its subjects and of ``subject_id``, and (with
        ``entries``, when it holds a data key) every entry of it: one read, one
        snapshot (what a redaction needs before detecting)."""
        ...

    # -- key rotation ---------------------------------------------------------------------
    async def records_not_under(self, kek_id: str, limit: int,
                                after: tuple[str, str] | None = None) -> list[RecordRow]:
        """Up to ``limit`` records with a data key wrapped under another KEK, ordered by
        (tenant, record_id) and, with ``after``, past that key (to step over bad ones)."""
        ...

    async def apply_rewraps(self, rewraps: Sequence[Rewrap]) -> int:
        """Store re-wrapped data keys (compare-and-swap on the old KEK id)."""
        ...

    async def count_records_by_kek(self) -> dict[str, int]:
        """Number of records holding a data key, per KEK id."""
        ...

    # -- retention ------------------------------------------------------------------------
    async def count_expired(self, now: float, tenant: str | None) -> dict[str, int]:
        """Values a purge at ``now`` would remove, per entity type (dry run)."""
        ...

    async def purge_expired_batch(self, now: float, tenant: str | None,
                                  limit: int) -> Removed:
        """Delete up to ``limit`` expired values of records not on legal hold,
        tombstoning their tokens. Concurrent callers never remove (or count) a value
        twice."""
        ...

    async def shred_emptied_records(self, now: float, tenant: str | None,
                                    limit: int) -> int:
        """Drop the data key of up to ``limit`` records left without values (not on
        legal hold); returns how many were shredded."""
        ...

    async def shred_record(self, tenant: str, record_id: str, now: float, reason: str,
                           forget_subject: bool) -> Removed:
        """Delete every value of the record and its data key now (erasure)."""
        ...

    async def purge_tombstones(self, before: float, tenant: str | None, limit: int) -> int:
        """Forget up to ``limit`` tombstones older than ``before`` (their tokens then
        answer like unknown ones); returns how many."""
        ...

    async def records_of_subject(self, tenant: str, subject_id: str) -> list[RecordRow]:
        """Records of a subject in a tenant."""
        ...

    async def shred_subject_values(self, tenant: str, subject_id: str, now: float,
                                   reason: str) -> Removed:
        """Delete (and tombstone) every value written for the subject, in any record of
        the tenant not on legal hold; ``records`` counts the records touched."""
        ...

    async def record_subjects(self, tenant: str, record_id: str) -> set[str]:
        """The record's subject and every subject a value of it was written for."""
        ...

    # -- opt-out --------------------------------------------------------------------------
    async def get_optout(self, tenant: str, subject_id: str) -> OptOutRow | None:
        """The subject's opt-out flags, if any."""
        ...

    async def put_optout(self, row: OptOutRow) -> None:
        """Create or replace the subject's opt-out flags."""
        ...

    async def delete_optout(self, tenant: str, subject_id: str) -> bool:
        """Clear the flags; False when there were none."""
        ...

    # -- audit ----------------------------------------------------------------------------
    async def append_audit(self, ts: float, tenant: str | None, principal: str | None,
                           action: str, record_id: str | None, payload: str,
                           key: ChainKey | None = None) -> AuditRow:
        """Append one event to the hash chain (serialized across writers), keyed by
        ``key`` (``audit_chain.chain_hash``)."""
        ...

    async def audit_events(self, query: AuditQuery) -> list[AuditRow]:
        """Events matching the query, by ascending sequence number."""
        ...

    # -- quotas and locks -----------------------------------------------------------------
    async def consume_quota(self, tenant: str, principal: str, window_start: float,
                            amount: int, limit: int) -> tuple[bool, int]:
        """Add ``amount`` to the window's use if it stays within ``limit``.

        Returns (granted, used after the call)."""
        ...

    async def try_lock(self, name: str, holder: str, now: float, ttl_s: float) -> bool:
        """Take or renew a named lease; False when someone else holds it."""
        ...

    async def release_lock(self, name: str, holder: str) -> None:
        """Release the lease if ``holder`` has it."""
        ...


async def read_state_by_parts(store: VaultStore, tenant: str, record_id: str,
                              subject_id: str | None, *, entries: bool) -> RecordState:
    """``redaction_state`` from the store's single reads (several round trips, not one
    snapshot): for stores without a combined read."""
    subjects = await store.record_subjects(tenant, record_id)
    if subject_id is not None:
        subjects.add(subject_id)
    optouts = {}
    for subject in sorted(subjects):
        row = await store.get_optout(tenant, subject)
        if row is not None:
            optouts[subject] = row
    record = await store.get_record(tenant, record_id)
    found = (await store.record_entries(tenant, record_id)
             if entries and record is not None and record.wrapped_dek is not None else [])
    return RecordState(record, frozenset(subjects), optouts, found, complete=entries)
