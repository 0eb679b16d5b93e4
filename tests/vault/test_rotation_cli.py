"""Issue 15, finding 9: ``keys rotate`` / ``keys rewrap`` finish past a bad record."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from redact_gw import cli
from redact_gw.crypto.keyring import KeyringSource, load_keyring
from redact_gw.model import PendingValue
from redact_gw.vault.service import Vault
from redact_gw.vault.sqlite import SqliteStore
from tests.conftest import Env


async def _records(env: Env, n: int) -> None:
    store = SqliteStore(env.root / "vault.db")
    await store.open()
    vault = Vault(store, KeyringSource(env.root / "keys.yaml"))
    for i in range(n):
        phone = PendingValue("PHONE_NUMBER", f"21255501{i:02d}", f"212-555-01{i:02d}")
        await vault.tokenize("acme", f"r{i}", None, [phone])
    await store.close()


@pytest.mark.parametrize("command", [["keys", "rotate"], ["keys", "rewrap"]])
def test_rotation_skips_an_undecryptable_record_and_exits_non_zero(
        env: Env, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    asyncio.run(_records(env, 5))
    con = sqlite3.connect(env.root / "vault.db")
    con.execute("UPDATE records SET wrapped_dek = zeroblob(60) WHERE record_id = 'r2'")
    con.commit()
    if command[1] == "rewrap":  # a new primary the records are not under yet
        from redact_gw.crypto.keyring import add_primary
        add_primary(env.root / "keys.yaml")
    code = cli.main(["--config", str(env.config_path), *command])
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert code == 1
    assert summary["rewrapped"] == 4
    assert summary["failed"] == [{"tenant": "acme", "record_id": "r2"}]
    assert "1 record(s) could not be opened" in captured.err
    primary = load_keyring(env.root / "keys.yaml").primary_kid
    rows = dict(con.execute("SELECT record_id, kek_id FROM records").fetchall())
    con.close()
    assert [r for r, k in rows.items() if k != primary] == ["r2"]
