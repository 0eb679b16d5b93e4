"""deploy/compose.yaml: the README's production layout, and saying the same as the
settings, the Dockerfile and the CLI (no Docker needed to check it)."""

from __future__ import annotations

import copy
import json
import re
import shlex
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from redact_gw.cli import build_parser
from redact_gw.demo import DEMO_PORT_ENV
from redact_gw.settings import CONFIG_ENV, ENV_OVERRIDES, load_settings
from tests.deploy.conftest import DEPLOY, ROOT, dockerfile_port

SCHEMA = json.loads((ROOT / "tests" / "deploy" / "compose-spec.json").read_text())

COMPOSE: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
KNOWN_ENV = set(ENV_OVERRIDES) | {CONFIG_ENV, DEMO_PORT_ENV, "PGPASSWORD", "PGPASSFILE"}


def _schema_errors(doc: dict[str, Any]) -> list[str]:
    doc = copy.deepcopy(doc)
    assert isinstance(doc.pop("name"), str)  # newer than the schema (compose-spec.NOTICE)
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(doc)]


def test_compose_file_is_valid_against_the_compose_spec_schema() -> None:
    assert _schema_errors(COMPOSE) == []


@pytest.mark.parametrize("mistake", ["depend_on", "replicas"])
def test_the_schema_catches_mistakes(mistake: str) -> None:
    bad = copy.deepcopy(COMPOSE)
    gateway = bad["services"]["gateway"]
    if mistake == "depend_on":
        gateway["depend_on"] = gateway.pop("depends_on")
    else:
        gateway["deploy"]["replicas"] = "two"
    assert _schema_errors(bad)


def test_the_layout_of_the_readme() -> None:
    assert set(SERVICES) == {"db", "migrate", "model", "gateway", "purge", "lb"}
    assert SERVICES["gateway"]["deploy"]["replicas"] == 2
    assert SERVICES["db"]["image"].startswith("postgres:")
    assert SERVICES["lb"]["ports"] == ["8080:8080"]


def test_order_migrate_before_gateways_and_purge() -> None:
    assert SERVICES["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("gateway", "purge"):
        assert SERVICES[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"}
    assert SERVICES["migrate"]["command"] == ["migrate"]
    assert SERVICES["migrate"]["build"]["context"] == ".."
    assert (DEPLOY / SERVICES["migrate"]["build"]["context"] / "Dockerfile").exists()


def test_commands_are_real() -> None:
    parser = build_parser()
    assert parser.parse_args(SERVICES["gateway"]["command"]).fn.__name__ == "cmd_serve"
    assert parser.parse_args(SERVICES["migrate"]["command"]).fn.__name__ == "cmd_migrate"
    loop = SERVICES["purge"]["entrypoint"]
    assert loop[:2] == ["sh", "-c"]
    purge = re.search(r"redact-gw ([^;]+);", loop[2])
    assert purge and parser.parse_args(shlex.split(purge[1])).fn.__name__ == "cmd_purge"
    model = SERVICES["model"]["entrypoint"]
    assert model[:4] == ["python", "-m", "redact_gw.demo", "model"]


def test_environment_names_are_settings_and_agree() -> None:
    for name, svc in SERVICES.items():
        if name in ("db", "lb"):
            continue
        unknown = set(svc.get("environment", {})) - KNOWN_ENV
        assert not unknown, f"{name}: unknown variables {unknown}"
    env = SERVICES["gateway"]["environment"]
    vault = urlsplit(env["REDACT_GW_VAULT"])
    db = SERVICES["db"]["environment"]
    assert vault.scheme == "postgresql" and vault.hostname == "db" and vault.port == 5432
    assert vault.username == db["POSTGRES_USER"] and vault.path == "/" + db["POSTGRES_DB"]
    upstream = urlsplit(env["REDACT_GW_UPSTREAM_URL"])
    assert upstream.hostname == "model"
    assert str(upstream.port) == SERVICES["model"]["environment"][DEMO_PORT_ENV]
    pgpass = env["PGPASSFILE"]
    assert pgpass.startswith("/run/secrets/") and env["REDACT_GW_KEYS"].startswith("/run/secrets/")
    assert "./secrets:/run/secrets:ro" in SERVICES["gateway"]["volumes"]  # the directory


def test_the_mounted_config_loads_with_the_compose_environment() -> None:
    env = SERVICES["gateway"]["environment"]
    host_path, _container, _ = next(v for v in SERVICES["gateway"]["volumes"]
                                        if v.split(":")[1] == env[CONFIG_ENV]).split(":")
    s = load_settings(DEPLOY / host_path, env)
    assert s.server.port == dockerfile_port() and s.server.host == "0.0.0.0"
    assert s.vault.migrate_on_start is False and s.retention.purge.schedule is None
    assert s.upstream.url == "http://model:8099/v1"
    assert SERVICES["gateway"]["stop_grace_period"] == "40s" and s.server.shutdown_timeout_s < 40


def test_load_balancer_forwards_to_the_gateways() -> None:
    conf = (DEPLOY / "nginx.conf").read_text()
    assert f"server gateway:{dockerfile_port()};" in conf
    assert "proxy_buffering off;" in conf  # SSE streams pass through as they come
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in SERVICES["lb"]["volumes"]


def test_secrets_stay_out_of_git() -> None:
    assert "/deploy/secrets/" in (ROOT / ".gitignore").read_text().splitlines()
