"""Nothing blocks the event loop, and file changes apply without a restart."""

from __future__ import annotations

import asyncio

from blockbuster import blockbuster_ctx

from redact_gw.crypto.keyring import add_primary
from redact_gw.policy.principals import create_api_key
from redact_gw.proxy import appkeys
from tests.conftest import MakeGateway

TEXT = "This is John Smith, 212-555-0123, john.smith@gmail.com"


async def test_request_paths_never_block_the_loop(make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    auth = gw.env.auth()
    chat = {"model": "m", "messages": [{"role": "user", "content": TEXT}]}
    with blockbuster_ctx():
        r = await gw.client.post("/v1/redact", json={"text": TEXT, "record_id": "r1"},
                                 headers=auth)
        assert r.status == 200
        token = (await r.json())["entities"][0]["token"]
        for stream in (False, True):
            r = await gw.client.post("/v1/chat/completions", json={**chat, "stream": stream},
                                     headers={**auth, "X-Record-Id": "r1"})
            assert r.status == 200 and "John Smith" in await r.text()
        r = await gw.client.post("/v1/detokenize", headers=gw.env.auth("admin"), json={
            "record_id": "r1", "tokens": [token], "purpose": "legal_request"})
        assert r.status == 200
        await asyncio.sleep(0.5)  # let the file watcher run (in a worker thread)
        assert (await gw.client.get("/readyz")).status == 200


async def test_rotated_keys_and_new_api_keys_apply_without_restart(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    keys = gw.client.app[appkeys.KEYS]
    ring = add_primary(gw.env.root / "keys.yaml")
    new_key = create_api_key(gw.env.root / "principals.yaml", "late", "acme", ["ai-service"])
    for _ in range(100):
        if keys.current().primary_kid == ring.primary_kid:
            r = await gw.client.post("/v1/redact", json={"text": TEXT},
                                     headers={"Authorization": f"Bearer {new_key}"})
            if r.status == 200:
                break
        await asyncio.sleep(0.05)
    assert keys.current().primary_kid == ring.primary_kid
    assert r.status == 200
    record = await gw.client.app[appkeys.STORE].get_record("acme", (await r.json())[
        "record_id"])
    assert record.kek_id == ring.primary_kid
