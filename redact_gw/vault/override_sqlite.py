"""``OverrideStore`` for SQLite: mixed into ``SqliteStore`` (same thread, same file)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from redact_gw.vault.override_base import OVERRIDE_COLUMNS, OverrideRow

Conn = sqlite3.Connection
_COLS = OVERRIDE_COLUMNS


class SqliteOverrideMixin:
    """Override methods over ``SqliteStore``'s ``_read``/``_write``."""

    _read: Callable[..., Any]
    _write: Callable[..., Any]

    async def put_policy_override(self, row: OverrideRow) -> None:
        """Insert or replace the scope's override."""
        await self._write(lambda c: c.execute(
            f"INSERT OR REPLACE INTO policy_overrides ({_COLS}) VALUES (?,?,?,?,?,?,?,?)",
            (row.tenant, row.scope, row.override_id, row.doc, row.created_by,
             row.created_at, row.kid, row.mac)))

    async def delete_policy_override(self, tenant: str, scope: str) -> OverrideRow | None:
        """Remove one override."""
        def q(c: Conn) -> OverrideRow | None:
            r = c.execute(f"SELECT {_COLS} FROM policy_overrides WHERE tenant=? AND scope=?",
                          (tenant, scope)).fetchone()
            if r is None:
                return None
            c.execute("DELETE FROM policy_overrides WHERE tenant=? AND scope=?",
                      (tenant, scope))
            return OverrideRow.of(r)
        row: OverrideRow | None = await self._write(q)
        return row

    async def policy_overrides(self, tenant: str | None = None) -> list[OverrideRow]:
        """Every override, or one tenant's."""
        def q(c: Conn) -> list[OverrideRow]:
            where, args = ("WHERE tenant=?", (tenant,)) if tenant is not None else ("", ())
            return [OverrideRow.of(r) for r in c.execute(
                f"SELECT {_COLS} FROM policy_overrides {where} ORDER BY tenant, scope",
                args)]
        rows: list[OverrideRow] = await self._read(q)
        return rows
