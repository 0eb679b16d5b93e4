"""Phased rollout: a previewed detection change applied to one route or tenant, live,
widened or rolled back; signed rows (a tampered one fails closed); audited."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from typing import Any

import pytest

from redact_gw.demo import completion
from redact_gw.detection import Detector
from redact_gw.detection.scoped import Override, detector_for
from redact_gw.model import Segment
from redact_gw.review.replay import parse
from redact_gw.review.rollout import from_doc, loosens, stricter_part, to_doc
from redact_gw.review.rollout_api import ROLLOUT
from redact_gw.settings import DetectionSettings
from redact_gw.testing import ThresholdDetector
from tests.conftest import MakeGateway

TEXT = "John Smith moved to Quahog."  # Quahog: a LOCATION guess scored 0.35 (< 0.4)
LOWER = {"thresholds": {"LOCATION": 0.3}}


async def _gateway(make_gateway: MakeGateway, **kwargs: Any) -> Any:
    return await make_gateway(detector=ThresholdDetector(DetectionSettings()), **kwargs)


async def _types(gw: Any, path: str = "/v1/redact", text: str = TEXT) -> list[str]:
    """Entity types tokenized in ``text`` through ``/v1/redact`` or a proxied chat."""
    if path == "/v1/redact":
        resp = await gw.client.post(path, headers=gw.env.auth("ai"), json={"text": text})
        assert resp.status == 200, await resp.text()
        return sorted(e["entity_type"] for e in (await resp.json())["entities"])
    gw.fake.then(json_body=completion("ok"))
    await gw.openai().chat.completions.create(model="m", messages=[
        {"role": "user", "content": text}])
    sent = json.loads(gw.fake.received[-1].body)["messages"][0]["content"]
    return sorted(t for t, name in (("LOCATION", "Quahog"), ("PERSON", "John Smith"))
                  if name not in sent)


async def _post(gw: Any, path: str, body: dict[str, Any], who: str = "admin") -> Any:
    return await gw.client.post(path, headers=gw.env.auth(who), json=body)


async def _events(gw: Any) -> list[dict[str, Any]]:
    resp = await gw.client.get("/v1/audit?action=review.rollout",
                               headers=gw.env.auth("admin"))
    events: list[dict[str, Any]] = (await resp.json())["events"]
    return events


async def test_a_lowered_threshold_applies_to_its_route_only_until_rolled_back(
        make_gateway: MakeGateway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    gw = await _gateway(make_gateway)
    assert await _types(gw) == ["PERSON"]
    # a reviewer may apply a change that only catches more (no preview needed)
    resp = await _post(gw, "/v1/review/rollout", {**LOWER, "scopes": ["/v1/redact"]},
                       who="supervisor")
    assert resp.status == 200, await resp.text()
    assert [(a["scope"], a["known_route"]) for a in (await resp.json())["applied"]] == [
        ("/v1/redact", True)]
    assert await _types(gw) == ["LOCATION", "PERSON"]  # caught on the route, live
    assert await _types(gw, "/v1/chat/completions") == ["PERSON"]  # not elsewhere
    # widen to the whole tenant: the chat route catches it too
    assert (await _post(gw, "/v1/review/rollout", {**LOWER, "scopes": ["*"]})).status == 200
    assert await _types(gw, "/v1/chat/completions") == ["LOCATION", "PERSON"]
    listed = (await (await gw.client.get("/v1/review/rollout",
                                         headers=gw.env.auth("admin"))).json())["overrides"]
    assert [(o["scope"], o["thresholds"], o["verified"]) for o in listed] == [
        ("*", {"LOCATION": 0.3}, True), ("/v1/redact", {"LOCATION": 0.3}, True)]
    # rolling back a change that catches more is loosening: admins only
    deny = await _post(gw, "/v1/review/rollout/rollback", {"scope": "*"}, who="supervisor")
    assert deny.status == 403
    for scope in ("*", "/v1/redact"):
        resp = await _post(gw, "/v1/review/rollout/rollback", {"scope": scope})
        assert resp.status == 200, await resp.text()
    assert await _types(gw) == ["PERSON"]
    assert await _types(gw, "/v1/chat/completions") == ["PERSON"]
    extra = await _post(gw, "/v1/review/rollout/rollback", {"scope": "*", "x": 1})
    assert extra.status == 422
    again = await _post(gw, "/v1/review/rollout/rollback", {"scope": "*"})
    assert again.status == 404
    assert (await again.json())["error"]["code"] == "override_not_found"
    events = await _events(gw)
    assert sorted((e["outcome"], e["principal"], list(e["scope"])) for e in events) == [
        ("applied", "admin", ["*"]), ("applied", "supervisor", ["/v1/redact"]),
        ("rolled_back", "admin", ["*"]), ("rolled_back", "admin", ["/v1/redact"])]
    assert all(e["thresholds_permille"] == {"LOCATION": 300} for e in events)
    logs = caplog.text + json.dumps(events)
    assert "Quahog" not in logs and "John" not in logs


async def test_loosening_needs_an_admin_and_a_recent_preview(
        make_gateway: MakeGateway) -> None:
    gw = await _gateway(make_gateway, config={"review": {"default": {"random_rate": 1.0}}})
    await _types(gw)  # one item in the review sample
    off = {"entities": {"PERSON": "disable"}}
    body = {**off, "scopes": ["/v1/redact"]}
    assert (await _post(gw, "/v1/review/rollout", body, who="supervisor")).status == 403
    resp = await _post(gw, "/v1/review/rollout", body)
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "preview_required"
    # a preview of other settings does not count; the same settings (any route) do
    await _post(gw, "/v1/review/preview/detection", {"entities": {"EMAIL_ADDRESS":
                                                                  "disable"}})
    assert (await _post(gw, "/v1/review/rollout", body)).status == 403
    assert (await _post(gw, "/v1/review/preview/detection", off)).status == 200
    resp = await _post(gw, "/v1/review/rollout", body)
    assert resp.status == 200, await resp.text()
    assert await _types(gw) == []  # PERSON disabled on this route
    assert await _types(gw, "/v1/chat/completions") == ["PERSON"]
    # the preview expires (review.rollout_preview_h, 24 h by default)
    gw.client.app[ROLLOUT].clock.advance(25 * 3600)
    wider = await _post(gw, "/v1/review/rollout", {**off, "scopes": ["*"]})
    assert (await wider.json())["error"]["code"] == "preview_required"
    # enabling a type the detector does not run is a config change, not a scope's
    resp = await _post(gw, "/v1/review/rollout", {"entities": {"URL": "enable"},
                                                  "scopes": ["*"]})
    assert resp.status == 422
    for scopes in (["chat"], ["/v1/ nowhere"], []):
        assert (await _post(gw, "/v1/review/rollout", {**LOWER, "scopes": scopes})
                ).status == 422
    typo = await _post(gw, "/v1/review/rollout", {**LOWER, "scopes": ["/v1/redcat"]})
    assert [a["known_route"] for a in (await typo.json())["applied"]] == [False]
    assert (await _post(gw, "/v1/review/rollout", LOWER)).status == 422
    assert (await _post(gw, "/v1/review/rollout", {**LOWER, "scopes": ["*"]},
                        who="ai")).status == 403


async def test_a_tampered_override_fails_closed(make_gateway: MakeGateway,
                                                caplog: pytest.LogCaptureFixture) -> None:
    gw = await _gateway(make_gateway)
    assert (await _post(gw, "/v1/review/rollout", {**LOWER, "scopes": ["/v1/redact"]})
            ).status == 200
    # a database writer without the key file tries to stop PERSON detection there
    db = sqlite3.connect(gw.env.root / "vault.db")
    with db:
        db.execute("UPDATE policy_overrides SET doc=?", (to_doc(Override.of(
            {"LOCATION": 0.3, "PERSON": 0.99}, None, {"EMAIL_ADDRESS"})),))
    db.close()
    caplog.set_level(logging.ERROR)
    await gw.client.app[ROLLOUT].refresh()
    # only what the row lowers applies: PERSON stays caught, the lowered LOCATION too
    assert await _types(gw) == ["LOCATION", "PERSON"]
    assert "failed verification" in caplog.text and "Quahog" not in caplog.text
    metrics = await (await gw.client.get("/metrics")).text()
    assert "redact_gw_policy_override_invalid_total 1.0" in metrics
    listed = (await (await gw.client.get("/v1/review/rollout",
                                         headers=gw.env.auth("admin"))).json())["overrides"]
    assert [o["verified"] for o in listed] == [False]
    # a row moved to another scope fails too: the MAC binds tenant and scope
    db = sqlite3.connect(gw.env.root / "vault.db")
    with db:
        db.execute("UPDATE policy_overrides SET doc=?, scope='*'",
                   (to_doc(Override.of({"LOCATION": 0.3}, None, set())),))
    db.close()
    await gw.client.app[ROLLOUT].refresh()
    assert [o["verified"] for o in (await (await gw.client.get(
        "/v1/review/rollout", headers=gw.env.auth("admin"))).json())["overrides"]] == [False]


async def test_overrides_reach_detection_worker_processes(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(worker_factory="redact_gw.testing:ThresholdDetector",
                            config={"detection": {"workers": 1}})
    deadline = time.monotonic() + 30
    while (await gw.client.get("/readyz")).status != 200:
        assert time.monotonic() < deadline, "workers never warmed"
        await asyncio.sleep(0.05)
    assert await _types(gw) == ["PERSON"]
    assert (await _post(gw, "/v1/review/rollout", {**LOWER, "scopes": ["/v1/redact"]})
            ).status == 200
    assert await _types(gw) == ["LOCATION", "PERSON"]
    assert await _types(gw, "/v1/chat/completions") == ["PERSON"]


def test_strictness_and_the_row_format() -> None:
    base = DetectionSettings(default_threshold=0.4, thresholds={"PERSON": 0.5})
    lower = Override.of({"PERSON": 0.3}, None, set())
    assert not loosens(lower, base) and stricter_part(lower, base) == lower
    mixed = Override.of({"PERSON": 0.3, "LOCATION": 0.9}, 0.2, {"URL"})
    assert loosens(mixed, base)
    assert stricter_part(mixed, base) == Override.of({"PERSON": 0.3}, 0.2, set())
    assert loosens(Override.of({}, 0.5, set()), base)
    assert from_doc(to_doc(mixed)) == mixed
    for bad in ('{"thresholds": {"NOPE": 0.1}, "default_threshold": null, "disable": []}',
                '{"thresholds": {}, "default_threshold": 2, "disable": []}', "[]"):
        with pytest.raises((ValueError, KeyError, TypeError)):
            from_doc(bad)
    proposal = parse({"thresholds": {"PERSON": 0.3}, "route": "/v1/redact"})
    assert proposal.preview_reason() == parse({"thresholds": {"PERSON": 0.3}}
                                              ).preview_reason()
    assert proposal.preview_reason() != parse({"thresholds": {"PERSON": 0.31}}
                                              ).preview_reason()


async def test_the_answer_scan_of_a_scoped_route_uses_its_settings(
        make_gateway: MakeGateway) -> None:
    gw = await _gateway(make_gateway)

    async def answer() -> str:
        gw.fake.then(json_body=completion("See you in Quahog."))
        out = await gw.openai().chat.completions.create(model="m", messages=[
            {"role": "user", "content": "Where?"}])
        text: str = out.choices[0].message.content
        return text

    assert await answer() == "See you in Quahog."
    assert (await _post(gw, "/v1/review/rollout", {**LOWER, "scopes": [
        "/v1/chat/completions"]})).status == 200
    assert "Quahog" not in await answer()


def test_the_presidio_detector_takes_scoped_settings(detector: Detector) -> None:
    """The real detector, same loaded model: a lowered threshold returns the
    lower-scored values, a disabled type is gone, the default path is untouched."""
    segs = [Segment("Customer: I am John Smith, the meeting was on Tuesday 5 March 2024,"
                    " see www.example.com.")]

    def types(spans: list[list[Any]]) -> list[str]:
        return sorted(s.entity_type for s in spans[0])

    assert types(detector.detect(segs)) == ["PERSON"]
    lower = detector_for(detector, Override.of({"DATE_TIME": 0.25, "URL": 0.25}, None, set()))
    assert types(lower.detect(segs)) == ["DATE_TIME", "PERSON", "URL"]
    off = detector_for(detector, Override.of({}, None, {"PERSON"}))
    assert types(off.detect(segs)) == []
    assert detector_for(detector, None) is detector
    assert types(detector.detect(segs)) == ["PERSON"]
