"""One read before detection (``redaction_state``) and the redaction's audit event
written with its values (``commit_entries(audit=...)``), on every backend."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from redact_gw.audit import AuditLog, verify
from redact_gw.crypto.keyring import KeyringSource
from redact_gw.errors import VaultUnavailable
from redact_gw.model import PendingValue
from redact_gw.testing import FakeClock
from redact_gw.vault.base import (
    AuditQuery,
    OptOutRow,
    RecordRaceLost,
    RecordState,
    VaultStore,
    read_state_by_parts,
)
from redact_gw.vault.service import Vault
from redact_gw.vault.sqlite import SqliteStore


def _values(*names: str) -> list[PendingValue]:
    return [PendingValue("PERSON", n.lower(), n) for n in names]


def _flags(tenant: str, subject: str, *, no_ai: bool = False) -> OptOutRow:
    return OptOutRow(tenant, subject, no_ai, not no_ai, None, "admin", 1.0)


def _sorted(state: RecordState) -> tuple[Any, ...]:
    return (state.record, state.subjects, state.optouts,
            sorted(state.entries, key=lambda e: e.token))


async def test_state_holds_record_subjects_flags_and_values(store: VaultStore,
                                                             vault: Vault) -> None:
    await vault.tokenize("acme", "r1", "cust-1", _values("Ann Lee"), sent_by="bot")
    await vault.tokenize("acme", "r1", "cust-2", _values("Bo Diaz"), sent_by="bot")
    await store.put_optout(_flags("acme", "cust-2"))
    await store.put_optout(_flags("acme", "cust-3", no_ai=True))
    await store.put_optout(_flags("globex", "cust-1", no_ai=True))  # another tenant's

    state = await store.redaction_state("acme", "r1", "cust-3", entries=True)
    assert state.record is not None and state.record.subject_id == "cust-1"
    assert state.subjects == {"cust-1", "cust-2", "cust-3"}
    assert set(state.optouts) == {"cust-2", "cust-3"}
    assert state.optouts["cust-3"].no_ai_processing
    assert sorted(e.entity_type for e in state.entries) == ["PERSON", "PERSON"]
    known = await vault.known_values("acme", "r1", {"bot"}, read=state)
    assert sorted(k.value for k in known) == ["Ann Lee", "Bo Diaz"]
    # the combined read answers what the single reads answer
    parts = await read_state_by_parts(store, "acme", "r1", "cust-3", entries=True)
    assert _sorted(state) == _sorted(parts)

    without = await store.redaction_state("acme", "r1", None, entries=False)
    assert without.entries == [] and without.subjects == {"cust-1", "cust-2"}


async def test_state_of_unknown_and_shredded_records(store: VaultStore, vault: Vault) -> None:
    unknown = await store.redaction_state("acme", "nope", "cust-9", entries=True)
    assert (unknown.record, unknown.subjects, unknown.optouts, unknown.entries) == (
        None, {"cust-9"}, {}, [])
    await vault.tokenize("acme", "gone", "cust-1", _values("Ann Lee"))
    await store.shred_record("acme", "gone", 2.0, "erasure", False)
    shredded = await store.redaction_state("acme", "gone", None, entries=True)
    assert shredded.record is not None and shredded.record.wrapped_dek is None
    assert shredded.entries == [] and shredded.subjects == {"cust-1"}


async def test_tokenize_from_a_stale_read_reads_again(store: VaultStore,
                                                      vault: Vault) -> None:
    """The record was created by someone else after it was read: the commit loses its
    race and the values land under the key that is stored, with their own tokens."""
    stale = await store.redaction_state("acme", "r2", None, entries=False)
    first = await vault.tokenize("acme", "r2", None, _values("Ann Lee"))
    again = await vault.tokenize("acme", "r2", None, _values("Ann Lee", "Bo Diaz"),
                                 read=stale)
    assert again[("PERSON", "ann lee")] == first[("PERSON", "ann lee")]
    revealed = await vault.reveal("acme", "r2", list(again.values()))
    assert sorted(r.value for r in revealed.values()) == ["Ann Lee", "Bo Diaz"]


async def test_audit_event_is_written_with_the_values(store: VaultStore, vault: Vault,
                                                      keys: KeyringSource) -> None:
    audit = AuditLog(store, FakeClock(), keys=keys)
    event = audit.prepare("redact", tenant="acme", record_id="r3", counts={"PERSON": 1})
    await vault.tokenize("acme", "r3", None, _values("Ann Lee"), audit=event)
    assert event.row is not None and event.row.action == "redact"
    assert (await audit.complete(event)) == event.row  # not appended a second time
    assert [e.action for e in await store.audit_events(AuditQuery())] == ["redact"]
    assert (await verify(store, keys=keys.current())).ok

    # nothing new to store: the same one write (it stores nothing) carries the event
    repeat = audit.prepare("redact", tenant="acme", record_id="r3", counts={"PERSON": 1})
    again = await vault.tokenize("acme", "r3", None, _values("Ann Lee"), audit=repeat)
    assert repeat.row is not None and repeat.row.seq == event.row.seq + 1
    assert (await audit.complete(repeat)) == repeat.row  # not appended a second time
    assert len(await store.audit_events(AuditQuery())) == 2
    assert len(await store.record_entries("acme", "r3")) == 1  # nothing sealed twice
    assert (await vault.reveal("acme", "r3", list(again.values())))[
        again[("PERSON", "ann lee")]].value == "Ann Lee"
    assert (await verify(store, keys=keys.current())).ok


async def test_a_lost_race_writes_no_audit_event(store: VaultStore, vault: Vault,
                                                 keys: KeyringSource) -> None:
    await vault.tokenize("acme", "r4", None, _values("Ann Lee"))
    stored = await store.get_record("acme", "r4")
    assert stored is not None
    other, _dek = vault._new_record("acme", "r4", None, None)  # another data key
    event = AuditLog(store, FakeClock(), keys=keys).prepare("redact", tenant="acme")
    with pytest.raises(RecordRaceLost):
        await store.commit_entries(other, [], event)
    assert event.row is None and await store.audit_events(AuditQuery()) == []


async def test_sqlite_failed_audit_append_keeps_no_values(tmp_path: Path, keys: KeyringSource,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    store = SqliteStore(tmp_path / "v.db")
    await store.open()
    try:
        vault = Vault(store, keys, clock=FakeClock())
        event = AuditLog(store, FakeClock(), keys=keys).prepare("redact", tenant="acme")

        def broken(_c: sqlite3.Connection, _event: Any) -> Any:
            raise sqlite3.OperationalError("disk I/O error")
        monkeypatch.setattr(SqliteStore, "_append_audit", staticmethod(broken))
        with pytest.raises(VaultUnavailable):
            await vault.tokenize("acme", "r5", None, _values("Ann Lee"), audit=event)
        monkeypatch.undo()
        assert event.row is None
        assert await store.get_record("acme", "r5") is None  # values and record rolled back
        assert await store.audit_events(AuditQuery()) == []
    finally:
        await store.close()
