"""Reveal quotas and leases on PostgreSQL: mixed into ``PostgresStore`` (same pool)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

T = TypeVar("T")
Conn = Any  # asyncpg.Connection

# One statement: count the reveal if it stays within the limit and, when it did, forget
# the principal's earlier windows; NULL when refused.
_CONSUME_QUOTA = """
WITH used AS (
    INSERT INTO quotas (tenant, principal, window_start, used)
    SELECT $1, $2, $3, $4::bigint WHERE $4::bigint <= $5::bigint
    ON CONFLICT (tenant, principal, window_start)
    DO UPDATE SET used = quotas.used + excluded.used
    WHERE quotas.used + excluded.used <= $5
    RETURNING used),
trimmed AS (
    DELETE FROM quotas WHERE tenant = $1 AND principal = $2 AND window_start < $3
    AND EXISTS (SELECT 1 FROM used))
SELECT used FROM used"""
_TRY_LOCK = """
INSERT INTO locks (name, holder, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE locks.holder = excluded.holder OR locks.expires_at < $4
RETURNING holder"""


class PostgresQuotaMixin:
    """Quota and lock methods over ``PostgresStore``'s ``_write``."""

    if TYPE_CHECKING:
        async def _write(self, fn: Callable[[Conn], Awaitable[T]], *,
                         one_statement: bool = False) -> T: ...

    # -- quotas and locks -----------------------------------------------------------------
    async def consume_quota(self, tenant: str, principal: str, window_start: float,
                            amount: int, limit: int) -> tuple[bool, int]:
        """Count reveals against a window, refusing past the limit (one statement)."""
        async def q(c: Conn) -> tuple[bool, int]:
            used = await c.fetchval(_CONSUME_QUOTA, tenant, principal, window_start,
                                    amount, limit)
            if used is not None:
                return True, int(used)
            current = await c.fetchval(
                "SELECT used FROM quotas WHERE tenant = $1 AND principal = $2"
                " AND window_start = $3", tenant, principal, window_start)
            return False, int(current or 0)
        return await self._write(q, one_statement=True)

    async def try_lock(self, name: str, holder: str, now: float, ttl_s: float) -> bool:
        """Take the lease if free, expired or already ours."""
        async def q(c: Conn) -> bool:
            return await c.fetchval(_TRY_LOCK, name, holder, now + ttl_s, now) is not None
        return await self._write(q)

    async def release_lock(self, name: str, holder: str) -> None:
        """Release our lease."""
        async def q(c: Conn) -> None:
            await c.execute("DELETE FROM locks WHERE name = $1 AND holder = $2", name, holder)
        await self._write(q)
