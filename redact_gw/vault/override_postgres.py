"""``OverrideStore`` for PostgreSQL: mixed into ``PostgresStore`` (same pool)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redact_gw.vault.override_base import OVERRIDE_COLUMNS, OverrideRow

Conn = Any  # asyncpg.Connection
_COLS = OVERRIDE_COLUMNS


class PostgresOverrideMixin:
    """Override methods over ``PostgresStore``'s ``_read``/``_write``."""

    _read: Callable[..., Any]
    _write: Callable[..., Any]

    async def put_policy_override(self, row: OverrideRow) -> None:
        """Insert or replace the scope's override."""
        async def q(c: Conn) -> None:
            await c.execute(
                f"INSERT INTO policy_overrides ({_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)"
                " ON CONFLICT (tenant, scope) DO UPDATE SET override_id = $3, doc = $4,"
                " created_by = $5, created_at = $6, kid = $7, mac = $8",
                row.tenant, row.scope, row.override_id, row.doc, row.created_by,
                row.created_at, row.kid, row.mac)
        await self._write(q)

    async def delete_policy_override(self, tenant: str, scope: str) -> OverrideRow | None:
        """Remove one override."""
        async def q(c: Conn) -> OverrideRow | None:
            r = await c.fetchrow(f"DELETE FROM policy_overrides WHERE tenant = $1 AND"
                                 f" scope = $2 RETURNING {_COLS}", tenant, scope)
            return None if r is None else OverrideRow.of(r)
        row: OverrideRow | None = await self._write(q)
        return row

    async def policy_overrides(self, tenant: str | None = None) -> list[OverrideRow]:
        """Every override, or one tenant's."""
        async def q(c: Conn) -> list[OverrideRow]:
            if tenant is None:
                rows = await c.fetch(f"SELECT {_COLS} FROM policy_overrides"
                                     " ORDER BY tenant, scope")
            else:
                rows = await c.fetch(f"SELECT {_COLS} FROM policy_overrides WHERE"
                                     " tenant = $1 ORDER BY scope", tenant)
            return [OverrideRow.of(r) for r in rows]
        out: list[OverrideRow] = await self._read(q)
        return out
