"""Assist forwarding: the service sees only tokens and masks; its suggestions come back
scanned, bounded and restored as far as the caller's restore policy allows."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from aiohttp import WSMsgType, WSServerHandshakeError
from aiohttp.test_utils import TestClient

from redact_gw.demo_assist import FakeAssist
from redact_gw.tokens import TOKEN_RE
from tests.conftest import Env, MakeClient, write_config
from tests.live.wsync import send_each

CARD, EMAIL, NAME = "4111 1111 1111 1111", "jane.roe@example.com", "John Smith"
RAW = ("4111", "1111", "jane.roe", "example.com", "John", "Smith")


async def _start(aiohttp_server: Any, make_client: MakeClient, env: Env, fake: FakeAssist,
                 *, path: str = "/v1/assist", scheme: str = "http", restore: Any = "all",
                 **assist: Any) -> TestClient:
    server = await aiohttp_server(fake.app())
    url = str(server.make_url(path)).replace("http", scheme, 1)
    write_config(env.root, {"live": {"assist": {"fake": {"url": url, "timeout_s": 0.5,
                                                         **assist}}},
                            "proxy": {"restore": {"default": restore}}})
    return await make_client(settings=env.settings())


async def _until(ws: Any, pred: Any, timeout: float = 5) -> list[dict[str, Any]]:
    """Messages up to and including the first one ``pred`` accepts."""
    got = []
    while True:
        m = await ws.receive_json(timeout=timeout)
        got.append(m)
        if pred(m):
            return got


def _call() -> list[dict[str, Any]]:
    said = f"hi this is {NAME} my card is {CARD} and mail {EMAIL} thanks"
    words = said.split()
    msgs: list[dict[str, Any]] = [
        {"type": "partial", "segment_id": "s1", "speaker": "customer",
         "text": " ".join(words[:k])} for k in range(2, len(words), 3)]
    msgs.append({"type": "final", "segment_id": "s1", "speaker": "customer", "text": said,
                 "start": 1.0, "end": 6.5})
    return msgs


async def test_http_assist_sees_only_tokens_and_suggestion_is_restored(
        aiohttp_server: Any, make_client: MakeClient, env: Env) -> None:
    fake = FakeAssist()
    client = await _start(aiohttp_server, make_client, env, fake, api_key="assist-secret")
    ws = await client.ws_connect("/v1/live", params={"record_id": "c1", "assist": "fake"},
                                 headers=env.auth())
    await ws.receive_json()
    for m in _call():
        await ws.send_json(m)
    got = await _until(ws, lambda m: m["type"] == "suggestion")
    shown = ""
    for m in got[:-1]:  # what the caller shows for the segment
        shown = shown[:m["offset"]] + m["text"]
    # only the final went (forward_partials is off), as the caller's final shows it
    assert [d["type"] for d in fake.seen] == ["final"]
    seen = fake.seen[0]
    assert seen["record_id"] == "c1" and seen["speaker"] == "customer"
    assert seen["text"] == shown and (seen["start"], seen["end"]) == (1.0, 6.5)
    assert len(TOKEN_RE.findall(seen["text"])) == 3
    assert not any(v in str(fake.seen) for v in RAW)
    assert fake.headers[0]["Authorization"] == "Bearer assist-secret"
    # the suggestion quotes the tokens back: the caller gets its own values
    suggestion = got[-1]
    assert suggestion == {"type": "suggestion", "segment_id": "s1", "id": "sg-s1",
                          "text": f"Read back to confirm: hi this is {NAME} my card is"
                                  f" {CARD} and mail {EMAIL} thanks"}
    await ws.close()
    from tests.test_metrics import allowed_label_values, check_labels
    exposition = await (await client.get("/metrics")).text()
    assert check_labels(exposition, allowed_label_values(client.app)) > 0
    # the raw values' words and the whole card: its 4-digit groups alone could occur
    # by chance in a latency sum's digits (the labels are checked above)
    assert not any(v in exposition for v in (CARD, *RAW[2:]))
    assert 'redact_gw_live_assist_forwarded_total{kind="final"} 1.0' in exposition
    assert "redact_gw_live_assist_suggestions_total 1.0" in exposition
    assert 'redact_gw_live_messages_total{direction="out",kind="suggestion"} 1.0' in exposition
    assert "redact_gw_live_assist_seconds_count 1.0" in exposition


async def test_restore_policy_and_values_the_caller_never_sent(
        aiohttp_server: Any, make_client: MakeClient, env: Env) -> None:
    def reply(doc: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"text": f"{doc['text']} / also call Maria Garcia on 212-555-0199"}]
    fake = FakeAssist(reply=reply)
    client = await _start(aiohttp_server, make_client, env, fake, restore=["PERSON"])
    ws = await client.ws_connect("/v1/live", params={"assist": "fake"}, headers=env.auth())
    await ws.receive_json()
    await ws.send_json({"type": "final", "segment_id": "a",
                        "text": f"I am {NAME}, card {CARD}"})
    text = (await _until(ws, lambda m: m["type"] == "suggestion"))[-1]["text"]
    assert text.startswith(f"I am {NAME}, card [[CREDIT_CARD:")  # policy: PERSON only
    assert "Maria" not in text and "212-555" not in text  # never sent: sealed
    assert re.search(r"call \[\[PERSON:\w+\]\] on \[\[PHONE_NUMBER:\w+\]\]$", text)
    await ws.close()


async def test_partials_are_forwarded_masked_when_configured(
        aiohttp_server: Any, make_client: MakeClient, env: Env) -> None:
    fake = FakeAssist()
    client = await _start(aiohttp_server, make_client, env, fake, forward_partials=True)
    ws = await client.ws_connect("/v1/live", params={"assist": "fake"}, headers=env.auth(),
                                 autoping=False)
    await ws.receive_json()
    got = await send_each(ws, _call())  # each partial handled, none superseded
    if not any(m["type"] == "suggestion" for m in got):
        await _until(ws, lambda m: m["type"] == "suggestion")
    partials = [d["text"] for d in fake.seen if d["type"] == "partial"]
    assert partials and fake.seen[-1]["type"] == "final"
    assert any("[[PERSON]]" in p for p in partials)
    assert not any(v in str(fake.seen) for v in RAW)
    await ws.close()


@pytest.mark.parametrize(("setup", "code"), [
    ({"status": 503}, "assist_unavailable"),
    ({"status": 404}, "assist_refused"),
    ({"delay_s": 2.0}, "assist_timeout"),
    ({"body": b"not json John Smith"}, "assist_bad_answer"),
    ({"body": b'{"suggestions": [{"text": "' + b"x" * 3000 + b'"}]}'}, "assist_bad_answer"),
    ({"body": b'{"suggestions": "' + b"x" * 70000 + b'"}'}, "assist_bad_answer"),
])
async def test_failures_are_typed_errors_and_the_session_goes_on(
        aiohttp_server: Any, make_client: MakeClient, env: Env, setup: dict[str, Any],
        code: str) -> None:
    fake = FakeAssist()
    for k, v in setup.items():
        setattr(fake, k, v)
    client = await _start(aiohttp_server, make_client, env, fake, retries=1)
    ws = await client.ws_connect("/v1/live", params={"assist": "fake"}, headers=env.auth())
    await ws.receive_json()
    await ws.send_json({"type": "final", "segment_id": "a", "text": f"I am {NAME}"})
    got = await _until(ws, lambda m: m["type"] == "error")
    err = got[-1]
    assert err["error"]["code"] == code and err["segment_id"] == "a"
    assert "John" not in str(got) and "x" * 100 not in str(got)
    if code == "assist_unavailable":
        assert fake.posts == 2  # retried once
    await ws.send_json({"type": "final", "segment_id": "b", "text": "still here"})
    nxt = await _until(ws, lambda m: m["type"] == "final")
    assert nxt[-1]["text"] == "still here"
    await ws.close()
    metrics = await (await client.get("/metrics")).text()
    kind = code.removeprefix("assist_")
    assert f'redact_gw_live_assist_errors_total{{kind="{kind}"}}' in metrics


async def test_unreachable_service_and_backlog(aiohttp_server: Any, make_client: MakeClient,
                                               env: Env) -> None:
    fake = FakeAssist()
    fake.delay_s = 0.3
    client = await _start(aiohttp_server, make_client, env, fake, max_pending=1,
                          forward_partials=True)
    ws = await client.ws_connect("/v1/live", params={"assist": "fake"}, headers=env.auth())
    await ws.receive_json()
    for i in range(4):
        await ws.send_json({"type": "final", "segment_id": f"s{i}", "text": "ok then"})
    got = await _until(ws, lambda m: m.get("error", {}).get("code") == "assist_backlog")
    assert sum(m["type"] == "final" for m in got) >= 3
    await ws.close()
    write_config(env.root, {"live": {"assist": {"gone": {
        "url": "http://127.0.0.1:9/v1/assist", "retries": 0}}}})
    client2 = await make_client(settings=env.settings())
    ws = await client2.ws_connect("/v1/live", params={"assist": "gone"}, headers=env.auth())
    await ws.receive_json()
    await ws.send_json({"type": "final", "segment_id": "a", "text": "hello"})
    got = await _until(ws, lambda m: m["type"] == "error")
    assert got[-1]["error"]["code"] == "assist_unavailable"
    await ws.close()


async def test_websocket_assist(aiohttp_server: Any, make_client: MakeClient,
                                env: Env) -> None:
    fake = FakeAssist()
    client = await _start(aiohttp_server, make_client, env, fake, path="/v1/assist/ws",
                          scheme="ws")
    ws = await client.ws_connect("/v1/live", params={"assist": "fake"}, headers=env.auth())
    await ws.receive_json()
    for m in _call():
        await ws.send_json(m)
    got = await _until(ws, lambda m: m["type"] == "suggestion")
    assert got[-1]["text"].endswith(f"{CARD} and mail {EMAIL} thanks")
    assert got[-1]["segment_id"] == "s1"
    assert len(fake.seen) == 1 and not any(v in str(fake.seen) for v in RAW)
    # a hostile message on the socket: a typed error, nothing of it shown
    fake.body = b"[1, 2, John Smith"
    await ws.send_json({"type": "final", "segment_id": "s2", "text": "bye now"})
    got = await _until(ws, lambda m: m["type"] == "error")
    assert got[-1]["error"]["code"] == "assist_bad_answer" and "John" not in str(got)
    await ws.close()


async def test_unknown_assist_and_plain_get(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    with pytest.raises(WSServerHandshakeError) as exc:
        await client.ws_connect("/v1/live", params={"assist": "nope"}, headers=env.auth())
    assert exc.value.status == 422
    r = await client.get("/v1/live", headers=env.auth())
    assert r.status == 426 and r.headers["Upgrade"] == "websocket"
    assert (await r.json())["error"]["code"] == "upgrade_required"


async def test_tenant_message_rate_across_sessions(make_client: MakeClient,
                                                   env: Env) -> None:
    write_config(env.root, {"live": {"max_tenant_messages_per_s": 2}})
    client = await make_client(settings=env.settings())
    a = await client.ws_connect("/v1/live", headers=env.auth("ai"))
    b = await client.ws_connect("/v1/live", headers=env.auth("ai2"))
    other = await client.ws_connect("/v1/live", headers=env.auth("other"))
    for ws in (a, b, other):
        await ws.receive_json()
    for i in range(3):  # a burst of 4 is allowed to the tenant, then one is dropped
        await a.send_json({"type": "final", "segment_id": f"a{i}", "text": "ok"})
        await b.send_json({"type": "final", "segment_id": f"b{i}", "text": "ok"})
    codes = [m.get("error", {}).get("code") for ws in (a, b)
             for m in [await ws.receive_json(timeout=5) for _ in range(3)]]
    assert "tenant_rate_limited" in codes and codes.count(None) == 4
    await other.send_json({"type": "final", "segment_id": "x", "text": "ok"})
    assert (await other.receive_json(timeout=5))["type"] == "final"  # another tenant
    for ws in (a, b, other):
        await ws.close()


async def test_shutdown_forwards_the_last_final_before_1001(
        aiohttp_server: Any, make_client: MakeClient, env: Env) -> None:
    fake = FakeAssist()
    fake.delay_s = 0.3
    client = await _start(aiohttp_server, make_client, env, fake)
    ws = await client.ws_connect("/v1/live", params={"assist": "fake"}, headers=env.auth())
    await ws.receive_json()
    await ws.send_json({"type": "final", "segment_id": "a", "text": f"I am {NAME}"})
    await _until(ws, lambda m: m["type"] == "final")
    await asyncio.sleep(0.05)
    await client.app.shutdown()  # the answer to the final is on its way: it is waited for
    assert (await ws.receive_json(timeout=5))["type"] == "suggestion"
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.CLOSE and msg.data == 1001 and msg.extra == "going away"


async def test_the_last_final_is_forwarded_after_the_caller_left(
        aiohttp_server: Any, make_client: MakeClient, env: Env) -> None:
    fake = FakeAssist()
    fake.delay_s = 0.2
    client = await _start(aiohttp_server, make_client, env, fake, forward_partials=True)
    ws = await client.ws_connect("/v1/live", params={"assist": "fake"}, headers=env.auth())
    await ws.receive_json()
    for i in range(3):
        await ws.send_json({"type": "final", "segment_id": f"s{i}", "text": "bye now"})
    await _until(ws, lambda m: m["type"] == "final" and m["segment_id"] == "s2")
    await ws.close()  # three forwards still queued or on their way
    for _ in range(50):
        if len(fake.seen) == 3:
            break
        await asyncio.sleep(0.05)
    assert [d["segment_id"] for d in fake.seen] == ["s0", "s1", "s2"]


@pytest.mark.parametrize(("assist", "where"), [
    ({"x": {"url": "ftp://assist.example.com"}}, "live.assist.x.url"),
    ({"bad name!": {"url": "https://assist.example.com"}}, "live.assist"),
    ({"x": {"url": "https://a.example.com", "timeout_s": 0}}, "live.assist.x.timeout_s"),
    ({"x": {"url": "https://a.example.com", "retries": 9}}, "live.assist.x.retries"),
    ({"x": {"url": "https://a.example.com", "colour": "red"}}, "live.assist.x.colour"),
])
def test_assist_settings_are_checked(env: Env, assist: dict[str, Any], where: str) -> None:
    from redact_gw.errors import ConfigError
    write_config(env.root, {"live": {"assist": assist}})
    with pytest.raises(ConfigError) as exc:
        env.settings()
    assert where in str(exc.value)
    assert "api_key" not in str(exc.value)


async def test_suggestion_ids_are_bounded_and_scanned(aiohttp_server: Any,
                                                      make_client: MakeClient,
                                                      env: Env) -> None:
    fake = FakeAssist(reply=lambda doc: [
        {"text": "a", "id": "4111111111111111"}, {"text": "b", "id": "ok-1"},
        {"text": "c", "segment_id": "never-sent"}])
    client = await _start(aiohttp_server, make_client, env, fake, path="/v1/assist/ws",
                          scheme="ws")
    ws = await client.ws_connect("/v1/live", params={"assist": "fake"}, headers=env.auth())
    await ws.receive_json()
    await ws.send_json({"type": "final", "segment_id": "s1", "text": "hello"})
    got = await _until(ws, lambda m: m["type"] == "suggestion" and m["text"] == "c")
    sugg = [m for m in got if m["type"] == "suggestion"]
    assert sugg[0] == {"type": "suggestion", "segment_id": "s1", "text": "a"}  # id dropped
    assert sugg[1]["id"] == "ok-1"
    assert "segment_id" not in sugg[2] or sugg[2]["segment_id"] is None
    await ws.close()


async def test_assist_with_a_vendor_format_gets_the_gateways_own_messages(
        aiohttp_server: Any, make_client: MakeClient, env: Env) -> None:
    """A caller speaking Deepgram's messages: the assist service still gets the gateway's
    own final (tokens only), and the suggestion comes back on the session."""
    from tests.asr_formats import vendors as v
    fake = FakeAssist()
    client = await _start(aiohttp_server, make_client, env, fake)
    ws = await client.ws_connect("/v1/live", params={"assist": "fake", "format": "deepgram"},
                                 headers=env.auth())
    await ws.receive_json()
    words = f"hi this is {NAME} my card is {CARD} and mail {EMAIL} thanks".split()
    for k in range(2, len(words), 4):
        await ws.send_json(v.deepgram_live(words[:k], is_final=False))
    await ws.send_json(v.deepgram_live(words, is_final=True))
    got = await _until(ws, lambda m: m.get("type") == "suggestion")
    assert [d["type"] for d in fake.seen] == ["final"]
    assert len(TOKEN_RE.findall(fake.seen[0]["text"])) == 3
    assert not any(val in str(fake.seen) for val in RAW)
    assert not any(val in str(got[:-1]) for val in RAW)  # the caller's deepgram messages
    assert f"{NAME} my card is {CARD} and mail {EMAIL}" in got[-1]["text"]  # restored
    await ws.close()
