"""The OpenAI-compatible proxy driven by the real ``openai`` SDK against a FakeUpstream."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from redact_gw.demo import chunk, completion, tool_call_chunks
from redact_gw.testing import Scripted
from redact_gw.tokens import TOKEN_RE
from tests.conftest import MakeGateway

#: One planted value per entity type the fast fake detector knows.
PLANTED = {
    "PERSON": "John Smith", "EMAIL_ADDRESS": "john.smith@gmail.com",
    "PHONE_NUMBER": "212-555-0123", "CREDIT_CARD": "4111 1111 1111 1111",
    "US_SSN": "078-05-1120", "IBAN_CODE": "DE89 3704 0044 0532 0130 00",
    "IP_ADDRESS": "192.168.17.42", "DATE_OF_BIRTH": "1984-03-12",
    "ADDRESS": "42 Main Street", "LOCATION": "Springfield",
}
USER_TEXT = ("I am John Smith, born 1984-03-12, living at 42 Main Street in Springfield. "
             "Mail john.smith@gmail.com, phone 212-555-0123, card 4111 1111 1111 1111, "
             "SSN 078-05-1120, IBAN DE89 3704 0044 0532 0130 00, IP 192.168.17.42.")


def assert_clean(raw: bytes | str) -> None:
    text = raw.decode() if isinstance(raw, bytes) else raw
    for value in PLANTED.values():
        assert value not in text
        assert json.dumps(value)[1:-1] not in text


def full_request() -> dict[str, Any]:
    """A chat request with PII in every place that can carry it."""
    return dict(
        model="gpt-test",
        messages=[
            {"role": "system", "content": "You help John Smith (john.smith@gmail.com)."},
            {"role": "user", "content": [{"type": "text", "text": "Call 212-555-0123"},
                                         {"type": "image_url",
                                          "image_url": {"url": "https://x.test/a.png"}}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {
                    "name": "lookup", "arguments": json.dumps({"ssn": "078-05-1120"})}}]},
            {"role": "tool", "tool_call_id": "call_1",
             "content": "IBAN DE89 3704 0044 0532 0130 00, IP 192.168.17.42"},
            {"role": "user", "content": USER_TEXT},
        ],
        tools=[{"type": "function", "function": {
            "name": "lookup", "description": "Look up 42 Main Street in Springfield",
            "parameters": {"type": "object", "properties": {
                "ssn": {"type": "string", "description": "e.g. 078-05-1120"}},
                "required": ["ssn"]}}}],
        user="john.smith@gmail.com",
        extra_body={"x_notes": {"born": "1984-03-12", "card": "4111 1111 1111 1111"}},
    )


async def test_non_streaming_round_trip_every_entity_type(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    raw = await gw.openai().chat.completions.with_raw_response.create(**full_request())
    answer = raw.parse()
    got = gw.fake.last
    assert got.request_line == "POST /v1/chat/completions HTTP/1.1"
    assert_clean(got.body)
    assert_clean(json.dumps(dict(got.headers)))
    sent = got.json()
    assert sent["model"] == "gpt-test"
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool",
                                                     "user"]
    assert sent["messages"][2]["tool_calls"][0]["id"] == "call_1"
    assert sent["messages"][2]["tool_calls"][0]["function"]["name"] == "lookup"
    assert sent["messages"][3]["tool_call_id"] == "call_1"
    assert sent["tools"][0]["function"]["parameters"]["required"] == ["ssn"]
    assert sent["messages"][1]["content"][1]["image_url"]["url"] == "https://x.test/a.png"
    assert {m.group("type") for m in TOKEN_RE.finditer(got.body.decode())} == set(PLANTED)
    # the client gets its originals back, byte for byte
    assert answer.choices[0].message.content == "You said: " + USER_TEXT
    record = raw.headers["X-Record-Id"]
    assert record.startswith("rec_")
    counts = dict(kv.split("=") for kv in raw.headers["X-Redact-Counts"].split(","))
    assert set(counts) == set(PLANTED)


async def test_gateway_key_and_hop_by_hop_headers_never_go_upstream(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    resp = await gw.client.post("/v1/chat/completions", json={
        "model": "m", "messages": [{"role": "user", "content": "hi"}]}, headers={
        **gw.env.auth(), "Keep-Alive": "timeout=5", "TE": "trailers",
        "Proxy-Authorization": "Basic x", "X-Record-Id": "call-7", "X-Subject-Id": "cust-1",
        "X-Custom": "dropped", "OpenAI-Beta": "assistants=v2"})
    assert resp.status == 200
    assert resp.headers["X-Record-Id"] == "call-7"
    got = gw.fake.last
    names = {k.lower() for k, _ in got.headers}
    assert not names & {"keep-alive", "te", "proxy-authorization", "x-record-id",
                        "x-subject-id", "transfer-encoding"}
    assert got.header("Authorization") == "Bearer sk-upstream-secret"
    assert gw.env.keys["ai"] not in json.dumps(got.headers)
    assert got.header("Content-Length") == str(len(got.body))
    assert got.header("X-Custom") is None  # not on the allow-list (proxy/headers.py)
    assert got.header("OpenAI-Beta") == "assistants=v2"


async def test_streaming_round_trip_word_by_word(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    stream = await gw.openai().chat.completions.create(
        model="m", stream=True, messages=[{"role": "user", "content": USER_TEXT}])
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(parts) == "You said: " + USER_TEXT
    assert_clean(gw.fake.last.body)


async def test_tool_call_arguments_restored_and_injected_values_tokenized(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    client = gw.openai()
    await client.chat.completions.create(model="m", messages=[
        {"role": "user", "content": USER_TEXT}], extra_headers={"X-Record-Id": "r-tools"})
    tokens = {m.group("type"): m.group(0) for m in TOKEN_RE.finditer(gw.fake.last.body.decode())}
    args = json.dumps({"email": tokens["EMAIL_ADDRESS"], "backup": "415-555-0199"})
    gw.fake.then(json_body=completion("", tool_calls=[{
        "id": "call_9", "type": "function", "function": {"name": "send", "arguments": args}}]))
    answer = await client.chat.completions.create(model="m", messages=[
        {"role": "user", "content": "again"}], extra_headers={"X-Record-Id": "r-tools"})
    call = answer.choices[0].message.tool_calls[0]
    parsed = json.loads(call.function.arguments)
    assert parsed["email"] == "john.smith@gmail.com"
    assert parsed["backup"].startswith("[[PHONE_NUMBER:") and call.id == "call_9"
    # streamed tool call, arguments cut inside the token and inside the injected value
    pieces = [args[:5], args[5:14], args[14:31], args[31:58], args[58:]]
    gw.fake.then_stream(tool_call_chunks("call_9", "send", pieces))
    stream = await client.chat.completions.create(model="m", stream=True, messages=[
        {"role": "user", "content": "again"}], extra_headers={"X-Record-Id": "r-tools"})
    text = ""
    async for c in stream:
        for tc in (c.choices[0].delta.tool_calls or []) if c.choices else []:
            text += tc.function.arguments or ""
    streamed = json.loads(text)
    assert streamed["email"] == "john.smith@gmail.com"
    assert TOKEN_RE.fullmatch(streamed["backup"])


async def test_other_records_tokens_stay(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    client = gw.openai()
    await client.chat.completions.create(model="m", messages=[
        {"role": "user", "content": "I am John Smith"}], extra_headers={"X-Record-Id": "a"})
    token_a = TOKEN_RE.search(gw.fake.last.body.decode()).group(0)  # type: ignore[union-attr]
    gw.fake.then(json_body=completion(f"Known: {token_a}"))
    answer = await client.chat.completions.create(model="m", messages=[
        {"role": "user", "content": "hi"}], extra_headers={"X-Record-Id": "b"})
    assert answer.choices[0].message.content == f"Known: {token_a}"


@pytest.mark.parametrize(("rule", "expect_name", "expect_phone"), [
    ("none", False, False), (["PHONE_NUMBER"], False, True), ("all", True, True)])
async def test_restore_policy_per_principal(make_gateway: MakeGateway, rule: Any,
                                            expect_name: bool, expect_phone: bool) -> None:
    gw = await make_gateway(config={"proxy": {"restore": {"principals": {"ai": rule}}}})
    answer = await gw.openai().chat.completions.create(model="m", messages=[
        {"role": "user", "content": "John Smith 212-555-0123"}])
    content = answer.choices[0].message.content or ""
    assert ("John Smith" in content) is expect_name
    assert ("212-555-0123" in content) is expect_phone


async def test_answer_scan_can_be_switched_off(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"proxy": {"scan_answers": False}})
    gw.fake.then(json_body=completion("call 415-555-0199"))
    answer = await gw.openai().chat.completions.create(model="m", messages=[
        {"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "call 415-555-0199"


async def test_leaked_value_in_side_field_and_encoded(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    body = completion("write to jane.doe%40example.com")
    body["x_debug"] = {"contact": "bob@evil.com"}
    gw.fake.then(json_body=body)
    raw = await gw.openai().chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "hi"}])
    text = raw.http_response.text
    assert "bob@evil.com" not in text and "jane.doe%40example.com" not in text
    assert raw.headers["X-Redact-Answer-Counts"] == "EMAIL_ADDRESS=2"


async def test_stream_unknown_field_and_split_injected_value(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    chunks = [chunk({"role": "assistant", "content": ""}), chunk({"content": "ring 415-5"}),
              chunk({"content": "55-01"}, x_meta="from bob@evil.com"),
              chunk({"content": "99 now"}), chunk({}, finish_reason="stop")]
    gw.fake.then_stream(chunks)
    resp = await gw.client.post("/v1/chat/completions", json={
        "model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        headers=gw.env.auth())
    body = await resp.text()
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    assert "415" not in body and "bob@evil.com" not in body
    datas = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
    assert datas[-1] == "[DONE]"
    docs = [json.loads(d) for d in datas[:-1]]
    text = "".join(d["choices"][0]["delta"].get("content") or "" for d in docs if d["choices"])
    assert TOKEN_RE.fullmatch(text[5:-4]) and text.startswith("ring ") and text.endswith(" now")


async def test_embeddings_and_models(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    client = gw.openai()
    emb = await client.embeddings.create(model="e", input=["John Smith", "212-555-0123"])
    assert len(emb.data) == 2
    sent = gw.fake.last.json()
    assert sent["model"] == "e" and all(TOKEN_RE.fullmatch(x) for x in sent["input"])
    models = await client.models.list()
    assert [m.id for m in models.data] == ["demo-echo-1"]
    assert gw.fake.last.request_line == "GET /v1/models HTTP/1.1"


async def test_sdk_error_event_mid_stream_raises(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"proxy": {"max_stream_seconds": 0.3}})
    import asyncio
    gate = asyncio.Event()
    gw.fake.then_stream([chunk({"content": "hello "}), chunk({"content": "never"})],
                        gates={1: gate})
    stream = await gw.openai().chat.completions.create(
        model="m", stream=True, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.APIError):
        async for _ in stream:
            pass
    gate.set()


async def test_requires_proxy_permission(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    with pytest.raises(openai.PermissionDeniedError):
        await gw.openai("norole").chat.completions.create(
            model="m", messages=[{"role": "user", "content": "John Smith"}])
    with pytest.raises(openai.AuthenticationError):
        await openai.AsyncOpenAI(base_url=gw.base_url, api_key="rgw_nope",
                                 max_retries=0).models.list()
    assert gw.fake.received == []


async def test_scripted_error_body_is_scanned(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    gw.fake.then(Scripted(status=500, json_body={"error": {
        "message": "failed for 415-555-0199", "type": "server_error"}}))
    resp = await gw.client.post("/v1/chat/completions", json={
        "model": "m", "messages": [{"role": "user", "content": "hi"}]}, headers=gw.env.auth())
    assert resp.status == 500
    body = await resp.json()
    assert "415-555-0199" not in json.dumps(body) and body["error"]["type"] == "server_error"
