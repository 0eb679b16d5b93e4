"""Store guarantees for retention, opt-outs, audit, quotas and locks (every backend)."""

from __future__ import annotations

import asyncio
import json

import pytest

from redact_gw.audit import AuditLog, verify
from redact_gw.errors import Gone, IntegrityError
from redact_gw.model import PendingValue
from redact_gw.testing import FakeClock
from redact_gw.vault.base import AuditQuery, OptOutRow, VaultStore
from redact_gw.vault.service import Vault

DAY = 86400.0


def _vault(store: VaultStore, keys, clock: FakeClock, per_type: dict[str, float]) -> Vault:
    def expiry(_tenant: str, _channel: str | None, entity_type: str, now: float) -> float:
        return now + per_type.get(entity_type, 30 * DAY)
    return Vault(store, keys, clock=clock, expiry=expiry)


def _values(n: int, etype: str = "PHONE_NUMBER", base: int = 0) -> list[PendingValue]:
    return [PendingValue(etype, f"{etype}{base + i}", f"v{base + i}") for i in range(n)]


async def test_purge_removes_expired_tombstones_and_shreds(store: VaultStore, keys) -> None:
    clock = FakeClock()
    vault = _vault(store, keys, clock, {"CREDIT_CARD": DAY})
    cards = await vault.tokenize("acme", "r1", None, _values(3, "CREDIT_CARD"))
    names = await vault.tokenize("acme", "r1", None, _values(2, "PERSON"))
    only_cards = await vault.tokenize("acme", "r2", None, _values(2, "CREDIT_CARD", 10))
    clock.advance(2 * DAY)
    assert await store.count_expired(clock(), None) == {"CREDIT_CARD": 5}
    removed = await store.purge_expired_batch(clock(), None, 2)
    assert removed.total == 2
    while (await store.purge_expired_batch(clock(), None, 2)).total:
        pass
    assert await store.count_expired(clock(), None) == {}
    assert await store.shred_emptied_records(clock(), None, 10) == 1  # r2 only
    assert (await store.get_record("acme", "r2")).wrapped_dek is None
    assert await store.record_counts("acme", "r1") == {"PERSON": 2}
    gone = list(cards.values())
    assert await store.removed_tokens("acme", "r1", gone) == set(gone)
    assert await vault.reveal("acme", "r1", gone) == {}
    assert len(await vault.reveal("acme", "r1", list(names.values()))) == 2
    assert await vault.reveal("acme", "r2", list(only_cards.values())) == {}


async def test_legal_hold_exempts_from_purge(store: VaultStore, keys) -> None:
    clock = FakeClock()
    vault = _vault(store, keys, clock, {"PERSON": DAY})
    await vault.tokenize("acme", "held", None, _values(2, "PERSON"))
    await vault.tokenize("acme", "free", None, _values(2, "PERSON"))
    assert await store.set_legal_hold("acme", "held", True)
    assert not await store.set_legal_hold("acme", "missing", True)
    clock.advance(2 * DAY)
    assert (await store.purge_expired_batch(clock(), None, 100)).total == 2
    assert await store.record_counts("acme", "held") == {"PERSON": 2}
    await store.set_legal_hold("acme", "held", False)
    assert (await store.purge_expired_batch(clock(), None, 100)).total == 2


async def test_purge_by_tenant(store: VaultStore, keys) -> None:
    clock = FakeClock()
    vault = _vault(store, keys, clock, {})
    await vault.tokenize("acme", "r", None, _values(2))
    await vault.tokenize("globex", "r", None, _values(3))
    clock.advance(31 * DAY)
    assert (await store.purge_expired_batch(clock(), "globex", 100)).total == 3
    assert await store.count_expired(clock(), None) == {"PHONE_NUMBER": 2}


async def test_concurrent_purges_never_double_count(store: VaultStore, keys) -> None:
    clock = FakeClock()
    vault = _vault(store, keys, clock, {})
    for r in range(10):
        await vault.tokenize("acme", f"r{r}", None, _values(30, base=r * 100))
    clock.advance(31 * DAY)

    async def drain() -> int:
        total = 0
        while (n := (await store.purge_expired_batch(clock(), None, 7)).total):
            total += n
            await asyncio.sleep(0)
        return total
    counts = await asyncio.gather(drain(), drain(), drain())
    assert sum(counts) == 300


async def test_shredded_record_is_revived_with_new_key(store: VaultStore, keys) -> None:
    clock = FakeClock()
    vault = _vault(store, keys, clock, {})
    first = await vault.tokenize("acme", "r", "cust", _values(1))
    removed = await store.shred_record("acme", "r", clock(), "erasure", True)
    assert removed.total == 1 and removed.records == 1
    row = await store.get_record("acme", "r")
    assert row.wrapped_dek is None and row.subject_id is None and row.shredded_at
    with pytest.raises(Gone):
        await vault._unwrap(row)
    again = await vault.tokenize("acme", "r", None, _values(1))
    assert again != first  # old token stays dead, the value gets a fresh one
    assert len(await vault.reveal("acme", "r", list(again.values()))) == 1
    assert await store.removed_tokens("acme", "r", list(first.values())) == set(
        first.values())


async def test_no_retention_writes_no_entry(store: VaultStore, keys) -> None:
    vault = _vault(store, keys, FakeClock(), {})
    tokens = await vault.tokenize("acme", "r", "cust", _values(3), no_retention=True)
    assert len(set(tokens.values())) == 3
    row = await store.get_record("acme", "r")
    assert row.no_retention and row.wrapped_dek is None
    assert await store.record_entries("acme", "r") == []


async def test_subject_records_and_optouts(store: VaultStore, keys) -> None:
    vault = _vault(store, keys, FakeClock(), {})
    await vault.tokenize("acme", "a", "cust-1", _values(1))
    await vault.tokenize("acme", "b", "cust-1", _values(1))
    await vault.tokenize("globex", "c", "cust-1", _values(1))
    assert {r.record_id for r in await store.records_of_subject("acme", "cust-1")} == {"a", "b"}
    row = OptOutRow("acme", "cust-1", True, False, "called in", "admin", 5.0)
    await store.put_optout(row)
    assert await store.get_optout("acme", "cust-1") == row
    assert await store.get_optout("globex", "cust-1") is None
    await store.put_optout(OptOutRow("acme", "cust-1", False, True, None, "admin", 6.0))
    assert (await store.get_optout("acme", "cust-1")).no_retention
    assert await store.delete_optout("acme", "cust-1")
    assert not await store.delete_optout("acme", "cust-1")


async def test_a_value_sent_again_for_a_subject_becomes_the_subjects(store: VaultStore,
                                                                      keys) -> None:
    """A call identified midway: the name said before, sent again with the subject,
    is the subject's; erasing the subject takes it. A value already stored for one
    subject stays that subject's."""
    vault = _vault(store, keys, FakeClock(), {})
    name, card = _values(1, "PERSON")[0], _values(1, "CREDIT_CARD")[0]
    first = await vault.tokenize("acme", "r1", None, [name], sent_by="agent-app")
    audit = AuditLog(store, FakeClock(), keys=keys)
    event = audit.prepare("redact", tenant="acme", record_id="r1", subject_id="cust-1")
    again = await vault.tokenize("acme", "r1", "cust-1", [name, card], sent_by="crm",
                                 audit=event)
    assert again[(name.entity_type, name.key)] == first[(name.entity_type, name.key)]
    # the audit event of the request says what it claimed (counts, never a value)
    [row] = await store.audit_events(AuditQuery(action="redact"))
    assert json.loads(row.payload)["claimed"] == {"PERSON": 1}
    assert (await verify(store, keys=keys.current())).ok
    owners = {e.entity_type: (e.subject_id, e.sent_by)
              for e in await store.record_entries("acme", "r1")}
    assert owners == {"PERSON": ("cust-1", "agent-app"), "CREDIT_CARD": ("cust-1", "crm")}
    # the re-sealed value opens, in its first writer's spelling
    token = first[(name.entity_type, name.key)]
    assert (await vault.reveal("acme", "r1", [token]))[token].value == name.original
    await vault.tokenize("acme", "r1", "cust-2", [name])
    assert {e.subject_id for e in await store.record_entries("acme", "r1")} == {"cust-1"}
    removed = await store.shred_subject_values("acme", "cust-1", 1.0, "erasure")
    assert removed.values == {"PERSON": 1, "CREDIT_CARD": 1}
    assert await store.record_entries("acme", "r1") == []


async def test_a_value_stored_without_a_subject_after_the_read_is_claimed(
        store: VaultStore, keys) -> None:
    """The read before detection saw nothing to claim; a writer stored the value
    without a subject since: the commit still gives it the subject."""
    vault = _vault(store, keys, FakeClock(), {})
    name, card = _values(1, "PERSON")[0], _values(1, "CREDIT_CARD")[0]
    await vault.tokenize("acme", "r1", "cust-1", [card])
    state = await store.redaction_state("acme", "r1", "cust-1", entries=True)
    await vault.tokenize("acme", "r1", None, [name])
    await vault.tokenize("acme", "r1", "cust-1", [name, card], read=state)
    assert {e.entity_type: e.subject_id for e in await store.record_entries("acme", "r1")
            } == {"PERSON": "cust-1", "CREDIT_CARD": "cust-1"}


async def test_a_value_that_fails_to_open_fails_its_claim_with_nothing_written(
        store: VaultStore, keys, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail closed: the request's new values and its audit event are not kept either."""
    vault = _vault(store, keys, FakeClock(), {})
    name, card = _values(1, "PERSON")[0], _values(1, "CREDIT_CARD")[0]
    await vault.tokenize("acme", "r1", None, [name])

    def tampered(*_args: object) -> None:
        raise IntegrityError()
    monkeypatch.setattr(vault, "_open", tampered)
    event = AuditLog(store, FakeClock()).prepare("redact", tenant="acme", record_id="r1")
    with pytest.raises(IntegrityError):
        await vault.tokenize("acme", "r1", "cust-1", [name, card], audit=event)
    assert [(e.entity_type, e.subject_id) for e in await store.record_entries("acme", "r1")
            ] == [("PERSON", None)]
    assert await store.audit_events(AuditQuery(action="redact")) == []


async def test_audit_chain_appends_in_order_and_verifies(store: VaultStore) -> None:
    log = AuditLog(store, FakeClock())
    rows = await asyncio.gather(*(log.record("redact", tenant="acme", record_id=f"r{i}",
                                             counts={"PERSON": i}) for i in range(20)))
    assert sorted(r.seq for r in rows) == list(range(1, 21))
    assert (await verify(store)).ok
    got = await store.audit_events(AuditQuery(tenant="acme", record_id="r3"))
    assert len(got) == 1 and '"PERSON":3' in got[0].payload
    page = await store.audit_events(AuditQuery(after_seq=15, limit=3))
    assert [r.seq for r in page] == [16, 17, 18]


async def test_quota_is_atomic(store: VaultStore) -> None:
    results = await asyncio.gather(*(store.consume_quota("acme", "sup", 3600.0, 3, 10)
                                     for _ in range(6)))
    assert sum(1 for ok, _ in results if ok) == 3
    assert (await store.consume_quota("acme", "sup", 7200.0, 10, 10))[0]  # new window


async def test_lease_lock(store: VaultStore) -> None:
    assert await store.try_lock("purge", "a", 100.0, 60)
    assert not await store.try_lock("purge", "b", 110.0, 60)
    assert await store.try_lock("purge", "a", 120.0, 60)  # renew
    assert await store.try_lock("purge", "b", 200.0, 60)  # expired -> taken over
    await store.release_lock("purge", "a")  # not the holder: no effect
    assert not await store.try_lock("purge", "a", 201.0, 60)
    await store.release_lock("purge", "b")
    assert await store.try_lock("purge", "a", 202.0, 60)


async def test_stale_writer_cannot_revive_a_shredded_key(store: VaultStore, keys) -> None:
    """Read live record, shred commits, then commit with the stale key: refused."""
    from redact_gw.vault.base import EntryRow, RecordRaceLost
    vault = _vault(store, keys, FakeClock(), {})
    await vault.tokenize("acme", "r", "cust", _values(1))
    stale = await store.get_record("acme", "r")
    await store.shred_record("acme", "r", 1.0, "erasure", True)
    entry = EntryRow("acme", "r", "[[PERSON:aaaaaaaaaa]]", "PERSON", b"f" * 32, b"s" * 40, 1.0)
    with pytest.raises(RecordRaceLost):
        await store.commit_entries(stale, [entry])
    row = await store.get_record("acme", "r")
    assert row.wrapped_dek is None
    # the service retries with a fresh key and succeeds
    again = await vault.tokenize("acme", "r", None, _values(1, base=50))
    assert len(await vault.reveal("acme", "r", list(again.values()))) == 1
    assert (await store.get_record("acme", "r")).dek_id != stale.dek_id


async def test_old_tombstones_are_forgotten(store: VaultStore, keys) -> None:
    clock = FakeClock()
    vault = _vault(store, keys, clock, {})
    tokens = list((await vault.tokenize("acme", "r", None, _values(5))).values())
    await vault.tokenize("globex", "r", None, _values(2))
    clock.advance(31 * DAY)
    while (await store.purge_expired_batch(clock(), None, 100)).total:
        pass
    assert await store.removed_tokens("acme", "r", tokens) == set(tokens)
    assert await store.purge_tombstones(clock() - 1, "acme", 2) == 0  # not old enough
    clock.advance(10)
    assert await store.purge_tombstones(clock() - 1, "acme", 3) == 3
    assert await store.purge_tombstones(clock() - 1, "acme", 3) == 2
    assert await store.removed_tokens("acme", "r", tokens) == set()
    assert await store.purge_tombstones(clock() - 1, None, 10) == 2  # globex's
