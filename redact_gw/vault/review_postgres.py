"""``ReviewStore`` for PostgreSQL: mixed into ``PostgresStore`` (same pool)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from redact_gw.vault.review_base import ProposalRow, ReviewItemRow, ReviewQuery, VerdictRow

R = TypeVar("R")
Conn = Any  # asyncpg.Connection

_ITEM_COLS = ("tenant, item_id, record_id, route, tier, reasons, entity_types, created_at,"
              " expires_at, dek_id, sealed, status")
_VERDICT_COLS = ("tenant, verdict_id, item_id, record_id, route, reviewer, verdict,"
                 " entity_type, token, recognizer, created_at, review_s, dek_id, sealed_case")
_PROPOSAL_COLS = ("tenant, proposal_id, kind, entity_type, record_id, dek_id, sealed, status,"
                  " proposed_by, created_at, decided_by, decided_at, route")


def _marks(n: int, start: int = 1) -> str:
    return ",".join(f"${i}" for i in range(start, start + n))


def _affected(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


def _new(cls: type[R], *values: Any) -> R:
    """Build a row dataclass from a database row's values (in column order)."""
    make: Any = cls
    row: R = make(*values)
    return row


def _item(r: Any) -> ReviewItemRow:
    return _new(ReviewItemRow, *list(r)[:10], bytes(r[10]), r[11])


def _verdict(r: Any) -> VerdictRow:
    v = list(r)
    return _new(VerdictRow, *v[:13], bytes(v[13]) if v[13] is not None else None)


def _proposal(r: Any) -> ProposalRow:
    v = list(r)
    return _new(ProposalRow, *v[:6], bytes(v[6]), *v[7:])


class PostgresReviewMixin:
    """Review-queue methods over ``PostgresStore``'s ``_read``/``_write``."""

    _read: Callable[..., Any]
    _write: Callable[..., Any]

    async def add_review_item(self, row: ReviewItemRow, day_start: float, cap: int) -> bool:
        """Insert unless the tenant's daily cap is reached (replicas take turns per
        tenant on a transaction-scoped advisory lock)."""
        async def q(c: Conn) -> bool:
            await c.execute("SELECT pg_advisory_xact_lock(hashtext('review_cap:' || $1))",
                            row.tenant)
            n = await c.fetchval("SELECT count(*) FROM review_items WHERE tenant = $1 AND"
                                 " created_at >= $2", row.tenant, day_start)
            if n >= cap:
                return False
            await c.execute(f"INSERT INTO review_items ({_ITEM_COLS}) VALUES ({_marks(12)})",
                            row.tenant, row.item_id, row.record_id, row.route, row.tier,
                            row.reasons, row.entity_types, row.created_at, row.expires_at,
                            row.dek_id, row.sealed, row.status)
            return True
        done: bool = await self._write(q)
        return done

    async def review_items(self, query: ReviewQuery) -> list[ReviewItemRow]:
        """Items matching the filters, newest first."""
        where, args = ["tenant = $1"], [query.tenant]
        for column, value in (("route", query.route), ("tier", query.tier),
                              ("status", query.status)):
            if value is not None:
                args.append(value)
                where.append(f"{column} = ${len(args)}")
        for column, value in (("reasons", query.reason), ("entity_types", query.entity_type)):
            if value is not None:
                args.append(f",{value},")
                where.append(f"strpos({column}, ${len(args)}) > 0")
        params: list[Any] = list(args)
        if query.since is not None:
            params.append(query.since)
            where.append(f"created_at >= ${len(params)}")
        params.append(query.limit)
        sql = (f"SELECT {_ITEM_COLS} FROM review_items WHERE {' AND '.join(where)}"
               f" ORDER BY created_at DESC, item_id LIMIT ${len(params)}")
        async def q(c: Conn) -> list[ReviewItemRow]:
            return [_item(r) for r in await c.fetch(sql, *params)]
        rows: list[ReviewItemRow] = await self._read(q)
        return rows

    async def get_review_item(self, tenant: str, item_id: str) -> ReviewItemRow | None:
        """One item."""
        async def q(c: Conn) -> ReviewItemRow | None:
            r = await c.fetchrow(f"SELECT {_ITEM_COLS} FROM review_items WHERE tenant = $1"
                                 " AND item_id = $2", tenant, item_id)
            return _item(r) if r else None
        row: ReviewItemRow | None = await self._read(q)
        return row

    async def reseal_review_item(self, tenant: str, item_id: str, dek_id: str,
                                 sealed: bytes, entity_types: str) -> bool:
        """Replace the sealed copy."""
        async def q(c: Conn) -> bool:
            return _affected(await c.execute(
                "UPDATE review_items SET dek_id = $1, sealed = $2, entity_types = $3"
                " WHERE tenant = $4 AND item_id = $5",
                dek_id, sealed, entity_types, tenant, item_id)) == 1
        done: bool = await self._write(q)
        return done

    async def add_verdict(self, row: VerdictRow) -> bool:
        """Store a verdict and mark the item reviewed."""
        async def q(c: Conn) -> bool:
            if _affected(await c.execute(
                    "UPDATE review_items SET status = 'reviewed' WHERE tenant = $1 AND"
                    " item_id = $2", row.tenant, row.item_id)) != 1:
                return False
            await c.execute(
                f"INSERT INTO review_verdicts ({_VERDICT_COLS}) VALUES ({_marks(14)})",
                row.tenant, row.verdict_id, row.item_id, row.record_id, row.route,
                row.reviewer, row.verdict, row.entity_type, row.token, row.recognizer,
                row.created_at, row.review_s, row.dek_id, row.sealed_case)
            return True
        done: bool = await self._write(q)
        return done

    async def review_verdicts(self, tenant: str, since: float | None) -> list[VerdictRow]:
        """Verdicts without their sealed cases."""
        cols = _VERDICT_COLS.replace("sealed_case", "NULL::bytea")
        async def q(c: Conn) -> list[VerdictRow]:
            return [_verdict(r) for r in await c.fetch(
                f"SELECT {cols} FROM review_verdicts WHERE tenant = $1 AND created_at >= $2"
                " ORDER BY created_at, verdict_id", tenant, since or 0.0)]
        rows: list[VerdictRow] = await self._read(q)
        return rows

    async def get_verdict(self, tenant: str, verdict_id: str) -> VerdictRow | None:
        """One verdict with its sealed case."""
        async def q(c: Conn) -> VerdictRow | None:
            r = await c.fetchrow(f"SELECT {_VERDICT_COLS} FROM review_verdicts WHERE"
                                 " tenant = $1 AND verdict_id = $2", tenant, verdict_id)
            return _verdict(r) if r else None
        row: VerdictRow | None = await self._read(q)
        return row

    async def add_proposal(self, row: ProposalRow) -> None:
        """Store a list candidate."""
        async def q(c: Conn) -> None:
            await c.execute(
                f"INSERT INTO review_proposals ({_PROPOSAL_COLS}) VALUES ({_marks(13)})",
                row.tenant, row.proposal_id, row.kind, row.entity_type, row.record_id,
                row.dek_id, row.sealed, row.status, row.proposed_by, row.created_at,
                row.decided_by, row.decided_at, row.route)
        await self._write(q)

    async def review_proposals(self, tenant: str, status: str | None) -> list[ProposalRow]:
        """Candidates, oldest first."""
        sql = (f"SELECT {_PROPOSAL_COLS} FROM review_proposals WHERE tenant = $1"
               + (" AND status = $2" if status else "") + " ORDER BY created_at, proposal_id")
        args = (tenant, status) if status else (tenant,)
        async def q(c: Conn) -> list[ProposalRow]:
            return [_proposal(r) for r in await c.fetch(sql, *args)]
        rows: list[ProposalRow] = await self._read(q)
        return rows

    async def decide_proposal(self, tenant: str, proposal_id: str, status: str,
                              decided_by: str, decided_at: float,
                              route: str | None = None) -> bool:
        """Decide a pending candidate, or widen/withdraw a single-route approval."""
        async def q(c: Conn) -> bool:
            return _affected(await c.execute(
                "UPDATE review_proposals SET status = $1, decided_by = $2, decided_at = $3,"
                " route = $4 WHERE tenant = $5 AND proposal_id = $6 AND (status = 'pending'"
                " OR (status = 'approved' AND route IS NOT NULL))",
                status, decided_by, decided_at, route, tenant, proposal_id)) == 1
        done: bool = await self._write(q)
        return done

    @staticmethod
    async def _drop(c: Conn, keys: list[tuple[str, str]]) -> None:
        if not keys:
            return
        tenants, items = [k[0] for k in keys], [k[1] for k in keys]
        await c.execute(
            "UPDATE review_verdicts v SET sealed_case = NULL, dek_id = NULL FROM"
            " unnest($1::text[], $2::text[]) AS k(tenant, item_id)"
            " WHERE v.tenant = k.tenant AND v.item_id = k.item_id", tenants, items)
        await c.execute(
            "DELETE FROM review_items i USING unnest($1::text[], $2::text[]) AS"
            " k(tenant, item_id) WHERE i.tenant = k.tenant AND i.item_id = k.item_id",
            tenants, items)

    async def purge_review_expired(self, now: float, tenant: str | None, limit: int) -> int:
        """Delete expired items of records not on legal hold (SKIP LOCKED)."""
        clause, args = ("", ()) if tenant is None else (" AND i.tenant = $3", (tenant,))
        sql = ("SELECT i.tenant, i.item_id FROM review_items i JOIN records r ON"
               " r.tenant = i.tenant AND r.record_id = i.record_id WHERE i.expires_at <= $1"
               f" AND NOT r.legal_hold{clause} LIMIT $2 FOR UPDATE OF i SKIP LOCKED")
        async def q(c: Conn) -> int:
            keys = [(k[0], k[1]) for k in await c.fetch(sql, now, limit, *args)]
            await self._drop(c, keys)
            return len(keys)
        n: int = await self._write(q)
        return n

    @classmethod
    async def _erase_review(cls, c: Conn, tenant: str, record_id: str) -> int:
        """Inside a write transaction (also ``shred_record``'s)."""
        keys = [(k[0], k[1]) for k in await c.fetch(
            "SELECT tenant, item_id FROM review_items WHERE tenant = $1 AND"
            " record_id = $2 FOR UPDATE", tenant, record_id)]
        await cls._drop(c, keys)
        await c.execute("UPDATE review_verdicts SET sealed_case = NULL, dek_id = NULL"
                        " WHERE tenant = $1 AND record_id = $2", tenant, record_id)
        await c.execute("DELETE FROM review_proposals WHERE tenant = $1 AND"
                        " record_id = $2", tenant, record_id)
        return len(keys)

    async def delete_review_of_record(self, tenant: str, record_id: str) -> int:
        """Erasure of one record's review data."""
        n: int = await self._write(lambda c: self._erase_review(c, tenant, record_id))
        return n
