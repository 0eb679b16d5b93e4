"""``redact-gw audit verify`` detects every kind of tampering and names the first bad seq."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from redact_gw import cli
from redact_gw.audit import AuditLog, verify
from redact_gw.audit_chain import chain_hash
from redact_gw.crypto.keyring import KeyringSource, generate_key_file, load_keyring
from redact_gw.testing import FakeClock
from redact_gw.vault.sqlite import SqliteStore
from tests.conftest import Env


def _keys(db: Path) -> Path:
    path = db.parent / "keys.yaml"
    if not path.exists():
        generate_key_file(path)
    return path


async def _chain(db: Path, n: int = 8, mirror: Path | None = None, *,
                 keyed: bool = True) -> None:
    store = SqliteStore(db)
    await store.open()
    log = AuditLog(store, FakeClock(), mirror, KeyringSource(_keys(db)) if keyed else None)
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


async def _verify(db: Path, mirror: Path | None = None, *, keyed: bool = True) -> dict:
    store = SqliteStore(db)
    await store.open()
    try:
        keys = load_keyring(_keys(db)) if keyed else None
        return (await verify(store, mirror, keys=keys)).to_dict()
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
    asyncio.run(_chain(env.root / "vault.db", 4))  # keyed by env's keys.yaml
    assert cli.main(["--config", str(env.config_path), "audit", "verify"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 4
    _sql(env.root / "vault.db", "DELETE FROM audit_events WHERE seq = 2")
    assert cli.main(["--config", str(env.config_path), "audit", "verify"]) == 1
    assert json.loads(capsys.readouterr().out)["first_bad_seq"] == 2


def _forge(db: Path, edit_seq: int) -> None:
    """A database writer without the key file: edit one event, rehash the (unkeyed)
    chain from there, append one more event."""
    con = sqlite3.connect(db)
    rows = con.execute("SELECT seq, payload, prev_hash FROM audit_events ORDER BY seq").fetchall()
    prev = next(p for s, _, p in rows if s == edit_seq)
    for seq, payload, _ in rows:
        if seq < edit_seq:
            continue
        if seq == edit_seq:
            payload = payload.replace('"granted"', '"denied"')
        h = chain_hash(prev, seq, payload)
        con.execute("UPDATE audit_events SET payload=?, prev_hash=?, hash=? WHERE seq=?",
                    (payload, prev, h, seq))
        prev = h
    last = rows[-1]
    seq = last[0] + 1
    con.execute("INSERT INTO audit_events SELECT ?, ts, tenant, principal, action, record_id,"
                " payload, ?, ? FROM audit_events WHERE seq = ?",
                (seq, prev, chain_hash(prev, seq, last[1]), last[0]))
    con.commit()
    con.close()


async def test_rehashed_chain_without_the_key_file_fails(tmp_path: Path) -> None:
    db = tmp_path / "vault.db"
    await _chain(db)
    _forge(db, 4)
    result = await _verify(db)
    assert result["ok"] is False and result["first_bad_seq"] == 4, result


async def test_rehashed_chain_is_caught_by_the_mirror_row_by_row(tmp_path: Path) -> None:
    """Even a legacy (unkeyed) chain: every mirrored seq and hash is compared."""
    db, mirror = tmp_path / "vault.db", tmp_path / "audit.jsonl"
    await _chain(db, 6, mirror, keyed=False)
    assert (await _verify(db, mirror, keyed=False))["ok"] is True
    _forge(db, 3)
    assert (await _verify(db, keyed=False))["ok"] is True  # the unkeyed chain alone
    result = await _verify(db, mirror, keyed=False)
    assert result["ok"] is False and result["first_bad_seq"] == 3, result


async def test_legacy_prefix_then_keyed_events_verify(tmp_path: Path) -> None:
    """Chains from before keying stay valid; they may only be a prefix."""
    db = tmp_path / "vault.db"
    await _chain(db, 3, keyed=False)
    await _chain(db, 3)
    assert (await _verify(db))["ok"] is True
    await _chain(db, 1, keyed=False)  # an unkeyed writer after keying began
    result = await _verify(db)
    assert result["ok"] is False and result["first_bad_seq"] == 7, result


async def test_keyed_chain_does_not_verify_under_another_key_file(tmp_path: Path) -> None:
    db = tmp_path / "vault.db"
    await _chain(db, 3)
    other = tmp_path / "other" / "keys.yaml"
    other.parent.mkdir()
    generate_key_file(other)
    text = other.read_text().replace(load_keyring(other).primary_kid,
                                     load_keyring(_keys(db)).primary_kid)
    other.write_text(text)
    store = SqliteStore(db)
    await store.open()
    result = await verify(store, keys=load_keyring(other))
    await store.close()
    assert result.ok is False and result.first_bad_seq == 1
