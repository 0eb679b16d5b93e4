"""Which transcripts go to the review queue, and why (pure; the caller draws the dice).

Reason codes are a fixed set (they are metric labels and queue filters):

- ``random``: the route's or tenant's random rate;
- ``tier``: the transcript's risk tier is one the rule samples in full;
- ``low_confidence``: a span scored below ``risk.low_confidence_below``;
- ``answer_new_value``: the answer scan sealed a value the caller never sent;
- ``recurrence_only``: a value recognized only because it recurred in the record;
- ``reveal_refused``: a reveal on the record was refused or denied.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from redact_gw.settings import ReviewSettings, SamplingRule

REASONS = ("random", "tier", "low_confidence", "answer_new_value", "recurrence_only",
           "reveal_refused")
NEAR_MISSES = frozenset({"answer_new_value", "recurrence_only", "reveal_refused"})
RECURRENCE_RECOGNIZER = "RecurrenceRecognizer"


def rule_for(settings: ReviewSettings, tenant: str, route: str) -> SamplingRule:
    """The tenant's rule, else the route's, else the default."""
    return settings.tenants.get(tenant) or settings.routes.get(route) or settings.default


def reasons(rule: SamplingRule, *, tier: str, scores: Sequence[float],
            recognizers: Iterable[str], low_below: float, near_misses: Iterable[str] = (),
            draw: float = 1.0) -> list[str]:
    """Why this transcript should be reviewed (empty: it should not).

    Args:
        rule: The sampling rule of the route/tenant.
        tier: The transcript's risk tier.
        scores: Scores of the spans found.
        recognizers: Names of the recognizers that raised them.
        low_below: Scores below this are low-confidence.
        near_misses: Near-miss reason codes observed by the caller.
        draw: A uniform random number in [0, 1) for the random rate.
    """
    out: list[str] = []
    if draw < rule.random_rate:
        out.append("random")
    if tier in rule.tiers:
        out.append("tier")
    if rule.low_confidence and any(s < low_below for s in scores):
        out.append("low_confidence")
    if rule.near_misses:
        seen = set(near_misses)
        if RECURRENCE_RECOGNIZER in set(recognizers):
            seen.add("recurrence_only")
        out += [r for r in REASONS if r in seen and r in NEAR_MISSES]
    return out
