"""Console sessions live in the vault database: any replica accepts them, a revoked
key ends them on every replica, a tampered row opens nowhere, expired rows go."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from redact_gw.testing import FakeClock
from tests.conftest import Env, MakeClient


async def _sign_in(client: Any, env: Env, who: str) -> str:
    page = await client.get("/console/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert csrf is not None
    resp = await client.post("/console/signin", data={"csrf": csrf.group(1),
                                                      "api_key": env.keys[who]},
                             allow_redirects=False)
    assert resp.status == 303, await resp.text()
    sid: str = resp.cookies["rgw_console"].value
    return sid


async def _page(client: Any, sid: str, path: str = "/console/queue") -> Any:
    return await client.get(path, cookies={"rgw_console": sid}, allow_redirects=False)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_a_session_opened_on_one_replica_works_on_another(
        make_client: MakeClient, env: Env) -> None:
    one, two = await make_client(), await make_client()  # same vault, two processes' state
    sid = await _sign_in(one, env, "admin")
    page = await _page(two, sid)
    assert page.status == 200 and "Queue" in await page.text()
    # the CSRF secret is the session's, whichever replica renders the form
    csrf = _csrf(await (await _page(one, sid, "/console/keys")).text())
    assert csrf == _csrf(await (await _page(two, sid, "/console/keys")).text())
    # the database holds neither the cookie's value nor the CSRF secret in clear
    dump = "\n".join(sqlite3.connect(env.root / "vault.db").iterdump())
    assert "console_sessions" in dump
    assert sid not in dump and csrf not in dump and env.keys["admin"] not in dump
    # signing out on replica two ends it on replica one
    out = await two.post("/console/signout", data={"csrf": csrf},
                         cookies={"rgw_console": sid}, allow_redirects=False)
    assert out.status == 303
    assert (await _page(one, sid)).status == 303


async def test_revoking_a_key_ends_its_sessions_on_every_replica(
        make_client: MakeClient, env: Env) -> None:
    one, two = await make_client(), await make_client()
    victim = await _sign_in(two, env, "supervisor")
    assert (await _page(one, victim)).status == 200
    admin = await _sign_in(one, env, "admin")
    csrf = _csrf(await (await _page(one, admin, "/console/keys")).text())
    resp = await one.post("/console/keys", data={"csrf": csrf, "action": "revoke",
                                                 "name": "supervisor"},
                          cookies={"rgw_console": admin})
    assert resp.status == 200 and "Revoked supervisor" in await resp.text()
    for replica in (one, two):
        assert (await _page(replica, victim)).status == 303
    rows = sqlite3.connect(env.root / "vault.db").execute(
        "SELECT principal FROM console_sessions").fetchall()
    assert rows == [("admin",)]


async def test_a_tampered_or_expired_session_row_is_refused(
        make_client: MakeClient, env: Env, clock: FakeClock) -> None:
    client = await make_client()
    sid = await _sign_in(client, env, "supervisor")
    db = sqlite3.connect(env.root / "vault.db")
    # a database writer extends the session or moves it to the admin: it opens nowhere
    for change in ("expires_at = expires_at + 86400", "principal = 'admin'"):
        db.execute(f"UPDATE console_sessions SET {change}")
        db.commit()
        assert (await _page(client, sid)).status == 303
        assert db.execute("SELECT count(*) FROM console_sessions").fetchone()[0] == 0
        sid = await _sign_in(client, env, "supervisor")  # a fresh row for the next round
        assert (await _page(client, sid)).status == 200
    # expired rows are deleted at the next sign-in
    clock.advance(15 * 60 + 1)
    assert (await _page(client, sid)).status == 303
    await _sign_in(client, env, "admin")
    assert [r[0] for r in db.execute("SELECT principal FROM console_sessions")] == ["admin"]


async def test_sessions_on_postgresql_are_shared_revoked_and_purged(
        make_client: MakeClient, env: Env, clock: FakeClock) -> None:
    from tests.conftest import write_config
    from tests.pg import fresh_schema, schema_dsn
    async with fresh_schema() as schema:
        write_config(env.root, {"vault": {"url": schema_dsn(schema)}})
        one = await make_client(settings=env.settings())
        two = await make_client(settings=env.settings())
        sid = await _sign_in(one, env, "supervisor")
        assert (await _page(two, sid)).status == 200
        admin = await _sign_in(two, env, "admin")
        csrf = _csrf(await (await _page(two, admin, "/console/keys")).text())
        resp = await two.post("/console/keys", data={"csrf": csrf, "action": "revoke",
                                                     "name": "supervisor"},
                              cookies={"rgw_console": admin})
        assert resp.status == 200
        assert (await _page(one, sid)).status == 303
        assert (await _page(one, admin)).status == 200
        clock.advance(15 * 60 + 1)
        assert (await _page(one, admin)).status == 303
        from redact_gw.console.sessions import SESSIONS
        await _sign_in(one, env, "compliance")
        assert await one.app[SESSIONS].end_principal("acme", "compliance") == 1
        for client in (one, two):
            await client.close()
