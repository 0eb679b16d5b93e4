"""Allow/deny-list candidates from verdicts: previewed on the sealed sample, approved by
an admin, applied to the next request without a restart, audited."""

from __future__ import annotations

from typing import Any

from tests.conftest import Env, MakeClient
from tests.review.test_review_api import review_settings


async def _call(client: Any, env: Env, path: str, who: str, body: Any = None,
                method: str = "POST") -> Any:
    resp = await client.request(method, path, json=body, headers=env.auth(who))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _item_of(client: Any, env: Env, record: str) -> dict[str, Any]:
    items = (await _call(client, env, "/v1/review/items", "admin", method="GET"))["items"]
    item_id = next(i["item_id"] for i in items if i["record_id"] == record)
    copy: dict[str, Any] = await _call(client, env, f"/v1/review/items/{item_id}", "admin",
                                       method="GET")
    return copy


async def test_deny_list_from_a_missed_value_applies_live(make_client: MakeClient,
                                                          env: Env) -> None:
    client = await make_client(settings=review_settings(env))
    await _call(client, env, "/v1/redact", "ai", {"text": "Ask Zed Quuxley.", "record_id": "a"})
    await _call(client, env, "/v1/redact", "ai", {"text": "and ZED  quuxley said hi",
                                                  "record_id": "b"})
    copy = await _item_of(client, env, "a")
    text = copy["segments"][0]["text"]
    start = text.index("Zed")
    missed = await _call(client, env, f"/v1/review/items/{copy['item_id']}/verdicts",
                         "supervisor", {"verdict": "missed", "segment": 0, "start": start,
                                        "end": start + 11, "entity_type": "PERSON"})
    resp = await client.post("/v1/review/proposals", json={
        "verdict_id": missed["verdict_id"]}, headers=env.auth("supervisor"))
    assert resp.status == 403  # admins only
    proposal = (await _call(client, env, "/v1/review/proposals", "admin",
                            {"verdict_id": missed["verdict_id"]}))["proposal_id"]
    listing = await _call(client, env, "/v1/review/proposals", "admin", method="GET")
    assert listing["proposals"][0]["masked"] == "Z** Q******"
    preview = await _call(client, env, f"/v1/review/proposals/{proposal}/preview", "admin",
                          method="GET")
    assert preview["values_newly_caught"] == 1  # record b; record a's is a token now
    assert preview["items_replayed"] == 2
    before = await _call(client, env, "/v1/redact", "ai", {"text": "Zed Quuxley again"})
    assert "Zed Quuxley" in before["text"]
    decided = await _call(client, env, f"/v1/review/proposals/{proposal}/decision", "admin",
                          {"approve": True})
    assert decided["status"] == "approved"
    after = await _call(client, env, "/v1/redact", "ai", {"text": "zed quuxley again"})
    assert after["text"].startswith("[[PERSON:")
    assert after["entities"][0]["recognizer"] == "ReviewDenyList"
    audit = await _call(client, env, "/v1/audit?action=review.list_change", "admin",
                        method="GET")
    assert [e["outcome"] for e in audit["events"]] == ["approved"]
    resp = await client.post(f"/v1/review/proposals/{proposal}/decision",
                             json={"approve": False}, headers=env.auth("admin"))
    assert resp.status == 422  # decided once


async def test_allow_list_from_not_personal_data(make_client: MakeClient, env: Env) -> None:
    client = await make_client(settings=review_settings(env))
    await _call(client, env, "/v1/redact", "ai", {"text": "Rebecca Jones is our bot.",
                                                  "record_id": "c"})
    copy = await _item_of(client, env, "c")
    token = copy["entities"][0]["token"]
    judged = await _call(client, env, f"/v1/review/items/{copy['item_id']}/verdicts",
                         "admin", {"verdict": "not_pii", "token": token,
                                   "purpose": "quality_review"})
    proposal = judged["proposal_id"]
    preview = await _call(client, env, f"/v1/review/proposals/{proposal}/preview", "admin",
                          method="GET")
    assert preview["tokens_dropped"] == 1
    await _call(client, env, f"/v1/review/proposals/{proposal}/decision", "admin",
                {"approve": True})
    after = await _call(client, env, "/v1/redact", "ai", {"text": "Ask Rebecca Jones"})
    assert after["text"] == "Ask Rebecca Jones" and after["entities"] == []
    other = await _call(client, env, "/v1/redact", "other-admin", {"text": "Rebecca Jones"})
    assert other["text"].startswith("[[PERSON:")  # another tenant's lists are its own


async def test_a_replica_applies_an_approved_entry_after_its_refresh(
        make_client: MakeClient, env: Env) -> None:
    from tests.conftest import write_config
    write_config(env.root, {"review": {"default": {"random_rate": 1.0},
                                       "lists_refresh_s": 0.2}})
    one = await make_client(settings=env.settings())
    two = await make_client(settings=env.settings())  # same vault file: a replica
    await _call(one, env, "/v1/redact", "ai", {"text": "Rebecca Jones here.",
                                               "record_id": "d"})
    copy = await _item_of(one, env, "d")
    judged = await _call(one, env, f"/v1/review/items/{copy['item_id']}/verdicts", "admin",
                         {"verdict": "not_pii", "token": copy["entities"][0]["token"],
                          "purpose": "quality_review"})
    await _call(one, env, f"/v1/review/proposals/{judged['proposal_id']}/decision",
                "admin", {"approve": True})
    import asyncio
    for _ in range(50):
        out = await _call(two, env, "/v1/redact", "ai", {"text": "Rebecca Jones"})
        if out["entities"] == []:
            break
        await asyncio.sleep(0.1)
    assert out["text"] == "Rebecca Jones" and out["entities"] == []


async def test_threshold_preview_counts_tokens_a_stricter_threshold_drops(
        make_client: MakeClient, env: Env) -> None:
    client = await make_client(settings=review_settings(env))
    for i, text in enumerate(("John Smith called", "Maria Garcia and John Smith",
                              "call 555-123-4567")):
        await _call(client, env, "/v1/redact", "ai", {"text": text, "record_id": f"t{i}"})
    url = "/v1/review/preview/threshold?entity_type=PERSON&threshold="
    stricter = await _call(client, env, url + "0.9", "admin", method="GET")
    assert stricter == {"entity_type": "PERSON", "threshold": 0.9, "items_replayed": 2,
                        "tokens_dropped": 3, "items_with_dropped_tokens": 2}
    same = await _call(client, env, url + "0.5", "admin", method="GET")
    assert same["tokens_dropped"] == 0
    for bad in ("2", "nan", "%D9%A1", ""):
        resp = await client.get(url + bad, headers=env.auth("admin"))
        assert resp.status == 422, bad
    resp = await client.get(url + "0.9", headers=env.auth("supervisor"))
    assert resp.status == 403


async def test_a_missed_value_promoted_as_a_pattern_catches_its_shape(
        make_client: MakeClient, env: Env) -> None:
    client = await make_client(settings=review_settings(env))
    await _call(client, env, "/v1/redact", "ai", {"text": "Order ACME-123456 please.",
                                                  "record_id": "p1"})
    await _call(client, env, "/v1/redact", "ai", {"text": "and acme-654321, not ACME-12",
                                                  "record_id": "p2"})
    copy = await _item_of(client, env, "p1")
    start = copy["segments"][0]["text"].index("ACME")
    missed = await _call(client, env, f"/v1/review/items/{copy['item_id']}/verdicts",
                         "supervisor", {"verdict": "missed", "segment": 0, "start": start,
                                        "end": start + 11, "entity_type": "ACCOUNT_NUMBER"})
    made = await _call(client, env, "/v1/review/proposals", "admin",
                       {"verdict_id": missed["verdict_id"], "pattern": True})
    listing = (await _call(client, env, "/v1/review/proposals", "admin",
                           method="GET"))["proposals"]
    (entry,) = [p for p in listing if p["proposal_id"] == made["proposal_id"]]
    assert entry["pattern"] is True and "123456" not in str(listing)
    preview = await _call(client, env, f"/v1/review/proposals/{made['proposal_id']}/preview",
                          "admin", method="GET")
    assert preview["values_newly_caught"] == 1  # acme-654321 in p2; p1's is a token now
    await _call(client, env, f"/v1/review/proposals/{made['proposal_id']}/decision",
                "admin", {"approve": True})
    out = await _call(client, env, "/v1/redact", "ai",
                      {"text": "refs Acme-998877 and ACME-1234567 and ACME-99"})
    assert out["text"].startswith("refs [[ACCOUNT_NUMBER:")
    assert out["text"].endswith(" and ACME-1234567 and ACME-99")  # other shapes stay
    # a value without digits has no pattern
    resp = await client.post(f"/v1/review/items/{copy['item_id']}/verdicts",
                             headers=env.auth("supervisor"), json={
                                 "verdict": "missed", "segment": 0, "start": 0, "end": 5,
                                 "entity_type": "PERSON"})
    word = (await resp.json())["verdict_id"]
    resp = await client.post("/v1/review/proposals", headers=env.auth("admin"),
                             json={"verdict_id": word, "pattern": True})
    assert resp.status == 422
    resp = await client.post("/v1/review/proposals", headers=env.auth("admin"),
                             json={"verdict_id": word, "pattern": "yes"})
    assert resp.status == 422
