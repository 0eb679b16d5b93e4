"""Phased rollout: a previewed detection change applied to one route or tenant first.

An admin previews a change on the sealed review sample (``replay.py``), then applies
it to one route template or to the whole tenant (scope ``*``), widens it to more
scopes, or rolls it back. Live, without a restart: requests of a scope are detected
with ``Override.settings`` (``detection/scoped.py``), the others as before. The most
specific scope applies, whole: a route's override, else the tenant's, else the
gateway's own settings.

- **What may change**: thresholds per type, the default threshold, entity types
  disabled. Enabling a type the gateway's detector does not run needs a config change
  (the worker would need another model); it is refused.
- **Who**: a change that only *lowers* thresholds (catches more) may be applied by a
  reviewer (``review``) or an admin; a change that *loosens* (raises a threshold,
  disables a type) needs ``manage_keys`` and a preview of the same settings by the
  tenant within ``review.rollout_preview_h`` hours. Rolling back follows the same
  rule, mirrored: removing an override that lowered something needs an admin.
- **Integrity**: each row carries an HMAC-SHA256 under a key derived from the
  keyring's key ``kid``. A row that fails to verify (edited, moved to another tenant
  or scope, key gone) fails closed: only what it lowers applies (it can never weaken
  detection), an error is logged and ``redact_gw_policy_override_invalid_total`` counts
  it. Deleting a row, or putting back a copy of an earlier one, is not detected here:
  the audit chain records every apply and rollback.
- **Audit**: ``review.rollout`` (``applied`` / ``rolled_back``) with the scope, the
  thresholds in thousandths and the disabled types: never text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from redact_gw.audit import AuditLog
from redact_gw.crypto import aead
from redact_gw.crypto.keyring import KeyringSource
from redact_gw.detection.entities import ENTITY_DESCRIPTIONS
from redact_gw.detection.scoped import Override
from redact_gw.errors import Forbidden, InvalidInput, NotFound
from redact_gw.model import Clock, Principal
from redact_gw.policy.roles import Permission
from redact_gw.review.lists import ROUTE
from redact_gw.review.replay import Proposal
from redact_gw.settings import DetectionSettings, Settings
from redact_gw.vault.base import AuditQuery, VaultStore
from redact_gw.vault.override_base import OverrideRow

log = logging.getLogger(__name__)
PURPOSE = "redact_gw/policy-override/v1"
TENANT_SCOPE = "*"
MAX_SCOPES = 32
#: ``*``, or a route template: ``/`` then up to 63 printable ASCII characters.
SCOPE_RE = re.compile(r"\*|/[!-~]{0,63}")


def to_doc(o: Override) -> str:
    """Canonical JSON of an override (what the MAC covers)."""
    return json.dumps({"thresholds": dict(o.thresholds), "default_threshold":
                       o.default_threshold, "disable": sorted(o.disable)},
                      sort_keys=True, separators=(",", ":"))


def from_doc(doc: str) -> Override:
    """The override a row's JSON describes; ``ValueError`` when it is not one."""
    d = json.loads(doc)
    th, default, off = d["thresholds"], d["default_threshold"], d["disable"]
    ok = (isinstance(th, dict) and all(k in ENTITY_DESCRIPTIONS and _unit(v)
                                       for k, v in th.items())
          and (default is None or _unit(default)) and isinstance(off, list)
          and all(t in ENTITY_DESCRIPTIONS for t in off))
    if not ok:
        raise ValueError("not an override")
    return Override.of(th, default, set(off))


def _unit(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0


def loosens(o: Override, base: DetectionSettings) -> bool:
    """The override catches less somewhere: a higher threshold or a type disabled."""
    return (any(v > base.threshold_for(t) for t, v in o.thresholds)
            or (o.default_threshold is not None
                and o.default_threshold > base.default_threshold)
            or any(base.enables(t) for t in o.disable))


def stricter_part(o: Override, base: DetectionSettings) -> Override:
    """Only what the override lowers (what a row that fails to verify keeps)."""
    return Override.of({t: v for t, v in o.thresholds if v < base.threshold_for(t)},
                       o.default_threshold if o.default_threshold is not None
                       and o.default_threshold < base.default_threshold else None, set())


def _tightens(o: Override, base: DetectionSettings) -> bool:
    return stricter_part(o, base) != Override()


def _key(kek: bytes) -> bytes:
    return aead.derive(kek, PURPOSE)


def _mac(key: bytes, row: OverrideRow) -> bytes:
    return hmac.new(key, aead.aad(PURPOSE, row.tenant, row.scope, row.override_id, row.doc,
                                  row.created_by, repr(row.created_at), row.kid),
                    hashlib.sha256).digest()


class LiveOverrides:
    """Verified overrides of every tenant, in memory; the request path reads them."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.tenants: dict[str, dict[str, Override]] = {}
        #: (tenant, scope) of rows that failed verification at the last refresh.
        self.failed: frozenset[tuple[str, str]] = frozenset()
        self.invalid = Counter("redact_gw_policy_override_invalid_total",
                               "Scoped detection overrides that failed verification"
                               " (only their stricter parts apply)", registry=registry)

    def for_tenant(self, tenant: str) -> Override | None:
        """The override of the current request's route (``ROUTE``), else the tenant's."""
        scopes = self.tenants.get(tenant)
        if not scopes:  # the default path: one dictionary lookup
            return None
        return scopes.get(ROUTE.get() or TENANT_SCOPE) or scopes.get(TENANT_SCOPE)

    async def refresh(self, store: VaultStore, keys: KeyringSource,
                      base: DetectionSettings) -> None:
        """Re-read and verify every override (replaces the whole map)."""
        fresh: dict[str, dict[str, Override]] = {}
        failed = set()
        for row in await store.policy_overrides():
            override, ok = await self._verified(row, keys, base)
            if not ok:
                failed.add((row.tenant, row.scope))
            if override is not None and override != Override():
                fresh.setdefault(row.tenant, {})[row.scope] = override
        self.tenants, self.failed = fresh, frozenset(failed)

    async def _verified(self, row: OverrideRow, keys: KeyringSource,
                        base: DetectionSettings) -> tuple[Override | None, bool]:
        try:
            override: Override | None = from_doc(row.doc)
        except (ValueError, KeyError, TypeError):
            override = None
        ring = await keys.ensure(row.kid)
        kek = ring.keys.get(row.kid)
        if override is not None and kek is not None and hmac.compare_digest(
                _mac(_key(kek.key), row), row.mac):
            return override, True
        self.invalid.inc()
        log.error("policy override of tenant %s scope %s failed verification; only its"
                  " stricter parts apply", row.tenant, row.scope,
                  extra={"event": "policy_override_invalid"})
        return (stricter_part(override, base) if override is not None else None), False


class Rollout:
    """Apply, widen, list and roll back scoped overrides."""

    def __init__(self, store: VaultStore, keys: KeyringSource, audit: AuditLog,
                 clock: Clock, settings: Settings, live: LiveOverrides) -> None:
        self.store = store
        self.keys = keys
        self.audit = audit
        self.clock = clock
        self.settings = settings
        self.live = live

    @property
    def base(self) -> DetectionSettings:
        """The gateway's own detection settings."""
        return self.settings.detection

    async def refresh(self) -> None:
        """Reload this process's overrides from the store."""
        await self.live.refresh(self.store, self.keys, self.base)

    def _may(self, principal: Principal, loosening: bool) -> None:
        if Permission.MANAGE_KEYS in principal.permissions:
            return
        if loosening or Permission.REVIEW not in principal.permissions:
            raise Forbidden("only an admin (manage_keys) may loosen detection; a reviewer"
                            " may only lower thresholds")

    async def _previewed(self, principal: Principal, proposal: Proposal) -> bool:
        hours = self.settings.review.rollout_preview_h
        want = proposal.preview_reason()
        rows = await self.store.audit_events(AuditQuery(
            tenant=principal.tenant, action="review.preview",
            since=self.clock() - hours * 3600, limit=1000))
        return any(json.loads(r.payload).get("reason") == want for r in rows)

    async def apply(self, principal: Principal, proposal: Proposal, scopes: Sequence[str],
                    known: frozenset[str] | None = None) -> dict[str, Any]:
        """Apply ``proposal`` to each scope (a route template, or ``*``); each applied
        scope says whether it is one of ``known`` (a route this gateway serves)."""
        if proposal.enable:
            raise InvalidInput("enabling an entity type needs a config change"
                               " (detection.entities); a scope may only change thresholds"
                               " or disable types", details={"field": "entities"})
        override = Override.of(proposal.thresholds, proposal.default_threshold,
                               proposal.disable)
        if override == Override():
            raise InvalidInput("the proposal changes nothing", details={"field": "thresholds"})
        scopes = _scopes(scopes)
        loosening = loosens(override, self.base)
        self._may(principal, loosening)
        if loosening and not await self._previewed(principal, proposal):
            raise Forbidden(f"loosening detection needs a preview of the same settings"
                            f" within {self.settings.review.rollout_preview_h:g} hours",
                            code="preview_required")
        ring = self.keys.current()
        kek = ring.primary
        out = []
        for scope in scopes:
            row = OverrideRow(principal.tenant, scope, secrets.token_hex(8), to_doc(override),
                              principal.name, self.clock(), kek.kid, b"")
            row = dataclasses.replace(row, mac=_mac(_key(kek.key), row))
            await self.store.put_policy_override(row)
            await self._audit(principal, "applied", row, override)
            out.append({**_describe(row, override, valid=True), "known_route":
                        scope == TENANT_SCOPE or known is None or scope in known})
        await self.refresh()
        return {"applied": out}

    async def rollback(self, principal: Principal, scope: str) -> dict[str, Any]:
        """Remove the tenant's override of ``scope`` (its scope returns to the wider one)."""
        (scope,) = _scopes([scope])
        rows = {r.scope: r for r in await self.store.policy_overrides(principal.tenant)}
        row = rows.get(scope)
        if row is None:
            raise NotFound("no override for this scope", code="override_not_found")
        try:
            override = from_doc(row.doc)
        except (ValueError, KeyError, TypeError):
            override = Override()
        self._may(principal, _tightens(override, self.base))
        removed = await self.store.delete_policy_override(principal.tenant, scope)
        if removed is None:
            raise NotFound("no override for this scope", code="override_not_found")
        await self._audit(principal, "rolled_back", removed, override)
        await self.refresh()
        return {"rolled_back": scope}

    async def overrides(self, principal: Principal) -> list[dict[str, Any]]:
        """The tenant's overrides as stored, each with whether it verifies."""
        if not ({Permission.MANAGE_KEYS, Permission.REVIEW} & principal.permissions):
            raise Forbidden("listing overrides needs the review permission")
        await self.refresh()
        out = []
        for row in await self.store.policy_overrides(principal.tenant):
            try:
                override = from_doc(row.doc)
            except (ValueError, KeyError, TypeError):
                override = Override()
            out.append(_describe(row, override,
                                 valid=(row.tenant, row.scope) not in self.live.failed))
        return out

    async def _audit(self, principal: Principal, outcome: str, row: OverrideRow,
                     o: Override) -> None:
        await self.audit.record(
            "review.rollout", principal=principal, outcome=outcome,
            reason="scope_tenant" if row.scope == TENANT_SCOPE else "scope_route",
            extra_counts={"scope": {row.scope: 1},
                          "thresholds_permille": {t: round(v * 1000) for t, v in o.thresholds}
                          | ({"DEFAULT": round(o.default_threshold * 1000)}
                             if o.default_threshold is not None else {}),
                          "disabled": {t: 1 for t in sorted(o.disable)}})


def _scopes(scopes: Sequence[str]) -> list[str]:
    if not scopes or len(scopes) > MAX_SCOPES or not all(
            isinstance(s, str) and SCOPE_RE.fullmatch(s) for s in scopes):
        raise InvalidInput(f"scopes must be 1 to {MAX_SCOPES} route templates (starting"
                           " with /) or * for the whole tenant", details={"field": "scopes"})
    return sorted(set(scopes))


def _describe(row: OverrideRow, o: Override, *, valid: bool) -> dict[str, Any]:
    return {"scope": row.scope, "override_id": row.override_id,
            "thresholds": dict(o.thresholds), "default_threshold": o.default_threshold,
            "disable": sorted(o.disable), "applied_by": row.created_by,
            "applied_at": row.created_at, "verified": valid}
