"""``ConsoleSessionStore`` for PostgreSQL: mixed into ``PostgresStore`` (same pool)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redact_gw.vault.session_base import SESSION_COLUMNS, SessionRow

Conn = Any  # asyncpg.Connection
_COLS = SESSION_COLUMNS


def _affected(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


class PostgresSessionMixin:
    """Console-session methods over ``PostgresStore``'s ``_read``/``_write``."""

    _read: Callable[..., Any]
    _write: Callable[..., Any]

    async def add_console_session(self, row: SessionRow, max_per_principal: int) -> None:
        """Insert after dropping expired and surplus sessions."""
        async def q(c: Conn) -> None:
            await c.execute("DELETE FROM console_sessions WHERE expires_at <= $1",
                            row.created_at)
            await c.execute("DELETE FROM console_sessions WHERE sid_hash IN (SELECT sid_hash"
                            " FROM console_sessions WHERE tenant = $1 AND principal = $2"
                            " ORDER BY expires_at DESC OFFSET $3)",
                            row.tenant, row.principal, max(0, max_per_principal - 1))
            await c.execute(f"INSERT INTO console_sessions ({_COLS}) VALUES"
                            " ($1,$2,$3,$4,$5,$6,$7)", row.sid_hash, row.tenant,
                            row.principal, row.created_at, row.expires_at, row.kid,
                            row.sealed)
        await self._write(q)

    async def get_console_session(self, sid_hash: str) -> SessionRow | None:
        """One session."""
        async def q(c: Conn) -> SessionRow | None:
            r = await c.fetchrow(f"SELECT {_COLS} FROM console_sessions WHERE sid_hash = $1",
                                 sid_hash)
            if r is None:
                return None
            return SessionRow.of(r)
        row: SessionRow | None = await self._read(q)
        return row

    async def delete_console_session(self, sid_hash: str) -> None:
        """Sign out."""
        async def q(c: Conn) -> None:
            await c.execute("DELETE FROM console_sessions WHERE sid_hash = $1", sid_hash)
        await self._write(q)

    async def delete_console_sessions(self, tenant: str, principal: str) -> int:
        """Every session of a principal."""
        async def q(c: Conn) -> int:
            return _affected(await c.execute(
                "DELETE FROM console_sessions WHERE tenant = $1 AND principal = $2",
                tenant, principal))
        n: int = await self._write(q)
        return n

    async def purge_console_sessions(self, now: float) -> int:
        """Expired sessions."""
        async def q(c: Conn) -> int:
            return _affected(await c.execute(
                "DELETE FROM console_sessions WHERE expires_at <= $1", now))
        n: int = await self._write(q)
        return n
