"""``GET /v1/live``: opening, opt-outs, limits, shutdown, metrics (fast fake detector)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import WSMsgType, WSServerHandshakeError
from aiohttp.test_utils import TestClient

from redact_gw.live.handler import SESSIONS
from redact_gw.testing import FakeDetector, ScriptedDetector
from tests.conftest import Env, MakeClient
from tests.live.wsync import handled, send_each


async def _live(client: TestClient, env: Env, key: str = "ai", **query: str) -> Any:
    # pings wait for what was sent before them (``wsync.handled``)
    return await client.ws_connect("/v1/live", params=query, headers=env.auth(key),
                                   autoping=False)


def _settings(env: Env, **live: Any) -> Any:
    from tests.conftest import write_config
    write_config(env.root, {"live": live})
    return env.settings()


def _shown(msgs: list[dict[str, Any]], segment_id: str) -> str:
    """What a client shows for a segment after applying every message in order."""
    text = ""
    for m in msgs:
        if m.get("segment_id") == segment_id and m["type"] in ("partial", "final"):
            assert 0 <= m["offset"] <= len(text)
            text = text[:m["offset"]] + m["text"]
    return text


async def test_partials_grow_and_final_tokenizes(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    ws = await _live(client, env, record_id="call-1", subject_id="cust-1", channel="voice")
    opened = await ws.receive_json()
    assert opened == {"type": "opened", "record_id": "call-1", "no_retention": False}
    msgs = await send_each(ws, [
        {"type": "partial", "segment_id": "s1", "speaker": "customer", "text": text,
         "start": 0.5, "end": 2.0}
        for text in ["hello", "hello this is", "hello this is John Smith",
                     "hello this is John Smith speaking today"]])
    msgs += await send_each(ws, [{"type": "final", "segment_id": "s1", "speaker": "customer",
                                  "text": "hello this is John Smith speaking today",
                                  "end": 2.4}])
    assert msgs[-1]["type"] == "final"
    for m in msgs:
        assert "John" not in m["text"] and "Smith" not in m["text"]
    partial_view = _shown(msgs[:-1], "s1")
    assert partial_view == "hello this is [[PERSON]] speaking "  # "today" may still grow
    final = _shown(msgs, "s1")
    assert final.startswith("hello this is [[PERSON:") and final.endswith("]] speaking today")
    assert msgs[-1]["end"] == 2.4 and msgs[-1]["start"] == 0.5
    # the final replaced only the mask onwards, and said so
    assert msgs[-1]["offset"] == len("hello this is ")
    await ws.close()


async def test_live_metrics_use_fixed_label_values(make_client: MakeClient,
                                                   env: Env) -> None:
    from tests.test_metrics import allowed_label_values, check_labels
    client = await make_client()
    ws = await _live(client, env, record_id="call-secret-5", subject_id="cust-secret-5")
    await ws.receive_json()
    await send_each(ws, [{"type": "partial", "segment_id": "seg-secret", "text": text}
                         for text in ["hi John Smith here", "hi Jon Smith here ok", "bad"]])
    await ws.send_json({"type": "final", "segment_id": "seg-secret",
                        "text": "hi John Smith here ok"})
    await ws.send_str("{")
    while (await ws.receive_json(timeout=5))["type"] != "error":
        pass
    await ws.close()
    await asyncio.sleep(0.05)
    exposition = await (await client.get("/metrics")).text()
    assert check_labels(exposition, allowed_label_values(client.app)) > 0
    for planted in ("secret", "John", "Smith"):
        assert planted not in exposition
    assert 'redact_gw_live_messages_total{direction="in",kind="partial"} 3.0' in exposition
    assert 'redact_gw_live_revisions_total{kind="partial"} 1.0' in exposition
    assert 'redact_gw_live_sessions_closed_total{reason="normal"} 1.0' in exposition
    assert "redact_gw_live_holdback_seconds_count" in exposition
    assert "redact_gw_live_sessions 0.0" in exposition


async def test_revision_says_what_it_replaces(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    ws = await _live(client, env)
    await ws.receive_json()
    got = await send_each(ws, [{"type": "partial", "segment_id": "a", "text": text}
                               for text in ["we want to by a new", "we want to by a new plan",
                                            "we want to buy a new plan today"]])
    assert len(got) == 3
    assert got[0]["text"] == "we want to by "  # "a" may be a spelled letter: held
    assert got[1]["offset"] == len("we want to by ")  # appended
    assert got[2]["offset"] == len("we want to b")  # "by" was revised to "buy"
    assert _shown(got, "a") == "we want to buy a new plan "
    await ws.close()


async def test_held_value_is_masked_after_the_bound(make_client: MakeClient,
                                                    env: Env) -> None:
    client = await make_client(settings=_settings(env, max_hold_s=0.2))
    ws = await _live(client, env)
    await ws.receive_json()
    await ws.send_json({"type": "partial", "segment_id": "a",
                        "text": "my number is 555 867"})
    first = await ws.receive_json(timeout=5)
    assert first["text"] == "my number is " and first["held"]
    late = await ws.receive_json(timeout=2)  # nothing new came: the bound flushes a mask
    assert late["offset"] == len("my number is ") and late["text"] == "[[PENDING]]"
    await ws.send_json({"type": "final", "segment_id": "a",
                        "text": "my number is 555 867 5309"})
    final = await ws.receive_json(timeout=5)
    assert final["type"] == "final" and final["offset"] == len("my number is ")
    assert final["text"].startswith("[[PHONE_NUMBER:")
    await ws.close()


async def test_opted_out_subject_is_closed_with_4451(make_client: MakeClient,
                                                     env: Env) -> None:
    det = FakeDetector()
    client = await make_client(det)
    r = await client.put("/v1/subjects/cust-9/opt-out", json={"no_ai_processing": True},
                         headers=env.auth("admin"))
    assert r.status == 200, await r.text()
    ws = await _live(client, env, subject_id="cust-9")
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.CLOSE
    assert ws.close_code == 4451 and msg.extra == "subject_opted_out"
    assert det.calls == 0  # nothing was processed
    metrics = await (await client.get("/metrics")).text()
    assert 'redact_gw_live_sessions_closed_total{reason="opted_out"} 1.0' in metrics


async def test_no_retention_subject_is_told(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    await client.put("/v1/subjects/cust-8/opt-out", json={"no_retention": True},
                     headers=env.auth("admin"))
    ws = await _live(client, env, subject_id="cust-8", record_id="r8")
    assert (await ws.receive_json())["no_retention"] is True
    await ws.send_json({"type": "final", "segment_id": "x", "text": "mail a@b.com"})
    final = await ws.receive_json(timeout=5)
    assert "a@b.com" not in final["text"] and "[[EMAIL_ADDRESS:" in final["text"]
    await ws.close()


async def test_auth_and_parameters_are_checked_before_the_upgrade(
        make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    with pytest.raises(WSServerHandshakeError) as exc:
        await client.ws_connect("/v1/live")
    assert exc.value.status == 401
    with pytest.raises(WSServerHandshakeError) as exc:
        await _live(client, env, record_id="bad id!")
    assert exc.value.status == 422
    with pytest.raises(WSServerHandshakeError) as exc:
        await _live(client, env, key="norole")
    assert exc.value.status == 403


async def test_sessions_per_principal(make_client: MakeClient, env: Env) -> None:
    client = await make_client(settings=_settings(env, max_sessions_per_principal=2))
    a, b = await _live(client, env), await _live(client, env)
    with pytest.raises(WSServerHandshakeError) as exc:
        await _live(client, env)
    assert exc.value.status == 429
    other = await _live(client, env, key="ai2")  # another principal is not affected
    assert (await other.receive_json())["type"] == "opened"
    await a.close()
    for _ in range(50):
        if len(client.app[SESSIONS].open) < 3:
            break
        await asyncio.sleep(0.02)
    c = await _live(client, env)
    assert (await c.receive_json())["type"] == "opened"
    for ws in (b, c, other):
        await ws.close()


async def test_tenant_session_limit_and_admission(make_client: MakeClient,
                                                  env: Env) -> None:
    from tests.conftest import write_config
    write_config(env.root, {"live": {"max_sessions_per_tenant": 1},
                            "admission": {"max_requests_per_principal": 1}})
    client = await make_client(settings=env.settings())
    a = await _live(client, env, key="ai")
    with pytest.raises(WSServerHandshakeError) as exc:
        await _live(client, env, key="ai2")  # same tenant, another key
    assert exc.value.status == 429
    other = await _live(client, env, key="other")  # another tenant
    assert (await other.receive_json())["type"] == "opened"
    # an open session holds no request slot: the same key still gets its requests done
    r = await client.post("/v1/redact", json={"text": "hi"}, headers=env.auth("ai"))
    assert r.status != 429, await r.text()
    for ws in (a, other):
        await ws.close()


async def test_message_rate_limit_closes_4429(make_client: MakeClient, env: Env) -> None:
    client = await make_client(settings=_settings(env, max_messages_per_s=5))
    ws = await _live(client, env)
    await ws.receive_json()
    for i in range(30):
        await ws.send_json({"type": "partial", "segment_id": "a", "text": f"word {i} "})
    while (msg := await ws.receive(timeout=5)).type != WSMsgType.CLOSE:
        pass
    assert ws.close_code == 4429 and msg.extra == "rate_limited"


async def test_segment_too_long_closes_4413(make_client: MakeClient, env: Env) -> None:
    client = await make_client(settings=_settings(env, max_segment_chars=50))
    ws = await _live(client, env)
    await ws.receive_json()
    await ws.send_json({"type": "partial", "segment_id": "a", "text": "x" * 51})
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.CLOSE and ws.close_code == 4413


async def test_idle_and_overall_timeouts(make_client: MakeClient, env: Env) -> None:
    client = await make_client(settings=_settings(env, idle_timeout_s=0.3))
    ws = await _live(client, env)
    await ws.receive_json()
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.CLOSE and ws.close_code == 4408
    client2 = await make_client(settings=_settings(env, max_session_s=0.4))
    ws = await _live(client2, env)
    await ws.receive_json()
    for _ in range(3):  # busy, never idle, until just before the session's end
        await ws.send_json({"type": "partial", "segment_id": "a", "text": "hello there"})
        await asyncio.sleep(0.1)
    while (msg := await ws.receive(timeout=5)).type != WSMsgType.CLOSE:
        pass
    assert ws.close_code == 4410 and msg.extra == "session_expired"


async def test_bad_messages_get_errors_and_session_goes_on(make_client: MakeClient,
                                                           env: Env) -> None:
    client = await make_client()
    ws = await _live(client, env)
    await ws.receive_json()
    await ws.send_str("not json John Smith")
    err = await ws.receive_json(timeout=5)
    assert err["type"] == "error" and err["error"]["code"] == "invalid_input"
    assert "John" not in str(err)
    await ws.send_json({"type": "partial", "segment_id": "a b", "text": "x"})
    err = await ws.receive_json(timeout=5)
    assert err["error"]["details"] == {"field": "segment_id"}
    await ws.send_json({"type": "final", "segment_id": "s", "text": "ok then"})
    assert await ws.receive_json(timeout=5) == {
        "type": "final", "segment_id": "s", "offset": 0, "text": "ok then", "start": None,
        "end": None, "held": False}
    await ws.send_json({"type": "partial", "segment_id": "s", "text": "late"})
    assert (await ws.receive_json(timeout=5))["error"]["code"] == "segment_final"
    await ws.close()


async def test_shutdown_finishes_the_final_then_closes_with_1001(
        make_client: MakeClient, env: Env) -> None:
    client = await make_client(ScriptedDetector())
    ws = await _live(client, env)
    await ws.receive_json()
    await ws.send_json({"type": "final", "segment_id": "s",
                        "text": "slow @@sleep=0.4 John Smith"})
    await asyncio.sleep(0.1)  # the final is in detection now
    await client.app.shutdown()
    final = await ws.receive_json(timeout=5)
    assert final["type"] == "final" and "John" not in final["text"]
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.CLOSE and ws.close_code == 1001


async def test_partials_are_detected_with_the_last_finals_only(make_client: MakeClient,
                                                               env: Env) -> None:
    class Recording(FakeDetector):
        sizes: list[int] = []

        def detect(self, segments: Any, known: Any = ()) -> Any:
            self.sizes.append(len(segments))
            return super().detect(segments, known)

    det = Recording()
    client = await make_client(det, settings=_settings(env, context_turns=3,
                                                       partial_context_turns=1))
    ws = await _live(client, env)
    await ws.receive_json()
    for i in range(4):
        got = await send_each(ws, [
            {"type": "partial", "segment_id": f"s{i}", "text": "ok so"},
            {"type": "final", "segment_id": f"s{i}", "text": "ok so then"}])
        assert [m["type"] for m in got] == ["partial", "final"]
    # partials: the last final at most, and the partial; finals: up to 3 finals before
    assert det.sizes == [1, 1, 2, 2, 2, 3, 2, 4]
    await ws.close()


async def test_a_partial_whose_detection_failed_is_never_shown_later(
        make_client: MakeClient, env: Env) -> None:
    client = await make_client(ScriptedDetector(), settings=_settings(env, max_hold_s=0.2))
    ws = await _live(client, env)
    await ws.receive_json()
    got = await send_each(ws, [
        {"type": "partial", "segment_id": "a", "text": "hello"},
        {"type": "partial", "segment_id": "a", "text": "hello there John Smith and @@fail"}])
    assert got[-1]["type"] == "error"
    await asyncio.sleep(0.4)  # past max_hold_s: the hold-back tick runs
    got += await handled(ws)
    assert got and all("John" not in str(m) and "there" not in str(m) for m in got), got
    await ws.close()
