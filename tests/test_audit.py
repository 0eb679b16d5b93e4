"""``redact-gw audit verify`` detects every kind of tampering and names the first bad seq."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from redact_gw import cli
from redact_gw.audit import AuditLog, verify
from redact_gw.testing import FakeClock
from redact_gw.vault.sqlite import SqliteStore
from tests.conftest import Env


async def _chain(db: Path, n: int = 8, mirror: Path | None = None) -> None:
    store = SqliteStore(db)
    await store.open()
    log = AuditLog(store, FakeClock(), mirror)
    for i in range(n):
        await log.record("reveal", tenant="acme", record_id=f"r{i}", purpose="legal_request",
                         outcome="granted", counts={"PERSON": 1})
    await store.close()


def _sql(db: Path, *statements: str) -> None:
    con = sqlite3.connect(db)
    for s in statements:
        con.execute(s)
    con.commit()
    con.close()


async def _verify(db: Path, mirror: Path | None = None) -> dict:
    store = SqliteStore(db)
    await store.open()
    try:
        return (await verify(store, mirror)).to_dict()
    finally:
        await store.close()


TAMPERS = {
    "edited payload": (["UPDATE audit_events SET payload = replace(payload, '\"granted\"',"
                        " '\"denied\"') WHERE seq = 4"], 4),
    "edited column": (["UPDATE audit_events SET record_id = 'r99' WHERE seq = 5"], 5),
    "deleted": (["DELETE FROM audit_events WHERE seq = 3"], 3),
    "inserted": (["UPDATE audit_events SET seq = seq + 100 WHERE seq >= 6",
                  "UPDATE audit_events SET seq = seq - 99 WHERE seq >= 106",
                  "INSERT INTO audit_events SELECT 6, ts, tenant, principal, action, record_id,"
                  " payload, prev_hash, hash FROM audit_events WHERE seq = 2"], 6),
    "reordered": (["UPDATE audit_events SET seq = -1 WHERE seq = 2",
                   "UPDATE audit_events SET seq = 2 WHERE seq = 3",
                   "UPDATE audit_events SET seq = 3 WHERE seq = -1"], 2),
    "rehashed edit": (["UPDATE audit_events SET payload = replace(payload, 'legal_request',"
                       " 'quality_review'), hash = 'f' || substr(hash, 2) WHERE seq = 7"], 7),
}


@pytest.mark.parametrize("kind", list(TAMPERS))
async def test_verify_names_first_bad_sequence(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "vault.db"
    await _chain(db)
    assert (await _verify(db))["ok"] is True
    statements, first_bad = TAMPERS[kind]
    _sql(db, *statements)
    result = await _verify(db)
    assert result["ok"] is False and result["first_bad_seq"] == first_bad, result


async def test_tail_deletion_is_caught_by_the_mirror(tmp_path: Path) -> None:
    db, mirror = tmp_path / "vault.db", tmp_path / "audit.jsonl"
    await _chain(db, 5, mirror)
    assert (await _verify(db, mirror))["ok"] is True
    _sql(db, "DELETE FROM audit_events WHERE seq = 5")
    result = await _verify(db, mirror)
    assert result["ok"] is False and result["first_bad_seq"] == 5


def test_cli_audit_verify_exit_codes(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio
    asyncio.run(_chain(env.root / "vault.db", 4))
    assert cli.main(["--config", str(env.config_path), "audit", "verify"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 4
    _sql(env.root / "vault.db", "DELETE FROM audit_events WHERE seq = 2")
    assert cli.main(["--config", str(env.config_path), "audit", "verify"]) == 1
    assert json.loads(capsys.readouterr().out)["first_bad_seq"] == 2
