"""Several real gateway processes sharing one PostgreSQL vault.

Each test starts two ``python -m redact_gw.testing_server`` processes (the real app
with the regex detector) on their own ports, sharing one fresh PostgreSQL schema and
one key file, and drives them over HTTP while a purge, a key rotation or an outage
happens. Both processes apply migrations at startup, together.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from redact_gw.audit import verify
from redact_gw.audit_chain import GENESIS
from redact_gw.crypto.keyring import KeyringSource, load_keyring
from redact_gw.model import PendingValue
from redact_gw.testing_server import GatewayHome, GatewayProcess, make_home
from redact_gw.vault.base import AuditQuery
from redact_gw.vault.postgres import PostgresStore
from redact_gw.vault.service import Vault
from tests.pg import TcpForwarder, fresh_schema, schema_dsn

SEP = " ; "


@dataclass
class Cluster:
    """Two gateway processes, their shared home, and the vault seen from the test."""

    home: GatewayHome
    procs: list[GatewayProcess]
    store: PostgresStore
    vault: Vault
    http: aiohttp.ClientSession
    schema: str

    async def redact(self, i: int, record_id: str, values: list[str]) -> dict[str, str]:
        """Tokenize ``values`` through process ``i % 2``; value -> token."""
        async with self.http.post(self.procs[i % 2].url + "/v1/redact",
                                  headers=self.home.auth(),
                                  json={"text": SEP.join(values), "record_id": record_id}
                                  ) as resp:
            body = await resp.json()
            assert resp.status == 200, body
        return dict(zip(values, body["text"].split(SEP), strict=True))

    async def reveal(self, i: int, record_id: str, tokens: list[str]) -> dict[str, str]:
        """Reveal through process ``i % 2`` (``POST /v1/detokenize``); token -> value."""
        async with self.http.post(self.procs[i % 2].url + "/v1/detokenize",
                                  headers=self.home.auth(admin=True),
                                  json={"record_id": record_id, "tokens": tokens,
                                        "purpose": "compliance_audit"}) as resp:
            body = await resp.json()
            assert resp.status == 200, body
        return {v["token"]: v["value"] for v in body["values"]}

    async def cli(self, *args: str) -> dict[str, Any]:
        """Run ``redact-gw --config <home> <args>`` as a process; its JSON output."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "redact_gw.cli", "--config", str(self.home.config), *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        return result


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with fresh_schema() as schema:
        home = make_home(tmp_path, schema_dsn(schema))
        procs = [GatewayProcess(home.config) for _ in range(2)]
        try:
            await asyncio.gather(*(p.start() for p in procs))
            store = PostgresStore(schema_dsn(schema), max_size=4)
            await store.open()
            vault = Vault(store, KeyringSource(home.key_path, interval_s=0.05))
            async with aiohttp.ClientSession() as http:
                yield Cluster(home, procs, store, vault, http, schema)
            await store.close()
        finally:
            await asyncio.gather(*(p.stop() for p in procs))


def _emails(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}@example.com" for i in range(n)]


async def _count(schema: str, sql: str) -> int:
    conn = await asyncpg.connect(schema_dsn(schema), timeout=5)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def test_one_record_tokenized_through_both_processes_agrees(cluster: Cluster) -> None:
    values = _emails("user", 15) + [f"212-555-{1000 + i:04d}" for i in range(15)]
    rng = random.Random(7)
    batches = [values, list(reversed(values))] + [rng.sample(values, 20) for _ in range(14)]
    results = await asyncio.gather(*(cluster.redact(i, "call-hot", b)
                                     for i, b in enumerate(batches)))
    token_of: dict[str, set[str]] = {}
    for result in results:
        for value, token in result.items():
            token_of.setdefault(value, set()).add(token)
    assert all(len(tokens) == 1 for tokens in token_of.values())  # no duplicate token
    entries = await cluster.store.record_entries("acme", "call-hot")
    assert len(entries) == 30  # no lost entry, no extra one
    tokens = {next(iter(t)): v for v, t in token_of.items()}
    assert await cluster.reveal(1, "call-hot", list(tokens)) == tokens
    assert await cluster.reveal(0, "call-hot", list(tokens)) == tokens


async def test_purge_in_one_process_while_both_write(cluster: Cluster) -> None:
    seeding = Vault(cluster.store, cluster.vault.keys,
                    expiry=lambda _t, _c, _e, created: created - 1)
    for r in range(40):
        await seeding.tokenize("acme", f"old-{r}", None, [
            PendingValue("EMAIL_ADDRESS", v, v) for v in _emails(f"old{r}-", 25)])
    written: list[tuple[str, dict[str, str]]] = []

    async def writer(w: int) -> None:
        for i in range(12):
            record = f"old-{(w * 12 + i) % 40}" if i % 2 else f"new-{w}-{i}"
            written.append((record, await cluster.redact(w + i, record,
                                                         _emails(f"w{w}-{i}-", 4))))

    async def purger() -> int:
        removed = 0
        while (batch := await cluster.store.purge_expired_batch(time.time(), None, 5)).total:
            removed += batch.total
            await asyncio.sleep(0.01)
        await cluster.store.shred_emptied_records(time.time(), None, 10)
        return removed

    cli = asyncio.create_task(cluster.cli("purge", "--batch-size", "5"))
    results = await asyncio.gather(purger(), *(writer(w) for w in range(6)))
    report = await cli
    assert results[0] + report["values_removed"] == 1000  # nothing removed twice
    assert await cluster.store.count_expired(time.time(), None) == {}
    assert await _count(cluster.schema, "SELECT count(*) FROM tombstones") == 1000
    for i, (record, tokens) in enumerate(written):  # nothing written was lost
        assert await cluster.reveal(i, record, list(tokens.values())) == {
            t: v for v, t in tokens.items()}


async def test_key_rotation_while_both_serve(cluster: Cluster) -> None:
    seeded: dict[str, dict[str, str]] = {}
    for r in range(150):
        record = f"rec-{r}"
        seeded[record] = await cluster.redact(r, record, _emails(f"r{r}-", 2))
    stop = asyncio.Event()
    served = {"reveals": 0, "writes": 0}

    async def revealer(k: int) -> None:
        i = k
        while not stop.is_set():
            record = f"rec-{i % 150}"
            tokens = seeded[record]
            assert await cluster.reveal(i, record, list(tokens.values())) == {
                t: v for v, t in tokens.items()}
            served["reveals"] += 1
            i += 7

    async def writer(k: int) -> None:
        i = 0
        while not stop.is_set():
            record = f"during-{k}-{i}"
            seeded[record] = await cluster.redact(i + k, record, _emails(f"d{k}-{i}-", 2))
            served["writes"] += 1
            i += 1

    old_kid = load_keyring(cluster.home.key_path).primary_kid
    tasks = [asyncio.create_task(f(k)) for k in range(3) for f in (revealer, writer)]
    await asyncio.sleep(0.3)
    summary = await cluster.cli("keys", "rotate", "--batch-size", "40")
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*tasks)  # any failed reveal or write fails the test here
    assert summary["primary"] != old_kid and summary["rewrapped"] >= 150
    assert served["reveals"] > 20 and served["writes"] > 5
    assert set(await cluster.store.count_records_by_kek()) == {summary["primary"]}
    for i, (record, tokens) in enumerate(list(seeded.items())[::10]):
        assert len(await cluster.reveal(i, record, list(tokens.values()))) == len(tokens)
    await _check_audit_chain(cluster.store, cluster.home.key_path)


async def _check_audit_chain(store: PostgresStore, key_path: Path) -> None:
    prev, seq, after = GENESIS, 0, 0
    while rows := await store.audit_events(AuditQuery(after_seq=after, limit=500)):
        for r in rows:
            seq += 1
            assert r.seq == seq and r.prev_hash == prev
            prev = r.hash
        after = rows[-1].seq
    assert seq > 20  # reveals from both processes, one linear chain
    # keyed by the old primary, then the new one: the whole chain verifies
    result = await verify(store, keys=load_keyring(key_path))
    assert result.ok and result.events == seq, result


# -- outage -------------------------------------------------------------------------------
@pytest.fixture
async def upstream_hits() -> AsyncIterator[tuple[str, list[str]]]:
    """A fake upstream AI service that records every request path it receives."""
    hits: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"id": "x", "object": "chat.completion", "choices": []})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/v1", hits
    await runner.cleanup()


async def test_database_outage_fails_closed_and_recovers(
        tmp_path: Path, upstream_hits: tuple[str, list[str]]) -> None:
    upstream_url, hits = upstream_hits
    relay = TcpForwarder()
    await relay.start()
    async with fresh_schema() as schema:
        home = make_home(tmp_path, relay.dsn(schema), upstream={"url": upstream_url},
                         vault={"connect_timeout_s": 1, "statement_timeout_s": 2})
        gw = GatewayProcess(home.config)
        await gw.start()
        try:
            async with aiohttp.ClientSession() as http:
                await _outage_and_recovery(http, gw, home, relay, hits)
        finally:
            await gw.stop()
            await relay.close()


async def _post(http: aiohttp.ClientSession, url: str, home: GatewayHome,
                doc: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with http.post(url, headers=home.auth(), json=doc) as resp:
        return resp.status, await resp.json()


async def _outage_and_recovery(http: aiohttp.ClientSession, gw: GatewayProcess,
                               home: GatewayHome, relay: TcpForwarder,
                               hits: list[str]) -> None:
    doc = {"text": "reach me at jane@example.com", "record_id": "call-1"}
    chat = {"model": "m", "messages": [{"role": "user", "content": "I am jane@example.com"}]}
    status, before = await _post(http, gw.url + "/v1/redact", home, doc)
    assert status == 200
    await relay.cut()
    status, body = await _post(http, gw.url + "/v1/redact", home, doc)
    assert (status, body["error"]["code"]) == (503, "vault_unavailable")
    status, body = await _post(http, gw.url + "/v1/chat/completions", home, chat)
    assert (status, body["error"]["code"]) == (503, "vault_unavailable")
    assert hits == []  # nothing was forwarded upstream
    async with http.get(gw.url + "/readyz") as resp:
        assert resp.status == 503 and (await resp.json())["checks"]["vault"] is False
    await relay.restore()
    deadline = time.monotonic() + 10
    while True:
        async with http.get(gw.url + "/readyz") as resp:
            if resp.status == 200:
                break
        assert time.monotonic() < deadline, "gateway did not recover"
        await asyncio.sleep(0.1)
    status, after = await _post(http, gw.url + "/v1/redact", home, doc)
    assert status == 200 and after["text"] == before["text"]  # same record, same token
