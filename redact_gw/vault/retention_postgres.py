"""Retention, erasure and opt-out flags on PostgreSQL: mixed into ``PostgresStore``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from redact_gw.vault.base import OptOutRow, Removed

T = TypeVar("T")
Conn = Any  # asyncpg.Connection

# $1 reason, $2 now; ``{picked}`` selects (tenant, record_id, token) of entries to remove.
_DELETE_ENTRIES = """
WITH picked AS ({picked}),
gone AS (
    DELETE FROM entries e USING picked p
    WHERE e.tenant = p.tenant AND e.record_id = p.record_id AND e.token = p.token
    RETURNING e.tenant, e.record_id, e.token, e.entity_type),
tomb AS (
    INSERT INTO tombstones (tenant, record_id, token, entity_type, reason, removed_at)
    SELECT tenant, record_id, token, entity_type, $1, $2 FROM gone
    ON CONFLICT DO NOTHING)
SELECT entity_type, count(*) FROM gone GROUP BY 1"""
_EXPIRED = ("SELECT e.tenant, e.record_id, e.token FROM entries e JOIN records r"
            " ON r.tenant = e.tenant AND r.record_id = e.record_id"
            " WHERE e.expires_at <= $2 AND NOT r.legal_hold{clause}")
_EMPTIED = ("SELECT r.tenant, r.record_id FROM records r WHERE r.wrapped_dek IS NOT NULL"
            " AND NOT r.legal_hold{clause} AND NOT EXISTS (SELECT 1 FROM entries e"
            " WHERE e.tenant = r.tenant AND e.record_id = r.record_id) AND NOT EXISTS"
            " (SELECT 1 FROM review_items i WHERE i.tenant = r.tenant"
            " AND i.record_id = r.record_id)")
# Re-checks emptiness in a fresh snapshot, after the candidate rows are locked.
_SHRED_EMPTIED = """
UPDATE records r SET wrapped_dek = NULL, kek_id = NULL, shredded_at = $1
FROM unnest($2::text[], $3::text[]) AS k(tenant, record_id)
WHERE r.tenant = k.tenant AND r.record_id = k.record_id AND r.wrapped_dek IS NOT NULL
  AND NOT r.legal_hold AND NOT EXISTS (
      SELECT 1 FROM entries e WHERE e.tenant = r.tenant AND e.record_id = r.record_id)
  AND NOT EXISTS (
      SELECT 1 FROM review_items i WHERE i.tenant = r.tenant AND i.record_id = r.record_id)"""


def _affected(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


def _tenant_clause(tenant: str | None, alias: str, n: int) -> tuple[str, tuple[Any, ...]]:
    """`` AND {alias}tenant = $n`` and its argument, or nothing for every tenant."""
    return ("", ()) if tenant is None else (f" AND {alias}tenant = ${n}", (tenant,))


def _removed(rows: Sequence[Any]) -> Removed:
    return Removed(values={r[0]: int(r[1]) for r in rows})


class PostgresRetentionMixin:
    """Purge, shred and opt-out methods over ``PostgresStore``'s ``_read``/``_write``."""

    if TYPE_CHECKING:
        async def _read(self, fn: Callable[[Conn], Awaitable[T]]) -> T: ...
        async def _write(self, fn: Callable[[Conn], Awaitable[T]], *,
                         one_statement: bool = False) -> T: ...
        async def _erase_review(self, c: Conn, tenant: str, record_id: str) -> int: ...

    # -- retention ------------------------------------------------------------------------
    async def count_expired(self, now: float, tenant: str | None) -> dict[str, int]:
        """Values a purge would remove now."""
        clause, args = _tenant_clause(tenant, "e.", 2)
        async def q(c: Conn) -> dict[str, int]:
            return {r[0]: int(r[1]) for r in await c.fetch(
                "SELECT e.entity_type, count(*) FROM entries e JOIN records r"
                " ON r.tenant = e.tenant AND r.record_id = e.record_id"
                f" WHERE e.expires_at <= $1 AND NOT r.legal_hold{clause} GROUP BY 1",
                now, *args)}
        return await self._read(q)

    async def purge_expired_batch(self, now: float, tenant: str | None,
                                  limit: int) -> Removed:
        """Delete up to ``limit`` expired values (not on legal hold), tombstoning them."""
        clause, args = _tenant_clause(tenant, "e.", 4)
        picked = _EXPIRED.format(clause=clause) + " LIMIT $3 FOR UPDATE OF e SKIP LOCKED"
        sql = _DELETE_ENTRIES.format(picked=picked)
        async def q(c: Conn) -> Removed:
            return _removed(await c.fetch(sql, "expired", now, limit, *args))
        return await self._write(q)

    async def shred_emptied_records(self, now: float, tenant: str | None, limit: int) -> int:
        """Drop data keys of records left without values (not on legal hold)."""
        clause, args = _tenant_clause(tenant, "r.", 2)
        pick = _EMPTIED.format(clause=clause) + " LIMIT $1 FOR UPDATE OF r SKIP LOCKED"
        async def q(c: Conn) -> int:
            keys = await c.fetch(pick, limit, *args)
            if not keys:
                return 0
            return _affected(await c.execute(_SHRED_EMPTIED, now, [k[0] for k in keys],
                                             [k[1] for k in keys]))
        return await self._write(q)

    async def purge_tombstones(self, before: float, tenant: str | None, limit: int) -> int:
        """Forget old tombstones (SKIP LOCKED: concurrent purges split the work)."""
        clause, args = _tenant_clause(tenant, "", 3)
        sql = ("DELETE FROM tombstones WHERE (tenant, record_id, token) IN (SELECT tenant,"
               f" record_id, token FROM tombstones WHERE removed_at < $1{clause}"
               " LIMIT $2 FOR UPDATE SKIP LOCKED)")
        async def q(c: Conn) -> int:
            return _affected(await c.execute(sql, before, limit, *args))
        return await self._write(q)

    async def shred_record(self, tenant: str, record_id: str, now: float, reason: str,
                           forget_subject: bool) -> Removed:
        """Delete every value and the data key of one record now."""
        picked = ("SELECT tenant, record_id, token FROM entries"
                  " WHERE tenant = $3 AND record_id = $4")
        async def q(c: Conn) -> Removed:
            locked = await c.fetchval("SELECT 1 FROM records WHERE tenant = $1"
                                      " AND record_id = $2 FOR UPDATE", tenant, record_id)
            removed = _removed(await c.fetch(_DELETE_ENTRIES.format(picked=picked),
                                             reason, now, tenant, record_id))
            if locked:
                await c.execute(
                    "UPDATE records SET wrapped_dek = NULL, kek_id = NULL,"
                    " shredded_at = coalesce(shredded_at, $3),"
                    " subject_id = CASE WHEN $4 THEN NULL ELSE subject_id END"
                    " WHERE tenant = $1 AND record_id = $2",
                    tenant, record_id, now, forget_subject)
                removed.records = 1
            await self._erase_review(c, tenant, record_id)
            return removed
        return await self._write(q)

    async def shred_subject_values(self, tenant: str, subject_id: str, now: float,
                                   reason: str) -> Removed:
        """Delete every value written for the subject (records not on legal hold)."""
        picked = ("SELECT e.tenant, e.record_id, e.token FROM entries e JOIN records r"
                  " ON r.tenant = e.tenant AND r.record_id = e.record_id"
                  " WHERE e.tenant = $3 AND e.subject_id = $4 AND NOT r.legal_hold")
        async def q(c: Conn) -> Removed:
            touched = await c.fetchval(
                "SELECT count(DISTINCT e.record_id) FROM entries e JOIN records r"
                " ON r.tenant = e.tenant AND r.record_id = e.record_id"
                " WHERE e.tenant = $1 AND e.subject_id = $2 AND NOT r.legal_hold",
                tenant, subject_id)
            removed = _removed(await c.fetch(_DELETE_ENTRIES.format(picked=picked),
                                             reason, now, tenant, subject_id))
            removed.records = int(touched)
            return removed
        return await self._write(q)

    async def record_subjects(self, tenant: str, record_id: str) -> set[str]:
        """The record's subject and the subjects its values were written for."""
        async def q(c: Conn) -> set[str]:
            return {r[0] for r in await c.fetch(
                "SELECT subject_id FROM records WHERE tenant = $1 AND record_id = $2"
                " AND subject_id IS NOT NULL UNION SELECT subject_id FROM entries"
                " WHERE tenant = $1 AND record_id = $2 AND subject_id IS NOT NULL",
                tenant, record_id)}
        return await self._read(q)

    # -- opt-out --------------------------------------------------------------------------
    async def get_optout(self, tenant: str, subject_id: str) -> OptOutRow | None:
        """The subject's flags."""
        async def q(c: Conn) -> OptOutRow | None:
            r = await c.fetchrow(
                "SELECT tenant, subject_id, no_ai_processing, no_retention, reason, set_by,"
                " set_at FROM optouts WHERE tenant = $1 AND subject_id = $2",
                tenant, subject_id)
            return OptOutRow(*r) if r else None
        return await self._read(q)

    async def put_optout(self, row: OptOutRow) -> None:
        """Create or replace flags."""
        async def q(c: Conn) -> None:
            await c.execute(
                "INSERT INTO optouts (tenant, subject_id, no_ai_processing, no_retention,"
                " reason, set_by, set_at) VALUES ($1,$2,$3,$4,$5,$6,$7)"
                " ON CONFLICT (tenant, subject_id) DO UPDATE SET"
                " no_ai_processing = excluded.no_ai_processing,"
                " no_retention = excluded.no_retention, reason = excluded.reason,"
                " set_by = excluded.set_by, set_at = excluded.set_at",
                row.tenant, row.subject_id, row.no_ai_processing, row.no_retention,
                row.reason, row.set_by, row.set_at)
        await self._write(q)

    async def delete_optout(self, tenant: str, subject_id: str) -> bool:
        """Clear flags."""
        async def q(c: Conn) -> bool:
            return _affected(await c.execute(
                "DELETE FROM optouts WHERE tenant = $1 AND subject_id = $2",
                tenant, subject_id)) == 1
        return await self._write(q)
