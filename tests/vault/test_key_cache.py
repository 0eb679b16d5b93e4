"""The per-record cache of opened data keys: used while the record and keyring match,
never after crypto-shredding or a key rotation, on every path that opens a key."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from redact_gw.crypto.keyring import KeyringSource, add_primary
from redact_gw.errors import Gone, IntegrityError
from redact_gw.model import PendingValue
from redact_gw.vault.base import RecordRow, VaultStore
from redact_gw.vault.keycache import DataKeyCache, OpenKey
from redact_gw.vault.service import RewrapReport, Vault

PHONE = PendingValue("PHONE_NUMBER", "5551234567", "555-123-4567")
NAME = PendingValue("PERSON", "ada lovelace", "Ada Lovelace")


class CountingUnwraps:
    """Counts real unwraps by wrapping ``Keyring.unwrap`` of every ring handed out."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from redact_gw.crypto import keyring
        self.calls = 0
        real = keyring.Keyring.unwrap

        def unwrap(ring: Any, *args: Any) -> bytes:
            self.calls += 1
            return real(ring, *args)
        monkeypatch.setattr(keyring.Keyring, "unwrap", unwrap)


@pytest.fixture
def unwraps(monkeypatch: pytest.MonkeyPatch) -> CountingUnwraps:
    return CountingUnwraps(monkeypatch)


async def _shred(store: VaultStore, record_id: str) -> None:
    await store.shred_record("acme", record_id, 1.0, "erasure", forget_subject=False)


async def test_one_unwrap_serves_a_record_s_next_requests(
        vault: Vault, unwraps: CountingUnwraps) -> None:
    tokens = await vault.tokenize("acme", "call-1", None, [PHONE])
    again = await vault.tokenize("acme", "call-1", None, [PHONE, NAME])  # next utterance
    assert again[("PHONE_NUMBER", PHONE.key)] == tokens[("PHONE_NUMBER", PHONE.key)]
    known = await vault.known_values("acme", "call-1")
    token = again[("PERSON", NAME.key)]
    assert (await vault.reveal("acme", "call-1", [token]))[token].value == "Ada Lovelace"
    assert {k.value for k in known} == {"555-123-4567", "Ada Lovelace"}
    assert unwraps.calls == 0  # the key made for the record is reused on every path
    assert len(vault.key_cache) == 1


@pytest.mark.parametrize("path", ["reveal", "known_values", "data_key"])
async def test_shredding_ends_the_cached_key_on_every_path(
        vault: Vault, store: VaultStore, path: str) -> None:
    token = (await vault.tokenize("acme", "r1", None, [PHONE]))[("PHONE_NUMBER", PHONE.key)]
    await vault.reveal("acme", "r1", [token])  # cached
    await _shred(store, "r1")
    if path == "reveal":
        assert await vault.reveal("acme", "r1", [token]) == {}  # the values are gone too
        assert await vault.removed_tokens("acme", "r1", [token]) == {token}
    elif path == "known_values":
        assert await vault.known_values("acme", "r1") == []
    else:
        with pytest.raises(Gone):
            await vault.data_key("acme", "r1")
        assert len(vault.key_cache) == 0  # found shredded: dropped at once


async def test_a_shredded_record_gets_a_new_key_not_the_cached_one(
        vault: Vault, store: VaultStore) -> None:
    await vault.tokenize("acme", "r1", None, [PHONE])
    old_row, old_dek = await vault.data_key("acme", "r1")
    await _shred(store, "r1")
    token = (await vault.tokenize("acme", "r1", None, [NAME]))[("PERSON", NAME.key)]
    new_row, new_dek = await vault.data_key("acme", "r1")
    assert new_row.dek_id != old_row.dek_id and new_dek != old_dek
    assert (await vault.reveal("acme", "r1", [token]))[token].value == "Ada Lovelace"


async def test_rotation_clears_the_cache_and_rewrapped_keys_unwrap_afresh(
        vault: Vault, store: VaultStore, keys: KeyringSource,
        unwraps: CountingUnwraps) -> None:
    token = (await vault.tokenize("acme", "r1", None, [PHONE]))[("PHONE_NUMBER", PHONE.key)]
    assert len(vault.key_cache) == 1
    add_primary(keys.path)
    _touch(keys.path)
    assert keys.reload_if_changed()
    while await vault.rewrap_batch(10):
        pass
    assert len(vault.key_cache) == 0  # the new keyring emptied it
    unwraps.calls = 0
    assert (await vault.reveal("acme", "r1", [token]))[token].value == "555-123-4567"
    assert unwraps.calls == 1  # opened under the new KEK, not served from before


async def test_a_removed_kek_is_not_outlived_by_a_cached_key(
        vault: Vault, keys: KeyringSource) -> None:
    token = (await vault.tokenize("acme", "r1", None, [PHONE]))[("PHONE_NUMBER", PHONE.key)]
    await vault.reveal("acme", "r1", [token])
    doc = yaml.safe_load(keys.path.read_text())
    new = add_primary(keys.path)  # then drop the old KEK without re-wrapping
    doc = yaml.safe_load(keys.path.read_text())
    doc["keys"] = [k for k in doc["keys"] if k["id"] == new.primary_kid]
    keys.path.write_text(yaml.safe_dump(doc))
    _touch(keys.path)
    assert keys.reload_if_changed()
    with pytest.raises(IntegrityError):
        await vault.reveal("acme", "r1", [token])


def test_the_cache_is_bounded_in_count_and_age() -> None:
    now = [0.0]
    cache = DataKeyCache(max_entries=2, ttl_s=10.0, clock=lambda: now[0])
    ring = object()
    rows = [_row(f"r{i}") for i in range(3)]
    for row in rows:
        cache.put(row, ring, OpenKey(b"k" * 32, b"f" * 32))
    assert len(cache) == 2 and cache.get(rows[0], ring) is None  # least recently used left
    assert cache.get(rows[2], ring) is not None
    now[0] = 11.0
    assert cache.get(rows[2], ring) is None and len(cache) == 0  # past its age
    assert "kkkk" not in repr(OpenKey(b"k" * 32, b"f" * 32))


def _row(record_id: str) -> RecordRow:
    return RecordRow("acme", record_id, None, 0.0, "d1", "k1", b"wrapped")


def _touch(path: Path, later: Callable[[float], float] = lambda t: t + 5) -> None:
    st = path.stat()
    os.utime(path, (st.st_atime, later(st.st_mtime)))


async def test_rewrap_report_still_names_a_record_that_does_not_open(
        vault: Vault, store: VaultStore, keys: KeyringSource) -> None:
    await vault.tokenize("acme", "r1", None, [PHONE])  # cached here
    add_primary(keys.path)
    _touch(keys.path)
    keys.reload_if_changed()
    report = RewrapReport()
    while await vault.rewrap_batch(10, report):
        pass
    assert report.failed == [] and report.rewrapped == 1
