"""Retention policy: settings -> the expiry fixed on each value when it is written."""

from __future__ import annotations

from redact_gw.settings import RetentionSettings


class RetentionPolicy:
    """Computes expiries; the shortest applicable period wins."""

    def __init__(self, settings: RetentionSettings) -> None:
        self.settings = settings

    def period(self, tenant: str, channel: str | None, entity_type: str) -> float:
        """Seconds a value of this kind is kept."""
        s = self.settings
        t = s.tenants.get(tenant)
        caps = [s.entity_types.get(entity_type),
                s.channels.get(channel) if channel else None]
        if t is not None:
            caps += [t.entity_types.get(entity_type),
                     t.channels.get(channel) if channel else None]
        specific = [c for c in caps if c is not None]
        base = t.default if t is not None and t.default is not None else s.default
        return min([*specific, base]) if specific else base

    def expiry(self, tenant: str, channel: str | None, entity_type: str, now: float) -> float:
        """When a value written ``now`` expires (the vault's ``ExpiryPolicy``)."""
        return now + self.period(tenant, channel, entity_type)
