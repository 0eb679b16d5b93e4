"""Risk tiers and per-route actions; opt-out refusals through the proxy."""

from __future__ import annotations

from typing import Any

import pytest

from redact_gw.policy.risk import RiskPolicy
from redact_gw.redaction import Entity
from redact_gw.settings import RiskSettings
from tests.conftest import MakeGateway

CHAT = {"model": "demo", "messages": [
    {"role": "user", "content": "I am John Smith, card 4111 1111 1111 1111"}]}
PLAIN = {"model": "demo", "messages": [{"role": "user", "content": "Where is my parcel?"}]}


def _e(etype: str, score: float = 0.9) -> Entity:
    return Entity("[[X:aaaaaaaaaa]]", etype, score, "r", {})


def test_tier_rules() -> None:
    policy = RiskPolicy(RiskSettings.model_validate({
        "low_confidence_below": 0.5,
        "high": {"entity_types": ["CREDIT_CARD"], "min_values": 10},
        "medium": {"min_values": 2, "min_low_confidence": 1},
        "routes": {"/summarize": {"high": "refuse", "medium": "flag"}}}))
    assert policy.tier([]) == "low"
    assert policy.tier([_e("PERSON")]) == "low"
    assert policy.tier([_e("PERSON"), _e("EMAIL_ADDRESS")]) == "medium"
    assert policy.tier([_e("PERSON", 0.3)]) == "medium"
    assert policy.tier([_e("CREDIT_CARD")]) == "high"
    assert policy.tier([_e("PERSON")] * 10) == "high"
    assert policy.action("/summarize", "high") == "refuse"
    assert policy.action("/summarize", "low") == "forward"
    assert policy.action("/v1/chat/completions", "high") == "forward"


async def _post(gw: Any, body: dict[str, Any], **headers: str) -> Any:
    return await gw.client.post("/v1/chat/completions", json=body,
                                headers={**gw.env.auth(), **headers})


async def test_route_refuses_high_risk_and_forwards_nothing(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"risk": {"routes": {
        "/v1/chat/completions": {"high": "refuse"}}}})
    r = await _post(gw, CHAT)
    body = await r.json()
    assert r.status == 422 and body["error"]["code"] == "risk_refused"
    assert body["error"]["details"]["tier"] == "high"
    assert "John" not in await r.text()
    assert gw.fake.received == []
    ok = await _post(gw, PLAIN)
    assert ok.status == 200 and ok.headers["X-Redact-Risk-Tier"] == "low"
    assert len(gw.fake.received) == 1


async def test_route_flags_for_review_and_audits(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"risk": {"default_actions": {"high": "flag"}}})
    r = await _post(gw, CHAT)
    assert r.status == 200
    assert r.headers["X-Redact-Review"] == "required"
    assert r.headers["X-Redact-Risk-Tier"] == "high"
    events = await (await gw.client.get("/v1/audit", params={"action": "review.flagged"},
                                        headers=gw.env.auth("admin"))).json()
    assert [e["outcome"] for e in events["events"]] == ["flagged"]
    assert len(gw.fake.received) == 1


async def test_opted_out_subject_never_reaches_upstream(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    await gw.client.put("/v1/subjects/cust-7/opt-out", json={"no_ai_processing": True},
                        headers=gw.env.auth("admin"))
    r = await _post(gw, CHAT, **{"X-Subject-Id": "cust-7"})
    assert r.status == 451 and (await r.json())["error"]["code"] == "subject_opted_out"
    client = gw.openai()
    import openai
    with pytest.raises(openai.APIStatusError) as info:
        await client.chat.completions.create(model="demo", messages=CHAT["messages"],
                                             stream=True,
                                             extra_headers={"X-Subject-Id": "cust-7"})
    assert info.value.status_code == 451
    assert gw.fake.received == []
    other = await _post(gw, CHAT, **{"X-Subject-Id": "cust-8"})
    assert other.status == 200 and len(gw.fake.received) == 1


async def test_subject_required_by_policy(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"optout": {"require_subject_id": True}})
    r = await _post(gw, CHAT)
    assert r.status == 400 and (await r.json())["error"]["code"] == "subject_required"
    assert gw.fake.received == []
    assert (await _post(gw, CHAT, **{"X-Subject-Id": "cust-1"})).status == 200


async def test_no_retention_through_proxy(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    await gw.client.put("/v1/subjects/cust-5/opt-out", json={"no_retention": True},
                        headers=gw.env.auth("admin"))
    r = await _post(gw, CHAT, **{"X-Subject-Id": "cust-5", "X-Record-Id": "call-5"})
    assert r.status == 200 and r.headers["X-Redact-No-Retention"] == "true"
    sent = gw.fake.received[-1].body.decode()
    assert "John Smith" not in sent and "4111" not in sent
    meta = await (await gw.client.get("/v1/records/call-5",
                                      headers=gw.env.auth("admin"))).json()
    assert meta["no_retention"] is True and meta["counts"] == {}
