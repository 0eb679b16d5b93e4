"""The storage seam: rows the vault keeps and the ``VaultStore`` protocol.

A store holds ciphertext, wrapped data keys and keyed fingerprints only. It never
sees a key-encryption key or a plaintext value, so the contract tests can check
every backend for the same guarantees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RecordRow:
    """A record and its wrapped data key."""

    tenant: str
    record_id: str
    subject_id: str | None
    created_at: float
    dek_id: str
    kek_id: str
    wrapped_dek: bytes = field(repr=False)
    no_retention: bool = False
    legal_hold: bool = False


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


@dataclass(frozen=True, slots=True)
class Rewrap:
    """A data key re-wrapped under a new KEK, applied only if still under ``old_kek_id``."""

    tenant: str
    record_id: str
    old_kek_id: str
    new_kek_id: str
    wrapped_dek: bytes = field(repr=False)


class RecordRaceLost(Exception):
    """The record was created concurrently with another data key; reload and retry."""


class VaultStore(Protocol):
    """Persistence of records and sealed entries. Every method is one transaction."""

    async def open(self) -> None:
        """Connect and apply pending schema migrations."""
        ...

    async def close(self) -> None:
        """Release connections; idempotent."""
        ...

    async def ping(self) -> bool:
        """True when the store answers a trivial query."""
        ...

    async def get_record(self, tenant: str, record_id: str) -> RecordRow | None:
        """The record, or ``None`` when unknown in this tenant."""
        ...

    async def find_by_fingerprints(self, tenant: str, record_id: str,
                                   fingerprints: Sequence[bytes]) -> list[EntryRow]:
        """Entries of the record whose fingerprint is in ``fingerprints``."""
        ...

    async def commit_entries(self, record: RecordRow,
                             entries: Sequence[EntryRow]) -> dict[bytes, str]:
        """Atomically create the record if absent and add entries.

        Entries whose fingerprint already exists in the record are not inserted; the
        existing token wins. Returns fingerprint -> token for every entry given.

        Raises:
            RecordRaceLost: the record exists with a different data key than
                ``record.dek_id`` (entries were sealed under the wrong key).
        """
        ...

    async def get_entries(self, tenant: str, record_id: str,
                          tokens: Sequence[str]) -> list[EntryRow]:
        """Entries of the record with the given tokens (missing ones are absent)."""
        ...

    async def record_entries(self, tenant: str, record_id: str) -> list[EntryRow]:
        """Every entry of the record."""
        ...

    async def records_not_under(self, kek_id: str, limit: int) -> list[RecordRow]:
        """Up to ``limit`` records whose data key is wrapped under another KEK."""
        ...

    async def apply_rewraps(self, rewraps: Sequence[Rewrap]) -> int:
        """Store re-wrapped data keys (compare-and-swap on the old KEK id)."""
        ...

    async def count_records_by_kek(self) -> dict[str, int]:
        """Number of records per KEK id."""
        ...
