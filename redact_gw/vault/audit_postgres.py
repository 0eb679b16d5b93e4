"""The audit chain on PostgreSQL, with group append: mixed into ``PostgresStore``.

Appends queued together in one process (up to ``_AUDIT_GROUP``) are written by one
statement that moves the ``audit_head`` row from the head they were chained on to the
last of them and inserts them all, or does nothing when the head has moved:

    WITH head AS (UPDATE audit_head SET (seq, hash) = (last, last_hash)
                  -- only if still at (cached_seq, cached_hash), else unchanged
                  WHERE id = 1 RETURNING seq, hash)
    INSERT INTO audit_events SELECT ... WHERE EXISTS (SELECT 1 FROM head WHERE seq = last ...)

The process keeps the head its last group left, so with one replica a group costs one
round trip (it used to be five per event: BEGIN, lock the head, insert, update, COMMIT).
When another replica moved the head, the statement answers the head as it is now (read
under the row lock its UPDATE takes, so the latest) and the group is chained on from
there; after ``_CAS_ATTEMPTS`` such misses it is chained under the head row's lock
(``SELECT ... FOR UPDATE`` in a transaction), so every replica makes progress and the
chain stays linear whatever the replicas do. The statement is atomic: a failure leaves
no event and no head moved, and every caller of the group gets its own
``VaultUnavailable`` (fails closed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from redact_gw.audit_chain import ChainKey, chain_hash
from redact_gw.errors import VaultUnavailable
from redact_gw.vault.base import AuditQuery, AuditRow

log = logging.getLogger(__name__)
Conn = Any  # asyncpg.Connection

AUDIT_COLS = "seq, ts, tenant, principal, action, record_id, payload, prev_hash, hash"
#: Most events one group statement appends.
_AUDIT_GROUP = 64
#: Compare-and-set of the head: moves it and inserts the group only when it is still at
#: ($12, $13); either way answers the head now (locked, latest) and the rows inserted.
_APPEND = f"""
WITH head AS (
    UPDATE audit_head SET
        seq  = CASE WHEN seq = $12 AND hash = $13 THEN $10 ELSE seq END,
        hash = CASE WHEN seq = $12 AND hash = $13 THEN $11 ELSE hash END
    WHERE id = 1
    RETURNING seq, hash),
ins AS (
    INSERT INTO audit_events ({AUDIT_COLS})
    SELECT * FROM unnest($1::bigint[], $2::float8[], $3::text[], $4::text[], $5::text[],
                         $6::text[], $7::text[], $8::text[], $9::text[])
    WHERE EXISTS (SELECT 1 FROM head WHERE seq = $10 AND hash = $11)
    RETURNING 1)
SELECT seq, hash, (SELECT count(*) FROM ins) FROM head"""
#: Compare-and-set attempts before chaining under the head row's lock.
_CAS_ATTEMPTS = 3
_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1"


@dataclasses.dataclass(slots=True)
class _Pending:
    #: The event, before it is chained (``seq``, ``prev_hash`` and ``hash`` unset).
    event: AuditRow
    key: ChainKey | None
    future: asyncio.Future[AuditRow]


def _chain(head: tuple[int, str], items: Sequence[_Pending]) -> list[AuditRow]:
    seq, prev = head
    rows = []
    for p in items:
        seq += 1
        row = dataclasses.replace(p.event, seq=seq, prev_hash=prev,
                                  hash=chain_hash(prev, seq, p.event.payload, p.key))
        rows.append(row)
        prev = row.hash
    return rows


class PostgresAuditMixin:
    """``append_audit`` (grouped) and ``audit_events`` over ``PostgresStore``'s pool."""

    _call: Callable[..., Any]
    _read: Callable[..., Any]

    def _init_audit(self) -> None:
        #: Head (seq, hash) this process's last group left; ``None``: read it first.
        self._audit_head: tuple[int, str] | None = None
        self._audit_queue: list[_Pending] = []
        self._audit_task: asyncio.Task[None] | None = None
        #: Group statements so far and events they carried (tests, benchmarks).
        self.audit_groups = 0
        self.audit_events_appended = 0

    async def append_audit(self, ts: float, tenant: str | None, principal: str | None,
                           action: str, record_id: str | None, payload: str,
                           key: ChainKey | None = None) -> AuditRow:
        """Append to the chain, grouped with the process's concurrent appends."""
        loop = asyncio.get_running_loop()
        event = AuditRow(0, ts, tenant, principal, action, record_id, payload, "", "")
        pending = _Pending(event, key, loop.create_future())
        self._audit_queue.append(pending)
        if self._audit_task is None or self._audit_task.done():
            self._audit_task = loop.create_task(self._flush_audit())
        return await pending.future

    async def _drain_audit(self) -> None:
        """Wait until every queued append was written or failed (``close``)."""
        task = self._audit_task
        if task is not None and not task.done():
            await asyncio.shield(task)

    async def _flush_audit(self) -> None:
        while self._audit_queue:
            # a caller cancelled before its group was taken is not written
            group = [p for p in self._audit_queue[:_AUDIT_GROUP] if not p.future.done()]
            del self._audit_queue[:_AUDIT_GROUP]
            if not group:
                continue
            try:
                rows: list[AuditRow] = await self._call(
                    functools.partial(self._append_group, group))
            except asyncio.CancelledError:  # the loop is going away: nobody waits long
                for p in (*group, *self._audit_queue):
                    if not p.future.done():
                        p.future.set_exception(VaultUnavailable())
                self._audit_queue.clear()
                raise
            except Exception as exc:
                self._audit_head = None  # unknown: read it again next time
                if not isinstance(exc, VaultUnavailable):
                    log.error("vault: audit append failed (%s)", type(exc).__name__)
                message = exc.message if isinstance(exc, VaultUnavailable) else None
                for p in group:  # each caller fails on its own error
                    if not p.future.done():
                        p.future.set_exception(VaultUnavailable(message))
                continue
            self.audit_groups += 1
            self.audit_events_appended += len(rows)
            for p, row in zip(group, rows, strict=True):
                if not p.future.done():
                    p.future.set_result(row)

    async def _append_group(self, group: list[_Pending], c: Conn) -> list[AuditRow]:
        head = self._audit_head or (-1, "")  # unknown: the first attempt answers it
        for _attempt in range(_CAS_ATTEMPTS):
            rows = _chain(head, group)
            moved = await self._write_group(c, head, rows)
            if moved is None:
                return rows
            head = moved  # another replica appended: chain on from where it left
        # replicas keep overtaking this one: chain under the head row's lock instead
        async with c.transaction():
            found = await c.fetchrow(_HEAD + " FOR UPDATE")
            if found is None:
                raise VaultUnavailable("the audit chain head is missing")
            head = (int(found[0]), found[1])
            rows = _chain(head, group)
            if await self._write_group(c, head, rows) is not None:
                raise VaultUnavailable("the audit chain head moved under its lock")
        return rows

    async def _write_group(self, c: Conn, head: tuple[int, str],
                           rows: list[AuditRow]) -> tuple[int, str] | None:
        """Append ``rows`` if the head is still ``head``: ``None``, else the head now."""
        columns = [list(col) for col in zip(*((r.seq, r.ts, r.tenant, r.principal, r.action,
                                                r.record_id, r.payload, r.prev_hash, r.hash)
                                               for r in rows), strict=True)]
        found = await c.fetchrow(_APPEND, *columns, rows[-1].seq, rows[-1].hash, *head)
        if found is None:
            raise VaultUnavailable("the audit chain head is missing")
        now = (int(found[0]), found[1])
        if found[2] == 0:
            self._audit_head = now
            return now
        if found[2] != len(rows) or now != (rows[-1].seq, rows[-1].hash):
            raise VaultUnavailable()  # cannot happen: the statement inserts all or none
        self._audit_head = now
        return None

    async def audit_events(self, query: AuditQuery) -> list[AuditRow]:
        """Events matching the filters, by ascending sequence number."""
        where: list[str] = ["seq > $1"]
        args: list[Any] = [query.after_seq]
        for column, op, value in (
                ("tenant", "=", query.tenant), ("principal", "=", query.principal),
                ("record_id", "=", query.record_id), ("action", "=", query.action),
                ("ts", ">=", query.since), ("ts", "<", query.until)):
            if value is not None:
                args.append(value)
                where.append(f"{column} {op} ${len(args)}")
        args.append(query.limit)
        sql = (f"SELECT {AUDIT_COLS} FROM audit_events WHERE {' AND '.join(where)}"
               f" ORDER BY seq LIMIT ${len(args)}")
        async def q(c: Conn) -> list[AuditRow]:
            return [AuditRow(*r) for r in await c.fetch(sql, *args)]
        rows: list[AuditRow] = await self._read(q)
        return rows
