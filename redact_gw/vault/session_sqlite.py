"""``ConsoleSessionStore`` for SQLite: mixed into ``SqliteStore`` (same thread, same file)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from redact_gw.vault.session_base import SESSION_COLUMNS, SessionRow

Conn = sqlite3.Connection
_COLS = SESSION_COLUMNS


class SqliteSessionMixin:
    """Console-session methods over ``SqliteStore``'s ``_read``/``_write``."""

    _read: Callable[..., Any]
    _write: Callable[..., Any]

    async def add_console_session(self, row: SessionRow, max_per_principal: int) -> None:
        """Insert after dropping expired and surplus sessions."""
        def q(c: Conn) -> None:
            c.execute("DELETE FROM console_sessions WHERE expires_at <= ?", (row.created_at,))
            c.execute("DELETE FROM console_sessions WHERE sid_hash IN (SELECT sid_hash FROM"
                      " console_sessions WHERE tenant=? AND principal=? ORDER BY"
                      " expires_at DESC LIMIT -1 OFFSET ?)",
                      (row.tenant, row.principal, max(0, max_per_principal - 1)))
            c.execute(f"INSERT INTO console_sessions ({_COLS}) VALUES (?,?,?,?,?,?,?)",
                      (row.sid_hash, row.tenant, row.principal, row.created_at,
                       row.expires_at, row.kid, row.sealed))
        await self._write(q)

    async def get_console_session(self, sid_hash: str) -> SessionRow | None:
        """One session."""
        def q(c: Conn) -> SessionRow | None:
            r = c.execute(f"SELECT {_COLS} FROM console_sessions WHERE sid_hash=?",
                          (sid_hash,)).fetchone()
            if r is None:
                return None
            return SessionRow.of(r)
        row: SessionRow | None = await self._read(q)
        return row

    async def delete_console_session(self, sid_hash: str) -> None:
        """Sign out."""
        await self._write(lambda c: c.execute(
            "DELETE FROM console_sessions WHERE sid_hash=?", (sid_hash,)))

    async def delete_console_sessions(self, tenant: str, principal: str) -> int:
        """Every session of a principal."""
        n: int = await self._write(lambda c: c.execute(
            "DELETE FROM console_sessions WHERE tenant=? AND principal=?",
            (tenant, principal)).rowcount)
        return n

    async def purge_console_sessions(self, now: float) -> int:
        """Expired sessions."""
        n: int = await self._write(lambda c: c.execute(
            "DELETE FROM console_sessions WHERE expires_at <= ?", (now,)).rowcount)
        return n
