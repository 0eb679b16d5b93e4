"""Whose values a principal's detection may use: its own, or its share group's.

Recurrence detection catches pieces of values seen before in the record (the last
four digits of a card, a surname alone). Run over another principal's values, that
is a reveal oracle: tokens and counts would show which pieces occur. So a caller's
detection context holds only values it sent itself, plus those of the principals an
operator put in one group with it (``access.share_groups``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from redact_gw.model import Principal


class ShareGroups:
    """Principal name -> the names whose values it may use as detection context."""

    def __init__(self, groups: Mapping[str, Sequence[str]] | None = None) -> None:
        peers: dict[str, set[str]] = {}
        for members in (groups or {}).values():
            for m in members:
                peers.setdefault(m, set()).update(members)
        self._peers = {k: frozenset(v) for k, v in peers.items()}

    def senders(self, principal: Principal | None) -> frozenset[str] | None:
        """Names whose values ``principal`` may use; ``None`` (every value) for the
        operator's own tools, which run without a principal."""
        if principal is None:
            return None
        return self._peers.get(principal.name, frozenset()) | {principal.name}
