"""Proxied calls are sampled too; an answer with a value the caller never sent is a
near miss that goes to the queue even without a random rate."""

from __future__ import annotations

import json
from typing import Any

from redact_gw.demo import completion
from tests.conftest import MakeGateway


async def test_answer_with_a_new_value_is_a_near_miss(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"review": {"default": {
        "random_rate": 0.0, "tiers": [], "low_confidence": False, "near_misses": True}}})
    ai = gw.openai()
    gw.fake.then(json_body=completion("Sure."))
    await ai.chat.completions.create(model="m", messages=[
        {"role": "user", "content": "My name is John Smith."}])
    headers = gw.env.auth("admin")
    items = (await (await gw.client.get("/v1/review/items", headers=headers)).json())["items"]
    assert items == []  # nothing unusual: not sampled
    gw.fake.then(json_body=completion("Write to zed@example.org about it."))
    await ai.chat.completions.create(model="m", messages=[
        {"role": "user", "content": "Who should John Smith contact?"}])
    items = (await (await gw.client.get("/v1/review/items", headers=headers)).json())["items"]
    assert [(i["route"], i["reasons"]) for i in items] == [
        ("/v1/chat/completions", ["answer_new_value"])]
    copy = await (await gw.client.get(f"/v1/review/items/{items[0]['item_id']}",
                                      headers=headers)).json()
    assert copy["segments"][0]["speaker"] == "user"
    assert copy["segments"][0]["text"].startswith("Who should [[PERSON:")
    assert "John Smith" not in str(copy) and "zed@example.org" not in str(copy)


async def test_approved_deny_entry_applies_to_answers_too(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"review": {"default": {"random_rate": 1.0}}})
    admin = gw.env.auth("admin")
    proposal = await _missed_name_proposal(gw, admin)
    ai = gw.openai()
    gw.fake.then(json_body=completion("Zed Quuxley will call."))
    before = await ai.chat.completions.create(model="m", messages=[
        {"role": "user", "content": "who calls?"}])
    assert before.choices[0].message.content == "Zed Quuxley will call."
    resp = await gw.client.post(f"/v1/review/proposals/{proposal}/decision",
                                headers=admin, json={"approve": True})
    assert resp.status == 200
    gw.fake.then(json_body=completion("Zed Quuxley will call."))
    after = await ai.chat.completions.create(model="m", messages=[
        {"role": "user", "content": "who calls?"}])
    assert after.choices[0].message.content.startswith("[[PERSON:")


async def test_a_deny_entry_approved_for_one_route_first_then_widened(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"review": {"default": {"random_rate": 1.0}}})
    admin, ai = gw.env.auth("admin"), gw.env.auth("ai")

    async def redact(text: str) -> str:
        resp = await gw.client.post("/v1/redact", headers=ai, json={"text": text})
        out: str = (await resp.json())["text"]
        return out

    async def chat_sends(text: str) -> str:
        gw.fake.then(json_body=completion("ok"))
        await gw.openai().chat.completions.create(model="m", messages=[
            {"role": "user", "content": text}])
        sent: str = json.loads(gw.fake.last.body)["messages"][0]["content"]
        return sent

    async def decide(proposal: str, body: dict[str, Any]) -> Any:
        return await gw.client.post(f"/v1/review/proposals/{proposal}/decision",
                                    headers=admin, json=body)

    proposal = await _missed_name_proposal(gw, admin)
    assert (await decide(proposal, {"approve": True, "route": "/v1/nope"})).status == 422
    resp = await decide(proposal, {"approve": True, "route": "/v1/redact"})
    assert resp.status == 200, await resp.text()
    assert (await redact("zed quuxley")).startswith("[[PERSON:")  # the route first
    assert await chat_sends("Zed Quuxley here") == "Zed Quuxley here"  # not yet
    listing = (await (await gw.client.get("/v1/review/proposals", headers=admin)).json()
               )["proposals"]
    assert [(p["status"], p["route"]) for p in listing] == [("approved", "/v1/redact")]
    assert (await decide(proposal, {"approve": True})).status == 200  # widened
    assert (await chat_sends("Zed Quuxley here")).startswith("[[PERSON:")
    assert (await decide(proposal, {"approve": False})).status == 422  # tenant-wide: final
    audit = await (await gw.client.get("/v1/audit?action=review.list_change",
                                       headers=admin)).json()
    assert sorted(str(e.get("routes")) for e in audit["events"]) == [
        "None", "{'/v1/redact': 1}"]  # approved on the route, then widened


async def test_a_single_route_approval_can_be_withdrawn(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"review": {"default": {"random_rate": 1.0}}})
    admin, ai = gw.env.auth("admin"), gw.env.auth("ai")
    proposal = await _missed_name_proposal(gw, admin)
    url = f"/v1/review/proposals/{proposal}/decision"
    await gw.client.post(url, headers=admin, json={"approve": True, "route": "/v1/redact"})
    resp = await gw.client.post(url, headers=admin, json={"approve": False})
    assert (await resp.json())["status"] == "rejected"
    out = await (await gw.client.post("/v1/redact", headers=ai,
                                      json={"text": "zed quuxley"})).json()
    assert out["text"] == "zed quuxley"


async def _missed_name_proposal(gw: Any, admin: dict[str, str]) -> str:
    """Redact "Ask Zed Quuxley." (sampled), mark the name missed, propose it for the deny
    list; the proposal's id."""
    await gw.client.post("/v1/redact", headers=gw.env.auth("ai"), json={
        "text": "Ask Zed Quuxley.", "record_id": "r1"})
    items = (await (await gw.client.get("/v1/review/items", headers=admin)).json())["items"]
    copy = await (await gw.client.get(f"/v1/review/items/{items[0]['item_id']}",
                                      headers=admin)).json()
    start = copy["segments"][0]["text"].index("Zed")
    missed = await (await gw.client.post(
        f"/v1/review/items/{items[0]['item_id']}/verdicts", headers=admin, json={
            "verdict": "missed", "segment": 0, "start": start, "end": start + 11,
            "entity_type": "PERSON"})).json()
    proposal: str = (await (await gw.client.post("/v1/review/proposals", headers=admin, json={
        "verdict_id": missed["verdict_id"]})).json())["proposal_id"]
    return proposal
