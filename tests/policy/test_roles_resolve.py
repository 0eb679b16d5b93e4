"""``RolePolicy.resolve`` answers from the access settings it holds now."""

from __future__ import annotations

from redact_gw.model import Principal
from redact_gw.policy.roles import RolePolicy
from redact_gw.settings import AccessSettings, RoleSettings


def test_resolve_grants_the_roles_permissions_and_follows_new_settings() -> None:
    policy = RolePolicy(AccessSettings(roles={"desk": RoleSettings(permissions=["redact"])}))
    caller = Principal("p", "t", roles=frozenset({"desk", "unknown"}))
    assert policy.resolve(caller).permissions == frozenset({"redact"})
    assert policy.resolve(caller).permissions == frozenset({"redact"})  # asked again
    policy.access = AccessSettings(roles={"desk": RoleSettings(permissions=["purge"])})
    assert policy.resolve(caller).permissions == frozenset({"purge"})
    assert policy.resolve(Principal("q", "t")).permissions == frozenset()
