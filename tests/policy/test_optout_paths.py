"""Issue 15, findings 2 and 3: the subject on every path, erasure of every value.

2. Every route takes the subject from the header AND the body and refuses a mismatch;
   a request naming a record of an opted-out subject gets 451 whatever it carries.
3. Each value carries the subject it was written for: the README's own order
   (``call-42`` created without a subject, then ``cust-981``'s email) is erased.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Gateway, MakeGateway

CHAT = "/v1/chat/completions"


def _chat(text: str = "hello, this is John Smith", **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], **extra}


async def _opt_out(gw: Gateway, subject: str, **flags: bool) -> None:
    r = await gw.client.put(f"/v1/subjects/{subject}/opt-out", json=flags,
                            headers=gw.env.auth("admin"))
    assert r.status == 200


async def _code(resp: Any) -> tuple[int, str | None]:
    body = await resp.json()
    return resp.status, body.get("error", {}).get("code") if isinstance(body, dict) else None


@pytest.mark.parametrize("extra", [{"user": "cust-9"}, {"subject_id": "cust-9"},
                                   {"metadata": {"subject_id": "cust-9"}}])
async def test_subject_in_the_body_is_refused_when_opted_out(make_gateway: MakeGateway,
                                                             extra: dict[str, Any]) -> None:
    gw = await make_gateway()
    await _opt_out(gw, "cust-9", no_ai_processing=True)
    n = len(gw.fake.received)
    r = await gw.client.post(CHAT, json=_chat(**extra), headers=gw.env.auth())
    assert await _code(r) == (451, "subject_opted_out")
    assert len(gw.fake.received) == n  # nothing reached the AI


async def test_header_and_body_naming_different_subjects_is_422(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    headers = {**gw.env.auth(), "X-Subject-Id": "cust-1"}
    r = await gw.client.post(CHAT, json=_chat(user="cust-9"), headers=headers)
    assert await _code(r) == (422, "subject_mismatch")
    r = await gw.client.post("/v1/redact", json={"text": "hi", "subject_id": "cust-9"},
                             headers=headers)
    assert await _code(r) == (422, "subject_mismatch")
    assert len(gw.fake.received) == 0


async def test_naming_a_record_of_an_opted_out_subject_is_451(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    r = await gw.client.post("/v1/redact", json={
        "text": "I am John Smith", "record_id": "call-7", "subject_id": "cust-9"},
        headers=gw.env.auth())
    assert r.status == 200
    await _opt_out(gw, "cust-9", no_ai_processing=True)
    for headers in ({"X-Record-Id": "call-7"},
                    {"X-Record-Id": "call-7", "X-Subject-Id": "someone-else"}):
        r = await gw.client.post(CHAT, json=_chat(), headers={**gw.env.auth(), **headers})
        assert await _code(r) == (451, "subject_opted_out")
    assert len(gw.fake.received) == 0


async def test_generic_routes_apply_the_subject_and_record_opt_outs(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    url = str(gw.upstream_server.make_url("/score"))
    route = {"path": "/qa/score", "upstream_url": url, "methods": ["POST", "GET"],
             "tokenize": ["$.text"], "restore": []}
    gw = await make_gateway(config={"routes": [route]}, fake=gw.fake)
    await _opt_out(gw, "cust-9", no_ai_processing=True)
    r = await gw.client.post("/qa/score", json={"text": "hi", "subject_id": "cust-9"},
                             headers=gw.env.auth())
    assert await _code(r) == (451, "subject_opted_out")
    await gw.client.post("/v1/redact", json={"text": "John Smith", "record_id": "call-8",
                                             "subject_id": "cust-9"}, headers=gw.env.auth())
    r = await gw.client.get("/qa/score", headers={**gw.env.auth(), "X-Record-Id": "call-8"})
    assert await _code(r) == (451, "subject_opted_out")
    assert len(gw.fake.received) == 0


async def test_redact_api_honours_the_subject_header(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    await _opt_out(gw, "cust-nr", no_retention=True)
    r = await gw.client.post("/v1/redact", json={"text": "I am John Smith",
                                                 "record_id": "call-nr"},
                             headers={**gw.env.auth(), "X-Subject-Id": "cust-nr"})
    assert r.status == 200 and (await r.json())["no_retention"] is True
    assert r.headers["X-Redact-No-Retention"] == "true"
    meta = await (await gw.client.get("/v1/records/call-nr", headers=gw.env.auth("admin"))).json()
    assert meta["counts"] == {}


async def test_erasure_follows_the_readme_order(make_gateway: MakeGateway) -> None:
    """call-42 is created without a subject; then cust-981 is named with an email."""
    gw = await make_gateway()
    ai = gw.env.auth()
    r = await gw.client.post("/v1/redact", json={
        "text": "hi this is John Smith my card is 4111 1111 1111 1111", "record_id": "call-42"},
        headers=ai)
    assert r.status == 200
    r = await gw.client.post("/v1/redact", json={
        "record_id": "call-42", "subject_id": "cust-981",
        "turns": [{"speaker": "agent", "text": "can i have your email"},
                  {"speaker": "customer", "text": "it is john.smith@gmail.com"}]}, headers=ai)
    email = (await r.json())["entities"][0]["token"]
    # the AI service asked about it: the answer's values land in call-42~answers
    gw.fake.then(json_body={"choices": [{"index": 0, "message": {
        "role": "assistant", "content": "also reachable on 212-555-0199"}}]})
    r = await gw.client.post(CHAT, json=_chat(f"what about {email}?"),
                             headers={**ai, "X-Record-Id": "call-42",
                                      "X-Subject-Id": "cust-981"})
    assert r.status == 200 and "212-555-0199" not in await r.text()
    r = await gw.client.delete("/v1/subjects/cust-981", headers=gw.env.auth("admin"))
    receipt = (await r.json())["receipt"]
    assert receipt["values_by_type"] == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}
    # call-42~answers was created for cust-981 (shredded whole); call-42 was not
    assert receipt["records_shredded"] == 1
    assert receipt["other_records_with_values_removed"] == 1
    r = await gw.client.post("/v1/detokenize", json={
        "record_id": "call-42", "purpose": "quality_review", "tokens": [email]},
        headers=gw.env.auth("admin"))
    assert await _code(r) == (410, "purged")
    meta = await (await gw.client.get("/v1/records/call-42", headers=gw.env.auth("admin"))).json()
    assert meta["counts"] == {"CREDIT_CARD": 1, "PERSON": 1}  # not the customer's values


async def test_erasure_takes_a_value_the_subject_sent_again(make_gateway: MakeGateway) -> None:
    """A call identified midway: the phone number was said before the subject was
    known, and the customer's next turn, sent with the subject, says it again. It is
    theirs."""
    gw = await make_gateway()
    ai, admin = gw.env.auth(), gw.env.auth("admin")
    r = await gw.client.post("/v1/redact", json={
        "text": "hello, call me back on 212-555-0142", "record_id": "call-7"}, headers=ai)
    phone = (await r.json())["entities"][0]["token"]
    r = await gw.client.post("/v1/redact", json={
        "text": "yes 212-555-0142, and my card is 5555 5555 5555 4444",
        "record_id": "call-7", "subject_id": "cust-7"}, headers=ai)
    assert phone in (await r.json())["text"]
    r = await gw.client.delete("/v1/subjects/cust-7", headers=admin)
    assert (await r.json())["receipt"]["values_by_type"] == {"CREDIT_CARD": 1,
                                                              "PHONE_NUMBER": 1}
    r = await gw.client.post("/v1/detokenize", json={
        "record_id": "call-7", "purpose": "quality_review", "tokens": [phone]}, headers=admin)
    assert await _code(r) == (410, "purged")


async def test_a_no_retention_subject_sending_a_value_again_shreds_it(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    ai, admin = gw.env.auth(), gw.env.auth("admin")
    await _opt_out(gw, "cust-7", no_retention=True)
    r = await gw.client.post("/v1/redact", json={
        "text": "hello, call me back on 212-555-0142", "record_id": "call-7"}, headers=ai)
    phone = (await r.json())["entities"][0]["token"]
    r = await gw.client.post("/v1/redact", json={
        "text": "yes 212-555-0142", "record_id": "call-7", "subject_id": "cust-7"},
        headers=ai)
    assert r.status == 200 and "212-555-0142" not in await r.text()
    r = await gw.client.post("/v1/detokenize", json={
        "record_id": "call-7", "purpose": "quality_review", "tokens": [phone]}, headers=admin)
    assert await _code(r) == (410, "purged")


async def test_no_retention_shreds_values_written_for_the_subject_anywhere(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    await gw.client.post("/v1/redact", json={"text": "I am John Smith", "record_id": "call-1"},
                         headers=gw.env.auth())
    await gw.client.post("/v1/redact", json={"text": "mail john.smith@gmail.com",
                                             "record_id": "call-1", "subject_id": "cust-5"},
                         headers=gw.env.auth())
    r = await gw.client.put("/v1/subjects/cust-5/opt-out", json={"no_retention": True},
                            headers=gw.env.auth("admin"))
    assert (await r.json())["shredded"]["values_by_type"] == {"EMAIL_ADDRESS": 1}
