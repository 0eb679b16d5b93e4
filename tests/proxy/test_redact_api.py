"""``POST /v1/redact`` end to end, with the fast fake detector."""

from __future__ import annotations

import json
from typing import Any

import pytest

from redact_gw.errors import VaultUnavailable
from redact_gw.proxy import appkeys
from redact_gw.redaction import restore, tokens_in
from redact_gw.testing import FailingDetector, SlowDetector
from redact_gw.tokens import TOKEN_RE
from tests.conftest import Env, MakeClient

PLANTED = ["John Smith", "john.smith@gmail.com", "212-555-0123", "4111 1111 1111 1111",
           "078-05-1120"]
TEXT = ("Hi, this is John Smith, reach me at john.smith@gmail.com or 212-555-0123. "
        "Card 4111 1111 1111 1111, SSN 078-05-1120. Thanks, John Smith")

SHAPES: dict[str, dict[str, Any]] = {
    "text": {"text": TEXT, "channel": "chat"},
    "turns": {"turns": [
        {"speaker": "agent", "text": "May I have your name?", "ts": 1.5},
        {"speaker": "customer", "text": TEXT, "confidence": 0.93, "words": [1, 2]},
    ], "call": {"queue": "billing"}, "subject_id": "cust-77"},
    "messages": {"messages": [
        {"role": "system", "content": "Summarize the call."},
        {"role": "user", "content": TEXT, "name": "u1"},
        {"role": "user", "content": [{"type": "text", "text": TEXT},
                                     {"type": "image_url", "image_url": {"url": "x"}}]},
    ], "record_id": "call-2026-11-26-001"},
}


def _strings(doc: Any) -> list[str]:
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return []


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_round_trip_is_byte_exact_for_every_shape(make_client: MakeClient, env: Env,
                                                        shape: str) -> None:
    client = await make_client()
    doc = SHAPES[shape]
    resp = await client.post("/v1/redact", json=doc, headers=env.auth())
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    raw = json.dumps(body)
    for value in PLANTED:
        assert value not in raw
    record_id = body["record_id"]
    assert resp.headers["X-Record-Id"] == record_id
    if "record_id" in doc:
        assert record_id == doc["record_id"]
    entities = body.pop("entities")
    assert body.pop("risk_tier") in ("medium", "high")
    assert entities and {"token", "entity_type", "score", "recognizer", "location"} <= set(
        entities[0])
    # every location points at its token in the output
    for e in entities:
        loc = e["location"]
        node: Any = body
        for part in loc["path"].replace("[", ".").replace("]", "").split("."):
            node = node[int(part)] if part.isdigit() else node[part]
        assert node[loc["start"]:loc["end"]] == e["token"]
    # restore through the vault: byte-for-byte the original document
    vault = client.app[appkeys.VAULT]
    values = await vault.reveal("acme", record_id, tokens_in(_strings(body)))
    restored = json.loads(json.dumps(body), object_hook=lambda d: {
        k: restore(v, values, lambda _t: "full").text if isinstance(v, str) else v
        for k, v in d.items()})
    restored = _restore_lists(restored, values)
    body_expected = dict(doc)
    body_expected["record_id"] = record_id
    assert restored == body_expected


def _restore_lists(doc: Any, values: Any) -> Any:
    if isinstance(doc, str):
        return restore(doc, values, lambda _t: "full").text
    if isinstance(doc, dict):
        return {k: _restore_lists(v, values) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_restore_lists(v, values) for v in doc]
    return doc


async def test_same_value_same_token_across_requests_and_not_across_records(
        make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    async def tokens(record: str) -> list[str]:
        r = await client.post("/v1/redact", json={"text": TEXT, "record_id": record},
                              headers=env.auth())
        return TOKEN_RE.findall((await r.json())["text"]) and [
            m.group(0) for m in TOKEN_RE.finditer((await r.json())["text"])]
    a1, a2, b = await tokens("rec-a"), await tokens("rec-a"), await tokens("rec-b")
    assert a1 == a2
    assert a1[0] == a1[-1]  # "John Smith" twice in one text: one token
    assert not set(a1) & set(b)


async def test_generated_record_ids_differ(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    ids = set()
    for _ in range(3):
        r = await client.post("/v1/redact", json={"text": "hi"}, headers=env.auth())
        ids.add((await r.json())["record_id"])
    assert len(ids) == 3


BAD_INPUTS = [
    (b'{"text": "John Smith 212-555-0123"', 400, "malformed_json"),
    (b'{"text": "\xff\xfe John Smith"}', 400, "invalid_utf8"),
    (b'{"text": "\\ud800 John Smith"}', 400, "invalid_utf8"),
    (b'["John Smith"]', 422, "invalid_input"),
    (b'{"text": 42}', 422, "invalid_input"),
    (b'{"turns": [{"speaker": "agent", "text": ["John Smith"]}]}', 422, "invalid_input"),
    (b'{"messages": [{"role": "user", "content": 7}]}', 422, "invalid_input"),
    (b'{"text": "a", "turns": []}', 422, "invalid_input"),
    (b'{"text": "a", "record_id": "bad id with John Smith"}', 422, "invalid_input"),
    (b"", 400, "empty_body"),
]


@pytest.mark.parametrize(("raw", "status", "code"), BAD_INPUTS)
async def test_bad_input_gets_clear_error_without_echo(make_client: MakeClient, env: Env,
                                                       raw: bytes, status: int,
                                                       code: str) -> None:
    client = await make_client()
    resp = await client.post("/v1/redact", data=raw, headers={
        **env.auth(), "Content-Type": "application/json"})
    assert resp.status == status
    body = await resp.json()
    assert body["error"]["code"] == code and body["error"]["message"]
    text = await resp.text()
    assert "John Smith" not in text and "212-555-0123" not in text
    assert "Traceback" not in text


async def test_wrong_type_names_the_field(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    resp = await client.post("/v1/redact", json={"turns": [{"speaker": "a", "text": "x"},
                                                           {"speaker": 3, "text": "y"}]},
                             headers=env.auth())
    assert resp.status == 422
    body = await resp.json()
    assert body["error"]["details"]["field"] == "turns[1].speaker"


async def test_oversized_body_is_413(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    resp = await client.post("/v1/redact", json={"text": "x" * 70000}, headers=env.auth())
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer rgw_nope"},
                                     {"Authorization": "Basic abc"}])
async def test_missing_or_unknown_key_is_401(make_client: MakeClient, headers: dict) -> None:
    client = await make_client()
    resp = await client.post("/v1/redact", json={"text": "hi"}, headers=headers)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "unauthorized"


async def test_principal_without_permission_is_403(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    resp = await client.post("/v1/redact", json={"text": "hi"}, headers=env.auth("norole"))
    assert resp.status == 403


async def test_detection_failure_fails_closed(make_client: MakeClient, env: Env,
                                              caplog: pytest.LogCaptureFixture) -> None:
    client = await make_client(detector=FailingDetector())
    resp = await client.post("/v1/redact", json={"text": TEXT}, headers=env.auth())
    assert resp.status == 503
    assert (await resp.json())["error"]["code"] == "detection_failed"
    for value in PLANTED:
        assert value not in await resp.text() and value not in caplog.text
    assert "555-867-5309" not in caplog.text  # the detector's own message is not logged


async def test_detection_timeout_fails_closed(make_client: MakeClient, env: Env) -> None:
    settings = env.settings()
    settings = settings.model_copy(update={"detection": settings.detection.model_copy(
        update={"timeout_s": 0.2})})
    client = await make_client(detector=SlowDetector(1.0), settings=settings)
    resp = await client.post("/v1/redact", json={"text": TEXT}, headers=env.auth())
    assert resp.status == 503
    assert (await resp.json())["error"]["code"] == "detection_timeout"


async def test_vault_write_failure_leaves_nothing(make_client: MakeClient, env: Env,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    client = await make_client()
    store = client.app[appkeys.STORE]
    async def broken(*_a: Any, **_k: Any) -> Any:
        raise VaultUnavailable()
    monkeypatch.setattr(store, "commit_entries", broken)
    resp = await client.post("/v1/redact", json={"text": TEXT, "record_id": "r-fail"},
                             headers=env.auth())
    assert resp.status == 503
    body = await resp.json()
    assert body["error"]["code"] == "vault_unavailable" and "text" not in body
    monkeypatch.undo()
    assert await store.get_record("acme", "r-fail") is None


async def test_sqlite_failure_mid_transaction_rolls_back(make_client: MakeClient,
                                                         env: Env) -> None:
    """A constraint violation inside the write transaction leaves no record row."""
    client = await make_client()
    store = client.app[appkeys.STORE]
    import sqlite3
    original = store._write

    async def failing_write(fn: Any) -> Any:  # the write ran, then the disk failed
        def boom(conn: sqlite3.Connection) -> Any:
            fn(conn)
            raise sqlite3.OperationalError("disk I/O error")
        return await original(boom)
    store._write = failing_write  # type: ignore[method-assign]
    resp = await client.post("/v1/redact", json={"text": TEXT, "record_id": "r-tx"},
                             headers=env.auth())
    store._write = original  # type: ignore[method-assign]
    assert resp.status == 503
    assert await store.get_record("acme", "r-tx") is None


async def test_health_ready_and_metrics(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["ready"] is True
    await client.post("/v1/redact", json={"text": TEXT}, headers=env.auth())
    metrics = await (await client.get("/metrics")).text()
    assert 'redact_gw_tokenized_values_total{entity_type="PHONE_NUMBER"}' in metrics
    for value in PLANTED:
        assert value not in metrics


async def test_unknown_route_and_method_are_json(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    r = await client.get("/v1/nope", headers=env.auth())
    assert r.status == 404 and (await r.json())["error"]["code"] == "not_found"
    r = await client.get("/v1/redact", headers=env.auth())
    assert r.status == 405 and (await r.json())["error"]["code"] == "method_not_allowed"


async def test_existing_tokens_are_not_tokenized_again(make_client: MakeClient,
                                                       env: Env) -> None:
    client = await make_client()
    r = await client.post("/v1/redact", json={"text": TEXT, "record_id": "r1"},
                          headers=env.auth())
    tokenized = (await r.json())["text"]
    r2 = await client.post("/v1/redact", json={"text": tokenized, "record_id": "r1"},
                           headers=env.auth())
    assert (await r2.json())["text"] == tokenized


async def test_metrics_label_routes_by_template(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    await client.post("/v1/redact", json={"text": TEXT}, headers=env.auth())
    await client.get("/v1/records/secret-record-42", headers=env.auth("admin"))
    metrics = await (await client.get("/metrics")).text()
    assert 'route="/v1/redact"' in metrics
    assert 'route="/v1/records/{record_id}"' in metrics
    assert "secret-record-42" not in metrics
