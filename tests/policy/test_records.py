"""Issue 15, finding 6: who may read a record's metadata, and what of its opt-out."""

from __future__ import annotations

import pytest

from tests.conftest import Env, MakeClient


async def _setup(client: object, env: Env) -> None:
    r = await client.post("/v1/redact", json={  # type: ignore[attr-defined]
        "text": "I am John Smith", "record_id": "call-6", "subject_id": "cust-6",
        "channel": "voice"}, headers=env.auth("ai"))
    assert r.status == 200
    r = await client.put("/v1/subjects/cust-6/opt-out", json={  # type: ignore[attr-defined]
        "no_retention": False, "no_ai_processing": True, "reason": "widow, asked in tears"},
        headers=env.auth("admin"))
    assert r.status == 200


@pytest.mark.parametrize(("who", "status"), [("ai", 403), ("ai2", 403), ("norole", 403),
                                             ("agent", 200), ("supervisor", 200),
                                             ("compliance", 200), ("admin", 200)])
async def test_record_metadata_needs_a_record_role(make_client: MakeClient, env: Env,
                                                   who: str, status: int) -> None:
    client = await make_client()
    await _setup(client, env)
    r = await client.get("/v1/records/call-6", headers=env.auth(who))
    assert r.status == status
    if status != 200:
        assert (await r.json())["error"]["code"] == "forbidden"
        assert "cust-6" not in await r.text()
        return
    body = await r.json()
    assert body["channel"] == "voice" and body["opt_out"]["no_ai_processing"] is True
    if who == "admin":
        assert body["opt_out"]["reason"] == "widow, asked in tears"
        assert body["opt_out"]["set_by"] == "admin"
    else:
        assert "reason" not in body["opt_out"] and "set_by" not in body["opt_out"]
        assert "tears" not in await r.text()


@pytest.mark.parametrize("channel", ["x" * 60_000, "x" * 65, "voice\ncall", "", 5,
                                     ["chat"], "<script>"])
async def test_channel_is_bounded_and_checked(make_client: MakeClient, env: Env,
                                              channel: object) -> None:
    client = await make_client()
    r = await client.post("/v1/redact", json={"text": "I am John Smith", "record_id": "c-1",
                                              "channel": channel}, headers=env.auth("ai"))
    assert r.status == 422
    err = (await r.json())["error"]
    assert err["code"] == "invalid_input" and err["details"]["field"] == "channel"
    r = await client.get("/v1/records/c-1", headers=env.auth("admin"))
    assert r.status == 404  # nothing was stored
