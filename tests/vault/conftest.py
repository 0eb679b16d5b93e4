"""Vault fixtures: one contract suite, parametrized over every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from redact_gw.crypto.keyring import KeyringSource, generate_key_file
from redact_gw.testing import FakeClock
from redact_gw.vault.base import VaultStore
from redact_gw.vault.postgres import PostgresStore
from redact_gw.vault.service import Vault
from redact_gw.vault.sqlite import SqliteStore
from tests.pg import fresh_schema, schema_dsn

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VaultStore]:
    """An opened, migrated, empty store; PostgreSQL gets a fresh schema per test."""
    if request.param == "sqlite":
        s: VaultStore = SqliteStore(tmp_path / "vault.db")
        await s.open()
        yield s
        await s.close()
        return
    async with fresh_schema() as schema:
        s = PostgresStore(schema_dsn(schema), max_size=4)
        await s.open()
        yield s
        await s.close()


@pytest.fixture
def keys(tmp_path: Path) -> KeyringSource:
    path = tmp_path / "keys.yaml"
    generate_key_file(path)
    return KeyringSource(path, interval_s=0.05)


@pytest.fixture
def vault(store: VaultStore, keys: KeyringSource) -> Vault:
    return Vault(store, keys, clock=FakeClock())
