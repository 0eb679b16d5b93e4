"""Console sessions in the vault database (migration 4), so any replica accepts them.

A row holds the SHA-256 of the session id (the cookie's value never reaches the
database), the tenant and principal, when it ends, and, sealed under a key derived
from the keyring's key ``kid`` (``console/sessions.py``), the session's CSRF secret
and the hash of the API key it was opened with. The seal's associated data binds the
row's clear columns: a database writer without the key file can delete sessions but
cannot forge one, move one to another principal or extend it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

#: The columns of ``console_sessions``, in ``SessionRow`` order.
SESSION_COLUMNS = "sid_hash, tenant, principal, created_at, expires_at, kid, sealed"


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One console session."""

    sid_hash: str = field(repr=False)
    tenant: str
    principal: str
    created_at: float
    expires_at: float
    kid: str
    sealed: bytes = field(repr=False)

    @classmethod
    def of(cls, r: Any) -> SessionRow:
        """A row read back in ``SESSION_COLUMNS`` order (either backend)."""
        return cls(r[0], r[1], r[2], r[3], r[4], r[5], bytes(r[6]))


class ConsoleSessionStore(Protocol):
    """The console-session part of ``VaultStore``; every method is one transaction."""

    async def add_console_session(self, row: SessionRow, max_per_principal: int) -> None:
        """Insert; first drop expired sessions and the principal's oldest ones beyond
        ``max_per_principal - 1``."""
        ...

    async def get_console_session(self, sid_hash: str) -> SessionRow | None:
        """The session with this id hash, or ``None``."""
        ...

    async def delete_console_session(self, sid_hash: str) -> None:
        """Sign out."""
        ...

    async def delete_console_sessions(self, tenant: str, principal: str) -> int:
        """End every session of a principal (its key was revoked); how many."""
        ...

    async def purge_console_sessions(self, now: float) -> int:
        """Delete sessions that ended at or before ``now``; how many."""
        ...
