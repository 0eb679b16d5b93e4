"""PostgreSQL specifics: migrations, races between replicas (one pool each), failures.

Each "replica" here is its own ``PostgresStore`` with its own pool on one shared
schema; tests/integration/test_replicas.py does the same with real server processes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from redact_gw.audit_chain import GENESIS, chain_hash
from redact_gw.crypto.keyring import KeyringSource, generate_key_file
from redact_gw.errors import ConfigError, VaultUnavailable
from redact_gw.model import PendingValue
from redact_gw.vault import audit_postgres, migrations
from redact_gw.vault.base import AuditQuery, AuditRow, EntryRow, RecordRaceLost
from redact_gw.vault.postgres import PostgresStore
from redact_gw.vault.service import Vault
from tests.pg import TcpForwarder, fresh_schema, schema_dsn


@pytest.fixture
async def schema() -> AsyncIterator[str]:
    async with fresh_schema() as name:
        yield name


@pytest.fixture
async def replicas(schema: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    a, b = (PostgresStore(schema_dsn(schema), max_size=4) for _ in range(2))
    await asyncio.gather(a.open(), b.open())
    yield a, b
    await asyncio.gather(a.close(), b.close())


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    generate_key_file(tmp_path / "keys.yaml")
    return tmp_path / "keys.yaml"


def _phones(n: int, base: int = 2125550000) -> list[PendingValue]:
    return [PendingValue("PHONE_NUMBER", str(base + i), str(base + i)) for i in range(n)]


async def _fetch(schema: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(schema_dsn(schema), timeout=5)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


# -- migrations ---------------------------------------------------------------------------
async def test_replicas_starting_together_apply_each_migration_once(schema: str) -> None:
    stores = [PostgresStore(schema_dsn(schema), migrate=False) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        applied = await asyncio.gather(*(s.migrate() for s in stores))
        assert sorted(v for a in applied for v in a) == [v for v, _ in migrations.POSTGRES]
        assert await stores[0].migrate() == []
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    rows = await _fetch(schema, "SELECT version FROM schema_migrations ORDER BY 1")
    assert [r[0] for r in rows] == [v for v, _ in migrations.POSTGRES]


async def test_open_without_migrate_leaves_schema_empty(schema: str) -> None:
    store = PostgresStore(schema_dsn(schema), migrate=False)
    await store.open()
    try:
        assert await store.ping()
        with pytest.raises(VaultUnavailable):  # no tables yet: 503, not a raw asyncpg error
            await store.get_record("acme", "r1")
    finally:
        await store.close()


# -- races between replicas ---------------------------------------------------------------
async def test_two_replicas_tokenizing_one_record_agree(
        replicas: tuple[PostgresStore, PostgresStore], key_path: Path) -> None:
    vaults = [Vault(s, KeyringSource(key_path)) for s in replicas]
    values = _phones(40)
    results = await asyncio.gather(*(vaults[i % 2].tokenize("acme", "hot", None, values)
                                     for i in range(12)))
    assert all(r == results[0] for r in results)
    entries = await replicas[0].record_entries("acme", "hot")
    assert len(entries) == 40 and len({e.token for e in entries}) == 40
    revealed = await vaults[1].reveal("acme", "hot", list(results[0].values()))
    assert sorted(v.value for v in revealed.values()) == sorted(v.original for v in values)


async def test_concurrent_purges_never_double_count(
        schema: str, replicas: tuple[PostgresStore, PostgresStore], key_path: Path) -> None:
    now = time.time()
    vault = Vault(replicas[0], KeyringSource(key_path),
                  expiry=lambda _t, _c, _e, created: created - 1)
    for r in range(20):
        await vault.tokenize("acme", f"r{r}", None, _phones(15, 4155550000 + 100 * r))

    async def purge(store: PostgresStore) -> int:
        total = 0
        while (batch := await store.purge_expired_batch(now, None, 7)).total:
            total += batch.total
        return total

    counts = await asyncio.gather(*(purge(replicas[i % 2]) for i in range(6)))
    assert sum(counts) == 300
    assert await replicas[1].count_expired(now, None) == {}
    shredded = await asyncio.gather(*(s.shred_emptied_records(now, None, 3)
                                      for s in replicas * 3))
    while n := await replicas[0].shred_emptied_records(now, None, 3):
        shredded.append(n)
    assert sum(shredded) == 20
    assert (await _fetch(schema, "SELECT count(*) FROM tombstones"))[0][0] == 300


async def test_audit_chain_stays_linear_across_replicas(
        replicas: tuple[PostgresStore, PostgresStore]) -> None:
    await asyncio.gather(*(replicas[i % 2].append_audit(float(i), "acme", "p", "reveal", None,
                                                        f'{{"i":{i}}}') for i in range(40)))
    rows = await replicas[0].audit_events(AuditQuery(limit=100))
    assert [r.seq for r in rows] == list(range(1, 41))
    prev = GENESIS
    for r in rows:
        assert r.prev_hash == prev and r.hash == chain_hash(prev, r.seq, r.payload)
        prev = r.hash


async def test_quota_and_lock_hold_across_replicas(
        replicas: tuple[PostgresStore, PostgresStore]) -> None:
    grants = await asyncio.gather(*(replicas[i % 2].consume_quota("acme", "p", 0.0, 1, 25)
                                    for i in range(40)))
    assert sum(ok for ok, _ in grants) == 25
    assert max(used for _, used in grants) == 25
    won = await asyncio.gather(*(replicas[i % 2].try_lock("purge", f"h{i}", 100.0, 60)
                                 for i in range(10)))
    assert sum(won) == 1


# -- failures -----------------------------------------------------------------------------
async def test_statement_timeout_is_a_vault_unavailable(schema: str) -> None:
    store = PostgresStore(schema_dsn(schema), statement_timeout_s=0.3)
    await store.open()
    blocker = await asyncpg.connect(schema_dsn(schema))
    try:
        await store.append_audit(1.0, None, None, "x", None, "{}")
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("SELECT 1 FROM audit_head FOR UPDATE")
        started = time.monotonic()
        with pytest.raises(VaultUnavailable):
            await store.append_audit(2.0, None, None, "x", None, "{}")
        assert time.monotonic() - started < 3
        await tx.rollback()
        assert (await store.append_audit(3.0, None, None, "x", None, "{}")).seq == 2
    finally:
        await blocker.close()
        await store.close()


async def test_unreachable_database_is_vault_unavailable() -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:9/test", connect_timeout_s=1)
    with pytest.raises(VaultUnavailable):
        await store.open()
    assert not await store.ping()
    with pytest.raises(VaultUnavailable):
        await store.get_record("acme", "r1")


async def test_outage_then_recovery_without_reopening(schema: str, key_path: Path) -> None:
    relay = TcpForwarder()
    await relay.start()
    store = PostgresStore(relay.dsn(schema), max_size=3, connect_timeout_s=1)
    await store.open()
    vault = Vault(store, KeyringSource(key_path))
    try:
        tokens = await vault.tokenize("acme", "r1", None, _phones(3))
        await relay.cut()
        assert not await store.ping()
        with pytest.raises(VaultUnavailable):
            await vault.tokenize("acme", "r1", None, _phones(5))
        with pytest.raises(VaultUnavailable):
            await vault.reveal("acme", "r1", list(tokens.values()))
        await relay.restore()
        assert await store.ping()
        again = await vault.tokenize("acme", "r1", None, _phones(5))
        assert {k: again[k] for k in tokens} == tokens
        assert len(await vault.reveal("acme", "r1", list(again.values()))) == 5
    finally:
        await store.close()
        await relay.close()


async def test_bad_dsn_is_a_config_error_without_echo() -> None:
    with pytest.raises(ConfigError) as info:
        await PostgresStore("postgresql://u:s3cret@host:notaport/db").open()
    assert "s3cret" not in str(info.value)
    assert "s3cret" not in repr(PostgresStore("postgresql://u:s3cret@h/db"))


async def test_database_holds_no_plaintext(schema: str, key_path: Path) -> None:
    store = PostgresStore(schema_dsn(schema))
    await store.open()
    try:
        vault = Vault(store, KeyringSource(key_path))
        await vault.tokenize("acme", "call-1", "cust-9", [
            PendingValue("PERSON", "rebecca quinterra", "Rebecca Quinterra"),
            PendingValue("EMAIL_ADDRESS", "rq.unique@example.org", "rq.unique@example.org")])
    finally:
        await store.close()
    rows = await _fetch(schema, "SELECT e::text FROM entries e UNION ALL"
                                " SELECT r::text FROM records r")
    dump = "\n".join(r[0] for r in rows).lower()
    assert "call-1" in dump
    for needle in ("rebecca", "quinterra", "rq.unique", "example.org"):
        assert needle not in dump
        assert needle.encode().hex() not in dump


# -- one statement per write: grouped audit appends, and failures inside one --------------
_BOOM = """
CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.{column} = '{value}' THEN RAISE EXCEPTION 'injected failure'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER boom BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION boom();"""


async def _execute(schema: str, sql: str) -> None:
    conn = await asyncpg.connect(schema_dsn(schema), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _chain_ok(rows: list[AuditRow]) -> bool:
    prev = GENESIS
    for r in rows:
        if r.prev_hash != prev or r.hash != chain_hash(prev, r.seq, r.payload):
            return False
        prev = r.hash
    return True


async def test_concurrent_audit_appends_share_one_statement_in_arrival_order(
        replicas: tuple[PostgresStore, PostgresStore]) -> None:
    store = replicas[0]
    got = await asyncio.gather(*(store.append_audit(float(i), "acme", "p", "reveal", None,
                                                    f'{{"i":{i}}}') for i in range(16)))
    assert [r.seq for r in got] == list(range(1, 17))
    assert store.audit_groups <= 2 and store.audit_events_appended == 16
    rows = await replicas[1].audit_events(AuditQuery(limit=100))
    assert [r.payload for r in rows] == [f'{{"i":{i}}}' for i in range(16)]
    assert _chain_ok(rows)


async def test_audit_head_moved_by_another_replica_is_chained_on(
        replicas: tuple[PostgresStore, PostgresStore]) -> None:
    a, b = replicas
    await a.append_audit(1.0, None, None, "x", None, '{"n":1}')  # a now caches head 1
    await b.append_audit(2.0, None, None, "x", None, '{"n":2}')
    await b.append_audit(3.0, None, None, "x", None, '{"n":3}')
    row = await a.append_audit(4.0, None, None, "x", None, '{"n":4}')
    rows = await a.audit_events(AuditQuery(limit=10))
    assert row.seq == 4 and row.prev_hash == rows[2].hash
    assert [r.seq for r in rows] == [1, 2, 3, 4] and _chain_ok(rows)


@pytest.mark.parametrize("path", ["first-group", "cached-head", "under-head-lock"])
async def test_failure_inside_an_audit_group_writes_nothing_and_fails_each_caller(
        schema: str, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if path == "under-head-lock":  # as when other replicas keep overtaking this one
        monkeypatch.setattr(audit_postgres, "_CAS_ATTEMPTS", 0)
    store = PostgresStore(schema_dsn(schema), max_size=1)  # the failed connection is reused
    await store.open()
    try:
        before = ([await store.append_audit(0.0, None, None, "x", None, "{}")]
                  if path != "first-group" else [])
        await _execute(schema, _BOOM.format(column="payload", value='{"i":2}',
                                          table="audit_events"))
        got = await asyncio.gather(*(store.append_audit(float(i), "acme", "p", "reveal",
                                                        None, f'{{"i":{i}}}')
                                     for i in range(5)), return_exceptions=True)
        assert all(isinstance(e, VaultUnavailable) for e in got)
        assert len({id(e) for e in got}) == 5  # each caller raises its own error
        assert await store.audit_events(AuditQuery(limit=10)) == before
        assert (await _fetch(schema, "SELECT seq FROM audit_head"))[0][0] == len(before)
        await _execute(schema, "DROP TRIGGER boom ON audit_events")
        row = await store.append_audit(9.0, None, None, "x", None, '{"after":1}')
        assert row.seq == len(before) + 1
        assert _chain_ok(await store.audit_events(AuditQuery(limit=10)))
    finally:
        await store.close()


async def test_failure_inside_commit_entries_writes_nothing(schema: str,
                                                            key_path: Path) -> None:
    store = PostgresStore(schema_dsn(schema), max_size=2)
    await store.open()
    try:
        vault = Vault(store, KeyringSource(key_path))
        await _execute(schema, _BOOM.format(column="entity_type", value="BOOM", table="entries"))
        bad = [*_phones(3), PendingValue("BOOM", "x", "x")]
        got = await asyncio.gather(vault.tokenize("acme", "r-bad", "cust", bad),
                                   vault.tokenize("acme", "r-ok", "cust", _phones(3)),
                                   return_exceptions=True)
        assert isinstance(got[0], VaultUnavailable)
        assert isinstance(got[1], dict) and len(got[1]) == 3  # the other caller is served
        assert await store.get_record("acme", "r-bad") is None
        assert await store.record_entries("acme", "r-bad") == []
        await _execute(schema, "DROP TRIGGER boom ON entries")
        again = await vault.tokenize("acme", "r-bad", "cust", bad)
        assert len(await vault.reveal("acme", "r-bad", list(again.values()))) == 4
    finally:
        await store.close()


async def test_commit_entries_returns_the_token_another_writer_stored_first(
        schema: str, key_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = PostgresStore(schema_dsn(schema), max_size=2)
    await store.open()
    try:
        first = await Vault(store, KeyringSource(key_path)).tokenize("acme", "r", None,
                                                                      _phones(1))
        record = await store.get_record("acme", "r")
        stored = (await store.record_entries("acme", "r"))[0]
        assert record is not None
        late = EntryRow("acme", "r", "[[PHONE_NUMBER:zzzzzzzzzz]]", "PHONE_NUMBER",
                        stored.fingerprint, b"s" * 40, 2.0)
        assert await store.commit_entries(record, [late]) == {
            stored.fingerprint: next(iter(first.values()))}
        assert len(await store.record_entries("acme", "r")) == 1

        lookup = store._entries_where
        async def purged_meanwhile(c: Any, *args: Any) -> list[EntryRow]:
            await c.execute("DELETE FROM entries")
            return await lookup(c, *args)
        monkeypatch.setattr(store, "_entries_where", purged_meanwhile)
        with pytest.raises(RecordRaceLost):  # the vault starts over instead of a KeyError
            await store.commit_entries(record, [late])
    finally:
        await store.close()
