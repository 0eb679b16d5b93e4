"""Vault fixtures: one contract suite, parametrized over every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from redact_gw.crypto.keyring import KeyringSource, generate_key_file
from redact_gw.testing import FakeClock
from redact_gw.vault.base import VaultStore
from redact_gw.vault.service import Vault
from redact_gw.vault.sqlite import SqliteStore

BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VaultStore]:
    s = SqliteStore(tmp_path / "vault.db")
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
