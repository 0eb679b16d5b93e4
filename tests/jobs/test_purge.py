"""Retention purge: injected clock, API, raw file bytes, holds, kills, concurrency."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from redact_gw.audit import AuditLog
from redact_gw.crypto.keyring import KeyringSource
from redact_gw.jobs.purge import next_delay, run_purge
from redact_gw.model import PendingValue
from redact_gw.policy.retention import RetentionPolicy
from redact_gw.proxy import appkeys
from redact_gw.settings import RetentionSettings, load_settings
from redact_gw.testing import FakeClock
from redact_gw.vault.service import Vault
from redact_gw.vault.sqlite import SqliteStore
from tests.conftest import Env, MakeClient

DAY = 86400
TEXT = "John Smith paid with 4111 1111 1111 1111, call 212-555-0123"


def _configure(env: Env, retention: dict[str, Any]) -> None:
    cfg = yaml.safe_load(env.config_path.read_text())
    cfg["retention"] = retention
    env.config_path.write_text(yaml.safe_dump(cfg))


def test_policy_shortest_applicable_period_wins() -> None:
    policy = RetentionPolicy(RetentionSettings.model_validate({
        "default": "30d", "entity_types": {"CREDIT_CARD": "1d", "PERSON": "60d"},
        "channels": {"chat": "7d"},
        "tenants": {"acme": {"default": "90d", "entity_types": {"PERSON": "45d"}}}}))
    assert policy.period("globex", None, "PHONE_NUMBER") == 30 * DAY
    assert policy.period("globex", None, "CREDIT_CARD") == DAY
    assert policy.period("globex", "chat", "PHONE_NUMBER") == 7 * DAY
    assert policy.period("globex", "chat", "CREDIT_CARD") == DAY
    assert policy.period("acme", None, "EMAIL_ADDRESS") == 90 * DAY
    assert policy.period("acme", None, "PERSON") == 45 * DAY
    assert policy.expiry("acme", None, "PERSON", 100.0) == 100.0 + 45 * DAY


def test_schedule_parsing() -> None:
    assert next_delay("every 15m", 0) == 900
    assert next_delay("0 * * * *", 1800.0) == 1800.0
    with pytest.raises(Exception):  # noqa: B017 - pydantic ValidationError
        RetentionSettings.model_validate({"purge": {"schedule": "sometimes"}})


async def test_write_advance_purge_verify_gone(make_client: MakeClient, env: Env,
                                               clock: FakeClock) -> None:
    _configure(env, {"default": "30d", "entity_types": {"CREDIT_CARD": "1d"}})
    client = await make_client(settings=load_settings(env.config_path, {}))
    r = await client.post("/v1/redact", json={"text": TEXT, "record_id": "call-1"},
                          headers=env.auth("ai"))
    tokens = {e["entity_type"]: e["token"] for e in (await r.json())["entities"]}
    db = env.root / "vault.db"
    con = sqlite3.connect(db)
    (card_ct,) = con.execute("SELECT sealed FROM entries WHERE entity_type='CREDIT_CARD'"
                             ).fetchone()
    con.close()
    clock.advance(2 * DAY)
    dry = await (await client.post("/v1/purge", json={"dry_run": True},
                                   headers=env.auth("admin"))).json()
    assert dry["values_by_type"] == {"CREDIT_CARD": 1} and dry["dry_run"] is True
    assert (await client.post("/v1/purge", headers=env.auth("ai"))).status == 403
    report = await (await client.post("/v1/purge", json={},
                                      headers=env.auth("admin"))).json()
    assert report["values_by_type"] == {"CREDIT_CARD": 1}
    async def reveal(token: str) -> Any:
        return await client.post("/v1/detokenize", headers=env.auth("admin"), json={
            "record_id": "call-1", "tokens": [token], "purpose": "legal_request"})
    r = await reveal(tokens["CREDIT_CARD"])
    assert r.status == 410 and (await r.json())["error"]["code"] == "purged"
    assert (await reveal(tokens["PERSON"])).status == 200
    raw = b"".join(p.read_bytes() for p in env.root.glob("vault.db*"))
    assert card_ct not in raw and card_ct[12:40] not in raw  # secure delete: no copy left
    # idempotent: a second purge finds nothing
    again = await (await client.post("/v1/purge", json={}, headers=env.auth("admin"))).json()
    assert again["values_removed"] == 0
    # after everything expires the data key is shredded too
    clock.advance(40 * DAY)
    final = await (await client.post("/v1/purge", json={}, headers=env.auth("admin"))).json()
    assert final["values_removed"] == 2 and final["records_shredded"] == 1
    meta = await (await client.get("/v1/records/call-1", headers=env.auth("admin"))).json()
    assert meta["shredded_at"] and meta["counts"] == {}
    receipts = (await (await client.get("/v1/audit", params={"action": "purge"},
                                        headers=env.auth("admin"))).json())["events"]
    assert [sum(e["counts"].values()) for e in receipts] == [1, 0, 2]
    assert all("cutoff" in e["run"] and "duration_ms" in e["run"] for e in receipts)


async def test_legal_hold_survives_purge_until_lifted(make_client: MakeClient, env: Env,
                                                      clock: FakeClock) -> None:
    client = await make_client()
    await client.post("/v1/redact", json={"text": TEXT, "record_id": "held"},
                      headers=env.auth("ai"))
    await client.put("/v1/records/held/legal-hold", headers=env.auth("admin"))
    clock.advance(365 * DAY)
    report = await (await client.post("/v1/purge", json={}, headers=env.auth("admin"))).json()
    assert report["values_removed"] == 0
    await client.delete("/v1/records/held/legal-hold", headers=env.auth("admin"))
    report = await (await client.post("/v1/purge", json={}, headers=env.auth("admin"))).json()
    assert report["values_removed"] == 3


async def _fill(db: Path, keys: Path, records: int, per_record: int,
                age_days: float) -> None:
    store = SqliteStore(db)
    await store.open()
    clock = FakeClock(time.time() - age_days * DAY)
    vault = Vault(store, KeyringSource(keys), clock=clock,
                  expiry=lambda _t, _c, _e, now: now + DAY)
    for r in range(records):
        await vault.tokenize("acme", f"r{r}", None, [
            PendingValue("PHONE_NUMBER", f"{r}-{i}", f"555-{r:03d}-{i:04d}")
            for i in range(per_record)])
    await store.close()


async def test_two_purges_at_once_do_not_conflict_or_double_count(env: Env) -> None:
    await _fill(env.root / "vault.db", env.root / "keys.yaml", 20, 25, 3)
    store = SqliteStore(env.root / "vault.db")
    await store.open()
    audit = AuditLog(store, time.time)
    unlocked = await asyncio.gather(*(run_purge(store, audit, time.time, batch_size=9,
                                                use_lock=False) for _ in range(2)))
    assert sum(sum(r.values.values()) for r in unlocked) == 500
    await store.close()
    await _fill(env.root / "vault.db", env.root / "keys.yaml", 4, 25, 3)
    store = SqliteStore(env.root / "vault.db")
    await store.open()
    locked = await asyncio.gather(*(run_purge(store, AuditLog(store, time.time),
                                              time.time, batch_size=9) for _ in range(2)))
    assert sum(sum(r.values.values()) for r in locked) == 100
    await store.close()


def _count(db: Path) -> int:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM entries").fetchone()[0]
    finally:
        con.close()


@pytest.mark.slow
def test_purge_killed_halfway_then_rerun(env: Env) -> None:
    asyncio.run(_fill(env.root / "vault.db", env.root / "keys.yaml", 40, 100, 3))
    _configure(env, {"purge": {"batch_size": 20, "lock_ttl_s": 1}})
    cmd = [sys.executable, "-m", "redact_gw.cli", "--config", str(env.config_path), "purge"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _count(env.root / "vault.db") > 3000 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = _count(env.root / "vault.db")
    assert 0 < left < 4000, left
    time.sleep(1.1)  # the killed run's lease expires
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    report = json.loads(out)
    assert report["values_removed"] == left and _count(env.root / "vault.db") == 0
    assert report["records_shredded"] == 40


async def test_scheduled_purge_runs_in_serve_and_stops_cleanly(make_client: MakeClient,
                                                               env: Env,
                                                               clock: FakeClock) -> None:
    _configure(env, {"default": "1d", "purge": {"schedule": "every 0.05s"}})
    client = await make_client(settings=load_settings(env.config_path, {}))
    await client.post("/v1/redact", json={"text": TEXT, "record_id": "r"},
                      headers=env.auth("ai"))
    clock.advance(2 * DAY)
    store = client.app[appkeys.STORE]
    for _ in range(200):
        if not await store.record_entries("acme", "r"):
            break
        await asyncio.sleep(0.02)
    assert await store.record_entries("acme", "r") == []
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "retention-purge"]
    assert len(tasks) == 1
    await client.close()
    assert tasks[0].done()


async def test_purge_reclaims_space(env: Env) -> None:
    await _fill(env.root / "vault.db", env.root / "keys.yaml", 30, 100, 3)
    store = SqliteStore(env.root / "vault.db")
    await store.open()
    await store.vacuum()
    before = (env.root / "vault.db").stat().st_size
    report = await run_purge(store, AuditLog(store, time.time), time.time, batch_size=500)
    await store.close()
    after = (env.root / "vault.db").stat().st_size
    assert sum(report.values.values()) == 3000
    assert after < before * 0.6, (before, after)


async def test_purged_token_is_410_then_404_after_tombstone_period(
        make_client: MakeClient, env: Env, clock: FakeClock) -> None:
    _configure(env, {"default": "1d", "tombstones": "7d"})
    client = await make_client(settings=load_settings(env.config_path, {}))
    r = await client.post("/v1/redact", json={"text": TEXT, "record_id": "r"},
                          headers=env.auth("ai"))
    token = (await r.json())["entities"][0]["token"]
    body = {"record_id": "r", "tokens": [token], "purpose": "legal_request"}
    clock.advance(2 * DAY)
    await client.post("/v1/purge", json={}, headers=env.auth("admin"))
    assert (await client.post("/v1/detokenize", json=body,
                              headers=env.auth("admin"))).status == 410
    clock.advance(8 * DAY)
    report = await (await client.post("/v1/purge", json={}, headers=env.auth("admin"))).json()
    assert report["tombstones_removed"] == 3
    r = await client.post("/v1/detokenize", json=body, headers=env.auth("admin"))
    assert r.status == 404 and (await r.json())["error"]["code"] == "token_not_found"
