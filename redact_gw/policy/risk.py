"""Risk tiers: what was found -> low / medium / high -> forward, flag or refuse per route.

This is how an operator says "transcripts with card numbers never go to the
summarizer": put CREDIT_CARD in the high tier and map that route's high tier to
``refuse``. ``flag`` forwards but marks the answer for human review
(``X-Redact-Review: required``) and writes an audit event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from redact_gw.redaction import Entity
from redact_gw.settings import RiskSettings, TierRule

Tier = Literal["low", "medium", "high"]
Action = Literal["forward", "flag", "refuse"]


class RiskPolicy:
    """Classifies a redaction and picks the route's action for its tier."""

    def __init__(self, settings: RiskSettings) -> None:
        self.settings = settings

    def _matches(self, rule: TierRule, entities: Sequence[Entity]) -> bool:
        if rule.entity_types and any(e.entity_type in rule.entity_types for e in entities):
            return True
        if rule.min_values is not None and len(entities) >= rule.min_values:
            return True
        low = sum(1 for e in entities if e.score < self.settings.low_confidence_below)
        return rule.min_low_confidence is not None and low >= rule.min_low_confidence

    def tier(self, entities: Sequence[Entity]) -> Tier:
        """The highest tier whose rule matches; ``low`` when none does."""
        if self._matches(self.settings.high, entities):
            return "high"
        if self._matches(self.settings.medium, entities):
            return "medium"
        return "low"

    def action(self, route: str, tier: Tier) -> Action:
        """What ``route`` does with a transcript of ``tier``."""
        per_route = self.settings.routes.get(route, {})
        return per_route.get(tier, self.settings.default_actions.get(tier, "forward"))
