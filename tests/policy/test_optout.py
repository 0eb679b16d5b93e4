"""Opt-out registry, no-retention, erasure receipts (HTTP and CLI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from redact_gw import cli
from redact_gw.errors import OptedOut
from redact_gw.model import Principal, Segment
from redact_gw.proxy import appkeys
from redact_gw.settings import load_settings
from tests.conftest import Env, MakeClient

TEXT = "This is John Smith, call me on 212-555-0123 or john.smith@gmail.com"


async def _redact(client: Any, env: Env, record: str, subject: str | None = "cust-1",
                  who: str = "ai") -> Any:
    body: dict[str, Any] = {"text": TEXT, "record_id": record}
    if subject:
        body["subject_id"] = subject
    return await client.post("/v1/redact", json=body, headers=env.auth(who))


async def _events(client: Any, env: Env, action: str) -> list[dict[str, Any]]:
    r = await client.get("/v1/audit", params={"action": action}, headers=env.auth("admin"))
    return (await r.json())["events"]


async def test_optout_crud_needs_admin_permission(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    url = "/v1/subjects/cust-1/opt-out"
    assert (await client.put(url, json={"no_ai_processing": True},
                             headers=env.auth("ai"))).status == 403
    r = await client.put(url, json={"no_ai_processing": True, "reason": "phoned in"},
                         headers=env.auth("admin"))
    assert r.status == 200
    got = await (await client.get(url, headers=env.auth("admin"))).json()
    assert got["no_ai_processing"] is True and got["no_retention"] is False
    assert got["set_by"] == "admin" and got["reason"] == "phoned in"
    assert (await client.get(url, headers=env.auth("other-admin"))).status == 404  # tenancy
    assert (await client.delete(url, headers=env.auth("admin"))).status == 200
    assert (await client.get(url, headers=env.auth("admin"))).status == 404
    assert (await client.delete(url, headers=env.auth("admin"))).status == 404
    actions = [e["action"] for e in await _events(client, env, "optout.set")]
    actions += [e["action"] for e in await _events(client, env, "optout.clear")]
    assert actions == ["optout.set", "optout.clear"]


@pytest.mark.parametrize(("body", "field"), [({"no_ai_processing": "yes"}, "no_ai_processing"),
                                             ({"surprise": True}, "surprise"),
                                             ({"reason": 5}, "reason")])
async def test_optout_bad_bodies(make_client: MakeClient, env: Env, body: dict,
                                 field: str) -> None:
    client = await make_client()
    r = await client.put("/v1/subjects/cust-1/opt-out", json=body, headers=env.auth("admin"))
    assert r.status == 422 and (await r.json())["error"]["details"]["field"] == field
    r = await client.put("/v1/subjects/bad%20id/opt-out", json={}, headers=env.auth("admin"))
    assert r.status == 422


async def test_no_ai_processing_refuses_ai_use_and_is_audited(make_client: MakeClient,
                                                              env: Env) -> None:
    client = await make_client()
    await client.put("/v1/subjects/cust-1/opt-out", json={"no_ai_processing": True},
                     headers=env.auth("admin"))
    redactor = client.app[appkeys.REDACTOR]
    detector = redactor.detection.detector
    calls = detector.calls
    with pytest.raises(OptedOut):
        await redactor.redact("acme", "r1", "cust-1", [Segment(TEXT)],
                              principal=Principal("ai", "acme"), for_ai=True)
    assert detector.calls == calls  # refused before detection: nothing processed
    # /v1/redact (non-AI use) still works by default
    assert (await _redact(client, env, "r2")).status == 200
    refusals = await _events(client, env, "optout.refused")
    assert len(refusals) == 1 and refusals[0]["subject_id"] == "cust-1"


async def test_redact_refused_when_config_says_so(make_client: MakeClient, env: Env) -> None:
    cfg = yaml.safe_load(env.config_path.read_text())
    cfg["optout"] = {"redact_allowed_for_no_ai": False}
    env.config_path.write_text(yaml.safe_dump(cfg))
    client = await make_client(settings=load_settings(env.config_path, {}))
    await client.put("/v1/subjects/cust-1/opt-out", json={"no_ai_processing": True},
                     headers=env.auth("admin"))
    r = await _redact(client, env, "r1")
    assert r.status == 451 and (await r.json())["error"]["code"] == "subject_opted_out"


async def test_no_retention_tokenizes_but_keeps_nothing(make_client: MakeClient,
                                                        env: Env) -> None:
    client = await make_client()
    await client.put("/v1/subjects/cust-1/opt-out", json={"no_retention": True},
                     headers=env.auth("admin"))
    r = await _redact(client, env, "r1")
    body = await r.json()
    assert r.headers["X-Redact-No-Retention"] == "true" and body["no_retention"] is True
    assert "John Smith" not in body["text"] and body["entities"]
    store = client.app[appkeys.STORE]
    assert await store.record_entries("acme", "r1") == []
    meta = await (await client.get("/v1/records/r1", headers=env.auth("admin"))).json()
    assert meta["no_retention"] is True and meta["counts"] == {}
    token = body["entities"][0]["token"]
    r = await client.post("/v1/detokenize", headers=env.auth("admin"), json={
        "record_id": "r1", "tokens": [token], "purpose": "legal_request"})
    assert r.status == 404  # nothing reversible exists


async def test_setting_no_retention_shreds_existing_data(make_client: MakeClient,
                                                         env: Env) -> None:
    client = await make_client()
    tokens = [(await (await _redact(client, env, rec)).json())["entities"][0]["token"]
              for rec in ("r1", "r2")]
    await _redact(client, env, "r3", subject="cust-2")
    r = await client.put("/v1/subjects/cust-1/opt-out", json={"no_retention": True},
                         headers=env.auth("admin"))
    shredded = (await r.json())["shredded"]
    assert shredded["records_shredded"] == 2 and shredded["values_removed"] == 6
    for rec, token in zip(("r1", "r2"), tokens, strict=True):
        r = await client.post("/v1/detokenize", headers=env.auth("admin"), json={
            "record_id": rec, "tokens": [token], "purpose": "legal_request"})
        assert r.status == 410 and (await r.json())["error"]["code"] == "purged"
    store = client.app[appkeys.STORE]
    assert await store.record_counts("acme", "r3") != {}


async def test_erasure_receipt_and_legal_hold(make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    for rec in ("r1", "r2", "r3"):
        await _redact(client, env, rec)
    assert (await client.put("/v1/records/r3/legal-hold",
                             headers=env.auth("admin"))).status == 200
    assert (await client.put("/v1/records/r3/legal-hold",
                             headers=env.auth("ai"))).status == 403
    r = await client.delete("/v1/subjects/cust-1", headers=env.auth("admin"))
    receipt = (await r.json())["receipt"]
    assert receipt == {"records_shredded": 2, "values_removed": 6,
                       "values_by_type": {"EMAIL_ADDRESS": 2, "PERSON": 2, "PHONE_NUMBER": 2},
                       "records_on_legal_hold": 1, "other_records_with_values_removed": 0}
    meta = await (await client.get("/v1/records/r1", headers=env.auth("admin"))).json()
    assert meta["subject_id"] is None and meta["shredded_at"] and meta["counts"] == {}
    events = await _events(client, env, "erasure")
    assert events[0]["counts"] == receipt["values_by_type"]


def test_cli_optout_set_get_clear_import(env: Env, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--config", str(env.config_path), "opt-out"]
    assert cli.main([*base, "set", "cust-9", "--tenant", "acme", "--no-ai",
                     "--reason", "letter"]) == 0
    capsys.readouterr()
    assert cli.main([*base, "get", "cust-9", "--tenant", "acme"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["no_ai_processing"] is True and got["set_by"].startswith("operator:")
    csv = tmp_path / "optouts.csv"
    csv.write_text("subject_id,no_ai_processing,no_retention,reason\n"
                   "cust-10,true,false,web form\ncust-11,no,yes,\n")
    assert cli.main([*base, "import", str(csv), "--tenant", "acme"]) == 0
    assert json.loads(capsys.readouterr().out)["imported"] == 2
    assert cli.main([*base, "get", "cust-11", "--tenant", "acme"]) == 0
    assert json.loads(capsys.readouterr().out)["no_retention"] is True
    assert cli.main([*base, "clear", "cust-9", "--tenant", "acme"]) == 0
    capsys.readouterr()
    assert cli.main([*base, "get", "cust-9", "--tenant", "acme"]) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("subject_id,no_ai_processing\ncust 1,maybe\n")
    assert cli.main([*base, "import", str(bad), "--tenant", "acme"]) == 2
    assert "line 2" in capsys.readouterr().err
