"""Guarantees every vault backend gives, through the ``Vault`` service."""

from __future__ import annotations

import asyncio

import pytest

from redact_gw.errors import IntegrityError, NotFound
from redact_gw.model import PendingValue
from redact_gw.tokens import TOKEN_RE
from redact_gw.vault.base import VaultStore
from redact_gw.vault.service import Vault

PHONE = PendingValue("PHONE_NUMBER", "2125550123", "212-555-0123")
EMAIL = PendingValue("EMAIL_ADDRESS", "john.smith@gmail.com", "John.Smith@gmail.com")


async def test_same_value_same_token_within_record_across_requests(vault: Vault) -> None:
    first = await vault.tokenize("acme", "r1", None, [PHONE, EMAIL])
    again = await vault.tokenize("acme", "r1", None, [EMAIL, PHONE])
    assert first == again
    assert all(TOKEN_RE.fullmatch(t) for t in first.values())
    # another spelling with the same normalized key shares the token
    spoken = PendingValue("PHONE_NUMBER", "2125550123", "two one two five five five ...")
    assert (await vault.tokenize("acme", "r1", None, [spoken]))[
        ("PHONE_NUMBER", "2125550123")] == first[("PHONE_NUMBER", "2125550123")]


async def test_records_and_tenants_never_share_tokens(vault: Vault) -> None:
    a = await vault.tokenize("acme", "r1", None, [PHONE])
    b = await vault.tokenize("acme", "r2", None, [PHONE])
    c = await vault.tokenize("globex", "r1", None, [PHONE])
    assert len({*a.values(), *b.values(), *c.values()}) == 3


async def test_reveal_returns_original_characters(vault: Vault) -> None:
    tokens = await vault.tokenize("acme", "r1", "cust-1", [PHONE, EMAIL])
    out = await vault.reveal("acme", "r1", list(tokens.values()))
    assert {v.value for v in out.values()} == {"212-555-0123", "John.Smith@gmail.com"}
    assert (await vault.get_record("acme", "r1")).subject_id == "cust-1"


async def test_unknown_record_and_other_tenant_are_not_found(vault: Vault) -> None:
    tokens = await vault.tokenize("acme", "r1", None, [PHONE])
    with pytest.raises(NotFound):
        await vault.reveal("acme", "nope", list(tokens.values()))
    with pytest.raises(NotFound):
        await vault.reveal("globex", "r1", list(tokens.values()))


async def test_token_of_other_record_reveals_nothing(vault: Vault) -> None:
    a = await vault.tokenize("acme", "r1", None, [PHONE])
    await vault.tokenize("acme", "r2", None, [EMAIL])
    assert await vault.reveal("acme", "r2", list(a.values())) == {}


async def test_concurrent_tokenize_of_one_record_agrees(vault: Vault) -> None:
    values = [PendingValue("PHONE_NUMBER", str(1000000 + i), str(1000000 + i))
              for i in range(30)]
    results = await asyncio.gather(*(vault.tokenize("acme", "hot", None, values)
                                     for _ in range(8)))
    assert all(r == results[0] for r in results)
    entries = await vault.store.record_entries("acme", "hot")
    assert len(entries) == 30


async def test_known_values_decrypts_record(vault: Vault) -> None:
    await vault.tokenize("acme", "r1", None, [PHONE, EMAIL])
    known = await vault.known_values("acme", "r1")
    assert {(k.entity_type, k.value) for k in known} == {
        ("PHONE_NUMBER", "212-555-0123"), ("EMAIL_ADDRESS", "John.Smith@gmail.com")}
    assert await vault.known_values("acme", "none") == []


async def test_reprs_never_show_values(vault: Vault) -> None:
    await vault.tokenize("acme", "r1", None, [PHONE])
    entries = await vault.store.record_entries("acme", "r1")
    record = await vault.store.get_record("acme", "r1")
    text = repr(entries) + repr(record) + repr(PHONE) + repr(await vault.known_values("acme",
                                                                                      "r1"))
    assert "212-555-0123" not in text and "2125550123" not in text


async def test_wrong_key_file_is_an_integrity_error(vault: Vault, tmp_path) -> None:
    from redact_gw.crypto.keyring import KeyringSource, generate_key_file
    tokens = await vault.tokenize("acme", "r1", None, [PHONE])
    other_path = tmp_path / "other.yaml"
    other = generate_key_file(other_path)
    # same key id, different key bytes: a wrong key, not a missing one
    text = other_path.read_text().replace(other.primary_kid, vault.keys.current().primary_kid)
    other_path.write_text(text)
    wrong = Vault(vault.store, KeyringSource(other_path))
    with pytest.raises(IntegrityError):
        await wrong.reveal("acme", "r1", list(tokens.values()))


async def test_store_only_sees_ciphertext(store: VaultStore, vault: Vault) -> None:
    await vault.tokenize("acme", "r1", None, [PHONE])
    (entry,) = await store.record_entries("acme", "r1")
    assert b"212-555-0123" not in entry.sealed and b"2125550123" not in entry.sealed
