"""What leaves in a request (issue 16 items 1 and 2): protocol fields that carry text,
object keys and numbers, content that cannot be redacted, on every dialect."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import Gateway, MakeGateway
from tests.proxy.test_openai import PLANTED, assert_clean

CHAT = "/v1/chat/completions"


async def post(gw: Gateway, path: str, body: Any, **headers: str) -> tuple[int, Any]:
    resp = await gw.client.post(path, json=body, headers={**gw.env.auth(), **headers})
    return resp.status, await resp.json()


async def test_protocol_fields_that_carry_text_are_scanned(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "name": "John Smith", "content": [
                {"type": "text", "text": "hi"},
                {"type": "image_url", "image_url": {
                    "url": "https://x.test/Maria%20Garcia/p.png?phone=212-555-0123&n=Maria"
                           "%20Garcia", "detail": "auto"}},
                {"type": "image_url", "image_url": {"url": "https://x.test/a.png?v=1+2"}}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_john.smith@gmail.com", "type": "function",
                 "function": {"name": "lookup", "arguments": "{}"}}]}],
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {
            "type": "object", "properties": {
                "type": {"type": "string", "description": "SSN 078-05-1120"},
                "format": {"type": "string", "enum": ["John Smith", "other"]},
                "required": {"type": "string", "pattern": "^212-555-0123$"}},
            "required": ["type"]}}}],
        "tool_choice": {"type": "function", "function": {"name": "lookup"},
                        "x_note": "for 192.168.17.42"},
        "stream_options": {"include_usage": True, "x_who": "1984-03-12"},
        "audio": {"voice": "alloy", "format": "mp3", "x_to": "42 Main Street"},
    }
    status, _ = await post(gw, CHAT, body)
    assert status == 200
    assert_clean(gw.fake.last.body)
    sent = gw.fake.last.json()
    props = sent["tools"][0]["function"]["parameters"]["properties"]
    assert [p["type"] for p in props.values()] == ["string"] * 3  # keywords stay
    assert sent["tools"][0]["function"]["parameters"]["type"] == "object"
    assert sent["messages"][0]["name"].startswith("[[PERSON:")
    url = sent["messages"][0]["content"][1]["image_url"]["url"]
    assert url.startswith("https://x.test/%5B%5BPERSON%3A") and "Garcia" not in url
    assert "phone=%5B%5BPHONE_NUMBER%3A" in url and "&n=%5B%5BPERSON%3A" in url
    assert sent["messages"][0]["content"][2]["image_url"]["url"] == "https://x.test/a.png?v=1+2"
    assert sent["messages"][0]["content"][1]["image_url"]["detail"] == "auto"
    assert sent["tool_choice"]["function"]["name"] == "lookup"
    assert sent["stream_options"]["include_usage"] is True
    assert sent["audio"]["voice"] == "alloy"


async def test_keys_and_numbers_are_scanned_on_every_route(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    planted = {"john.smith@gmail.com": 1, "card": 4111111111111111,
               "nested": [{"078-05-1120": {"ok": 5555555555554444}}]}
    bodies = {
        CHAT: {"model": "m", "messages": [{"role": "user", "content": "hi"}], **planted},
        "/v1/embeddings": {"model": "m", "input": ["hi"], "x": planted},
        "/v1/messages": {"model": "m", "max_tokens": 9, "metadata": planted,
                         "messages": [{"role": "user", "content": "hi"}]},
        "/v1/responses": {"model": "m", "input": "hi", "x": planted},
        "/v1/completions": {"model": "m", "prompt": "hi", "x": planted},
    }
    for path, body in bodies.items():
        status, _ = await post(gw, path, body)
        assert status == 200, path
        raw = gw.fake.last.body.decode()
        assert_clean(raw)
        for value in ("4111111111111111", "5555555555554444", "078-05-1120"):
            assert value not in raw, (path, value)
        assert '"max_tokens": 9' in raw or path != "/v1/messages"  # short numbers stay


async def test_generic_route_scans_keys_and_numbers(make_gateway: MakeGateway) -> None:
    probe = await make_gateway()
    url = str(probe.upstream_server.make_url("/score"))
    gw = await make_gateway(fake=probe.fake, config={
        "routes": [{"path": "/v1/qa", "upstream_url": url}]})
    status, _ = await post(gw, "/v1/qa", {"john.smith@gmail.com": 4111111111111111})
    assert status == 200
    raw = gw.fake.last.body.decode()
    assert "john.smith@gmail.com" not in raw and "4111111111111111" not in raw
    assert raw.startswith('{"[[EMAIL_ADDRESS:') and '"[[CREDIT_CARD:' in raw


async def test_content_that_cannot_be_redacted_is_refused_unless_allowed(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    cases = {
        CHAT: [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}],
        "/v1/messages": [{"type": "image", "source": {
            "type": "base64", "media_type": "image/png", "data": "AAAA"}}],
    }
    audio = [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]
    file = [{"type": "file", "file": {"file_data": "data:application/pdf;base64,AAAA"}}]
    n = len(gw.fake.received)
    for path, content in [*cases.items(), (CHAT, audio), (CHAT, file)]:
        status, body = await post(gw, path, {"model": "m", "max_tokens": 5, "messages": [
            {"role": "user", "content": content}]})
        assert status == 422 and body["error"]["code"] == "unredactable_content", path
    status, body = await post(gw, "/v1/responses", {"model": "m", "input": [
        {"role": "user", "content": [{"type": "input_image",
                                      "image_url": "data:image/png;base64,AAAA"}]}]})
    assert status == 422 and body["error"]["code"] == "unredactable_content"
    status, body = await post(gw, CHAT, {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi", "john.smith@gmail.com": "data:image/png;base64,AA"}]}]})
    assert status == 422 and "john.smith" not in json.dumps(body)
    assert len(gw.fake.received) == n  # nothing was forwarded
    text_uri = "data:text/plain;base64," + base64.b64encode(
        b"call John Smith at 212-555-0123").decode()
    status, _ = await post(gw, CHAT, {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": text_uri}}]}]})
    assert status == 200  # a text data: URI decodes: scanned as text, encoded again
    url = gw.fake.last.json()["messages"][0]["content"][0]["image_url"]["url"]
    sent = base64.b64decode(url.split(",", 1)[1]).decode()
    assert sent.startswith("call [[PERSON:") and "212-555-0123" not in sent
    allowed = await make_gateway(config={"proxy": {"allow_unredactable": [CHAT]}})
    status, _ = await post(allowed, CHAT, {"model": "m", "messages": [
        {"role": "user", "content": [*cases[CHAT], *audio]}]})
    assert status == 200
    sent = allowed.fake.last.json()["messages"][0]["content"]
    assert sent[0]["image_url"]["url"] == "data:image/png;base64,AAAA"


# -- property: random JSON, planted values anywhere, nothing reaches the upstream -----------
VALUES = list(PLANTED.values())
_leaf = st.one_of(st.sampled_from(VALUES), st.text(max_size=8), st.integers(-99, 99),
                  st.just(4111111111111111), st.just(5555555555554444), st.booleans())
_key = st.one_of(st.sampled_from(VALUES), st.sampled_from(
    ["type", "format", "enum", "required", "properties", "description", "name", "x"]),
    st.text(min_size=1, max_size=6))
JSONS = st.recursive(_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_key, inner, max_size=4)), max_leaves=20)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(extra=JSONS, where=st.sampled_from(["top", "schema", "tool_choice", "message"]))
@example(extra={"type": 4111111111111111}, where="schema")  # a number where "type" is protocol
@example(extra={"type": "John Smith"}, where="schema")  # text where "type" is protocol
@example(extra={"format": "john.smith@gmail.com", "items": {"$ref": "John Smith"}},
         where="schema")
async def test_random_json_never_carries_a_planted_value_upstream(
        make_gateway: MakeGateway, extra: Any, where: str) -> None:
    gw = await make_gateway()
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    if where == "top":
        body["x_extra"] = extra
    elif where == "schema":
        body["tools"] = [{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"type": extra, "p": {"enum": [extra]}}}}}]
    elif where == "tool_choice":
        body["tool_choice"] = {"type": "function", "x": extra}
    else:
        body["messages"][0]["x"] = extra
    status, _ = await post(gw, CHAT, body)
    assert status == 200
    raw = gw.fake.last.body.decode()
    assert_clean(raw)
    for number in ("4111111111111111", "5555555555554444"):
        assert number not in raw
    assert json.loads(raw)["model"] == "m"


def test_a_schema_keyword_keeps_only_values_it_can_take() -> None:
    """``type``, ``format`` and ``$ref`` stay in clear only with a value the keyword can
    take; anything else there is the caller's text and is scanned."""
    from redact_gw.proxy.dialects.schema import schema_protocol
    assert schema_protocol(("type",), "string") and schema_protocol(("type", 1), "null")
    assert schema_protocol(("items", "format"), "date-time")
    assert schema_protocol(("properties", "a", "$ref"), "#/$defs/Card")
    assert schema_protocol(("type",)) and schema_protocol(("format",))  # value not known
    for path, value in [(("type",), "John Smith"), (("type", 0), "john"),
                        (("format",), "john.smith@gmail.com"), (("$ref",), "John Smith"),
                        (("contentMediaType",), "Call 212-555-0123"), (("type",), 42)]:
        assert not schema_protocol(path, value), (path, value)
    assert not schema_protocol(("description",), "string")  # text, whatever it says
