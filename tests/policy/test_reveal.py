"""Reveal: role x entity type x mode, tenancy, purposes, quota, bad inputs, audit."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from redact_gw.proxy import appkeys
from redact_gw.redaction import mask
from redact_gw.settings import load_settings
from tests.conftest import Env, MakeClient

VALUES = {
    "PERSON": "Maria Garcia",
    "EMAIL_ADDRESS": "maria.garcia@example.com",
    "PHONE_NUMBER": "415-555-0199",
    "CREDIT_CARD": "4111 1111 1111 4471",
    "US_SSN": "078-05-1120",
}
TEXT = (f"I am {VALUES['PERSON']}, email {VALUES['EMAIL_ADDRESS']}, phone "
        f"{VALUES['PHONE_NUMBER']}, card {VALUES['CREDIT_CARD']}, ssn {VALUES['US_SSN']}.")
TYPE_OF = {v: k for k, v in VALUES.items()}


async def _tokenized(client: Any, env: Env, record: str = "call-1") -> dict[str, str]:
    r = await client.post("/v1/redact", json={"text": TEXT, "record_id": record},
                          headers=env.auth("ai"))
    body = await r.json()
    return {e["entity_type"]: e["token"] for e in body["entities"]}, body["text"]


def _expected(role_reveal: dict[str, str], etype: str) -> str:
    return role_reveal.get(etype, role_reveal.get("*", "none"))


@pytest.mark.parametrize("role", ["agent", "supervisor", "compliance", "admin"])
async def test_role_by_entity_type_by_mode_matrix(make_client: MakeClient, env: Env,
                                                  role: str) -> None:
    client = await make_client()
    tokens, text = await _tokenized(client, env)
    reveal = env.settings().access.roles[role].reveal
    r = await client.post("/v1/detokenize", headers=env.auth(role), json={
        "record_id": "call-1", "tokens": list(tokens.values()), "purpose": "quality_review"})
    assert r.status == 200, await r.text()
    body = await r.json()
    for item in body["values"]:
        etype = item["entity_type"]
        mode = _expected(reveal, etype)
        assert item["mode"] == mode, (role, etype)
        if mode == "full":
            assert item["value"] == VALUES[etype]
        elif mode == "masked":
            assert item["value"] == mask(etype, VALUES[etype]) != VALUES[etype]
        else:
            assert "value" not in item
    # text mode gives the same decisions in place
    r = await client.post("/v1/detokenize", headers=env.auth(role), json={
        "record_id": "call-1", "text": text, "purpose": "quality_review"})
    restored = (await r.json())["text"]
    for etype, token in tokens.items():
        mode = _expected(reveal, etype)
        assert (VALUES[etype] in restored) == (mode == "full")
        assert (token in restored) == (mode == "none")


@pytest.mark.parametrize("who", ["ai", "norole"])
async def test_roles_without_detokenize_get_403_and_it_is_audited(
        make_client: MakeClient, env: Env, who: str) -> None:
    client = await make_client()
    tokens, _ = await _tokenized(client, env)
    r = await client.post("/v1/detokenize", headers=env.auth(who), json={
        "record_id": "call-1", "tokens": list(tokens.values()), "purpose": "quality_review"})
    assert r.status == 403
    events = await _audit(client, env, action="reveal")
    assert events[-1]["outcome"] == "denied" and events[-1]["reason"] == "forbidden"


async def test_other_tenant_record_is_404_like_missing(make_client: MakeClient,
                                                       env: Env) -> None:
    client = await make_client()
    tokens, _ = await _tokenized(client, env)
    body = {"record_id": "call-1", "tokens": list(tokens.values()), "purpose": "legal_request"}
    r1 = await client.post("/v1/detokenize", headers=env.auth("other-admin"), json=body)
    r2 = await client.post("/v1/detokenize", headers=env.auth("admin"),
                           json={**body, "record_id": "no-such-record"})
    assert r1.status == r2.status == 404
    assert (await r1.json()) == (await r2.json())
    m1 = await client.get("/v1/records/call-1", headers=env.auth("other-admin"))
    assert m1.status == 404


@pytest.mark.parametrize(("purpose", "code"), [(None, "purpose_required"),
                                               ("", "purpose_required"),
                                               ("curiosity", "unknown_purpose"),
                                               (7, "unknown_purpose")])
async def test_purpose_is_required_and_must_be_known(make_client: MakeClient, env: Env,
                                                     purpose: Any, code: str) -> None:
    client = await make_client()
    tokens, _ = await _tokenized(client, env)
    body = {"record_id": "call-1", "tokens": list(tokens.values())}
    if purpose is not None:
        body["purpose"] = purpose
    r = await client.post("/v1/detokenize", headers=env.auth("compliance"), json=body)
    assert r.status == 422
    err = (await r.json())["error"]
    assert err["code"] == code and "Maria" not in json.dumps(err)


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"record_id": "call-1", "tokens": ["[[PERSON:abc]]"]}, 422, "malformed_token"),
    ({"record_id": "call-1", "tokens": "x"}, 422, "invalid_input"),
    ({"record_id": "call-1"}, 422, "invalid_input"),
    ({"record_id": "bad id!", "text": "x"}, 422, "invalid_input"),
    ({"tokens": []}, 422, "invalid_input"),
    ({"record_id": "call-1", "tokens": ["[[PERSON:aaaaaaaaaa]]"]}, 404, "token_not_found"),
])
async def test_bad_reveal_inputs_reveal_nothing(make_client: MakeClient, env: Env,
                                                body: dict, status: int, code: str) -> None:
    client = await make_client()
    await _tokenized(client, env)
    r = await client.post("/v1/detokenize", headers=env.auth("compliance"),
                          json={**body, "purpose": "legal_request"})
    assert r.status == status
    text = await r.text()
    assert (await r.json())["error"]["code"] == code
    assert not any(v in text for v in VALUES.values())


async def test_token_from_another_record_reveals_nothing(make_client: MakeClient,
                                                         env: Env) -> None:
    client = await make_client()
    tokens_a, _ = await _tokenized(client, env, "rec-a")
    await _tokenized(client, env, "rec-b")
    r = await client.post("/v1/detokenize", headers=env.auth("compliance"), json={
        "record_id": "rec-b", "tokens": [tokens_a["PERSON"]], "purpose": "legal_request"})
    assert r.status == 404 and (await r.json())["error"]["code"] == "token_not_found"


async def test_reveal_quota_hits_a_wall_and_is_audited(make_client: MakeClient, env: Env,
                                                       tmp_path: Any) -> None:
    cfg = yaml.safe_load(env.config_path.read_text())
    cfg["access"] = {"reveal_quota_per_hour": 7}
    env.config_path.write_text(yaml.safe_dump(cfg))
    client = await make_client(settings=load_settings(env.config_path, {}))
    tokens, _ = await _tokenized(client, env)
    body = {"record_id": "call-1", "tokens": list(tokens.values()), "purpose": "legal_request"}
    assert (await client.post("/v1/detokenize", headers=env.auth("compliance"),
                              json=body)).status == 200  # 5 values
    r = await client.post("/v1/detokenize", headers=env.auth("compliance"), json=body)
    assert r.status == 429 and (await r.json())["error"]["code"] == "quota_exceeded"
    # another principal has its own quota
    assert (await client.post("/v1/detokenize", headers=env.auth("admin"),
                              json=body)).status == 200
    events = await _audit(client, env, action="reveal")
    assert [e["reason"] for e in events if e["outcome"] == "denied"] == ["quota_exceeded"]


async def test_record_metadata_never_holds_values(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    await client.post("/v1/redact", json={"text": TEXT, "record_id": "call-9",
                                          "subject_id": "cust-4", "channel": "voice"},
                      headers=env.auth("ai"))
    r = await client.get("/v1/records/call-9", headers=env.auth("supervisor"))
    assert r.status == 200
    meta = await r.json()
    assert meta["counts"] == {"CREDIT_CARD": 1, "EMAIL_ADDRESS": 1, "PERSON": 1,
                              "PHONE_NUMBER": 1, "US_SSN": 1}
    assert meta["subject_id"] == "cust-4" and meta["legal_hold"] is False
    assert meta["expires_at"] and meta["created_at"] and meta["channel"] == "voice"
    assert not any(v in json.dumps(meta) for v in VALUES.values())


async def _audit(client: Any, env: Env, **params: str) -> list[dict[str, Any]]:
    r = await client.get("/v1/audit", params=params, headers=env.auth("admin"))
    assert r.status == 200
    return (await r.json())["events"]


async def test_whole_audit_trail_and_mirror_hold_no_planted_value(
        make_client: MakeClient, env: Env) -> None:
    cfg = yaml.safe_load(env.config_path.read_text())
    cfg["audit"] = {"mirror_jsonl": "audit.jsonl"}
    env.config_path.write_text(yaml.safe_dump(cfg))
    client = await make_client(settings=load_settings(env.config_path, {}))
    tokens, text = await _tokenized(client, env)
    for role in ("agent", "supervisor", "compliance", "ai"):
        await client.post("/v1/detokenize", headers=env.auth(role), json={
            "record_id": "call-1", "text": text, "purpose": "fraud_investigation"})
    await client.post("/v1/detokenize", headers=env.auth("compliance"), json={
        "record_id": "call-1", "text": text, "purpose": TEXT})  # PII as purpose: refused
    events = await _audit(client, env, limit="1000")
    assert {e["action"] for e in events} >= {"redact", "reveal"}
    store = client.app[appkeys.STORE]
    rows = await store.audit_events(__import__("redact_gw.vault.base", fromlist=["x"])
                                    .AuditQuery(limit=1000))
    dump = json.dumps(events) + "".join(r.payload for r in rows)
    dump += (env.root / "audit.jsonl").read_text()
    assert (env.root / "audit.jsonl").stat().st_mode & 0o077 == 0
    for value in VALUES.values():
        assert value not in dump
        for part in re.split(r"[ @.-]", value):
            if len(part) >= 4 and not part.isdigit():
                assert part not in dump, part
    for token in tokens.values():  # no token-to-value pairs either: no token at all
        assert token not in dump
    granted = [e for e in events if e["action"] == "reveal" and e["outcome"] == "granted"]
    assert granted and all(e["purpose"] == "fraud_investigation" for e in granted)
    assert granted[0]["counts"] == {"CREDIT_CARD": 1, "EMAIL_ADDRESS": 1, "PERSON": 1,
                                    "PHONE_NUMBER": 1, "US_SSN": 1}
