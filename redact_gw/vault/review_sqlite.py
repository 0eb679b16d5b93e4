"""``ReviewStore`` for SQLite: mixed into ``SqliteStore`` (same thread, same file)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from redact_gw.vault.review_base import ProposalRow, ReviewItemRow, ReviewQuery, VerdictRow

T = TypeVar("T")
R = TypeVar("R")
Conn = sqlite3.Connection

_ITEM_COLS = ("tenant, item_id, record_id, route, tier, reasons, entity_types, created_at,"
              " expires_at, dek_id, sealed, status")
_VERDICT_COLS = ("tenant, verdict_id, item_id, record_id, route, reviewer, verdict,"
                 " entity_type, token, recognizer, created_at, review_s, dek_id, sealed_case")
_PROPOSAL_COLS = ("tenant, proposal_id, kind, entity_type, record_id, dek_id, sealed, status,"
                  " proposed_by, created_at, decided_by, decided_at, route")


def _new(cls: type[R], *values: Any) -> R:
    """Build a row dataclass from a database row's values (in column order)."""
    make: Any = cls
    row: R = make(*values)
    return row


def _item(r: Sequence[Any]) -> ReviewItemRow:
    return _new(ReviewItemRow, *r[:10], bytes(r[10]), r[11])


def _verdict(r: Sequence[Any]) -> VerdictRow:
    return _new(VerdictRow, *r[:12], r[12], bytes(r[13]) if r[13] is not None else None)


def _proposal(r: Sequence[Any]) -> ProposalRow:
    return _new(ProposalRow, *r[:6], bytes(r[6]), *r[7:])


class SqliteReviewMixin:
    """Review-queue methods over ``SqliteStore``'s ``_read``/``_write``."""

    _read: Callable[..., Any]
    _write: Callable[..., Any]

    async def add_review_item(self, row: ReviewItemRow, day_start: float, cap: int) -> bool:
        """Insert unless the tenant's daily cap is reached."""
        def q(c: Conn) -> bool:
            n = c.execute("SELECT count(*) FROM review_items WHERE tenant=? AND"
                          " created_at>=?", (row.tenant, day_start)).fetchone()[0]
            if n >= cap:
                return False
            c.execute(f"INSERT INTO review_items ({_ITEM_COLS}) VALUES"
                      " (?,?,?,?,?,?,?,?,?,?,?,?)",
                      (row.tenant, row.item_id, row.record_id, row.route, row.tier,
                       row.reasons, row.entity_types, row.created_at, row.expires_at,
                       row.dek_id, row.sealed, row.status))
            return True
        result: bool = await self._write(q)
        return result

    async def review_items(self, query: ReviewQuery) -> list[ReviewItemRow]:
        """Items matching the filters, newest first."""
        where, args = ["tenant = ?"], [query.tenant]
        for column, value in (("route", query.route), ("tier", query.tier),
                              ("status", query.status)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        for column, value in (("reasons", query.reason), ("entity_types", query.entity_type)):
            if value is not None:
                where.append(f"instr({column}, ?) > 0")
                args.append(f",{value},")
        if query.since is not None:
            where.append("created_at >= ?")
            args.append(query.since)  # type: ignore[arg-type]
        sql = (f"SELECT {_ITEM_COLS} FROM review_items WHERE {' AND '.join(where)}"
               " ORDER BY created_at DESC, item_id LIMIT ?")
        rows: list[ReviewItemRow] = await self._read(
            lambda c: [_item(r) for r in c.execute(sql, (*args, query.limit))])
        return rows

    async def get_review_item(self, tenant: str, item_id: str) -> ReviewItemRow | None:
        """One item."""
        def q(c: Conn) -> ReviewItemRow | None:
            r = c.execute(f"SELECT {_ITEM_COLS} FROM review_items WHERE tenant=? AND"
                          " item_id=?", (tenant, item_id)).fetchone()
            return _item(r) if r else None
        row: ReviewItemRow | None = await self._read(q)
        return row

    async def reseal_review_item(self, tenant: str, item_id: str, dek_id: str,
                                 sealed: bytes, entity_types: str) -> bool:
        """Replace the sealed copy."""
        done: bool = await self._write(lambda c: c.execute(
            "UPDATE review_items SET dek_id=?, sealed=?, entity_types=? WHERE tenant=?"
            " AND item_id=?", (dek_id, sealed, entity_types, tenant, item_id)).rowcount == 1)
        return done

    async def add_verdict(self, row: VerdictRow) -> bool:
        """Store a verdict and mark the item reviewed."""
        def q(c: Conn) -> bool:
            if c.execute("UPDATE review_items SET status='reviewed' WHERE tenant=? AND"
                         " item_id=?", (row.tenant, row.item_id)).rowcount != 1:
                return False
            c.execute(f"INSERT INTO review_verdicts ({_VERDICT_COLS}) VALUES"
                      " (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      (row.tenant, row.verdict_id, row.item_id, row.record_id, row.route,
                       row.reviewer, row.verdict, row.entity_type, row.token, row.recognizer,
                       row.created_at, row.review_s, row.dek_id, row.sealed_case))
            return True
        done: bool = await self._write(q)
        return done

    async def review_verdicts(self, tenant: str, since: float | None) -> list[VerdictRow]:
        """Verdicts without their sealed cases."""
        sql = (f"SELECT {_VERDICT_COLS.replace('sealed_case', 'NULL')} FROM review_verdicts"
               " WHERE tenant=? AND created_at>=? ORDER BY created_at, verdict_id")
        rows: list[VerdictRow] = await self._read(lambda c: [
            _verdict(r) for r in c.execute(sql, (tenant, since or 0.0))])
        return rows

    async def get_verdict(self, tenant: str, verdict_id: str) -> VerdictRow | None:
        """One verdict with its sealed case."""
        def q(c: Conn) -> VerdictRow | None:
            r = c.execute(f"SELECT {_VERDICT_COLS} FROM review_verdicts WHERE tenant=? AND"
                          " verdict_id=?", (tenant, verdict_id)).fetchone()
            return _verdict(r) if r else None
        row: VerdictRow | None = await self._read(q)
        return row

    async def add_proposal(self, row: ProposalRow) -> None:
        """Store a list candidate."""
        await self._write(lambda c: c.execute(
            f"INSERT INTO review_proposals ({_PROPOSAL_COLS}) VALUES"
            " (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (row.tenant, row.proposal_id, row.kind, row.entity_type, row.record_id,
             row.dek_id, row.sealed, row.status, row.proposed_by, row.created_at,
             row.decided_by, row.decided_at, row.route)))

    async def review_proposals(self, tenant: str, status: str | None) -> list[ProposalRow]:
        """Candidates, oldest first."""
        sql = (f"SELECT {_PROPOSAL_COLS} FROM review_proposals WHERE tenant=?"
               + (" AND status=?" if status else "") + " ORDER BY created_at, proposal_id")
        args = (tenant, status) if status else (tenant,)
        rows: list[ProposalRow] = await self._read(
            lambda c: [_proposal(r) for r in c.execute(sql, args)])
        return rows

    async def decide_proposal(self, tenant: str, proposal_id: str, status: str,
                              decided_by: str, decided_at: float,
                              route: str | None = None) -> bool:
        """Decide a pending candidate, or widen/withdraw a single-route approval."""
        done: bool = await self._write(lambda c: c.execute(
            "UPDATE review_proposals SET status=?, decided_by=?, decided_at=?, route=?"
            " WHERE tenant=? AND proposal_id=? AND (status='pending' OR"
            " (status='approved' AND route IS NOT NULL))",
            (status, decided_by, decided_at, route, tenant, proposal_id)).rowcount == 1)
        return done

    @staticmethod
    def _drop(c: Conn, keys: list[tuple[str, str]]) -> None:
        """Drop the sealed leftovers of the given (tenant, item_id) pairs."""
        for tenant, item_id in keys:
            c.execute("UPDATE review_verdicts SET sealed_case=NULL, dek_id=NULL"
                      " WHERE tenant=? AND item_id=?", (tenant, item_id))
            c.execute("DELETE FROM review_items WHERE tenant=? AND item_id=?",
                      (tenant, item_id))

    async def purge_review_expired(self, now: float, tenant: str | None, limit: int) -> int:
        """Delete expired items of records not on legal hold."""
        clause, args = ("", ()) if tenant is None else (" AND i.tenant = ?", (tenant,))
        def q(c: Conn) -> int:
            keys = c.execute(
                "SELECT i.tenant, i.item_id FROM review_items i JOIN records r ON"
                " r.tenant=i.tenant AND r.record_id=i.record_id WHERE i.expires_at <= ?"
                f" AND r.legal_hold = 0{clause} LIMIT ?", (now, *args, limit)).fetchall()
            self._drop(c, [(k[0], k[1]) for k in keys])
            return len(keys)
        n: int = await self._write(q)
        return n

    @classmethod
    def _erase_review(cls, c: Conn, tenant: str, record_id: str) -> int:
        """Inside a write transaction (also ``shred_record``'s)."""
        keys = c.execute("SELECT tenant, item_id FROM review_items WHERE tenant=? AND"
                         " record_id=?", (tenant, record_id)).fetchall()
        cls._drop(c, [(k[0], k[1]) for k in keys])
        c.execute("UPDATE review_verdicts SET sealed_case=NULL, dek_id=NULL WHERE"
                  " tenant=? AND record_id=?", (tenant, record_id))
        c.execute("DELETE FROM review_proposals WHERE tenant=? AND record_id=?",
                  (tenant, record_id))
        return len(keys)

    async def delete_review_of_record(self, tenant: str, record_id: str) -> int:
        """Erasure of one record's review data."""
        n: int = await self._write(lambda c: self._erase_review(c, tenant, record_id))
        return n
