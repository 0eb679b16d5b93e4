"""SQLite vault store: the embedded default.

One connection, owned by one dedicated thread (``sqlite_tx.TxThread``): every method
runs as a single transaction inside that thread, so the event loop never blocks on disk
and transactions never interleave; writes queued together share one commit, each in
its own savepoint (group commit: see that module for how each still fails alone). WAL
lets other processes (the CLI rotating keys or purging) work beside a serving gateway;
``BEGIN IMMEDIATE`` and ``busy_timeout`` make writers take turns. ``secure_delete``
overwrites deleted content so purged ciphertext does not linger in free pages; purges
finish with an incremental vacuum.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from redact_gw.audit_chain import GENESIS, ChainKey, chain_hash
from redact_gw.errors import VaultUnavailable
from redact_gw.vault import migrations
from redact_gw.vault.base import (
    AuditAppend,
    AuditQuery,
    AuditRow,
    Claim,
    EntryRow,
    OptOutRow,
    RecordRaceLost,
    RecordRow,
    RecordState,
    Removed,
    Rewrap,
)
from redact_gw.vault.override_sqlite import SqliteOverrideMixin
from redact_gw.vault.review_sqlite import SqliteReviewMixin
from redact_gw.vault.session_sqlite import SqliteSessionMixin
from redact_gw.vault.sqlite_tx import Kind, TxThread

T = TypeVar("T")
Conn = sqlite3.Connection

_RECORD_COLS = ("tenant, record_id, subject_id, created_at, dek_id, kek_id, wrapped_dek,"
                " no_retention, legal_hold, channel, shredded_at")
_ENTRY_COLS = ("tenant, record_id, token, entity_type, fingerprint, sealed, created_at,"
               " expires_at, sent_by, subject_id, aad_version")
_AUDIT_COLS = "seq, ts, tenant, principal, action, record_id, payload, prev_hash, hash"
_OPTOUT_COLS = "tenant, subject_id, no_ai_processing, no_retention, reason, set_by, set_at"
_CHUNK = 500


def _record(r: Sequence[Any]) -> RecordRow:
    return RecordRow(r[0], r[1], r[2], r[3], r[4], r[5],
                     bytes(r[6]) if r[6] is not None else None, bool(r[7]), bool(r[8]),
                     r[9], r[10])


def _entry(r: Sequence[Any]) -> EntryRow:
    return EntryRow(r[0], r[1], r[2], r[3], bytes(r[4]), bytes(r[5]), r[6], r[7], r[8],
                    r[9], r[10])


def _optout(r: Sequence[Any]) -> OptOutRow:
    return OptOutRow(r[0], r[1], bool(r[2]), bool(r[3]), r[4], r[5], r[6])


def _record_entries(c: Conn, tenant: str, record_id: str) -> list[EntryRow]:
    return [_entry(r) for r in c.execute(
        f"SELECT {_ENTRY_COLS} FROM entries WHERE tenant=? AND record_id=?",
        (tenant, record_id))]


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i:i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _tenant_clause(tenant: str | None, alias: str = "") -> tuple[str, tuple[Any, ...]]:
    return ("", ()) if tenant is None else (f" AND {alias}tenant = ?", (tenant,))


class SqliteStore(SqliteReviewMixin, SqliteSessionMixin, SqliteOverrideMixin):
    """``VaultStore`` on a SQLite file."""

    def __init__(self, path: Path, *, secure_delete: bool = True, migrate: bool = True) -> None:
        self.path = path
        self.secure_delete = secure_delete
        self.auto_migrate = migrate
        self._conn: Conn | None = None
        self._tx_thread: TxThread | None = None

    # -- lifetime -------------------------------------------------------------------------
    async def open(self) -> None:
        """Create the file (mode 0600) if needed, connect, apply migrations."""
        self._tx_thread = TxThread(lambda: self._conn)
        self._tx_thread.start()
        try:
            await self._run(self._connect)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the connection and stop the thread."""
        if self._tx_thread is None:
            return
        try:
            await self._run(self._disconnect)
        finally:
            await asyncio.to_thread(self._tx_thread.stop)
            self._tx_thread = None

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        conn.execute("PRAGMA busy_timeout=30000")
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # effective on a new file
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA secure_delete={'ON' if self.secure_delete else 'OFF'}")
        self._conn = conn
        if self.auto_migrate:
            self._migrate(conn)

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _migrate(self, conn: Conn) -> list[int]:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations"
                     " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        applied = []
        for version, sql in migrations.SQLITE:
            conn.execute("BEGIN IMMEDIATE")
            try:
                done = conn.execute("SELECT 1 FROM schema_migrations WHERE version=?",
                                    (version,)).fetchone()
                if not done:
                    for statement in filter(str.strip, sql.split(";")):
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_migrations VALUES (?, datetime('now'))",
                                 (version,))
                    applied.append(version)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return applied

    async def migrate(self) -> list[int]:
        """Apply pending migrations."""
        def run() -> list[int]:
            if self._conn is None:
                raise VaultUnavailable()
            return self._migrate(self._conn)
        return await self._run(run)

    async def schema_versions(self) -> list[int]:
        """Migration versions applied so far, ascending (empty on a new file)."""
        def q(c: Conn) -> list[int]:
            if c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                         " AND name = 'schema_migrations'").fetchone() is None:
                return []
            rows = c.execute("SELECT version FROM schema_migrations ORDER BY version")
            return [int(r[0]) for r in rows]
        return await self._read(q)

    async def _queue(self, kind: Kind, fn: Callable[..., T]) -> T:
        if self._tx_thread is None:
            raise VaultUnavailable()
        try:
            result: T = await self._tx_thread.run(kind, fn)
        except sqlite3.Error:
            raise VaultUnavailable() from None
        return result

    async def _run(self, fn: Callable[[], T]) -> T:
        return await self._queue("call", fn)

    async def _read(self, fn: Callable[[Conn], T]) -> T:
        return await self._queue("read", fn)

    async def _write(self, fn: Callable[[Conn], T]) -> T:
        return await self._queue("write", fn)

    async def ping(self) -> bool:
        """True when a trivial query succeeds."""
        try:
            return await self._read(lambda c: c.execute("SELECT 1").fetchone()[0] == 1)
        except VaultUnavailable:
            return False

    # -- records and entries --------------------------------------------------------------
    @staticmethod
    def _get_record(c: Conn, tenant: str, record_id: str) -> RecordRow | None:
        row = c.execute(f"SELECT {_RECORD_COLS} FROM records WHERE tenant=? AND record_id=?",
                        (tenant, record_id)).fetchone()
        return _record(row) if row else None

    async def get_record(self, tenant: str, record_id: str) -> RecordRow | None:
        """The record, or ``None``."""
        return await self._read(lambda c: self._get_record(c, tenant, record_id))

    @staticmethod
    def _entries_where(c: Conn, tenant: str, record_id: str, column: str,
                       keys: list[Any]) -> list[EntryRow]:
        out: list[EntryRow] = []
        for chunk in _chunks(keys):
            out += [_entry(r) for r in c.execute(
                f"SELECT {_ENTRY_COLS} FROM entries WHERE tenant=? AND record_id=?"
                f" AND {column} IN ({_marks(len(chunk))})", (tenant, record_id, *chunk))]
        return out

    async def find_by_fingerprints(self, tenant: str, record_id: str,
                                   fingerprints: Sequence[bytes]) -> list[EntryRow]:
        """Entries matching any of the fingerprints."""
        fps = list(fingerprints)
        if not fps:
            return []
        return await self._read(lambda c: self._entries_where(c, tenant, record_id,
                                                              "fingerprint", fps))

    @staticmethod
    def _insert_record(c: Conn, r: RecordRow) -> None:
        c.execute(f"INSERT OR IGNORE INTO records ({_RECORD_COLS}) VALUES"
                  " (?,?,?,?,?,?,?,?,?,?,?)",
                  (r.tenant, r.record_id, r.subject_id, r.created_at, r.dek_id, r.kek_id,
                   r.wrapped_dek, int(r.no_retention), int(r.legal_hold), r.channel,
                   r.shredded_at))

    async def ensure_record(self, record: RecordRow) -> RecordRow:
        """Insert unless present; return the stored row."""
        def q(c: Conn) -> RecordRow:
            self._insert_record(c, record)
            stored = self._get_record(c, record.tenant, record.record_id)
            assert stored is not None
            return stored
        return await self._write(q)

    async def commit_entries(self, record: RecordRow, entries: Sequence[EntryRow],
                             audit: AuditAppend | None = None, *,
                             claim: Claim | None = None) -> dict[bytes, str]:
        """Create or revive the record, insert new entries, claim unowned ones (and
        append ``audit``), atomically."""
        rows = list(entries)
        def q(c: Conn) -> tuple[dict[bytes, str], AuditRow | None]:
            found: list[EntryRow] = []
            tokens = self._commit_entries(c, record, rows, found)
            if claim is not None:
                self._claim(c, record, found, claim)
                claim.note(audit)
            return tokens, (self._append_audit(c, audit) if audit is not None else None)
        tokens, row = await self._write(q)
        if audit is not None:
            audit.row = row
        return tokens

    def _claim(self, c: Conn, record: RecordRow, found: list[EntryRow],
               claim: Claim) -> None:
        """``Claim`` inside the commit's transaction (which holds the write lock)."""
        if claim.fingerprints is not None:
            found = self._entries_where(c, record.tenant, record.record_id, "fingerprint",
                                        list(claim.fingerprints))
        unowned = [e for e in found if e.subject_id is None]  # rows just inserted have one
        c.executemany(
            "UPDATE entries SET sealed=?, subject_id=?, aad_version=? WHERE tenant=?"
            " AND record_id=? AND token=? AND subject_id IS NULL",
            [(claim.reseal(e), claim.subject_id, claim.aad_version, e.tenant, e.record_id,
              e.token) for e in unowned])
        claim.claimed = dict(Counter(e.entity_type for e in unowned))  # under the lock

    def _commit_entries(self, c: Conn, record: RecordRow, rows: list[EntryRow],
                        found_out: list[EntryRow] | None = None) -> dict[bytes, str]:
        self._insert_record(c, record)
        # Revive a shredded record only with a new key: a shredded record keeps its
        # dek_id, so a writer still holding that stale key loses the race instead of
        # bringing the shredded key back.
        c.execute("UPDATE records SET dek_id=?, kek_id=?, wrapped_dek=?, shredded_at=NULL"
                  " WHERE tenant=? AND record_id=? AND wrapped_dek IS NULL"
                  " AND dek_id IS NOT ?",
                  (record.dek_id, record.kek_id, record.wrapped_dek, record.tenant,
                   record.record_id, record.dek_id))
        stored = c.execute("SELECT dek_id, wrapped_dek IS NOT NULL FROM records"
                           " WHERE tenant=? AND record_id=?",
                           (record.tenant, record.record_id)).fetchone()
        if stored[0] != record.dek_id or not stored[1]:
            raise RecordRaceLost()
        inserted = c.executemany(
            f"INSERT OR IGNORE INTO entries ({_ENTRY_COLS}) VALUES"
            " (?,?,?,?,?,?,?,?,?,?,?)",
            [(e.tenant, e.record_id, e.token, e.entity_type, e.fingerprint, e.sealed,
              e.created_at, e.expires_at, e.sent_by, e.subject_id, e.aad_version)
             for e in rows]).rowcount
        if inserted == len(rows):  # none ignored: every entry keeps its own token
            return {e.fingerprint: e.token for e in rows}
        found = self._entries_where(c, record.tenant, record.record_id, "fingerprint",
                                    [e.fingerprint for e in rows])
        if found_out is not None:
            found_out += found
        return {e.fingerprint: e.token for e in found}

    async def get_entries(self, tenant: str, record_id: str,
                          tokens: Sequence[str]) -> list[EntryRow]:
        """Entries with the given tokens."""
        toks = list(dict.fromkeys(tokens))
        if not toks:
            return []
        return await self._read(lambda c: self._entries_where(c, tenant, record_id, "token",
                                                              toks))

    async def record_entries(self, tenant: str, record_id: str) -> list[EntryRow]:
        """Every entry of the record."""
        return await self._read(lambda c: _record_entries(c, tenant, record_id))

    async def removed_tokens(self, tenant: str, record_id: str,
                             tokens: Sequence[str]) -> set[str]:
        """Tokens with a tombstone."""
        toks = list(dict.fromkeys(tokens))
        def q(c: Conn) -> set[str]:
            out: set[str] = set()
            for chunk in _chunks(toks):
                out |= {r[0] for r in c.execute(
                    "SELECT token FROM tombstones WHERE tenant=? AND record_id=?"
                    f" AND token IN ({_marks(len(chunk))})", (tenant, record_id, *chunk))}
            return out
        return await self._read(q) if toks else set()

    async def record_counts(self, tenant: str, record_id: str) -> dict[str, int]:
        """Live values per entity type."""
        return await self._read(lambda c: dict(c.execute(
            "SELECT entity_type, count(*) FROM entries WHERE tenant=? AND record_id=?"
            " GROUP BY 1", (tenant, record_id)).fetchall()))

    async def record_expiry(self, tenant: str, record_id: str) -> float | None:
        """Latest expiry among live values."""
        def q(c: Conn) -> float | None:
            row = c.execute("SELECT max(expires_at), sum(expires_at IS NULL) FROM entries"
                            " WHERE tenant=? AND record_id=?", (tenant, record_id)).fetchone()
            return None if row[1] else row[0]
        return await self._read(q)

    async def set_legal_hold(self, tenant: str, record_id: str, hold: bool) -> bool:
        """Set or lift a legal hold."""
        return await self._write(lambda c: c.execute(
            "UPDATE records SET legal_hold=? WHERE tenant=? AND record_id=?",
            (int(hold), tenant, record_id)).rowcount == 1)

    # -- key rotation ---------------------------------------------------------------------
    async def records_not_under(self, kek_id: str, limit: int,
                                after: tuple[str, str] | None = None) -> list[RecordRow]:
        """Records whose data key is wrapped under another KEK, by key, past ``after``."""
        tenant, record_id = after or ("", "")
        return await self._read(lambda c: [_record(r) for r in c.execute(
            f"SELECT {_RECORD_COLS} FROM records WHERE wrapped_dek IS NOT NULL"
            " AND (kek_id IS NULL OR kek_id <> ?)"
            " AND (tenant > ? OR (tenant = ? AND record_id > ?))"
            " ORDER BY tenant, record_id LIMIT ?",
            (kek_id, tenant, tenant, record_id, limit))])

    async def apply_rewraps(self, rewraps: Sequence[Rewrap]) -> int:
        """Swap in re-wrapped data keys where the old KEK is still recorded."""
        items = list(rewraps)
        def q(c: Conn) -> int:
            return sum(c.execute(
                "UPDATE records SET kek_id=?, wrapped_dek=? WHERE tenant=? AND record_id=?"
                " AND kek_id=? AND wrapped_dek IS NOT NULL",
                (r.new_kek_id, r.wrapped_dek, r.tenant, r.record_id, r.old_kek_id)).rowcount
                for r in items)
        return await self._write(q)

    async def count_records_by_kek(self) -> dict[str, int]:
        """Records holding a data key, per KEK id."""
        return await self._read(lambda c: dict(c.execute(
            "SELECT kek_id, count(*) FROM records WHERE wrapped_dek IS NOT NULL"
            " GROUP BY 1").fetchall()))

    # -- retention ------------------------------------------------------------------------
    async def count_expired(self, now: float, tenant: str | None) -> dict[str, int]:
        """Values a purge would remove now."""
        clause, args = _tenant_clause(tenant, "e.")
        return await self._read(lambda c: dict(c.execute(
            "SELECT e.entity_type, count(*) FROM entries e JOIN records r"
            " ON r.tenant=e.tenant AND r.record_id=e.record_id"
            f" WHERE e.expires_at <= ? AND r.legal_hold = 0{clause} GROUP BY 1",
            (now, *args)).fetchall()))

    @staticmethod
    def _delete_entries(c: Conn, where: str, args: tuple[Any, ...], now: float,
                        reason: str) -> Removed:
        rows = c.execute(f"DELETE FROM entries WHERE rowid IN ({where})"
                         " RETURNING tenant, record_id, token, entity_type", args).fetchall()
        c.executemany("INSERT OR IGNORE INTO tombstones VALUES (?,?,?,?,?,?)",
                      [(*r, reason, now) for r in rows])
        removed = Removed()
        for r in rows:
            removed.values[r[3]] = removed.values.get(r[3], 0) + 1
        return removed

    async def purge_expired_batch(self, now: float, tenant: str | None,
                                  limit: int) -> Removed:
        """Delete up to ``limit`` expired values (not on legal hold)."""
        clause, args = _tenant_clause(tenant, "e.")
        where = ("SELECT e.rowid FROM entries e JOIN records r ON r.tenant=e.tenant AND"
                 f" r.record_id=e.record_id WHERE e.expires_at <= ? AND r.legal_hold = 0{clause}"
                 " LIMIT ?")
        return await self._write(lambda c: self._delete_entries(c, where, (now, *args, limit),
                                                                now, "expired"))

    async def shred_emptied_records(self, now: float, tenant: str | None, limit: int) -> int:
        """Drop data keys of records left without values (not on legal hold)."""
        return await self._write(lambda c: self._shred_empty(c, now, tenant, limit))

    @staticmethod
    def _shred_empty(c: Conn, now: float, tenant: str | None, limit: int) -> int:
        clause, args = _tenant_clause(tenant, "r.")
        keys = c.execute(
            "SELECT r.tenant, r.record_id FROM records r WHERE r.wrapped_dek IS NOT NULL"
            f" AND r.legal_hold = 0{clause} AND NOT EXISTS (SELECT 1 FROM entries e WHERE"
            " e.tenant=r.tenant AND e.record_id=r.record_id) AND NOT EXISTS (SELECT 1 FROM"
            " review_items i WHERE i.tenant=r.tenant AND i.record_id=r.record_id) LIMIT ?",
            (*args, limit)).fetchall()
        for t, rid in keys:
            c.execute("UPDATE records SET wrapped_dek=NULL, kek_id=NULL,"
                      " shredded_at=? WHERE tenant=? AND record_id=?", (now, t, rid))
        return len(keys)

    async def shred_record(self, tenant: str, record_id: str, now: float, reason: str,
                           forget_subject: bool) -> Removed:
        """Delete every value and the data key of one record now."""
        def q(c: Conn) -> Removed:
            removed = self._delete_entries(
                c, "SELECT rowid FROM entries WHERE tenant=? AND record_id=?",
                (tenant, record_id), now, reason)
            n = c.execute(
                "UPDATE records SET wrapped_dek=NULL, kek_id=NULL,"
                " shredded_at=coalesce(shredded_at, ?),"
                " subject_id=CASE WHEN ? THEN NULL ELSE subject_id END"
                " WHERE tenant=? AND record_id=?",
                (now, int(forget_subject), tenant, record_id)).rowcount
            self._erase_review(c, tenant, record_id)
            removed.records = n
            return removed
        return await self._write(q)

    async def purge_tombstones(self, before: float, tenant: str | None, limit: int) -> int:
        """Forget old tombstones."""
        clause, args = _tenant_clause(tenant)
        return await self._write(lambda c: c.execute(
            "DELETE FROM tombstones WHERE (tenant, record_id, token) IN (SELECT tenant,"
            f" record_id, token FROM tombstones WHERE removed_at < ?{clause} LIMIT ?)",
            (before, *args, limit)).rowcount)

    async def records_of_subject(self, tenant: str, subject_id: str) -> list[RecordRow]:
        """Records of a subject."""
        return await self._read(lambda c: [_record(r) for r in c.execute(
            f"SELECT {_RECORD_COLS} FROM records WHERE tenant=? AND subject_id=?",
            (tenant, subject_id))])

    async def shred_subject_values(self, tenant: str, subject_id: str, now: float,
                                   reason: str) -> Removed:
        """Delete every value written for the subject (records not on legal hold)."""
        where = ("SELECT e.rowid FROM entries e JOIN records r ON r.tenant=e.tenant AND"
                 " r.record_id=e.record_id WHERE e.tenant=? AND e.subject_id=?"
                 " AND r.legal_hold = 0")
        def q(c: Conn) -> Removed:
            touched = c.execute(f"SELECT count(DISTINCT record_id) FROM entries WHERE rowid"
                                f" IN ({where})", (tenant, subject_id)).fetchone()[0]
            removed = self._delete_entries(c, where, (tenant, subject_id), now, reason)
            removed.records = int(touched)
            return removed
        return await self._write(q)

    async def redaction_state(self, tenant: str, record_id: str, subject_id: str | None, *,
                              entries: bool) -> RecordState:
        """The record, its subjects' opt-out flags and (asked) its entries: one read."""
        def q(c: Conn) -> RecordState:
            record = self._get_record(c, tenant, record_id)
            subjects: set[str] = set()
            found: list[EntryRow] = []
            if record is not None:  # entries belong to a record: none without one
                if record.subject_id is not None:
                    subjects.add(record.subject_id)
                if entries and record.wrapped_dek is not None:
                    found = _record_entries(c, tenant, record_id)
                    subjects.update(e.subject_id for e in found if e.subject_id is not None)
                else:
                    subjects.update(r[0] for r in c.execute(
                        "SELECT DISTINCT subject_id FROM entries WHERE tenant=? AND"
                        " record_id=? AND subject_id IS NOT NULL", (tenant, record_id)))
            if subject_id is not None:
                subjects.add(subject_id)
            optouts: dict[str, OptOutRow] = {}
            for chunk in _chunks(sorted(subjects)):
                for r in c.execute(f"SELECT {_OPTOUT_COLS} FROM optouts WHERE tenant=? AND"
                                   f" subject_id IN ({_marks(len(chunk))})", (tenant, *chunk)):
                    optouts[r[1]] = _optout(r)
            return RecordState(record, frozenset(subjects), optouts, found,
                               complete=entries)
        return await self._read(q)

    async def record_subjects(self, tenant: str, record_id: str) -> set[str]:
        """The record's subject and the subjects its values were written for."""
        return await self._read(lambda c: {r[0] for r in c.execute(
            "SELECT subject_id FROM records WHERE tenant=? AND record_id=?"
            " AND subject_id IS NOT NULL UNION SELECT DISTINCT subject_id FROM entries"
            " WHERE tenant=? AND record_id=? AND subject_id IS NOT NULL",
            (tenant, record_id, tenant, record_id))})

    async def vacuum(self) -> None:
        """Give freed pages back to the file system (incremental auto-vacuum)."""
        def run() -> None:
            if self._conn is not None:
                # execute() steps a pragma once (one page); executescript runs it through
                self._conn.executescript("PRAGMA incremental_vacuum;")
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        await self._run(run)

    # -- opt-out --------------------------------------------------------------------------
    async def get_optout(self, tenant: str, subject_id: str) -> OptOutRow | None:
        """The subject's flags."""
        def q(c: Conn) -> OptOutRow | None:
            r = c.execute(f"SELECT {_OPTOUT_COLS} FROM optouts WHERE tenant=? AND subject_id=?",
                          (tenant, subject_id)).fetchone()
            return _optout(r) if r else None
        return await self._read(q)

    async def put_optout(self, row: OptOutRow) -> None:
        """Create or replace flags."""
        await self._write(lambda c: c.execute(
            "INSERT OR REPLACE INTO optouts VALUES (?,?,?,?,?,?,?)",
            (row.tenant, row.subject_id, int(row.no_ai_processing), int(row.no_retention),
             row.reason, row.set_by, row.set_at)))

    async def delete_optout(self, tenant: str, subject_id: str) -> bool:
        """Clear flags."""
        return await self._write(lambda c: c.execute(
            "DELETE FROM optouts WHERE tenant=? AND subject_id=?",
            (tenant, subject_id)).rowcount == 1)

    # -- audit ----------------------------------------------------------------------------
    async def append_audit(self, ts: float, tenant: str | None, principal: str | None,
                           action: str, record_id: str | None, payload: str,
                           key: ChainKey | None = None) -> AuditRow:
        """Append to the chain inside one write transaction."""
        event = AuditAppend(ts, tenant, principal, action, record_id, payload, key)
        return await self._write(lambda c: self._append_audit(c, event))

    @staticmethod
    def _append_audit(c: Conn, event: AuditAppend) -> AuditRow:
        last = c.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC"
                         " LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        row = AuditRow(seq, event.ts, event.tenant, event.principal, event.action,
                       event.record_id, event.payload, prev,
                       chain_hash(prev, seq, event.payload, event.key))
        c.execute(f"INSERT INTO audit_events ({_AUDIT_COLS}) VALUES (?,?,?,?,?,?,?,?,?)",
                  (row.seq, row.ts, row.tenant, row.principal, row.action, row.record_id,
                   row.payload, row.prev_hash, row.hash))
        return row

    async def audit_events(self, query: AuditQuery) -> list[AuditRow]:
        """Events matching the filters."""
        where: list[str] = ["seq > ?"]
        args: list[object] = [query.after_seq]
        for column, value in (("tenant", query.tenant), ("principal", query.principal),
                              ("record_id", query.record_id), ("action", query.action)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if query.since is not None:
            where.append("ts >= ?")
            args.append(query.since)
        if query.until is not None:
            where.append("ts < ?")
            args.append(query.until)
        sql = (f"SELECT {_AUDIT_COLS} FROM audit_events WHERE {' AND '.join(where)}"
               " ORDER BY seq LIMIT ?")
        return await self._read(lambda c: [AuditRow(*r) for r in c.execute(
            sql, (*args, query.limit))])

    # -- quotas and locks -----------------------------------------------------------------
    async def consume_quota(self, tenant: str, principal: str, window_start: float,
                            amount: int, limit: int) -> tuple[bool, int]:
        """Count reveals against a window, refusing past the limit."""
        def q(c: Conn) -> tuple[bool, int]:
            row = c.execute("SELECT used FROM quotas WHERE tenant=? AND principal=? AND"
                            " window_start=?", (tenant, principal, window_start)).fetchone()
            used = row[0] if row else 0
            if used + amount > limit:
                return False, used
            c.execute("INSERT INTO quotas VALUES (?,?,?,?) ON CONFLICT (tenant, principal,"
                      " window_start) DO UPDATE SET used = used + excluded.used",
                      (tenant, principal, window_start, amount))
            c.execute("DELETE FROM quotas WHERE tenant=? AND principal=? AND window_start<?",
                      (tenant, principal, window_start))
            return True, used + amount
        return await self._write(q)

    async def try_lock(self, name: str, holder: str, now: float, ttl_s: float) -> bool:
        """Take the lease if free, expired or already ours."""
        def q(c: Conn) -> bool:
            c.execute("INSERT INTO locks VALUES (?,?,?) ON CONFLICT (name) DO UPDATE SET"
                      " holder=excluded.holder, expires_at=excluded.expires_at"
                      " WHERE locks.holder=excluded.holder OR locks.expires_at < ?",
                      (name, holder, now + ttl_s, now))
            row = c.execute("SELECT holder FROM locks WHERE name=?", (name,)).fetchone()
            return bool(row and row[0] == holder)
        return await self._write(q)

    async def release_lock(self, name: str, holder: str) -> None:
        """Release our lease."""
        await self._write(lambda c: c.execute("DELETE FROM locks WHERE name=? AND holder=?",
                                               (name, holder)))
