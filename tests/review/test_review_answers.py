"""The answer of a proxied call is in the review copy, tokenized as the scan left it
(streamed or not), sealed with the copy; a value missed in the answer seals a token."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from redact_gw.demo import chat_chunks, completion
from tests.conftest import MakeGateway

ALL = {"review": {"default": {"random_rate": 1.0}}}
ASKED = "My name is John Smith, what now?"


async def _copy(gw: Any) -> dict[str, Any]:
    """The one queued item, opened (a stream is queued once its last event went out:
    the client may read it first)."""
    admin = gw.env.auth("admin")
    for _ in range(50):
        items = (await (await gw.client.get("/v1/review/items", headers=admin)).json()
                 )["items"]
        if items:
            break
        await asyncio.sleep(0.05)
    assert len(items) == 1, items
    copy: dict[str, Any] = await (await gw.client.get(
        f"/v1/review/items/{items[0]['item_id']}", headers=admin)).json()
    return copy


def _answer_entities(copy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["entity_type"]: e for e in copy["entities"]
            if e["location"].get("answer")}


async def test_json_answer_is_kept_tokenized_with_its_values_explained(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config=ALL)
    gw.fake.then(json_body=completion("Dear John Smith, write to zed@example.org today."))
    got = await gw.openai().chat.completions.create(model="m", messages=[
        {"role": "user", "content": ASKED}])
    assert got.choices[0].message.content.startswith("Dear John Smith,")  # restored
    copy = await _copy(gw)
    answer = copy["answer"]
    sent_person = next(e["token"] for e in copy["entities"]
                       if e["entity_type"] == "PERSON" and not e["location"].get("answer"))
    found = _answer_entities(copy)
    # the caller's own value is its request token (nothing restored in the copy); the
    # address the AI service made up is sealed apart, in the ~answers sibling
    assert answer == (f"Dear {sent_person}, write to {found['EMAIL_ADDRESS']['token']}"
                      " today.")
    assert found["PERSON"]["token"] == sent_person
    assert found["PERSON"]["location"]["record"] == "caller"
    assert found["EMAIL_ADDRESS"]["location"]["record"] == "answers"
    assert found["EMAIL_ADDRESS"]["recognizer"] == "fake-email_address"
    assert "assistant" not in answer and "stop" not in answer  # protocol fields left out
    assert "EMAIL_ADDRESS" in copy["entity_types"]


async def test_streamed_answer_is_joined_per_channel(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config=ALL)
    gw.fake.then_stream(chat_chunks(["Call ", "zed@", "example.org ", "now, ", "John ",
                                     "Smith."]))
    stream = await gw.openai().chat.completions.create(
        model="m", stream=True, messages=[{"role": "user", "content": ASKED}])
    text = "".join([c.choices[0].delta.content or "" async for c in stream
                    if c.choices])
    assert text.startswith("Call [[EMAIL_ADDRESS:") and text.endswith(" now, John Smith.")
    copy = await _copy(gw)
    found = _answer_entities(copy)
    assert copy["answer"] == (f"Call {found['EMAIL_ADDRESS']['token']} now,"
                              f" {found['PERSON']['token']}.")
    assert "zed@example.org" not in str(copy) and "John Smith" not in str(copy)


async def test_a_value_missed_in_the_answer_is_sealed_apart(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config=ALL)
    gw.fake.then(json_body=completion("Ask Zed Quuxley, he knows. Zed Quuxley!"))
    await gw.openai().chat.completions.create(model="m", messages=[
        {"role": "user", "content": ASKED}])
    copy = await _copy(gw)
    admin = gw.env.auth("admin")
    start = copy["answer"].index("Zed Quuxley")
    resp = await gw.client.post(f"/v1/review/items/{copy['item_id']}/verdicts",
                                headers=admin, json={
                                    "verdict": "missed", "part": "answer", "start": start,
                                    "end": start + 11, "entity_type": "PERSON"})
    assert resp.status == 200, await resp.text()
    token = (await resp.json())["token"]
    again = await (await gw.client.get(f"/v1/review/items/{copy['item_id']}",
                                       headers=admin)).json()
    assert again["answer"] == f"Ask {token}, he knows. {token}!"
    entity = next(e for e in again["entities"] if e["token"] == token)
    assert entity["location"] == {"answer": True, "record": "answers"}
    record = copy["record_id"]
    # the AI service's value: sealed in the answers sibling, never in the caller's record
    resp = await gw.client.post("/v1/detokenize", headers=admin, json={
        "record_id": record, "purpose": "quality_review", "tokens": [token]})
    assert resp.status == 404
    resp = await gw.client.post("/v1/detokenize", headers=admin, json={
        "record_id": f"{record}~answers", "purpose": "quality_review", "tokens": [token]})
    assert (await resp.json())["values"][0]["value"] == "Zed Quuxley"
    # not personal data, for an answer token: revealed from the sibling, audited
    resp = await gw.client.post(f"/v1/review/items/{copy['item_id']}/verdicts",
                                headers=admin, json={"verdict": "not_pii", "token": token,
                                                     "purpose": "quality_review"})
    assert resp.status == 200, await resp.text()
    # a selection outside the answer, or on a token, is a 422
    for bad in ({"start": 0, "end": 10_000}, {"start": 4, "end": 8}):
        resp = await gw.client.post(f"/v1/review/items/{copy['item_id']}/verdicts",
                                    headers=admin, json={"verdict": "missed",
                                                         "part": "answer",
                                                         "entity_type": "PERSON", **bad})
        assert resp.status == 422, bad


async def test_answer_is_sealed_and_shredded_with_the_record(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config=ALL)
    gw.fake.then(json_body=completion("Quuxley Zedson lives in Quahog."))
    await gw.openai().chat.completions.create(model="m", messages=[
        {"role": "user", "content": ASKED}], extra_headers={"X-Subject-Id": "cust-ans"})
    copy = await _copy(gw)
    assert copy["answer"] == "Quuxley Zedson lives in Quahog."  # missed: review shows it
    raw = b"".join(p.read_bytes() for p in gw.env.root.glob("vault.db*"))
    assert b"Quuxley" not in raw and b"Quahog" not in raw
    dump = "\n".join(sqlite3.connect(gw.env.root / "vault.db").iterdump())
    assert "Quuxley" not in dump and "Quahog" not in dump
    admin = gw.env.auth("admin")
    resp = await gw.client.delete("/v1/subjects/cust-ans", headers=admin)
    assert resp.status == 200, await resp.text()
    resp = await gw.client.get(f"/v1/review/items/{copy['item_id']}", headers=admin)
    assert resp.status == 404
    db = sqlite3.connect(gw.env.root / "vault.db")
    assert db.execute("SELECT count(*) FROM review_items").fetchone()[0] == 0


DIALECTS = [
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": ASKED}]}),
    ("/v1/completions", {"prompt": ASKED}),
    ("/v1/responses", {"input": ASKED}),
    ("/v1/messages", {"max_tokens": 50, "messages": [{"role": "user", "content": ASKED}]}),
]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("route", "body"), DIALECTS, ids=[d[0] for d in DIALECTS])
async def test_every_dialect_keeps_its_answer_once(make_gateway: MakeGateway, route: str,
                                                   body: dict[str, Any],
                                                   stream: bool) -> None:
    gw = await make_gateway(config=ALL)  # the demo model quotes the prompt back
    resp = await gw.client.post(route, headers=gw.env.auth("ai"), json={
        "model": "demo-echo-1", "stream": stream, **body})
    assert resp.status == 200, await resp.text()
    got = await resp.text()
    assert "John Smith" in got  # the caller's value, restored for the caller
    copy = await _copy(gw)
    person = next(e["token"] for e in copy["entities"] if e["entity_type"] == "PERSON")
    answer = copy["answer"]
    assert answer is not None and answer.count(person) == 1, answer
    assert answer == f"You said: My name is {person}, what now?"  # no protocol strings


async def test_a_failing_answer_copy_never_fails_the_answer(
        make_gateway: MakeGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    from redact_gw.review.answer import AnswerCopy

    def broken(self: AnswerCopy, pieces: Any) -> None:
        raise RuntimeError("boom")
    monkeypatch.setattr(AnswerCopy, "__call__", broken)
    gw = await make_gateway(config=ALL)
    gw.fake.then(json_body=completion("Dear John Smith, write to zed@example.org."))
    got = await gw.openai().chat.completions.create(model="m", messages=[
        {"role": "user", "content": ASKED}])
    assert got.choices[0].message.content.startswith("Dear John Smith, write to [[EMAIL")
    copy = await _copy(gw)
    assert copy["answer"] is None  # nothing half-kept
    assert not any(e["location"].get("answer") for e in copy["entities"])
