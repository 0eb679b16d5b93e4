"""Scoped detection overrides in the vault database (migration 5, ``review/rollout.py``).

A row holds one override of one tenant for one scope (a route template, or ``*`` for
every route of the tenant): the settings as canonical JSON (thresholds and entity
types, never text), who applied it and when, and an HMAC-SHA256 of all of it under a
key derived from the keyring's key ``kid``. A database writer without the key file
cannot change what a row says: a row whose MAC does not verify fails closed (only its
stricter parts apply, see ``rollout.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

#: The columns of ``policy_overrides``, in ``OverrideRow`` order.
OVERRIDE_COLUMNS = "tenant, scope, override_id, doc, created_by, created_at, kid, mac"


@dataclass(frozen=True, slots=True)
class OverrideRow:
    """One scoped override."""

    tenant: str
    scope: str
    override_id: str
    doc: str
    created_by: str
    created_at: float
    kid: str
    mac: bytes = field(repr=False)

    @classmethod
    def of(cls, r: Any) -> OverrideRow:
        """A row read back in ``OVERRIDE_COLUMNS`` order (either backend)."""
        return cls(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bytes(r[7]))


class OverrideStore(Protocol):
    """The override part of ``VaultStore``; every method is one transaction."""

    async def put_policy_override(self, row: OverrideRow) -> None:
        """Insert, replacing the tenant's override of the same scope."""
        ...

    async def delete_policy_override(self, tenant: str, scope: str) -> OverrideRow | None:
        """Remove the tenant's override of ``scope``; the removed row, or ``None``."""
        ...

    async def policy_overrides(self, tenant: str | None = None) -> list[OverrideRow]:
        """Every override (of one tenant when given), by tenant and scope."""
        ...
