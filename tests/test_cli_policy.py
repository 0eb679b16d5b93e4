"""The CLI goes through the gateway's policy (issue 15 finding 7): retention expiries,
audit events as ``operator:<os user>``, a required tenant, and detokenize as a reveal
(purpose, role rules, audit) through the same function as ``POST /v1/detokenize``."""

from __future__ import annotations

import asyncio
import getpass
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from redact_gw import cli
from redact_gw.testing import FakeDetector
from tests.conftest import Env, write_config
from tests.pg import PG_DSN, schema_dsn
from tests.test_cli import TEXT

OPERATOR = f"operator:{getpass.getuser()}"


@pytest.fixture(autouse=True, params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, env: Env) -> Iterator[str]:
    """Every test on both vault backends (the CLI runs its own event loops)."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    name = "t_" + secrets.token_hex(6)
    asyncio.run(_sql(f'CREATE SCHEMA "{name}"'))
    env.config_path = write_config(env.root, {"vault": {"url": schema_dsn(name)}})
    try:
        yield "postgresql"
    finally:
        asyncio.run(_sql(f'DROP SCHEMA "{name}" CASCADE'))


async def _sql(statement: str) -> None:
    conn = await asyncpg.connect(PG_DSN, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(autouse=True)
def fake_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    import redact_gw.detection as detection
    monkeypatch.setattr(detection, "build_detector", lambda _s: FakeDetector(), raising=False)


def run(capsys: pytest.CaptureFixture[str], env: Env, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["--config", str(env.config_path), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def audit(capsys: pytest.CaptureFixture[str], env: Env, action: str) -> list[dict[str, Any]]:
    code, out, _ = run(capsys, env, "audit", "list", "--action", action)
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


def redact(capsys: pytest.CaptureFixture[str], env: Env, tmp_path: Path,
           record: str = "call-1") -> dict[str, Any]:
    src = tmp_path / f"{record}.json"
    src.write_text(json.dumps({"text": TEXT, "record_id": record}))
    code, out, err = run(capsys, env, "redact", "--tenant", "acme", str(src))
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def test_redact_values_expire_and_are_purged(env: Env, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    vault = env.settings().vault.url
    env.config_path = write_config(env.root, {"retention": {"default": "1s"},
                                              "vault": {"url": vault}})
    body = redact(capsys, env, tmp_path)
    assert "4111" not in json.dumps(body)
    _, out, _ = run(capsys, env, "purge")
    assert json.loads(out)["values_removed"] == 0  # not yet expired
    time.sleep(1.2)
    _, out, _ = run(capsys, env, "purge")
    assert json.loads(out)["values_removed"] == 3  # name, card, email: all had an expiry


def test_redact_is_audited_as_the_operator(env: Env, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    redact(capsys, env, tmp_path)
    [event] = audit(capsys, env, "redact")
    assert event["principal"] == OPERATOR and event["tenant"] == "acme"
    assert event["record_id"] == "call-1" and sum(event["counts"].values()) == 3


def test_redact_and_detokenize_need_a_tenant(env: Env, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in.json").write_text(json.dumps({"text": TEXT}))
    for argv in (("redact", str(tmp_path / "in.json")),
                 ("detokenize", "--record", "r", "--purpose", "legal_request",
                  str(tmp_path / "in.json"))):
        with pytest.raises(SystemExit) as exc:
            run(capsys, env, *argv)
        assert exc.value.code == 2 and "--tenant" in capsys.readouterr().err


def test_detokenize_needs_a_known_purpose_and_is_audited(
        env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = redact(capsys, env, tmp_path)
    tokenized = tmp_path / "answer.txt"
    tokenized.write_text(body["text"])
    base = ("detokenize", "--tenant", "acme", "--record", "call-1", str(tokenized))
    with pytest.raises(SystemExit) as exc:
        run(capsys, env, *base)
    assert exc.value.code == 2 and "--purpose" in capsys.readouterr().err
    code, out, err = run(capsys, env, *base, "--purpose", "curiosity")
    assert code == 2 and out == "" and "unknown_purpose" in err
    code, out, _ = run(capsys, env, *base, "--purpose", "customer_request")
    assert code == 0 and out == TEXT
    denied, granted = audit(capsys, env, "reveal")
    assert denied == {**denied, "principal": OPERATOR, "outcome": "denied",
                      "reason": "unknown_purpose"}
    assert granted == {**granted, "principal": OPERATOR, "outcome": "granted",
                       "purpose": "customer_request", "record_id": "call-1",
                       "roles": ["admin"]}
    assert sum(granted["revealed"].values()) == 3


def test_detokenize_applies_the_roles_reveal_rules(env: Env, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    body = redact(capsys, env, tmp_path)
    doc = tmp_path / "answer.json"
    doc.write_text(json.dumps({"summary": body["text"]}))
    code, out, _ = run(capsys, env, "detokenize", "--tenant", "acme", "--record", "call-1",
                       "--purpose", "quality_review", "--role", "agent", str(doc))
    summary = json.loads(out)["summary"]
    assert code == 0 and "John Smith" in summary  # agent: PERSON in full
    assert "4111 1111 1111 1111" not in summary and "1111" in summary  # the card masked
    assert "john.smith@gmail.com" not in summary
    code, _, err = run(capsys, env, "detokenize", "--tenant", "acme", "--record", "call-1",
                       "--purpose", "quality_review", "--role", "root", str(doc))
    assert code == 2 and "unknown role 'root'" in err
