"""``redact-gw doctor``: a healthy deployment, then each thing that can be broken."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from redact_gw import cli, doctor
from redact_gw.proxy.app import open_store
from redact_gw.settings import load_settings
from redact_gw.testing_server import free_port
from redact_gw.vault import migrations
from tests.conftest import Env
from tests.pg import fresh_schema, schema_dsn

UPSTREAM_KEY = "sk-upstream-secret-do-not-print"
NAMES = ("config", "keys", "principals", "spacy", "tldextract", "vault", "upstream", "audit")


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"object": "list", "data": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def upstream_url() -> Iterator[str]:
    """A tiny HTTP service standing in for the AI upstream."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("REDACT_GW_")]:
        monkeypatch.delenv(name)


def configure(env: Env, **sections: dict[str, Any]) -> str:
    cfg = yaml.safe_load(env.config_path.read_text())
    for name, values in sections.items():
        cfg.setdefault(name, {}).update(values)
    env.config_path.write_text(yaml.safe_dump(cfg))
    return str(env.config_path)


@pytest.fixture
def healthy(env: Env, upstream_url: str, capsys: pytest.CaptureFixture[str]) -> str:
    """A deployment where every check passes: migrated vault, mirror, upstream."""
    config = configure(env, upstream={"url": upstream_url, "api_key": UPSTREAM_KEY},
                       audit={"mirror_jsonl": "audit/mirror.jsonl"})
    assert cli.main(["--config", config, "migrate"]) == 0
    capsys.readouterr()
    return config


def run(capsys: pytest.CaptureFixture[str], config: str) -> tuple[int, dict[str, str], str]:
    """Exit code, check name -> its line, and the whole output."""
    code = cli.main(["--config", config, "doctor", "--timeout", "2"])
    out, err = capsys.readouterr()
    by_name = {}
    for line in out.splitlines()[:-1]:
        status, name = line.split()[:2]
        assert status in ("ok", "warn", "FAIL"), line
        by_name[name] = line
    assert out.splitlines()[-1].startswith("doctor: ")
    return code, by_name, out + err


def assert_no_secrets(env: Env, output: str) -> None:
    assert UPSTREAM_KEY not in output
    for key in env.keys.values():
        assert key not in output
    keyfile = env.root / "keys.yaml"
    if keyfile.exists():
        for item in yaml.safe_load(keyfile.read_text()).get("keys", []):
            assert str(item["key"]) not in output


def test_healthy_deployment_passes_every_check(env: Env, healthy: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, output = run(capsys, healthy)
    assert code == 0, output
    assert tuple(lines) == NAMES
    assert all(line.startswith("ok") for line in lines.values()), output
    latest = max(migrations.known_versions(postgres=False))
    assert f"schema at version {latest} (current)" in lines["vault"]
    assert "answered HTTP 200" in lines["upstream"]
    assert "2 tenant(s)" in lines["principals"]
    assert_no_secrets(env, output)


def test_missing_key_file(env: Env, healthy: str, capsys: pytest.CaptureFixture[str]) -> None:
    (env.root / "keys.yaml").unlink()
    code, lines, output = run(capsys, healthy)
    assert code == 1
    assert lines["keys"].startswith("FAIL") and "does not exist" in lines["keys"]
    assert "redact-gw keys generate" in lines["keys"]
    assert all(lines[n].startswith("ok") for n in NAMES if n != "keys"), output


def test_placeholder_keys(env: Env, healthy: str, capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[1] / "keys.example"
    shutil.copy(example, env.root / "keys.yaml")
    os.chmod(env.root / "keys.yaml", 0o600)
    code, lines, _ = run(capsys, healthy)
    assert code == 1 and lines["keys"].startswith("FAIL")
    assert "placeholder" in lines["keys"] and "keys generate" in lines["keys"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_key_file_readable_by_others(env: Env, healthy: str, mode: int,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    os.chmod(env.root / "keys.yaml", mode)
    code, lines, output = run(capsys, healthy)
    assert code == 1 and lines["keys"].startswith("FAIL")
    assert f"mode {mode:o}" in lines["keys"] and "chmod 600" in lines["keys"]
    assert_no_secrets(env, output)


def test_key_file_without_primary(env: Env, healthy: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = env.root / "keys.yaml"
    doc = yaml.safe_load(path.read_text())
    for item in doc["keys"]:
        item["status"] = "retired"
    path.write_text(yaml.safe_dump(doc))
    code, lines, output = run(capsys, healthy)
    assert code == 1 and "primary" in lines["keys"] and lines["keys"].startswith("FAIL")
    assert_no_secrets(env, output)


def test_unreachable_postgres_vault(env: Env, healthy: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = configure(env, vault={
        "url": f"postgresql://gw:hunter2@127.0.0.1:{free_port()}/test",
        "connect_timeout_s": 1})
    code, lines, output = run(capsys, config)
    assert code == 1 and lines["vault"].startswith("FAIL")
    assert "cannot reach the vault (PostgreSQL 127.0.0.1:" in lines["vault"]
    assert "hunter2" not in output and "gw:" not in output
    assert "Traceback" not in output


def test_unreachable_upstream(env: Env, healthy: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    config = configure(env, upstream={"url": f"http://127.0.0.1:{free_port()}/v1"})
    code, lines, output = run(capsys, config)
    assert code == 1 and lines["upstream"].startswith("FAIL")
    assert "unreachable" in lines["upstream"] and "REDACT_GW_UPSTREAM_URL" in lines["upstream"]
    assert_no_secrets(env, output)


def test_missing_or_empty_principals(env: Env, healthy: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = env.root / "principals.yaml"
    path.unlink()
    code, lines, _ = run(capsys, healthy)
    assert code == 1 and lines["principals"].startswith("FAIL")
    assert "does not exist" in lines["principals"] and "apikey create" in lines["principals"]
    path.write_text("principals: []\n")
    code, lines, _ = run(capsys, healthy)
    assert code == 1 and "names no principal" in lines["principals"]
    path.write_text("principals: {oops\n")
    code, lines, _ = run(capsys, healthy)
    assert code == 1 and "not valid YAML" in lines["principals"]


def test_principals_writable_by_others_fails_with_the_chmod_fix(
        env: Env, healthy: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = env.root / "principals.yaml"
    path.chmod(0o664)  # the gateway refuses this file: doctor must say FAIL, not warn
    code, lines, _ = run(capsys, healthy)
    assert code == 1 and lines["principals"].startswith("FAIL")
    assert f"chmod 600 {path}" in lines["principals"]


def test_broken_config_stops_at_the_first_check(env: Env,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    config = configure(env, server={"prot": 8080})
    code, lines, _ = run(capsys, config)
    assert code == 1 and list(lines) == ["config"]
    assert "server.prot: unknown key" in lines["config"]


def test_missing_spacy_model(env: Env, healthy: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    config = configure(env, detection={"spacy_model": "xx_no_such_model_sm"})
    code, lines, _ = run(capsys, config)
    assert code == 1 and lines["spacy"].startswith("FAIL") and "pip install" in lines["spacy"]


def test_unwritable_audit_mirror(env: Env, healthy: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    config = configure(env, audit={"mirror_jsonl": "keys.yaml/audit/mirror.jsonl"})
    code, lines, _ = run(capsys, config)  # its directory would sit under a file
    assert code == 1 and lines["audit"].startswith("FAIL") and "not writable" in lines["audit"]


def test_new_sqlite_vault_is_a_warning_only(env: Env, upstream_url: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    config = configure(env, upstream={"url": upstream_url})
    code, lines, _ = run(capsys, config)
    assert code == 0 and lines["vault"].startswith("warn")
    assert "created at first start" in lines["vault"]
    assert not (env.root / "vault.db").exists()  # the doctor created nothing


async def test_postgres_schema_pending_then_current(env: Env, upstream_url: str) -> None:
    async with fresh_schema() as schema:
        configure(env, upstream={"url": upstream_url},
                  vault={"url": schema_dsn(schema), "migrate_on_start": False})
        checks = {c.name: c for c in await doctor.run_checks(str(env.config_path), {})}
        every = sorted(migrations.known_versions(postgres=True))
        assert checks["vault"].status == "FAIL" and f"{every} pending" in checks["vault"].detail
        assert checks["vault"].fix is not None and "migrate" in checks["vault"].fix
        store = open_store(load_settings(env.config_path, {}), migrate=True)
        await store.open()
        await store.close()
        checks = {c.name: c for c in await doctor.run_checks(str(env.config_path), {})}
        assert checks["vault"].status == "ok", checks["vault"]
        assert "PostgreSQL 127.0.0.1:5432/test" in checks["vault"].detail


async def test_upstream_that_never_answers_times_out(env: Env) -> None:
    import socket
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        configure(env, upstream={"url": f"http://127.0.0.1:{port}/v1"})
        checks = {c.name: c for c in await doctor.run_checks(str(env.config_path), {},
                                                             timeout_s=0.5)}
    assert checks["upstream"].status == "FAIL"
    assert "did not answer within 0.5s" in checks["upstream"].detail
