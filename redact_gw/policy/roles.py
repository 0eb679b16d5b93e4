"""Permissions a role grants.

The five named roles below are the gateway's vocabulary (scripts and docs rely on
the names). This module is the single place that answers "may this principal do X".
"""

from __future__ import annotations

from enum import StrEnum

from redact_gw.errors import Forbidden
from redact_gw.model import Principal


class Permission(StrEnum):
    """Things a principal can be allowed to do."""

    PROXY = "proxy"
    REDACT = "redact"
    DETOKENIZE = "detokenize"
    MANAGE_OPTOUT = "manage_optout"
    PURGE = "purge"
    READ_AUDIT = "read_audit"
    MANAGE_KEYS = "manage_keys"


_ALL = frozenset(Permission)
DEFAULT_ROLES: dict[str, frozenset[Permission]] = {
    "ai-service": frozenset({Permission.PROXY, Permission.REDACT}),
    "agent": frozenset({Permission.REDACT, Permission.DETOKENIZE}),
    "supervisor": frozenset({Permission.REDACT, Permission.DETOKENIZE, Permission.READ_AUDIT}),
    "compliance": frozenset({Permission.DETOKENIZE, Permission.READ_AUDIT}),
    "admin": _ALL,
}


def permissions_of(principal: Principal,
                   roles: dict[str, frozenset[Permission]] | None = None) -> frozenset[Permission]:
    """Union of the permissions of the principal's roles (unknown roles grant nothing)."""
    table = DEFAULT_ROLES if roles is None else roles
    out: frozenset[Permission] = frozenset()
    for name in principal.roles:
        out |= table.get(name, frozenset())
    return out


def require(principal: Principal, permission: Permission,
            roles: dict[str, frozenset[Permission]] | None = None) -> None:
    """Raise ``Forbidden`` unless the principal holds ``permission``."""
    if permission not in permissions_of(principal, roles):
        raise Forbidden(f"this API key lacks the {permission.value!r} permission")
