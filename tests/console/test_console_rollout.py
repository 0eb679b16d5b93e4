"""The console's rollout page without a browser: CSRF, who may loosen, rollback."""

from __future__ import annotations

import re
from typing import Any

from redact_gw.settings import DetectionSettings
from redact_gw.testing import ThresholdDetector
from tests.conftest import Env, MakeClient


async def _session(client: Any, env: Env, who: str) -> str:
    page = await client.get("/console/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert csrf is not None
    await client.post("/console/signin", data={"csrf": csrf.group(1),
                                               "api_key": env.keys[who]})
    page = await client.get("/console/rollout")
    assert page.status == 200
    found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert found is not None
    return found.group(1)


def _form(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf": csrf, "action": "apply", "entity_type": "LOCATION",
            "change": "threshold", "threshold": "0.3", "scope": "/v1/redact", **fields}


async def test_apply_and_roll_back_from_the_console(make_client: MakeClient,
                                                    env: Env) -> None:
    client = await make_client(ThresholdDetector(DetectionSettings()))
    csrf = await _session(client, env, "admin")
    refused = await client.post("/console/rollout", data=_form("forged"))
    assert refused.status == 403
    assert (await client.get("/v1/review/rollout", headers=env.auth("admin"))
            ).status == 200
    assert (await (await client.get("/v1/review/rollout", headers=env.auth("admin"))
                   ).json())["overrides"] == []
    page = await client.post("/console/rollout", data=_form(csrf))
    text = await page.text()
    assert page.status == 200 and "Applied to /v1/redact; live now." in text
    assert "LOCATION threshold 0.3" in text and "verified" in text
    out = await (await client.post("/v1/redact", headers=env.auth("ai"),
                                   json={"text": "Moving to Quahog."})).json()
    assert out["text"].startswith("Moving to [[LOCATION:")
    page = await client.post("/console/rollout", data={"csrf": csrf, "action": "rollback",
                                                       "scope": "/v1/redact"})
    assert "Rolled back /v1/redact" in await page.text()
    out = await (await client.post("/v1/redact", headers=env.auth("ai"),
                                   json={"text": "Moving to Quahog."})).json()
    assert out["text"] == "Moving to Quahog."


async def test_a_reviewer_may_tighten_but_not_loosen(make_client: MakeClient,
                                                     env: Env) -> None:
    client = await make_client(ThresholdDetector(DetectionSettings()))
    csrf = await _session(client, env, "supervisor")
    page = await client.post("/console/rollout", data=_form(csrf, change="disable"))
    assert page.status == 403 and "only an admin" in await page.text()
    page = await client.post("/console/rollout", data=_form(csrf, threshold="0.9"))
    assert page.status == 403
    page = await client.post("/console/rollout", data=_form(csrf, scope="*"))
    assert page.status == 200 and "Applied to the whole tenant" in await page.text()
