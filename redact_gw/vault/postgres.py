"""PostgreSQL vault store: many stateless gateway replicas, one vault.

Every method borrows a connection from one asyncpg pool per process; writes run in
one READ COMMITTED transaction. Cross-replica races are settled by the database:

- ``commit_entries`` locks the record row before inserting entries, so writers of one
  record take turns (no lost entry, no duplicate token, no deadlock);
- purges pick rows with ``FOR UPDATE SKIP LOCKED`` and count what ``DELETE ... RETURNING``
  actually removed, so concurrent purgers never remove or count a value twice;
- ``append_audit`` moves the single ``audit_head`` row from the head it chained on, or
  chains again under that row's lock, so the hash chain stays linear
  (``audit_postgres``: concurrent appends of a process go in one statement);
- migrations take a transaction-scoped advisory lock per schema, so replicas starting
  together apply each version once.

Round trips are what a request waits for, so the hot paths are one statement each,
run outside an explicit transaction (a statement is atomic on its own): ``commit_entries``
(record upsert-and-lock, entries insert, tokens back), ``consume_quota`` (grant and
trim old windows) and a group of audit appends. A connection goes back to the pool
without asyncpg's reset query (the store keeps no session state: no ``SET``, cursors,
LISTEN or session advisory locks; an open transaction is still rolled back).

Any database or connection failure surfaces as ``VaultUnavailable`` (503). On a
connection-level failure every pooled connection is expired, so once PostgreSQL is back
the next call reconnects: no restart needed. ``ping()`` is false while it is down.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg

from redact_gw.errors import ConfigError, VaultUnavailable
from redact_gw.vault import migrations
from redact_gw.vault.audit_postgres import PostgresAuditMixin
from redact_gw.vault.base import (
    AuditAppend,
    Claim,
    EntryRow,
    RecordRaceLost,
    RecordRow,
    RecordState,
    Rewrap,
    read_state_by_parts,
)
from redact_gw.vault.override_postgres import PostgresOverrideMixin
from redact_gw.vault.quota_postgres import PostgresQuotaMixin
from redact_gw.vault.retention_postgres import PostgresRetentionMixin
from redact_gw.vault.review_postgres import PostgresReviewMixin
from redact_gw.vault.session_postgres import PostgresSessionMixin

log = logging.getLogger(__name__)
T = TypeVar("T")
Conn = Any  # asyncpg.Connection (asyncpg ships no type stubs)

_RECORD_COLS = ("tenant, record_id, subject_id, created_at, dek_id, kek_id, wrapped_dek,"
                " no_retention, legal_hold, channel, shredded_at")
_ENTRY_COLS = ("tenant, record_id, token, entity_type, fingerprint, sealed, created_at,"
               " expires_at, sent_by, subject_id, aad_version")
_TX_ATTEMPTS = 4
_MIGRATION_TIMEOUT_S = 3600.0

#: Failures that mean "the vault is not usable right now".
_FAILURES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError,
    OSError, TimeoutError)
#: Failures after which pooled connections are suspect and get replaced.
_CONNECTION_FAILURES: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError, asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError, asyncpg.exceptions.AdminShutdownError,
    OSError, TimeoutError)

_INSERT_RECORD = (f"INSERT INTO records ({_RECORD_COLS}) VALUES"
                  " ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT DO NOTHING")
# One statement (atomic on its own): creates the record or locks it (writers of one record
# take turns), gives a shredded record (wrapped_dek NULL) the caller's data key, and
# inserts the entries only when the record now holds the caller's data key. A shredded
# record keeps its dek_id: a writer still holding that (stale) key loses the race
# instead of bringing the shredded key back. Returns one row per inserted entry (or one
# row of NULLs), each with ``claimed``: false means nothing was changed.
_CLAIM = """CASE WHEN records.wrapped_dek IS NULL
                 AND records.dek_id IS DISTINCT FROM excluded.dek_id"""
_COMMIT_ENTRIES = f"""
WITH rec AS (
    INSERT INTO records ({_RECORD_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
    ON CONFLICT (tenant, record_id) DO UPDATE SET
        dek_id      = {_CLAIM} THEN excluded.dek_id ELSE records.dek_id END,
        kek_id      = {_CLAIM} THEN excluded.kek_id ELSE records.kek_id END,
        shredded_at = {_CLAIM} THEN NULL ELSE records.shredded_at END,
        wrapped_dek = {_CLAIM} THEN excluded.wrapped_dek ELSE records.wrapped_dek END
    RETURNING dek_id = $5 AND wrapped_dek IS NOT NULL AS claimed),
ins AS (
    INSERT INTO entries ({_ENTRY_COLS})
    SELECT * FROM unnest($12::text[], $13::text[], $14::text[], $15::text[],
                         $16::bytea[], $17::bytea[], $18::float8[], $19::float8[],
                         $20::text[], $21::text[], $22::int[])
    WHERE (SELECT claimed FROM rec)
    ON CONFLICT DO NOTHING
    RETURNING fingerprint, token)
SELECT rec.claimed, ins.fingerprint, ins.token FROM rec LEFT JOIN ins ON true"""
_APPLY_REWRAPS = """
UPDATE records r SET kek_id = u.new_kek, wrapped_dek = u.wrapped
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[])
     AS u(tenant, record_id, old_kek, new_kek, wrapped)
WHERE r.tenant = u.tenant AND r.record_id = u.record_id AND r.kek_id = u.old_kek
  AND r.wrapped_dek IS NOT NULL"""
_MIGRATION_LOCK = ("SELECT pg_advisory_xact_lock("
                   "hashtext('redact_gw/migrate/' || coalesce(current_schema(), '')))")
_MIGRATIONS_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations"
                     " (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)")


def _record(r: Sequence[Any]) -> RecordRow:
    return RecordRow(r[0], r[1], r[2], r[3], r[4], r[5],
                     bytes(r[6]) if r[6] is not None else None, r[7], r[8], r[9], r[10])


def _entry(r: Sequence[Any]) -> EntryRow:
    return EntryRow(r[0], r[1], r[2], r[3], bytes(r[4]), bytes(r[5]), r[6], r[7], r[8],
                    r[9], r[10])


def _affected(status: str) -> int:
    """Rows affected, from a command tag such as ``UPDATE 3``."""
    return int(status.rsplit(" ", 1)[-1])


async def _keep_session(_conn: Conn) -> None:
    """Pool ``reset``: nothing to undo (asyncpg still rolls back an open transaction)."""


class PostgresStore(PostgresAuditMixin, PostgresReviewMixin, PostgresSessionMixin,
                    PostgresOverrideMixin, PostgresRetentionMixin, PostgresQuotaMixin):
    """``VaultStore`` on PostgreSQL (asyncpg pool).

    Args:
        dsn: ``postgresql://`` DSN. Extra query parameters are server settings, e.g.
            ``?search_path=vault`` to keep the tables in their own schema.
        min_size: Connections the pool keeps open.
        max_size: Most connections the pool opens.
        statement_timeout_s: Server-side limit for one statement (also bounds how
            long a transaction may sit idle holding locks).
        connect_timeout_s: Limit for opening a connection or borrowing one.
        migrate: Apply pending migrations in ``open()``.
    """

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10,
                 statement_timeout_s: float = 10.0, connect_timeout_s: float = 5.0,
                 migrate: bool = True) -> None:
        self._dsn = dsn
        self.min_size = min_size
        self.max_size = max_size
        self.statement_timeout_s = statement_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.auto_migrate = migrate
        self._pool: Any = None
        self._init_audit()

    def __repr__(self) -> str:
        return f"PostgresStore(max_size={self.max_size})"  # never the DSN: it may hold a password

    # -- lifetime -------------------------------------------------------------------------
    async def open(self) -> None:
        """Create the pool, then apply pending migrations when configured to.

        Raises:
            ConfigError: the DSN cannot be parsed.
            VaultUnavailable: PostgreSQL cannot be reached or refused the schema.
        """
        timeout_ms = str(int(self.statement_timeout_s * 1000))
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=self.min_size, max_size=self.max_size,
                timeout=self.connect_timeout_s,
                command_timeout=self.statement_timeout_s + self.connect_timeout_s,
                reset=_keep_session,
                server_settings={"application_name": "redact-gw",
                                 "statement_timeout": timeout_ms,
                                 "idle_in_transaction_session_timeout": timeout_ms})
        except ValueError:  # asyncpg.ClientConfigurationError too
            raise ConfigError("vault.url: not a usable PostgreSQL DSN") from None
        except _FAILURES as exc:
            log.error("vault: cannot connect to PostgreSQL (%s)", type(exc).__name__)
            raise VaultUnavailable() from None
        try:
            if self.auto_migrate:
                await self.migrate()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the pool (terminating connections that do not close in time), once the
        queued audit appends are written or failed."""
        await self._drain_audit()
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), self.connect_timeout_s)
        except _FAILURES:  # includes TimeoutError
            pool.terminate()

    async def ping(self) -> bool:
        """True when PostgreSQL answers ``SELECT 1`` within the connect timeout."""
        try:
            return bool(await self._call(lambda c: c.fetchval(
                "SELECT 1", timeout=self.connect_timeout_s)))
        except VaultUnavailable:
            return False

    async def migrate(self) -> list[int]:
        """Apply pending migrations, each in its own transaction under an advisory lock.

        Replicas starting together wait for each other; each version is applied once.
        """
        return await self._call(self._migrate)

    async def schema_versions(self) -> list[int]:
        """Migration versions applied so far, ascending (empty on a new schema)."""
        async def q(c: Conn) -> list[int]:
            if await c.fetchval("SELECT to_regclass('schema_migrations')") is None:
                return []
            rows = await c.fetch("SELECT version FROM schema_migrations ORDER BY version")
            return [int(r[0]) for r in rows]
        return await self._read(q)

    async def _migrate(self, c: Conn) -> list[int]:
        applied = []
        for version, sql in migrations.POSTGRES:
            async with c.transaction():
                await c.execute("SET LOCAL statement_timeout = 0")
                await c.execute(_MIGRATION_LOCK)
                await c.execute(_MIGRATIONS_TABLE)
                if await c.fetchval("SELECT 1 FROM schema_migrations WHERE version = $1",
                                    version):
                    continue
                await c.execute(sql, timeout=_MIGRATION_TIMEOUT_S)
                await c.execute("INSERT INTO schema_migrations VALUES ($1, now())", version)
                applied.append(version)
        if applied:
            log.info("vault: applied PostgreSQL migrations %s", applied)
        return applied

    # -- plumbing -------------------------------------------------------------------------
    async def _call(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        """Run ``fn`` on a pooled connection; failures become ``VaultUnavailable``."""
        pool = self._pool
        if pool is None:
            raise VaultUnavailable()
        try:
            async with pool.acquire(timeout=self.connect_timeout_s) as conn:
                return await fn(conn)
        except _FAILURES as exc:
            await self._failed(exc)
            raise VaultUnavailable() from None

    async def _failed(self, exc: BaseException) -> None:
        # Type only: server messages can quote row values (record ids, fingerprints).
        log.warning("vault: PostgreSQL call failed (%s)", type(exc).__name__)
        if isinstance(exc, _CONNECTION_FAILURES) and self._pool is not None:
            await self._pool.expire_connections()

    async def _read(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        return await self._call(fn)

    async def _write(self, fn: Callable[[Conn], Awaitable[T]], *,
                     one_statement: bool = False) -> T:
        """Run ``fn`` in one transaction, retrying serialization failures and deadlocks.

        With ``one_statement`` (``fn`` writes in a single statement, atomic on its own)
        no BEGIN and COMMIT are sent: two round trips fewer.
        """
        async def tx(c: Conn) -> T:
            for attempt in range(_TX_ATTEMPTS):
                try:
                    if one_statement:
                        return await fn(c)
                    async with c.transaction():
                        return await fn(c)
                except asyncpg.exceptions.TransactionRollbackError:
                    if attempt == _TX_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(random.uniform(0, 0.02 * 2 ** attempt))
            raise AssertionError("unreachable")
        return await self._call(tx)

    # -- records and entries --------------------------------------------------------------
    @staticmethod
    async def _get_record(c: Conn, tenant: str, record_id: str) -> RecordRow | None:
        row = await c.fetchrow(f"SELECT {_RECORD_COLS} FROM records WHERE tenant = $1"
                               " AND record_id = $2", tenant, record_id)
        return _record(row) if row else None

    async def get_record(self, tenant: str, record_id: str) -> RecordRow | None:
        """The record, or ``None``."""
        return await self._read(lambda c: self._get_record(c, tenant, record_id))

    @staticmethod
    async def _entries_where(c: Conn, tenant: str, record_id: str, column: str, pgtype: str,
                             keys: list[Any]) -> list[EntryRow]:
        rows = await c.fetch(f"SELECT {_ENTRY_COLS} FROM entries WHERE tenant = $1 AND"
                             f" record_id = $2 AND {column} = ANY($3::{pgtype}[])",
                             tenant, record_id, keys)
        return [_entry(r) for r in rows]

    async def find_by_fingerprints(self, tenant: str, record_id: str,
                                   fingerprints: Sequence[bytes]) -> list[EntryRow]:
        """Entries matching any of the fingerprints."""
        fps = list(fingerprints)
        if not fps:
            return []
        return await self._read(lambda c: self._entries_where(
            c, tenant, record_id, "fingerprint", "bytea", fps))

    @staticmethod
    async def _insert_record(c: Conn, r: RecordRow) -> None:
        await c.execute(_INSERT_RECORD, r.tenant, r.record_id, r.subject_id, r.created_at,
                        r.dek_id, r.kek_id, r.wrapped_dek, r.no_retention, r.legal_hold,
                        r.channel, r.shredded_at)

    async def ensure_record(self, record: RecordRow) -> RecordRow:
        """Insert unless present; return the stored row."""
        async def q(c: Conn) -> RecordRow:
            await self._insert_record(c, record)
            stored = await self._get_record(c, record.tenant, record.record_id)
            assert stored is not None
            return stored
        return await self._write(q)

    async def commit_entries(self, record: RecordRow, entries: Sequence[EntryRow],
                             audit: AuditAppend | None = None, *,
                             claim: Claim | None = None) -> dict[bytes, str]:
        """Create, lock (and if shredded revive) the record; insert new entries; then
        append ``audit`` (a second step for now: the entries are kept when only the
        audit append fails, and the caller gets the error).

        One statement; a fingerprint another writer stored first (its entry was not
        inserted) is looked up after it. Should that entry be gone by then (purged),
        the race is lost and the caller starts over. With ``claim``, one transaction.
        """
        rows = sorted(entries, key=lambda e: (e.tenant, e.record_id, e.fingerprint))
        columns: list[list[Any]] = [[] for _ in range(11)]
        for e in rows:
            for col, v in zip(columns, (e.tenant, e.record_id, e.token, e.entity_type,
                                        e.fingerprint, e.sealed, e.created_at, e.expires_at,
                                        e.sent_by, e.subject_id, e.aad_version), strict=True):
                col.append(v)
        r = record
        async def q(c: Conn) -> dict[bytes, str]:
            result = await c.fetch(_COMMIT_ENTRIES, r.tenant, r.record_id, r.subject_id,
                                   r.created_at, r.dek_id, r.kek_id, r.wrapped_dek,
                                   r.no_retention, r.legal_hold, r.channel, r.shredded_at,
                                   *columns)
            if not result[0][0]:
                raise RecordRaceLost()
            tokens = {bytes(x[1]): x[2] for x in result if x[1] is not None}
            others = [e.fingerprint for e in rows if e.fingerprint not in tokens]
            if others:
                found = await self._entries_where(c, r.tenant, r.record_id, "fingerprint",
                                                  "bytea", others)
                tokens.update((e.fingerprint, e.token) for e in found)
                if len(found) < len(others):
                    raise RecordRaceLost()
            else:
                found = []
            if claim is not None and claim.likely:
                await self._claim(c, r, found, claim)
            elif claim is not None and any(e.subject_id is None for e in found):
                raise RecordRaceLost()  # stored since the read: the retry claims it
            return tokens
        # a claim writes after the insert: both in one transaction (BEGIN and COMMIT,
        # two round trips), only when the read before saw a value to claim
        tokens = await self._write(q, one_statement=claim is None or not claim.likely)
        if claim is not None:
            claim.note(audit)
        if audit is not None:
            audit.row = await self.append_audit(audit.ts, audit.tenant, audit.principal,
                                                audit.action, audit.record_id,
                                                audit.payload, audit.key)
        return tokens

    async def _claim(self, c: Conn, r: RecordRow, found: list[EntryRow],
                     claim: Claim) -> None:
        """``Claim`` inside the commit's transaction; an entry claimed or changed by
        another writer meanwhile is left to it (its sealed bytes no longer match)."""
        if claim.fingerprints is not None:
            found = await self._entries_where(c, r.tenant, r.record_id, "fingerprint",
                                              "bytea", list(claim.fingerprints))
        unowned = [e for e in found if e.subject_id is None]
        if not unowned:
            claim.claimed = {}
            return
        rows = await c.fetch(
            "UPDATE entries e SET sealed = u.sealed, subject_id = $3, aad_version = $4"
            " FROM unnest($5::text[], $6::bytea[], $7::bytea[]) AS u(token, old, sealed)"
            " WHERE e.tenant = $1 AND e.record_id = $2 AND e.token = u.token"
            " AND e.subject_id IS NULL AND e.sealed = u.old RETURNING e.entity_type",
            r.tenant, r.record_id, claim.subject_id, claim.aad_version,
            [e.token for e in unowned], [e.sealed for e in unowned],
            [claim.reseal(e) for e in unowned])
        claim.claimed = dict(Counter(row[0] for row in rows))

    async def get_entries(self, tenant: str, record_id: str,
                          tokens: Sequence[str]) -> list[EntryRow]:
        """Entries with the given tokens."""
        toks = list(dict.fromkeys(tokens))
        if not toks:
            return []
        return await self._read(lambda c: self._entries_where(
            c, tenant, record_id, "token", "text", toks))

    async def record_entries(self, tenant: str, record_id: str) -> list[EntryRow]:
        """Every entry of the record."""
        async def q(c: Conn) -> list[EntryRow]:
            return [_entry(r) for r in await c.fetch(
                f"SELECT {_ENTRY_COLS} FROM entries WHERE tenant = $1 AND record_id = $2",
                tenant, record_id)]
        return await self._read(q)

    async def removed_tokens(self, tenant: str, record_id: str,
                             tokens: Sequence[str]) -> set[str]:
        """Tokens with a tombstone."""
        toks = list(dict.fromkeys(tokens))
        if not toks:
            return set()
        async def q(c: Conn) -> set[str]:
            return {r[0] for r in await c.fetch(
                "SELECT token FROM tombstones WHERE tenant = $1 AND record_id = $2"
                " AND token = ANY($3::text[])", tenant, record_id, toks)}
        return await self._read(q)

    async def record_counts(self, tenant: str, record_id: str) -> dict[str, int]:
        """Live values per entity type."""
        async def q(c: Conn) -> dict[str, int]:
            return {r[0]: int(r[1]) for r in await c.fetch(
                "SELECT entity_type, count(*) FROM entries WHERE tenant = $1"
                " AND record_id = $2 GROUP BY 1", tenant, record_id)}
        return await self._read(q)

    async def record_expiry(self, tenant: str, record_id: str) -> float | None:
        """Latest expiry among live values (``None`` when one never expires)."""
        async def q(c: Conn) -> float | None:
            row = await c.fetchrow(
                "SELECT max(expires_at), count(*) FILTER (WHERE expires_at IS NULL)"
                " FROM entries WHERE tenant = $1 AND record_id = $2", tenant, record_id)
            return None if row[1] else row[0]
        return await self._read(q)

    async def set_legal_hold(self, tenant: str, record_id: str, hold: bool) -> bool:
        """Set or lift a legal hold."""
        async def q(c: Conn) -> bool:
            return _affected(await c.execute(
                "UPDATE records SET legal_hold = $3 WHERE tenant = $1 AND record_id = $2",
                tenant, record_id, hold)) == 1
        return await self._write(q)

    async def redaction_state(self, tenant: str, record_id: str, subject_id: str | None, *,
                              entries: bool) -> RecordState:
        """The record, its subjects' opt-out flags and (asked) its entries."""
        return await read_state_by_parts(self, tenant, record_id, subject_id, entries=entries)

    async def records_of_subject(self, tenant: str, subject_id: str) -> list[RecordRow]:
        """Records of a subject."""
        async def q(c: Conn) -> list[RecordRow]:
            return [_record(r) for r in await c.fetch(
                f"SELECT {_RECORD_COLS} FROM records WHERE tenant = $1 AND subject_id = $2",
                tenant, subject_id)]
        return await self._read(q)

    # -- key rotation ---------------------------------------------------------------------
    async def records_not_under(self, kek_id: str, limit: int,
                                after: tuple[str, str] | None = None) -> list[RecordRow]:
        """Records whose data key is wrapped under another KEK, by key, past ``after``."""
        tenant, record_id = after or ("", "")
        async def q(c: Conn) -> list[RecordRow]:
            return [_record(r) for r in await c.fetch(
                f"SELECT {_RECORD_COLS} FROM records WHERE wrapped_dek IS NOT NULL"
                " AND (kek_id IS NULL OR kek_id <> $1) AND (tenant, record_id) > ($3, $4)"
                " ORDER BY tenant, record_id LIMIT $2", kek_id, limit, tenant, record_id)]
        return await self._read(q)

    async def apply_rewraps(self, rewraps: Sequence[Rewrap]) -> int:
        """Swap in re-wrapped data keys where the old KEK is still recorded."""
        items = list(rewraps)
        if not items:
            return 0
        columns = [list(col) for col in zip(*((r.tenant, r.record_id, r.old_kek_id,
                                                r.new_kek_id, r.wrapped_dek) for r in items),
                                             strict=True)]
        async def q(c: Conn) -> int:
            return _affected(await c.execute(_APPLY_REWRAPS, *columns))
        return await self._write(q)

    async def count_records_by_kek(self) -> dict[str, int]:
        """Records holding a data key, per KEK id."""
        async def q(c: Conn) -> dict[str, int]:
            return {r[0]: int(r[1]) for r in await c.fetch(
                "SELECT kek_id, count(*) FROM records WHERE wrapped_dek IS NOT NULL"
                " GROUP BY 1")}
        return await self._read(q)
