"""SQLite vault store: the embedded default.

One connection, owned by one dedicated thread: every method runs as a single
transaction inside that thread, so the event loop never blocks on disk and
transactions never interleave. WAL lets other processes (the CLI rotating keys or
purging) write alongside a serving gateway; ``busy_timeout`` makes them take turns.
``secure_delete`` overwrites deleted content so purged ciphertext does not linger
in free pages.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from redact_gw.errors import VaultUnavailable
from redact_gw.vault import migrations
from redact_gw.vault.base import EntryRow, RecordRaceLost, RecordRow, Rewrap

T = TypeVar("T")

_RECORD_COLS = ("tenant, record_id, subject_id, created_at, dek_id, kek_id, wrapped_dek,"
                " no_retention, legal_hold")
_ENTRY_COLS = "tenant, record_id, token, entity_type, fingerprint, sealed, created_at, expires_at"


def _record(row: sqlite3.Row) -> RecordRow:
    return RecordRow(row[0], row[1], row[2], row[3], row[4], row[5], bytes(row[6]),
                     bool(row[7]), bool(row[8]))


def _entry(row: sqlite3.Row) -> EntryRow:
    return EntryRow(row[0], row[1], row[2], row[3], bytes(row[4]), bytes(row[5]), row[6], row[7])


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


class SqliteStore:
    """``VaultStore`` on a SQLite file."""

    def __init__(self, path: Path, *, secure_delete: bool = True, migrate: bool = True) -> None:
        self.path = path
        self.secure_delete = secure_delete
        self.migrate = migrate
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    # -- lifetime -------------------------------------------------------------------
    async def open(self) -> None:
        """Create the file (mode 0600) if needed, connect, apply migrations."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vault-sqlite")
        await self._run(self._connect)

    async def close(self) -> None:
        """Close the connection and stop the thread."""
        if self._executor is None:
            return
        try:
            await self._run(self._disconnect)
        finally:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA secure_delete={'ON' if self.secure_delete else 'OFF'}")
        conn.execute("PRAGMA busy_timeout=30000")
        self._conn = conn
        if self.migrate:
            self._migrate(conn)

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations"
                     " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
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
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise VaultUnavailable()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except sqlite3.Error:
            raise VaultUnavailable() from None

    def _tx(self, fn: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
        conn = self._conn
        if conn is None:
            raise VaultUnavailable()
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(lambda: self._tx(fn))

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(lambda: self._tx(fn, write=True))

    async def ping(self) -> bool:
        """True when a trivial query succeeds."""
        try:
            return await self._read(lambda c: c.execute("SELECT 1").fetchone()[0] == 1)
        except VaultUnavailable:
            return False

    # -- records and entries ------------------------------------------------------------
    async def get_record(self, tenant: str, record_id: str) -> RecordRow | None:
        """The record, or ``None``."""
        def q(c: sqlite3.Connection) -> RecordRow | None:
            row = c.execute(f"SELECT {_RECORD_COLS} FROM records WHERE tenant=? AND record_id=?",
                            (tenant, record_id)).fetchone()
            return _record(row) if row else None
        return await self._read(q)

    async def find_by_fingerprints(self, tenant: str, record_id: str,
                                   fingerprints: Sequence[bytes]) -> list[EntryRow]:
        """Entries matching any of the fingerprints."""
        fps = list(fingerprints)
        def q(c: sqlite3.Connection) -> list[EntryRow]:
            out: list[EntryRow] = []
            for i in range(0, len(fps), 500):
                chunk = fps[i:i + 500]
                out += [_entry(r) for r in c.execute(
                    f"SELECT {_ENTRY_COLS} FROM entries WHERE tenant=? AND record_id=?"
                    f" AND fingerprint IN ({_placeholders(len(chunk))})",
                    (tenant, record_id, *chunk))]
            return out
        return await self._read(q) if fps else []

    async def commit_entries(self, record: RecordRow,
                             entries: Sequence[EntryRow]) -> dict[bytes, str]:
        """Create the record if absent and insert new entries, atomically."""
        rows = list(entries)
        def q(c: sqlite3.Connection) -> dict[bytes, str]:
            c.execute(f"INSERT OR IGNORE INTO records ({_RECORD_COLS}) VALUES (?,?,?,?,?,?,?,?,?)",
                      (record.tenant, record.record_id, record.subject_id, record.created_at,
                       record.dek_id, record.kek_id, record.wrapped_dek,
                       int(record.no_retention), int(record.legal_hold)))
            stored = c.execute("SELECT dek_id FROM records WHERE tenant=? AND record_id=?",
                               (record.tenant, record.record_id)).fetchone()
            if stored[0] != record.dek_id:
                raise RecordRaceLost()
            c.executemany(
                f"INSERT OR IGNORE INTO entries ({_ENTRY_COLS}) VALUES (?,?,?,?,?,?,?,?)",
                [(e.tenant, e.record_id, e.token, e.entity_type, e.fingerprint, e.sealed,
                  e.created_at, e.expires_at) for e in rows])
            result: dict[bytes, str] = {}
            fps = [e.fingerprint for e in rows]
            for i in range(0, len(fps), 500):
                chunk = fps[i:i + 500]
                for fp, token in c.execute(
                        "SELECT fingerprint, token FROM entries WHERE tenant=? AND record_id=?"
                        f" AND fingerprint IN ({_placeholders(len(chunk))})",
                        (record.tenant, record.record_id, *chunk)):
                    result[bytes(fp)] = token
            return result
        return await self._write(q)

    async def get_entries(self, tenant: str, record_id: str,
                          tokens: Sequence[str]) -> list[EntryRow]:
        """Entries with the given tokens."""
        toks = list(dict.fromkeys(tokens))
        def q(c: sqlite3.Connection) -> list[EntryRow]:
            out: list[EntryRow] = []
            for i in range(0, len(toks), 500):
                chunk = toks[i:i + 500]
                out += [_entry(r) for r in c.execute(
                    f"SELECT {_ENTRY_COLS} FROM entries WHERE tenant=? AND record_id=?"
                    f" AND token IN ({_placeholders(len(chunk))})",
                    (tenant, record_id, *chunk))]
            return out
        return await self._read(q) if toks else []

    async def record_entries(self, tenant: str, record_id: str) -> list[EntryRow]:
        """Every entry of the record."""
        return await self._read(lambda c: [_entry(r) for r in c.execute(
            f"SELECT {_ENTRY_COLS} FROM entries WHERE tenant=? AND record_id=?",
            (tenant, record_id))])

    # -- key rotation ----------------------------------------------------------------------
    async def records_not_under(self, kek_id: str, limit: int) -> list[RecordRow]:
        """Records whose data key is wrapped under another KEK."""
        return await self._read(lambda c: [_record(r) for r in c.execute(
            f"SELECT {_RECORD_COLS} FROM records WHERE kek_id <> ? LIMIT ?", (kek_id, limit))])

    async def apply_rewraps(self, rewraps: Sequence[Rewrap]) -> int:
        """Swap in re-wrapped data keys where the old KEK is still recorded."""
        items = list(rewraps)
        def q(c: sqlite3.Connection) -> int:
            n = 0
            for r in items:
                n += c.execute("UPDATE records SET kek_id=?, wrapped_dek=? WHERE tenant=?"
                               " AND record_id=? AND kek_id=?",
                               (r.new_kek_id, r.wrapped_dek, r.tenant, r.record_id,
                                r.old_kek_id)).rowcount
            return n
        return await self._write(q)

    async def count_records_by_kek(self) -> dict[str, int]:
        """Records per KEK id."""
        def q(c: sqlite3.Connection) -> dict[str, int]:
            return {k: n for k, n in c.execute("SELECT kek_id, count(*) FROM records GROUP BY 1")}
        return await self._read(q)

