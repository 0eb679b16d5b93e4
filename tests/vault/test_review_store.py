"""Review-queue store guarantees on every backend (migration 3)."""

from __future__ import annotations

from redact_gw.model import PendingValue
from redact_gw.testing import FakeClock
from redact_gw.vault.base import VaultStore
from redact_gw.vault.review_base import (
    ProposalRow,
    ReviewItemRow,
    ReviewQuery,
    VerdictRow,
    pack,
)
from redact_gw.vault.service import Vault

DAY = 86400.0


def _item(item_id: str, record: str, at: float, expires: float | None = None,
          types: tuple[str, ...] = ("PERSON",), reasons: tuple[str, ...] = ("random",),
          tier: str = "low") -> ReviewItemRow:
    return ReviewItemRow("acme", item_id, record, "/v1/redact", tier, pack(list(reasons)),
                         pack(list(types)), at, expires, "dek", b"sealed-bytes")


async def test_items_cap_filters_verdicts_and_proposals(store: VaultStore) -> None:
    assert await store.add_review_item(_item("a", "r1", 100.0), 0.0, 2)
    assert await store.add_review_item(_item("b", "r2", 200.0, types=("PHONE_NUMBER",),
                                             reasons=("tier",), tier="high"), 0.0, 2)
    assert not await store.add_review_item(_item("c", "r3", 300.0), 0.0, 2)  # capped
    assert await store.add_review_item(_item("c", "r3", DAY + 1), DAY, 2)  # a new day
    rows = await store.review_items(ReviewQuery("acme"))
    assert [r.item_id for r in rows] == ["c", "b", "a"]
    assert [r.item_id for r in await store.review_items(
        ReviewQuery("acme", entity_type="PHONE_NUMBER"))] == ["b"]
    assert [r.item_id for r in await store.review_items(
        ReviewQuery("acme", reason="tier", tier="high"))] == ["b"]
    assert [r.item_id for r in await store.review_items(
        ReviewQuery("acme", since=150.0, limit=1))] == ["c"]
    assert await store.review_items(ReviewQuery("globex")) == []
    assert await store.get_review_item("globex", "a") is None
    v = VerdictRow("acme", "v1", "a", "r1", "/v1/redact", "ann", "missed", "PERSON", "tok",
                   None, 500.0, 400.0, "dek", b"case")
    assert await store.add_verdict(v)
    assert not await store.add_verdict(VerdictRow("acme", "v2", "zz", "r1", "/", "ann",
                                                  "correct", None, None, None, 1.0, 1.0))
    full = await store.get_verdict("acme", "v1")
    assert full is not None and full.sealed_case == b"case"
    assert await store.get_verdict("globex", "v1") is None
    got = await store.review_verdicts("acme", None)
    assert [(g.verdict_id, g.sealed_case) for g in got] == [("v1", None)]
    assert (await store.get_review_item("acme", "a")).status == "reviewed"  # type: ignore
    assert await store.reseal_review_item("acme", "a", "dek2", b"new", pack(["X"]))
    assert (await store.get_review_item("acme", "a")).sealed == b"new"  # type: ignore
    p = ProposalRow("acme", "p1", "allow", "PERSON", "r1", "dek", b"sealed", "pending",
                    "ann", 1.0)
    await store.add_proposal(p)
    assert await store.decide_proposal("acme", "p1", "approved", "admin", 2.0)
    assert not await store.decide_proposal("acme", "p1", "rejected", "admin", 3.0)
    assert [x.status for x in await store.review_proposals("acme", None)] == ["approved"]


async def test_review_copies_expire_and_go_with_erasure(store: VaultStore, keys) -> None:
    clock = FakeClock()
    vault = Vault(store, keys, clock=clock)
    await vault.tokenize("acme", "r1", "s1", [PendingValue("PERSON", "x", "X")])
    row, _dek = await vault.data_key("acme", "r2", "s2", create=True)  # nothing found there
    assert row.wrapped_dek is not None
    await store.add_review_item(_item("old", "r1", clock(), expires=clock() + DAY), 0.0, 10)
    await store.add_review_item(_item("keep", "r2", clock(), expires=clock() + 9 * DAY),
                                0.0, 10)
    clock.advance(2 * DAY)
    assert await store.purge_review_expired(clock(), None, 10) == 1
    # a record kept only for its review copy is not shredded as "emptied"
    assert await store.shred_emptied_records(clock(), None, 10) == 0
    assert await store.get_review_item("acme", "keep") is not None
    await store.shred_record("acme", "r2", clock(), "erasure", True)
    assert await store.get_review_item("acme", "keep") is None
