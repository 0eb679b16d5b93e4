"""Roles: which permissions a principal holds and what it may reveal, from config.

The example config ships five roles under fixed names (``ai-service``, ``agent``,
``supervisor``, ``compliance``, ``admin``); scripts and docs rely on them. A principal
with several roles gets the union of their permissions and, per entity type, the
most revealing mode any of its roles grants.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from redact_gw.errors import Forbidden
from redact_gw.model import Principal
from redact_gw.redaction import RevealMode
from redact_gw.settings import AccessSettings


class Permission(StrEnum):
    """Things a principal can be allowed to do."""

    PROXY = "proxy"
    REDACT = "redact"
    DETOKENIZE = "detokenize"
    MANAGE_OPTOUT = "manage_optout"
    PURGE = "purge"
    READ_AUDIT = "read_audit"
    MANAGE_KEYS = "manage_keys"
    LEGAL_HOLD = "legal_hold"
    REVIEW = "review"


_RANK: dict[str, int] = {"none": 0, "masked": 1, "full": 2}


class RolePolicy:
    """Answers "may this principal do X / see Y" from the access settings."""

    #: Resolved principals kept at most (a principals file has a handful; the memo is
    #: dropped whole past this, e.g. after many reloads).
    MAX_RESOLVED = 1024

    def __init__(self, access: AccessSettings) -> None:
        self.access = access
        self._resolved: dict[Principal, Principal] = {}
        self._resolved_for = access

    def resolve(self, principal: Principal) -> Principal:
        """The principal with its permissions filled in (unknown roles grant nothing).

        Kept per principal (equal name, tenant, roles and permissions) while ``access``
        is the same object: every authenticated request asks, and the answer depends
        on nothing else."""
        if self._resolved_for is not self.access:
            self._resolved, self._resolved_for = {}, self.access
        found = self._resolved.get(principal)
        if found is None:
            found = self._resolve(principal)
            if len(self._resolved) >= self.MAX_RESOLVED:
                self._resolved.clear()
            self._resolved[principal] = found
        return found

    def _resolve(self, principal: Principal) -> Principal:
        perms: set[str] = set()
        for name in principal.roles:
            role = self.access.roles.get(name)
            if role is not None:
                perms.update(role.permissions)
        return dataclasses.replace(principal, permissions=frozenset(perms))

    def label(self, principal: Principal) -> str:
        """A metric label for the principal's roles, never its name: the configured
        role names it holds, sorted and joined by ``+`` (``agent+supervisor``), or
        ``none``. Roles unknown to the config are left out (they grant nothing)."""
        known = sorted(r for r in principal.roles if r in self.access.roles)
        return "+".join(known) if known else "none"

    def reveal_mode(self, principal: Principal, entity_type: str) -> RevealMode:
        """Most revealing mode any of the principal's roles grants for the type."""
        best: RevealMode = "none"
        for name in principal.roles:
            role = self.access.roles.get(name)
            if role is None:
                continue
            mode = role.reveal.get(entity_type, role.reveal.get("*", "none"))
            if _RANK[mode] > _RANK[best]:
                best = mode
        return best

    def quota_per_hour(self, principal: Principal) -> int:
        """Values the principal may reveal per hour (highest role override wins)."""
        overrides = [r.reveal_quota_per_hour for n in principal.roles
                     if (r := self.access.roles.get(n)) and r.reveal_quota_per_hour is not None]
        return max(overrides) if overrides else self.access.reveal_quota_per_hour

    def check_purpose(self, purpose: object) -> str:
        """The purpose if it is one of the configured ones."""
        from redact_gw.errors import InvalidInput
        if purpose is None or purpose == "":
            raise InvalidInput("a purpose is required to reveal values",
                               code="purpose_required", details={"field": "purpose"})
        if not isinstance(purpose, str) or purpose not in self.access.purposes:
            raise InvalidInput("unknown purpose; allowed: " + ", ".join(self.access.purposes),
                               code="unknown_purpose", details={"field": "purpose"})
        return purpose


def require(principal: Principal, permission: Permission) -> None:
    """Raise ``Forbidden`` unless the principal holds ``permission``."""
    if permission.value not in principal.permissions:
        raise Forbidden(f"this API key lacks the {permission.value!r} permission")
