"""Policy preview: looser or stricter thresholds and enabled or disabled entity types
replayed on the sealed review sample, per item and in totals, one route or all."""

from __future__ import annotations

from typing import Any

from redact_gw.demo import completion
from redact_gw.review.api import REPLAY
from redact_gw.testing import ThresholdDetector
from tests.conftest import MakeGateway


async def _gateway(make_gateway: MakeGateway) -> Any:
    gw = await make_gateway(config={"review": {"default": {"random_rate": 1.0}}})
    gw.client.app[REPLAY].factory = ThresholdDetector
    ai = gw.env.auth("ai")
    for i, text in enumerate(("John Smith moved to Quahog.",
                              "Call 555-123-4567, not Quahog.")):
        resp = await gw.client.post("/v1/redact", headers=ai,
                                    json={"text": text, "record_id": f"r{i}"})
        assert resp.status == 200
    gw.fake.then(json_body=completion("See you in Quahog, John Smith."))
    await gw.openai().chat.completions.create(model="m", messages=[
        {"role": "user", "content": "I am John Smith."}])
    return gw


async def _preview(gw: Any, body: dict[str, Any], who: str = "admin") -> Any:
    return await gw.client.post("/v1/review/preview/detection",
                                headers=gw.env.auth(who), json=body)


async def test_a_looser_threshold_shows_values_newly_caught(
        make_gateway: MakeGateway) -> None:
    gw = await _gateway(make_gateway)
    resp = await _preview(gw, {"default_threshold": 0.3})
    assert resp.status == 200, await resp.text()
    out = await resp.json()
    assert (out["items_replayed"], out["values_newly_caught"],
            out["items_with_new_catches"], out["tokens_dropped"]) == (3, 3, 3, 0)
    assert out["by_type"] == {"LOCATION": {"newly_caught": 3, "dropped": 0}}
    admin = gw.env.auth("admin")
    parts = set()
    for item in out["items"]:
        copy = await (await gw.client.get(f"/v1/review/items/{item['item_id']}",
                                          headers=admin)).json()
        (caught,) = item["newly_caught"]
        text = (copy["answer"] if caught["part"] == "answer"
                else copy["segments"][caught["segment"]]["text"])
        assert text[caught["start"]:caught["end"]] == "Quahog"
        assert "Quahog" not in str(item)  # offsets, never text
        parts.add(caught["part"])
    assert parts == {"segments", "answer"}
    # today's settings catch nothing new: the sample is what they made
    same = await (await _preview(gw, {"thresholds": {"PERSON": 0.5}})).json()
    assert same["values_newly_caught"] == 0 and same["tokens_dropped"] == 0
    audit = await (await gw.client.get("/v1/audit?action=review.preview",
                                       headers=admin)).json()
    assert [e["counts"] for e in audit["events"]][:1] == [{"LOCATION": 3}]


async def test_disabling_a_type_or_raising_its_threshold_drops_tokens_per_route(
        make_gateway: MakeGateway) -> None:
    gw = await _gateway(make_gateway)
    off = await (await _preview(gw, {"entities": {"PERSON": "disable"}})).json()
    # John Smith in r0, in the chat request, and (the caller's own value) in its answer
    assert (off["tokens_dropped"], off["items_with_dropped_tokens"]) == (3, 2)
    assert off["values_newly_caught"] == 0
    assert {d["entity_type"] for i in off["items"] for d in i["dropped"]} == {"PERSON"}
    one_route = await (await _preview(gw, {"thresholds": {"PERSON": 0.9, "LOCATION": 0.3},
                                           "route": "/v1/redact"})).json()
    assert one_route["items_replayed"] == 2
    assert {i["route"] for i in one_route["items"]} == {"/v1/redact"}
    assert (one_route["values_newly_caught"], one_route["tokens_dropped"]) == (2, 1)


async def test_bad_proposals_and_other_roles_are_refused(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(config={"review": {"default": {"random_rate": 1.0}}})
    for bad in ({"entities": {"NOT_A_TYPE": "enable"}}, {"entities": {"PERSON": "on"}},
                {"thresholds": {"PERSON": 2}}, {"thresholds": {"NOT_A_TYPE": 0.5}},
                {"default_threshold": "low"}, {"thresholds": {"PERSON": 0.5}, "extra": 1},
                {"route": ""}, {"entities": ["PERSON"]}):
        resp = await _preview(gw, bad)
        assert resp.status == 422, bad
        assert (await resp.json())["error"]["code"] == "invalid_input"
    assert (await _preview(gw, {"default_threshold": 0.3}, "supervisor")).status == 403
    assert (await _preview(gw, {"default_threshold": 0.3}, "ai")).status == 403
