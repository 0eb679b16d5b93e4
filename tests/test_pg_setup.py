"""`make test` sets up its own PostgreSQL database, or says in one line how to point at one."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import asyncpg

from tests.pg import PG_DSN, _with_database, ensure_database, shown_dsn

ROOT = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_missing_database_is_created() -> None:
    name = "redact_gw_t_" + secrets.token_hex(4)
    dsn = _with_database(PG_DSN, name)
    assert await ensure_database(dsn) is None
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
        assert await conn.fetchval("SELECT current_database()") == name
        await conn.close()
        assert await ensure_database(dsn) is None  # existing: left as it is
    finally:
        admin = await asyncpg.connect(_with_database(PG_DSN, "postgres"), timeout=5)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()


def test_no_server_fails_with_one_line_naming_the_variable() -> None:
    dsn = f"postgresql://someone:hunter2@127.0.0.1:{_closed_port()}/test"
    proc = subprocess.run([sys.executable, "-m", "tests.pg"], cwd=ROOT, capture_output=True,
                          text=True, timeout=30,
                          env={**os.environ, "REDACT_GW_TEST_PG_DSN": dsn})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "REDACT_GW_TEST_PG_DSN=" in lines[0] and "cannot connect" in lines[0]
    assert "hunter2" not in lines[0]


def test_shown_dsn_hides_the_password() -> None:
    assert shown_dsn("postgresql://u:pw@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert shown_dsn("postgresql://u@db/x") == "postgresql://u@db/x"
