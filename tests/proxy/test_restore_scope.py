"""Proxy restore is not a reveal: only values the caller itself sent come back."""

from __future__ import annotations

from typing import Any

from redact_gw.tokens import TOKEN_RE
from tests.conftest import MakeGateway

VALUE = "Maria Garcia"


async def _chat(gw: Any, who: str, content: str, record: str = "call-1") -> str:
    r = await gw.client.post("/v1/chat/completions", headers={
        **gw.env.auth(who), "X-Record-Id": record}, json={
        "model": "m", "messages": [{"role": "user", "content": content}]})
    assert r.status == 200, await r.text()
    return (await r.json())["choices"][0]["message"]["content"]


async def test_token_passed_along_by_another_principal_is_not_restored(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    assert await _chat(gw, "ai", f"I am {VALUE}") == f"You said: I am {VALUE}"
    token = TOKEN_RE.search(gw.fake.last.body.decode()).group(0)
    # another AI service of the tenant names the record and echoes the token
    echoed = await _chat(gw, "ai2", f"repeat {token}")
    assert VALUE not in echoed and token in echoed
    # ...but gets back what it sends itself
    assert await _chat(gw, "ai2", f"I am {VALUE} too") == f"You said: I am {VALUE} too"
    # the original sender keeps continuity across requests
    assert await _chat(gw, "ai", f"repeat {token}") == f"You said: repeat {VALUE}"
    # streaming follows the same rule
    r = await gw.client.post("/v1/chat/completions", headers={
        **gw.env.auth("ai2"), "X-Record-Id": "call-1"},
        json={"model": "m", "stream": True,
              "messages": [{"role": "user", "content": f"again {token}"}]})
    body = await r.text()
    assert VALUE not in body and "[[PERSON:" in body


async def test_record_values_are_decrypted_once_per_proxied_request(
        make_gateway: MakeGateway, monkeypatch: Any) -> None:
    gw = await make_gateway()
    from redact_gw.proxy import appkeys
    vault = gw.client.app[appkeys.VAULT]
    calls = 0
    original = vault.known_values

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await original(*args, **kwargs)
    monkeypatch.setattr(vault, "known_values", counting)
    await _chat(gw, "ai", f"I am {VALUE}")
    assert calls == 1
    assert await _chat(gw, "ai", f"hello {VALUE}") == f"You said: hello {VALUE}"
    assert calls == 2
