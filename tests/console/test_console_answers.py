"""The item page shows a proxied call's answer, tokenized and explained, and takes a
"missed" verdict on it (no browser: the console's HTML over HTTP)."""

from __future__ import annotations

import html
import logging
import re
from typing import Any

import pytest

from redact_gw.demo import completion
from tests.conftest import MakeGateway

PLANTED = ("John Smith", "zed@example.org", "Quuxley Zedson")


async def _signed_in(gw: Any, who: str) -> str:
    page = await gw.client.get("/console/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert csrf is not None
    resp = await gw.client.post("/console/signin", data={
        "csrf": csrf.group(1), "api_key": gw.env.keys[who]}, allow_redirects=False)
    assert resp.status == 303
    sid: str = resp.cookies["rgw_console"].value
    return sid


async def test_item_page_shows_the_answer_and_seals_a_value_missed_in_it(
        make_gateway: MakeGateway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    gw = await make_gateway(config={"review": {"default": {"random_rate": 1.0}}})
    gw.fake.then(json_body=completion("John Smith: mail zed@example.org or ask Quuxley"
                                      " Zedson."))
    await gw.openai().chat.completions.create(model="m", messages=[
        {"role": "user", "content": "I am John Smith."}])
    sid = await _signed_in(gw, "admin")
    item = (await (await gw.client.get("/v1/review/items", headers=gw.env.auth(
        "admin"))).json())["items"][0]
    page = await gw.client.get(f"/console/items/{item['item_id']}",
                               cookies={"rgw_console": sid})
    body = html.unescape(await page.text())
    assert page.status == 200 and "What the AI service answered" in body
    assert "the AI service's own value" in body and "the caller's value" in body
    assert "sent, messages[0].content" in body  # where in the request a token was
    assert '<option value="answer">the answer</option>' in body
    assert "John Smith" not in body and "zed@example.org" not in body
    assert "Quuxley Zedson" in body  # missed by the detector: the reviewer's job
    csrf = re.search(r'name="csrf" value="([^"]+)"', body)
    assert csrf is not None
    resp = await gw.client.post(f"/console/items/{item['item_id']}/verdict", data={
        "csrf": csrf.group(1), "verdict": "missed", "segment": "answer",
        "text": "Quuxley Zedson", "entity_type": "PERSON"}, cookies={"rgw_console": sid})
    assert resp.status == 200  # redirected on (to the queue: nothing else open)
    copy = await (await gw.client.get(f"/v1/review/items/{item['item_id']}",
                                      headers=gw.env.auth("admin"))).json()
    assert "Quuxley Zedson" not in copy["answer"]
    assert re.search(r"or ask \[\[PERSON:[^\]]+\]\]\.$", copy["answer"]), copy["answer"]
    # the planted values are nowhere in clear: database, metrics, logs
    raw = b"".join(p.read_bytes() for p in gw.env.root.glob("vault.db*"))
    metrics = await (await gw.client.get("/metrics")).text()
    logs = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    for value in PLANTED:
        assert value.encode() not in raw, value
        assert value not in metrics and value not in logs, value
