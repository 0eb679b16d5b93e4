"""Scoped detection overrides on every backend (migration 5)."""

from __future__ import annotations

from redact_gw.vault.base import VaultStore
from redact_gw.vault.override_base import OverrideRow


def _row(scope: str, doc: str = "{}", tenant: str = "acme") -> OverrideRow:
    return OverrideRow(tenant, scope, "ov1", doc, "admin", 100.0, "k1", b"\x01mac")


async def test_put_replaces_per_scope_lists_and_deletes(store: VaultStore) -> None:
    await store.put_policy_override(_row("/v1/redact", '{"a":1}'))
    await store.put_policy_override(_row("/v1/redact", '{"a":2}'))  # replaces
    await store.put_policy_override(_row("*"))
    await store.put_policy_override(_row("*", tenant="globex"))
    mine = await store.policy_overrides("acme")
    assert [(r.scope, r.doc) for r in mine] == [("*", "{}"), ("/v1/redact", '{"a":2}')]
    assert mine[1].mac == b"\x01mac" and mine[1].created_at == 100.0
    assert len(await store.policy_overrides()) == 3
    removed = await store.delete_policy_override("acme", "/v1/redact")
    assert removed is not None and removed.doc == '{"a":2}'
    assert await store.delete_policy_override("acme", "/v1/redact") is None
    assert [r.scope for r in await store.policy_overrides("acme")] == ["*"]
