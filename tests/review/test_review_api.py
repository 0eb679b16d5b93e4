"""The review loop through the JSON API: sampled, sealed, reviewed, counted, erased."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from redact_gw.review.queue import CAP_RECHECK_S
from redact_gw.settings import Settings
from redact_gw.testing import FakeClock
from tests.conftest import Env, MakeClient, write_config

PLANTED = "Call John Smith at 555-123-4567, my neighbour Zed Quuxley knows."


def review_settings(env: Env, **rule: Any) -> Settings:
    write_config(env.root, {"review": {"default": {"random_rate": 1.0, **rule}}})
    return env.settings()


async def _redact(client: Any, env: Env, text: str = PLANTED, record: str = "call-1",
                  subject: str | None = "cust-9") -> dict[str, Any]:
    body: dict[str, Any] = {"text": text, "record_id": record}
    if subject:
        body["subject_id"] = subject
    resp = await client.post("/v1/redact", json=body, headers=env.auth("ai"))
    assert resp.status == 200, await resp.text()
    doc: dict[str, Any] = await resp.json()
    return doc


async def _only_item(client: Any, env: Env, who: str = "supervisor") -> dict[str, Any]:
    resp = await client.get("/v1/review/items", headers=env.auth(who))
    assert resp.status == 200, await resp.text()
    items = (await resp.json())["items"]
    assert len(items) == 1
    item: dict[str, Any] = items[0]
    return item


async def test_random_sample_is_queued_sealed_and_reviewed(make_client: MakeClient,
                                                           env: Env) -> None:
    client = await make_client(settings=review_settings(env))
    redacted = await _redact(client, env)
    item = await _only_item(client, env)
    assert item["reasons"] == ["random"] and item["route"] == "/v1/redact"
    assert item["entity_types"] == ["PERSON", "PHONE_NUMBER"]
    resp = await client.get(f"/v1/review/items/{item['item_id']}", headers=env.auth("admin"))
    copy = await resp.json()
    assert copy["segments"][0]["text"] == redacted["text"]  # what the AI service saw
    assert "John Smith" not in str(copy)
    assert {e["recognizer"] for e in copy["entities"]} == {"fake-person",
                                                           "fake-phone_number"}
    # the reviewer marks a missed name: it becomes a token in the record and the copy
    text = copy["segments"][0]["text"]
    start = text.index("Zed Quuxley")
    resp = await client.post(f"/v1/review/items/{item['item_id']}/verdicts",
                             headers=env.auth("supervisor"),
                             json={"verdict": "missed", "segment": 0, "start": start,
                                   "end": start + len("Zed Quuxley"),
                                   "entity_type": "PERSON"})
    assert resp.status == 200, await resp.text()
    token = (await resp.json())["token"]
    again = await (await client.get(f"/v1/review/items/{item['item_id']}",
                                    headers=env.auth("supervisor"))).json()
    assert "Zed Quuxley" not in again["segments"][0]["text"]
    assert token in again["segments"][0]["text"]
    resp = await client.post("/v1/detokenize", headers=env.auth("admin"), json={
        "record_id": "call-1", "purpose": "quality_review", "tokens": [token]})
    assert (await resp.json())["values"][0]["value"] == "Zed Quuxley"
    # "not personal data" for a token reveals it through the audited reveal path
    person = next(e["token"] for e in copy["entities"] if e["entity_type"] == "PERSON")
    resp = await client.post(f"/v1/review/items/{item['item_id']}/verdicts",
                             headers=env.auth("admin"),
                             json={"verdict": "not_pii", "token": person,
                                   "purpose": "quality_review"})
    assert resp.status == 200, await resp.text()
    audit = await (await client.get("/v1/audit?action=reveal",
                                    headers=env.auth("admin"))).json()
    assert any(e["purpose"] == "quality_review" and e["principal"] == "admin"
               and e["outcome"] == "granted" for e in audit["events"])
    stats = await (await client.get("/v1/review/stats", headers=env.auth("admin"))).json()
    assert stats["verdicts"] == {"correct": 0, "missed": 1, "not_pii": 1}
    assert stats["by_type"]["PERSON"]["miss"]["rate"] == 1.0
    assert stats["by_type"]["PERSON"]["false_positive"]["count"] == 1
    metrics = await (await client.get("/metrics")).text()
    assert ('redact_gw_review_misses_total{entity_type="PERSON",gap="missed_instance",'
            'route="/v1/redact"} 1.0') in metrics
    assert "Zed" not in metrics and "John" not in metrics
    # nothing planted lands in the database file in clear
    raw = (env.root / "vault.db").read_bytes()
    for wal in env.root.glob("vault.db-wal"):
        raw += wal.read_bytes()
    for value in (b"John Smith", b"555-123-4567", b"Zed Quuxley"):
        assert value not in raw


async def test_roles_and_tenants_decide_who_sees_the_queue(make_client: MakeClient,
                                                           env: Env) -> None:
    client = await make_client(settings=review_settings(env))
    await _redact(client, env)
    item = await _only_item(client, env)
    for who, status in (("ai", 403), ("agent", 403), ("norole", 403)):
        resp = await client.get("/v1/review/items", headers=env.auth(who))
        assert resp.status == status
        assert (await resp.json())["error"]["code"] == "forbidden"
    resp = await client.get(f"/v1/review/items/{item['item_id']}",
                            headers=env.auth("other-admin"))
    assert resp.status == 404
    assert (await client.get("/v1/review/items", headers=env.auth(
        "other-admin"))).status == 200
    resp = await client.get("/v1/review/items?tier=bogus", headers=env.auth("admin"))
    assert resp.status == 422


async def test_sampling_rules_cap_and_no_retention(make_client: MakeClient,
                                                   env: Env) -> None:
    write_config(env.root, {"review": {"daily_cap": 2, "default": {
        "random_rate": 0.0, "tiers": ["medium"]}}})
    client = await make_client(settings=env.settings())
    await _redact(client, env, "nothing personal here", record="r0")  # low tier: no
    for i in range(3):
        await _redact(client, env, record=f"r{i + 1}")
    items = (await (await client.get("/v1/review/items", headers=env.auth(
        "admin"))).json())["items"]
    assert [i["reasons"] for i in items] == [["tier"], ["tier"]]  # capped at 2 a day
    metrics = await (await client.get("/metrics")).text()
    assert 'redact_gw_review_skipped_total{cause="daily_cap"} 1.0' in metrics


@pytest.mark.parametrize("step", [CAP_RECHECK_S + 1, -30.0], ids=["later", "clock-back"])
async def test_reached_cap_is_asked_again_a_minute_later(make_client: MakeClient, env: Env,
                                                          clock: FakeClock, step: float
                                                          ) -> None:
    """Once the store refused an item for the day's cap, samples are skipped without
    asking it; a minute later it is asked again and room freed by an erasure is used.
    A clock stepped back asks again at once (never a skip longer than the minute)."""
    write_config(env.root, {"review": {"daily_cap": 1, "default": {
        "random_rate": 0.0, "tiers": ["medium"]}}})
    client = await make_client(settings=env.settings())
    await _redact(client, env, record="r1", subject="cust-a")
    await _redact(client, env, record="r2", subject="cust-b")  # refused by the store
    assert (await client.delete("/v1/subjects/cust-a", headers=env.auth(
        "admin"))).status == 200  # its item goes: room for one more today
    await _redact(client, env, record="r3", subject="cust-b")  # still taken as full
    items = (await (await client.get("/v1/review/items", headers=env.auth(
        "admin"))).json())["items"]
    assert items == []
    metrics = await (await client.get("/metrics")).text()
    assert 'redact_gw_review_skipped_total{cause="daily_cap"} 2.0' in metrics
    clock.advance(step)
    await _redact(client, env, record="r4", subject="cust-b")
    item = await _only_item(client, env, who="admin")
    assert item["record_id"] == "r4"


async def test_erasure_removes_review_copies(make_client: MakeClient, env: Env) -> None:
    client = await make_client(settings=review_settings(env))
    await _redact(client, env, subject="cust-erase")
    item = await _only_item(client, env)
    resp = await client.delete("/v1/subjects/cust-erase", headers=env.auth("admin"))
    assert resp.status == 200
    resp = await client.get(f"/v1/review/items/{item['item_id']}", headers=env.auth("admin"))
    assert resp.status == 404
    db = sqlite3.connect(env.root / "vault.db")
    assert db.execute("SELECT count(*) FROM review_items").fetchone()[0] == 0


async def test_missed_value_replaces_whole_words_only(make_client: MakeClient,
                                                      env: Env) -> None:
    client = await make_client(settings=review_settings(env))
    await _redact(client, env, "Also, Al called. Al is back. Alan too.", record="w")
    item = await _only_item(client, env)
    text = "Also, Al called. Al is back. Alan too."
    start = text.index("Al called")
    resp = await client.post(f"/v1/review/items/{item['item_id']}/verdicts",
                             headers=env.auth("supervisor"),
                             json={"verdict": "missed", "segment": 0, "start": start,
                                   "end": start + 2, "entity_type": "PERSON"})
    token = (await resp.json())["token"]
    copy = await (await client.get(f"/v1/review/items/{item['item_id']}",
                                   headers=env.auth("supervisor"))).json()
    assert copy["segments"][0]["text"] == f"Also, {token} called. {token} is back. Alan too."


async def test_not_pii_needs_the_right_to_reveal_in_full(make_client: MakeClient,
                                                         env: Env) -> None:
    client = await make_client(settings=review_settings(env))
    await _redact(client, env)
    item = await _only_item(client, env)
    copy = await (await client.get(f"/v1/review/items/{item['item_id']}",
                                   headers=env.auth("supervisor"))).json()
    phone = next(e["token"] for e in copy["entities"] if e["entity_type"] == "PHONE_NUMBER")
    # supervisors see phones in full; compliance too; make supervisor's masked via config
    write_config(env.root, {"review": {"default": {"random_rate": 1.0}},
                            "access": {"roles": {"supervisor": {
                                "permissions": ["detokenize", "review", "read_audit"],
                                "reveal": {"*": "masked"}}, "admin": {
                                "permissions": ["read_audit", "review"]}}}})
    client2 = await make_client(settings=env.settings())
    resp = await client2.post(f"/v1/review/items/{item['item_id']}/verdicts",
                              headers=env.auth("supervisor"),
                              json={"verdict": "not_pii", "token": phone,
                                    "purpose": "quality_review"})
    assert resp.status == 403
    audit = await (await client2.get("/v1/audit?action=reveal",
                                     headers=env.auth("supervisor"))).json()
    assert audit["events"] == []  # nothing was revealed, not even masked


async def test_a_refused_reveal_is_a_near_miss(make_client: MakeClient, env: Env) -> None:
    write_config(env.root, {"review": {"default": {"random_rate": 0.0, "tiers": [],
                                                   "low_confidence": False}},
                            "access": {"reveal_quota_per_hour": 1}})
    client = await make_client(settings=env.settings())
    redacted = await _redact(client, env)
    assert (await (await client.get("/v1/review/items", headers=env.auth(
        "admin"))).json())["items"] == []
    resp = await client.post("/v1/detokenize", headers=env.auth("supervisor"), json={
        "record_id": "call-1", "purpose": "quality_review", "text": redacted["text"]})
    assert resp.status == 429  # two values, one allowed per hour
    item = await _only_item(client, env)
    assert item["reasons"] == ["reveal_refused"] and item["route"] == "/v1/detokenize"
    copy = await (await client.get(f"/v1/review/items/{item['item_id']}",
                                   headers=env.auth("admin"))).json()
    assert copy["segments"][0]["text"] == redacted["text"]
    assert sorted(e["entity_type"] for e in copy["entities"]) == ["PERSON", "PHONE_NUMBER"]


async def test_the_review_loop_on_postgresql(make_client: MakeClient, env: Env) -> None:
    from tests.pg import fresh_schema, schema_dsn
    async with fresh_schema() as schema:
        write_config(env.root, {"review": {"default": {"random_rate": 1.0}},
                                "vault": {"url": schema_dsn(schema)}})
        client = await make_client(settings=env.settings())
        await _redact(client, env, subject="cust-pg")
        await _redact(client, env, "nothing to see", record="call-empty", subject="cust-pg")
        items = (await (await client.get("/v1/review/items", headers=env.auth(
            "admin"))).json())["items"]
        assert len(items) == 2
        full = next(i for i in items if i["record_id"] == "call-1")
        copy = await (await client.get(f"/v1/review/items/{full['item_id']}",
                                       headers=env.auth("admin"))).json()
        start = copy["segments"][0]["text"].index("Zed")
        resp = await client.post(f"/v1/review/items/{full['item_id']}/verdicts",
                                 headers=env.auth("admin"),
                                 json={"verdict": "missed", "segment": 0, "start": start,
                                       "end": start + 11, "entity_type": "PERSON"})
        assert resp.status == 200
        verdict_id = (await resp.json())["verdict_id"]
        made = await (await client.post("/v1/review/proposals", headers=env.auth("admin"),
                                         json={"verdict_id": verdict_id,
                                               "pattern": False})).json()
        resp = await client.post(f"/v1/review/proposals/{made['proposal_id']}/decision",
                                 headers=env.auth("admin"),
                                 json={"approve": True, "route": "/v1/redact"})
        assert resp.status == 200, await resp.text()
        listing = await (await client.get("/v1/review/proposals", headers=env.auth(
            "admin"))).json()
        assert [p["route"] for p in listing["proposals"]] == ["/v1/redact"]
        stats = await (await client.get("/v1/review/stats", headers=env.auth(
            "admin"))).json()
        assert stats["verdicts"]["missed"] == 1
        assert (await client.delete("/v1/subjects/cust-pg", headers=env.auth(
            "admin"))).status == 200
        left = (await (await client.get("/v1/review/items", headers=env.auth(
            "admin"))).json())["items"]
        assert left == []
        await client.close()
