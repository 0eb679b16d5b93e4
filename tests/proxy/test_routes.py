"""Generic JSON routes from config, and one end-to-end run with the real detector."""

from __future__ import annotations

from typing import Any

import pytest

from redact_gw.errors import ConfigError
from redact_gw.settings import load_settings
from redact_gw.tokens import TOKEN_RE
from tests.conftest import MakeGateway


def _route(url: str, **extra: Any) -> dict[str, Any]:
    return {"path": "/qa/score", "upstream_url": url, "methods": ["POST"],
            "tokenize": ["$.turns[*].text"], "restore": ["$.summary"], **extra}


async def test_generic_route_tokenizes_selected_fields_and_restores_selected(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway()
    url = str(gw.upstream_server.make_url("/score"))
    gw = await make_gateway(config={"routes": [_route(url)]}, fake=gw.fake)
    doc = {"call_id": "c-1", "turns": [{"speaker": "customer",
                                        "text": "I am John Smith, 212-555-0123"}]}
    headers = {**gw.env.auth(), "X-Record-Id": "qa-1"}
    resp = await gw.client.post("/qa/score", json=doc, headers=headers)
    assert resp.status == 200  # echo fake answers with a completion
    got = gw.fake.last
    assert got.request_line == "POST /score HTTP/1.1"
    sent = got.json()
    assert sent["call_id"] == "c-1" and "John Smith" not in got.body.decode()
    text = sent["turns"][0]["text"]
    tokens = [m.group(0) for m in TOKEN_RE.finditer(text)]
    gw.fake.then(json_body={"summary": f"{tokens[0]} called from {tokens[1]}",
                            "notes": f"{tokens[0]} also bob@evil.com", "score": 0.9})
    resp = await gw.client.post("/qa/score", json=doc, headers=headers)
    body = await resp.json()
    assert body["summary"] == "John Smith called from 212-555-0123"
    assert body["notes"].startswith(tokens[0]) and "bob@evil.com" not in body["notes"]
    assert body["score"] == 0.9


def test_route_config_is_validated(tmp_path: Any) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("routes: [{path: /x, upstream_url: http://u/x, tokenize: ['turns']}]")
    with pytest.raises(ConfigError, match=r"routes\.0\.tokenize"):
        load_settings(cfg, {})
    cfg.write_text("routes: [{path: x, upstream_url: ftp://u}]")
    with pytest.raises(ConfigError, match=r"routes\.0\.path"):
        load_settings(cfg, {})
    cfg.write_text("proxy: {restore: {default: [phone]}}")
    with pytest.raises(ConfigError, match=r"proxy\.restore\.default"):
        load_settings(cfg, {})


@pytest.mark.slow
async def test_real_detector_end_to_end(make_gateway: MakeGateway, detector: Any) -> None:
    gw = await make_gateway(detector=detector)
    text = ("Hi, this is Maria Garcia. My email is maria.garcia@example.com and my phone "
            "is 415-555-0132. My card is 4111 1111 1111 1111 and my SSN is 078-05-1120.")
    client = gw.openai()
    answer = await client.chat.completions.create(model="m", messages=[
        {"role": "user", "content": text}])
    sent = gw.fake.last.body.decode()
    for value in ["Maria Garcia", "maria.garcia@example.com", "415-555-0132",
                  "4111 1111 1111 1111", "078-05-1120"]:
        assert value not in sent
    assert answer.choices[0].message.content == "You said: " + text
    stream = await client.chat.completions.create(model="m", stream=True, messages=[
        {"role": "user", "content": text}])
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(parts) == "You said: " + text
