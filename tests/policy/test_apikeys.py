"""API keys (issue 15 finding 8): roles checked against the config, a locked file,
list / revoke / rotate, and a principals file that the gateway reloads loudly."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from redact_gw import cli
from redact_gw.errors import ConfigError
from redact_gw.policy.principals import PrincipalDirectory, create_api_key, hash_key
from redact_gw.proxy import appkeys
from redact_gw.testing import FakeClock
from tests.conftest import Env, MakeClient, write_config


def run(capsys: pytest.CaptureFixture[str], env: Env, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["--config", str(env.config_path), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def principals_file(env: Env) -> Path:
    return env.root / "principals.yaml"


def test_create_refuses_unknown_or_missing_role(env: Env,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    before = principals_file(env).read_bytes()
    code, out, err = run(capsys, env, "apikey", "create", "--tenant", "acme",
                         "--role", "superuser", "--name", "typo")
    assert code == 2 and out == ""
    assert "unknown role 'superuser'" in err and "ai-service" in err  # lists the real ones
    with pytest.raises(SystemExit) as exc:
        run(capsys, env, "apikey", "create", "--tenant", "acme", "--name", "norole2")
    assert exc.value.code == 2 and "--role" in capsys.readouterr().err
    assert principals_file(env).read_bytes() == before
    from redact_gw.policy import apikeys
    with pytest.raises(ConfigError, match="at least one"):
        apikeys.create(principals_file(env), "x", "acme", [], known_roles=["agent"])


def test_twelve_concurrent_creates_all_land(env: Env) -> None:
    cmd = [sys.executable, "-m", "redact_gw.cli", "--config", str(env.config_path),
           "apikey", "create", "--tenant", "acme", "--role", "ai-service"]
    procs = [subprocess.Popen([*cmd, "--name", f"bot-{i}"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(12)]
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
    assert all(code == 0 for code, _, _ in results), [err for _, _, err in results]
    directory = PrincipalDirectory(principals_file(env))
    found = {directory.authenticate(out.strip()) for _, out, _ in results}
    assert {p.name for p in found if p} == {f"bot-{i}" for i in range(12)}
    assert len(directory.principals()) == len(env.keys) + 12
    assert not [p for p in principals_file(env).parent.iterdir() if p.suffix == ".tmp"]


def test_list_shows_no_secret(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, env, "apikey", "list", "--tenant", "acme")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and {r["tenant"] for r in rows} == {"acme"}
    ai = next(r for r in rows if r["name"] == "ai")
    assert ai["roles"] == ["ai-service"] and ai["status"] == "active" and ai["created"]
    assert ai["keys"] == [{"key_id": hash_key(env.keys["ai"])[:12], "valid_until": None}]
    for key in env.keys.values():
        assert key not in out and hash_key(key) not in out  # neither key nor full hash


async def test_revoke_refuses_the_key_and_keeps_the_name(env: Env,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    directory = PrincipalDirectory(principals_file(env))
    assert directory.authenticate(env.keys["agent"]) is not None
    code, out, _ = run(capsys, env, "apikey", "revoke", "agent")
    assert code == 0 and json.loads(out)["keys_removed"] == 1
    await directory.refresh()
    assert directory.authenticate(env.keys["agent"]) is None
    assert directory.authenticate(env.keys["ai"]) is not None  # the others still work
    code, _, err = run(capsys, env, "apikey", "create", "--tenant", "acme", "--role",
                       "agent", "--name", "agent")
    assert code == 2 and "already exists" in err  # a newcomer never inherits its values
    code, out, _ = run(capsys, env, "apikey", "list")
    assert any(json.loads(x) == {**json.loads(x), "name": "agent", "status": "revoked",
                                 "keys": []} for x in out.splitlines())
    code, _, err = run(capsys, env, "apikey", "revoke", "nobody")
    assert code == 2 and "no principal named 'nobody'" in err


async def test_rotate_overlap_then_old_key_refused(env: Env,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from redact_gw.policy import apikeys
    clock = FakeClock()
    old = env.keys["supervisor"]
    new, summary = apikeys.rotate(principals_file(env), "supervisor", 24 * 3600, clock=clock)
    directory = PrincipalDirectory(principals_file(env), clock=clock)
    assert directory.authenticate(new).name == "supervisor"  # type: ignore[union-attr]
    assert directory.authenticate(old).name == "supervisor"  # type: ignore[union-attr]
    clock.advance(24 * 3600 - 5)
    assert directory.authenticate(old) is not None
    clock.advance(10)
    assert directory.authenticate(old) is None and directory.authenticate(new) is not None
    assert summary["old_key_valid_until"] and summary["key_id"] == hash_key(new)[:12]
    # from the command line, with no overlap: the old key stops at once
    code, out, err = run(capsys, env, "apikey", "rotate", "compliance", "--overlap", "0")
    newer = out.strip()
    await directory.refresh()
    assert code == 0 and newer.startswith("rgw_") and "refused from now on" in err
    assert directory.authenticate(env.keys["compliance"]) is None
    assert directory.authenticate(newer).name == "compliance"  # type: ignore[union-attr]


async def test_change_with_the_same_mtime_is_seen(env: Env) -> None:
    """`cp -p` keeps the old mtime: the content decides, not the mtime."""
    path = principals_file(env)
    directory = PrincipalDirectory(path)
    stat = path.stat()
    doc = yaml.safe_load(path.read_text())
    victim = next(p for p in doc["principals"] if p["name"] == "ai")
    victim["key_sha256"] = hash_key("rgw_replacement")
    path.write_text(yaml.safe_dump(doc))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    await directory.refresh()
    assert directory.authenticate(env.keys["ai"]) is None
    assert directory.authenticate("rgw_replacement").name == "ai"  # type: ignore[union-attr]


async def test_unchanged_content_is_not_parsed_again(env: Env,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The file watcher re-reads the file every few seconds: the same bytes keep the
    entries parsed from them (a YAML parse per look was most of the watcher's CPU)."""
    from redact_gw.policy import principals
    parsed: list[str] = []
    real_parse = principals.parse
    monkeypatch.setattr(principals, "parse",
                        lambda path, text: parsed.append(text) or real_parse(path, text))
    path = principals_file(env)
    reloads: list[str] = []
    directory = PrincipalDirectory(path, on_reload=reloads.append)
    for _ in range(3):
        await directory.refresh()
    assert len(parsed) == 1 and reloads == []  # parsed at start only
    assert directory.authenticate(env.keys["ai"]).name == "ai"  # type: ignore[union-attr]
    key = create_api_key(path, "newbot", "acme", ["ai-service"])  # reads the file too
    parsed.clear()
    await directory.refresh()
    assert len(parsed) == 1 and "newbot" in parsed[0] and reloads == ["loaded"]
    assert directory.authenticate(key).name == "newbot"  # type: ignore[union-attr]
    os.chmod(path, 0o620)  # the mode is still checked on every look, content or not
    await directory.refresh()
    assert len(parsed) == 1 and reloads == ["loaded", "insecure_mode"]


def test_file_writable_by_group_or_others_is_refused(env: Env,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    os.chmod(principals_file(env), 0o620)
    with pytest.raises(ConfigError, match="writable by group or others"):
        PrincipalDirectory(principals_file(env))
    code, _, err = run(capsys, env, "check-config")
    assert code == 2 and "chmod 600" in err


def test_apikey_commands_refuse_a_broken_file(env: Env,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = principals_file(env)
    path.write_text(path.read_text() + "  - name: [unclosed\n")
    before = path.read_bytes()
    for argv in (("revoke", "ai"), ("rotate", "ai"), ("list",),
                 ("create", "--tenant", "acme", "--role", "agent", "--name", "new")):
        code, _, err = run(capsys, env, "apikey", *argv)
        assert code == 2 and "not valid YAML" in err, argv
    assert path.read_bytes() == before


async def test_refused_reload_is_logged_counted_and_keeps_the_last_good_set(
        env: Env, make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    client = await make_client()
    directory = client.app[appkeys.PRINCIPALS]
    path = principals_file(env)
    good = path.read_text()
    path.write_text(good + "  - name: [unclosed\n")  # a YAML error
    with caplog.at_level(logging.ERROR):
        await directory.refresh()
        await directory.refresh()  # the same bad content: one log line, one count
    assert [r.getMessage() for r in caplog.records if "refused" in r.getMessage()] == [
        f"principals file refused, keeping the last good set of {len(env.keys)}:"
        f" principals file {path} is not valid YAML"]
    os.chmod(path, 0o666)
    path.write_text(good)
    await directory.refresh()
    resp = await client.get("/v1/records/r1", headers=env.auth("admin"))
    assert resp.status == 404  # authenticated by the last good set
    metrics = await (await client.get("/metrics")).text()
    assert 'redact_gw_principals_reloads_total{outcome="invalid"} 1.0' in metrics
    assert 'redact_gw_principals_reloads_total{outcome="insecure_mode"} 1.0' in metrics
    os.chmod(path, 0o600)
    await directory.refresh()
    metrics = await (await client.get("/metrics")).text()
    assert 'redact_gw_principals_reloads_total{outcome="loaded"} 1.0' in metrics


async def test_fresh_key_works_on_its_first_request(env: Env, make_client: MakeClient) -> None:
    config = write_config(env.root, {"keys": {"path": "keys.yaml", "reload_interval_s": 600}})
    client = await make_client(settings=Env(env.root, config, env.keys).settings())
    directory = client.app[appkeys.PRINCIPALS]
    reads = 0
    load = directory._load

    def counting(**kw: bool) -> None:
        nonlocal reads
        reads += 1
        load(**kw)
    directory._load = counting
    for i in range(20):  # unknown keys: at most one re-read while the file is unchanged
        resp = await client.get("/v1/records/r1", headers={"Authorization": f"Bearer rgw_{i}"})
        assert resp.status == 401
    assert reads == 1
    key = create_api_key(principals_file(env), "fresh", "acme", ["admin"])
    resp = await client.get("/v1/records/r1", headers={"Authorization": f"Bearer {key}"})
    assert resp.status == 404 and reads == 2  # not 401: the file was re-read at once
