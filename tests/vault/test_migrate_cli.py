"""``redact-gw migrate``: applies pending migrations once, for either backend."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml

from redact_gw import cli
from redact_gw.vault import migrations
from tests.pg import fresh_schema, schema_dsn


def _migrate(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert cli.main(["--config", str(config), "migrate"]) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "redact-gw.yaml"
    path.write_text(yaml.safe_dump({"vault": {"url": url, "migrate_on_start": False}}))
    return path


def test_migrate_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "vault.db")
    everything = [v for v, _ in migrations.SQLITE]
    assert _migrate(config, capsys) == {"backend": "sqlite", "applied": everything}
    assert _migrate(config, capsys) == {"backend": "sqlite", "applied": []}


async def test_migrate_postgres(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with fresh_schema() as schema:
        config = _config(tmp_path, schema_dsn(schema))
        everything = [v for v, _ in migrations.POSTGRES]
        first = await asyncio.to_thread(_migrate, config, capsys)
        assert first == {"backend": "postgresql", "applied": everything}
        assert await asyncio.to_thread(_migrate, config, capsys) == {
            "backend": "postgresql", "applied": []}


def test_migrate_unreachable_postgres_fails_with_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "redact-gw.yaml"
    config.write_text(yaml.safe_dump({"vault": {
        "url": "postgresql://postgres:pw-x1@127.0.0.1:9/test", "connect_timeout_s": 1}}))
    assert cli.main(["--config", str(config), "migrate"]) == 2
    err = capsys.readouterr().err
    assert "vault_unavailable" in err and "pw-x1" not in err
