"""Console sessions and headers without a browser (fast): expiry, sign-out, headers."""

from __future__ import annotations

import re
from typing import Any

from redact_gw.testing import FakeClock
from tests.conftest import Env, MakeClient


async def _sign_in(client: Any, env: Env, who: str) -> Any:
    page = await client.get("/console/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert csrf is not None
    return await client.post("/console/signin", data={"csrf": csrf.group(1),
                                                      "api_key": env.keys[who]},
                             allow_redirects=False)


async def test_session_expires_and_sign_out_ends_it(make_client: MakeClient, env: Env,
                                                    clock: FakeClock) -> None:
    client = await make_client()
    home = await client.get("/console", allow_redirects=False)
    assert home.headers["Location"] == "/console/signin"
    resp = await _sign_in(client, env, "supervisor")
    assert resp.status == 303 and resp.headers["Location"] == "/console/queue"
    cookie = resp.cookies["rgw_console"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    assert cookie["path"] == "/console"
    home = await client.get("/console", allow_redirects=False)
    assert home.headers["Location"] == "/console/queue"
    queue = await client.get("/console/queue", allow_redirects=False)
    assert queue.status == 200
    assert "script-src 'self'" in queue.headers["Content-Security-Policy"]
    assert queue.headers["Cache-Control"] == "no-store"
    clock.advance(15 * 60 + 1)
    expired = await client.get("/console/queue", allow_redirects=False)
    assert expired.status == 303 and expired.headers["Location"] == "/console/signin"
    await _sign_in(client, env, "supervisor")
    page = await client.get("/console/queue")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert csrf is not None
    out = await client.post("/console/signout", data={"csrf": csrf.group(1)},
                            allow_redirects=False)
    assert out.status == 303
    again = await client.get("/console/queue", allow_redirects=False)
    assert again.status == 303


async def test_sign_in_needs_the_form_token_and_a_known_key(make_client: MakeClient,
                                                            env: Env) -> None:
    client = await make_client()
    resp = await client.post("/console/signin", data={"csrf": "x",
                                                      "api_key": env.keys["admin"]})
    assert resp.status == 403 and "rgw_console" not in resp.cookies
    page = await client.get("/console/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert csrf is not None
    resp = await client.post("/console/signin", data={"csrf": csrf.group(1),
                                                      "api_key": "rgw_nope"})
    assert resp.status == 401 and "Unknown API key" in await resp.text()
    # the API's bearer keys do not open console pages, and console cookies no API route
    api = await client.get("/console/queue", headers=env.auth("admin"),
                           allow_redirects=False)
    assert api.status == 303


async def test_a_failing_queue_never_fails_the_request(make_client: MakeClient,
                                                       env: Env) -> None:
    from tests.review.test_review_api import review_settings
    client = await make_client(settings=review_settings(env))
    from redact_gw.review.api import REVIEW
    store = client.server.app[REVIEW].store

    async def broken(*_a: Any, **_k: Any) -> bool:
        from redact_gw.errors import VaultUnavailable
        raise VaultUnavailable()
    store.add_review_item = broken  # type: ignore[method-assign]
    resp = await client.post("/v1/redact", json={"text": "John Smith"},
                             headers=env.auth("ai"))
    assert resp.status == 200
    assert (await resp.json())["text"].startswith("[[PERSON:")
    metrics = await (await client.get("/metrics")).text()
    assert 'redact_gw_review_skipped_total{cause="error"} 1.0' in metrics
