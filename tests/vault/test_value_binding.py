"""Issue 15, findings 3, 4 and 9 at the vault: on every backend.

3. Each value carries the subject it was written for; erasing the subject removes it in
   any record (``~answers`` siblings too), whoever created the record.
4. A database writer without the key file cannot retype a value, move it to another
   subject or keep it past its expiry: the value no longer opens.
9. One record whose data key does not open does not stop a re-wrap of the others.
"""

from __future__ import annotations

from typing import Any

import pytest

from redact_gw.crypto.keyring import KeyringSource, add_primary
from redact_gw.errors import IntegrityError
from redact_gw.model import PendingValue
from redact_gw.vault.base import VaultStore
from redact_gw.vault.service import RewrapReport, Vault
from redact_gw.vault.sqlite import SqliteStore

SSN = PendingValue("US_SSN", "078051120", "078-05-1120")
EMAIL = PendingValue("EMAIL_ADDRESS", "ann@example.com", "ann@example.com")
PHONE = PendingValue("PHONE_NUMBER", "2125550123", "212-555-0123")


async def _sql(store: VaultStore, sql: str, *args: Any) -> None:
    """What a database writer without the key file can do (``?`` placeholders)."""
    if isinstance(store, SqliteStore):
        await store._write(lambda c: c.execute(sql, args))
        return
    n = 0
    def num(_m: Any) -> str:
        nonlocal n
        n += 1
        return f"${n}"
    import re
    pg_sql = re.sub(r"\?", num, sql)
    async def q(c: Any) -> None:
        await c.execute(pg_sql, *args)
    await store._write(q)  # type: ignore[attr-defined]


def _expiring(tenant: str, channel: str | None, entity_type: str, now: float) -> float:
    return now + 3600.0


# -- 4: entity type, subject and expiry are authenticated ---------------------------------
@pytest.mark.parametrize("tamper", [
    "UPDATE entries SET entity_type = 'PERSON' WHERE token = ?",
    "UPDATE entries SET expires_at = NULL WHERE token = ?",
    "UPDATE entries SET expires_at = expires_at + 86400 WHERE token = ?",
    "UPDATE entries SET subject_id = 'someone-else' WHERE token = ?",
    "UPDATE entries SET aad_version = 1 WHERE token = ?",
])
async def test_db_writer_cannot_retype_or_keep_a_value(store: VaultStore, keys: KeyringSource,
                                                      tamper: str) -> None:
    vault = Vault(store, keys, expiry=_expiring)
    token = (await vault.tokenize("acme", "r1", "cust-1", [SSN], sent_by="agent"))[
        ("US_SSN", SSN.key)]
    assert (await vault.reveal("acme", "r1", [token]))[token].value == "078-05-1120"
    await _sql(store, tamper, token)
    with pytest.raises(IntegrityError):
        await vault.reveal("acme", "r1", [token])


async def test_rows_sealed_before_version_2_still_open(store: VaultStore,
                                                      keys: KeyringSource) -> None:
    """Migration story: version-1 rows keep ``aad_version`` 1 and their old AAD."""
    from redact_gw.crypto import aead
    from redact_gw.vault import service
    vault = Vault(store, keys)
    token = (await vault.tokenize("acme", "r1", None, [PHONE], sent_by="agent"))[
        ("PHONE_NUMBER", PHONE.key)]
    row = await vault.get_record("acme", "r1")
    dek = await vault._unwrap(row)
    assert row.dek_id is not None
    legacy = aead.seal(dek, b"212-555-0123", aead.aad(
        "redact_gw/value/v1", "acme", "r1", token, row.dek_id, "agent"))
    await _sql(store, "UPDATE entries SET sealed = ?, aad_version = 1 WHERE token = ?",
               legacy, token)
    assert (await vault.reveal("acme", "r1", [token]))[token].value == "212-555-0123"
    assert service.AAD_VERSION == 2


# -- 3: values carry their subject ---------------------------------------------------------
async def test_erasure_finds_values_written_for_the_subject_in_any_record(
        store: VaultStore, keys: KeyringSource) -> None:
    vault = Vault(store, keys)
    # the README's order: the call creates the record for call-42, then the customer
    # is identified as cust-981 and their email sent in the same record
    await vault.tokenize("acme", "r1", "call-42", [PHONE])
    email = (await vault.tokenize("acme", "r1", "cust-981", [EMAIL]))[
        ("EMAIL_ADDRESS", EMAIL.key)]
    await vault.tokenize("acme", "r1~answers", "cust-981", [SSN])
    assert await store.record_subjects("acme", "r1") == {"call-42", "cust-981"}
    removed = await store.shred_subject_values("acme", "cust-981", 10.0, "erasure")
    assert removed.values == {"EMAIL_ADDRESS": 1, "US_SSN": 1} and removed.records == 2
    assert await vault.reveal("acme", "r1", [email]) == {}
    assert await vault.removed_tokens("acme", "r1", [email]) == {email}
    # call-42's value is not the customer's: it stays
    assert len(await vault.known_values("acme", "r1")) == 1


async def test_erasure_of_values_skips_records_on_legal_hold(store: VaultStore,
                                                            keys: KeyringSource) -> None:
    vault = Vault(store, keys)
    await vault.tokenize("acme", "held", "cust-1", [EMAIL])
    await store.set_legal_hold("acme", "held", True)
    removed = await store.shred_subject_values("acme", "cust-1", 10.0, "erasure")
    assert removed.total == 0 and len(await vault.known_values("acme", "held")) == 1


# -- 1: detection context holds only the caller's own values ------------------------------
async def test_known_values_of_given_senders_only(store: VaultStore,
                                                  keys: KeyringSource) -> None:
    vault = Vault(store, keys)
    await vault.tokenize("acme", "r1", None, [SSN], sent_by="alice")
    await vault.tokenize("acme", "r1", None, [PHONE], sent_by="bob")
    await vault.tokenize("acme", "r1", None, [EMAIL])
    mine = await vault.known_values("acme", "r1", senders={"bob"})
    assert [k.value for k in mine] == ["212-555-0123"]
    assert await vault.known_values("acme", "r1", senders=set()) == []
    assert len(await vault.known_values("acme", "r1")) == 3


# -- 9: one bad record does not stop rotation ----------------------------------------------
async def test_rewrap_skips_a_record_that_does_not_open(store: VaultStore,
                                                        keys: KeyringSource) -> None:
    vault = Vault(store, keys)
    for i in range(7):
        await vault.tokenize("acme", f"r{i}", None, [PHONE])
    await _sql(store, "UPDATE records SET dek_id = 'forged' WHERE record_id = ?", "r3")
    await _sql(store, "UPDATE records SET kek_id = NULL WHERE record_id = ?", "r5")
    ring = add_primary(keys.path)
    rotator = Vault(store, KeyringSource(keys.path))
    report = RewrapReport()
    while await rotator.rewrap_batch(2, report):
        pass
    assert report.failed == [("acme", "r3"), ("acme", "r5")] and report.rewrapped == 5
    assert await store.count_records_by_kek() == {ring.primary_kid: 5,
                                                  keys.current().primary_kid: 1, None: 1}
    assert report.to_dict()["failed"][0] == {"tenant": "acme", "record_id": "r3"}


# -- upgrade: a version-1 database gets version 2 and its values still open ----------------
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_upgrade_from_version_1_keeps_values_openable(
        backend: str, tmp_path: Any, keys: KeyringSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redact_gw.crypto import aead
    from redact_gw.vault import migrations
    from redact_gw.vault.postgres import PostgresStore
    from tests.pg import fresh_schema, schema_dsn

    async def run(make: Any) -> None:
        with monkeypatch.context() as m:  # a gateway that only knew version 1
            m.setattr(migrations, "SQLITE", migrations.SQLITE[:1])
            m.setattr(migrations, "POSTGRES", migrations.POSTGRES[:1])
            old = make()
            await old.open()
            assert await old.schema_versions() == [1]
            # what a version-1 gateway wrote: a record and a value sealed the old way
            row, dek = Vault(old, keys)._new_record("acme", "r1", None, None)
            await old.ensure_record(row)
            token = "[[PHONE_NUMBER:abcdefghij]]"
            assert row.dek_id is not None
            legacy = aead.seal(dek, b"212-555-0123", aead.aad(
                "redact_gw/value/v1", "acme", "r1", token, row.dek_id, "agent"))
            await _sql(old, "INSERT INTO entries (tenant, record_id, token, entity_type,"
                       " fingerprint, sealed, created_at, expires_at, sent_by)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", "acme", "r1", token,
                       "PHONE_NUMBER", b"fp", legacy, 1.0, None, "agent")
            await old.close()
        new = make()
        await new.open()
        try:
            assert (await new.schema_versions())[:2] == [1, 2]
            (entry,) = await new.record_entries("acme", "r1")
            assert entry.aad_version == 1 and entry.subject_id is None
            vault = Vault(new, keys)
            assert (await vault.reveal("acme", "r1", [token]))[token].value == "212-555-0123"
        finally:
            await new.close()

    if backend == "sqlite":
        await run(lambda: SqliteStore(tmp_path / "old.db"))
        return
    async with fresh_schema() as schema:
        await run(lambda: PostgresStore(schema_dsn(schema), max_size=2))
