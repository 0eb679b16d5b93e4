"""``POST /v1/redact`` reads the vault once before detecting and writes its audit event
with its values: a failing read still fails closed, every request is audited once."""

from __future__ import annotations

import sqlite3
from typing import Any

from redact_gw.audit import verify
from redact_gw.model import Segment
from redact_gw.proxy import appkeys
from redact_gw.testing import FakeDetector
from redact_gw.vault.base import AuditQuery
from tests.conftest import Env, MakeClient

TEXT = "Hi, this is John Smith, call me at 212-555-0123."


async def test_failing_read_before_detection_fails_closed(make_client: MakeClient,
                                                          env: Env) -> None:
    detector = FakeDetector()
    client = await make_client(detector)
    store = client.app[appkeys.STORE]
    original = store._read

    async def failing_read(fn: Any) -> Any:  # the database fails under the read
        def boom(conn: sqlite3.Connection) -> Any:
            raise sqlite3.OperationalError("disk I/O error")
        return await original(boom)
    store._read = failing_read  # type: ignore[method-assign]
    resp = await client.post("/v1/redact", json={"text": TEXT, "record_id": "r-read",
                                                 "subject_id": "cust-1"},
                             headers=env.auth())
    store._read = original  # type: ignore[method-assign]
    assert resp.status == 503
    body = await resp.json()
    assert body["error"]["code"] == "vault_unavailable"
    assert "John" not in await resp.text() and "text" not in body
    assert detector.calls == 0  # nothing was detected, nothing stored
    assert await store.get_record("acme", "r-read") is None


async def test_each_redaction_is_audited_once(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    store = client.app[appkeys.STORE]
    for text in (TEXT, TEXT, "nothing personal here"):  # new values, known ones, none
        resp = await client.post("/v1/redact", json={"text": text, "record_id": "r-aud"},
                                 headers=env.auth())
        assert resp.status == 200
    events = await store.audit_events(AuditQuery(action="redact"))
    assert [e.record_id for e in events] == ["r-aud"] * 3
    assert ['"PERSON":1' in e.payload and '"PHONE_NUMBER":1' in e.payload
            for e in events] == [True, True, False]
    assert (await verify(store, keys=client.app[appkeys.KEYS].current())).ok


async def test_answer_values_are_kept_only_for_a_caller_that_scans_an_answer(
        make_client: MakeClient, env: Env) -> None:
    """``/v1/redact`` gets no answer back: ``answer_scan=False`` skips the record's values
    and originals, and changes nothing else of the result."""
    client = await make_client()
    redactor = client.app[appkeys.REDACTOR]
    segments = [Segment(TEXT, "customer")]
    scanned = await redactor.redact("acme", "r-scan", None, segments, for_ai=False)
    plain = await redactor.redact("acme", "r-plain", None, segments, for_ai=False,
                                  answer_scan=False)
    assert sorted(k.value for k in scanned.known) == ["212-555-0123", "John Smith"]
    assert sorted(r.value for r in scanned.originals.values()) == ["212-555-0123",
                                                                   "John Smith"]
    assert (plain.known, plain.originals) == ([], {})
    assert [(e.entity_type, e.location) for e in plain.entities] == [
        (e.entity_type, e.location) for e in scanned.entities]
    assert all("John" not in t and "0123" not in t for t in plain.texts)
    assert (await redactor.vault.reveal("acme", "r-plain", [e.token for e in plain.entities])
            ).keys() == {e.token for e in plain.entities}  # the values are still sealed


async def test_a_request_to_an_existing_record_reads_once_and_writes_once(
        make_client: MakeClient, env: Env) -> None:
    """Known values keep their token, a new one is sealed, the summary is audited: one
    read before detection and one write after it (no look-up of the known values in
    between), whatever the record already holds."""
    client = await make_client()
    store = client.app[appkeys.STORE]
    first = await (await client.post("/v1/redact", json={"text": TEXT, "record_id": "r-ex"},
                                      headers=env.auth())).json()
    calls: list[str] = []
    read, write = store._read, store._write

    async def counted_read(fn: Any) -> Any:
        calls.append("read")
        return await read(fn)

    async def counted_write(fn: Any) -> Any:
        calls.append("write")
        return await write(fn)
    store._read, store._write = counted_read, counted_write  # type: ignore[method-assign]
    resp = await client.post("/v1/redact", json={
        "text": TEXT + " Or mail john@example.com", "record_id": "r-ex"}, headers=env.auth())
    store._read, store._write = read, write  # type: ignore[method-assign]
    assert resp.status == 200
    second = await resp.json()
    assert calls == ["read", "write"]
    old = {e["entity_type"]: e["token"] for e in first["entities"]}
    new = {e["entity_type"]: e["token"] for e in second["entities"]}
    assert {k: new[k] for k in old} == old  # the known values kept their tokens
    revealed = await client.app[appkeys.REDACTOR].vault.reveal("acme", "r-ex",
                                                               list(new.values()))
    assert {r.entity_type: r.value for r in revealed.values()} == {
        "PERSON": "John Smith", "PHONE_NUMBER": "212-555-0123",
        "EMAIL_ADDRESS": "john@example.com"}
    assert len(await store.record_entries("acme", "r-ex")) == 3  # no duplicate sealed
    events = await store.audit_events(AuditQuery(action="redact"))
    assert [e.record_id for e in events] == ["r-ex", "r-ex"]
    assert '"EMAIL_ADDRESS":1' in events[1].payload
    assert (await verify(store, keys=client.app[appkeys.KEYS].current())).ok


async def test_a_request_of_known_values_only_is_still_audited_once(
        make_client: MakeClient, env: Env) -> None:
    """Nothing new to seal: the write stores nothing, the audit event is appended once."""
    client = await make_client()
    store = client.app[appkeys.STORE]
    bodies = []
    for _ in range(2):
        resp = await client.post("/v1/redact", json={"text": TEXT, "record_id": "r-kn"},
                                 headers=env.auth())
        assert resp.status == 200
        bodies.append(await resp.json())
    assert bodies[0]["text"] == bodies[1]["text"]
    assert len(await store.record_entries("acme", "r-kn")) == 2
    events = await store.audit_events(AuditQuery(action="redact", record_id="r-kn"))
    assert len(events) == 2
