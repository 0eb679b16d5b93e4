"""Where relative paths point, and what `doctor` calls the dev config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from redact_gw.doctor import check_config
from redact_gw.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout-like layout: config/ holds the file, the user works one level up."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "gw.yaml").write_text(yaml.safe_dump(
        {"keys": {"path": "in-config-dir.yaml"}, "auth": {"principals_file": "p.yaml"}}))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_relative_paths_from_the_environment_resolve_against_the_working_directory(
        layout: Path) -> None:
    s = load_settings("config/gw.yaml", {
        "REDACT_GW_KEYS": "keys.example", "REDACT_GW_PRINCIPALS": "var/principals.yaml",
        "REDACT_GW_VAULT": "var/vault.db", "REDACT_GW_AUDIT_MIRROR": "var/audit.jsonl"})
    assert s.resolve(s.keys.path) == layout / "keys.example"
    assert s.resolve(s.auth.principals_file) == layout / "var" / "principals.yaml"
    assert s.resolve(s.vault.url) == layout / "var" / "vault.db"
    assert s.audit.mirror_jsonl is not None
    assert s.resolve(s.audit.mirror_jsonl) == layout / "var" / "audit.jsonl"


def test_relative_paths_in_the_file_still_resolve_against_its_folder(layout: Path) -> None:
    s = load_settings("config/gw.yaml", {})
    assert s.resolve(s.keys.path) == layout / "config" / "in-config-dir.yaml"


def test_absolute_paths_and_dsns_from_the_environment_are_kept(layout: Path) -> None:
    s = load_settings("config/gw.yaml", {
        "REDACT_GW_KEYS": "/run/secrets/keys.yaml",
        "REDACT_GW_VAULT": "postgresql://redact_gw@db:5432/vault?search_path=redact_gw"})
    assert s.resolve(s.keys.path) == Path("/run/secrets/keys.yaml")
    assert s.vault.url == "postgresql://redact_gw@db:5432/vault?search_path=redact_gw"


def test_doctor_calls_the_dev_config_development_and_the_image_production() -> None:
    config = str(ROOT / "config" / "redact-gw.yaml")
    check, _ = check_config(config, {})
    assert check.status == "ok" and check.detail.endswith("parsed (development)")
    check, _ = check_config(config, {"REDACT_GW_MODE": "production"})  # as the Dockerfile sets
    assert check.detail.endswith("parsed (production)")
    assert "REDACT_GW_MODE=production" in (ROOT / "Dockerfile").read_text()
