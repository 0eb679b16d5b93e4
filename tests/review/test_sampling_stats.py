"""Sampling reasons and the quality figures' arithmetic (pure functions)."""

from __future__ import annotations

import pytest

from redact_gw.review.sampling import reasons, rule_for
from redact_gw.review.stats import quality, wilson
from redact_gw.settings import ReviewSettings, SamplingRule
from redact_gw.vault.review_base import ReviewItemRow, VerdictRow, pack


def test_reasons_cover_random_tier_low_confidence_and_near_misses() -> None:
    rule = SamplingRule(random_rate=0.1, tiers=["high"])
    assert reasons(rule, tier="low", scores=[0.9], recognizers=["x"], low_below=0.6,
                   draw=0.5) == []
    assert reasons(rule, tier="low", scores=[0.9], recognizers=["x"], low_below=0.6,
                   draw=0.05) == ["random"]
    assert reasons(rule, tier="high", scores=[0.3], recognizers=["RecurrenceRecognizer"],
                   low_below=0.6, near_misses=["reveal_refused"]) == [
        "tier", "low_confidence", "recurrence_only", "reveal_refused"]
    quiet = SamplingRule(tiers=[], low_confidence=False, near_misses=False)
    assert reasons(quiet, tier="high", scores=[0.1], recognizers=["RecurrenceRecognizer"],
                   low_below=0.6, near_misses=["answer_new_value"], draw=0.0) == []


def test_tenant_rule_wins_over_route_rule() -> None:
    s = ReviewSettings(routes={"/v1/redact": SamplingRule(random_rate=0.5)},
                       tenants={"acme": SamplingRule(random_rate=1.0)})
    assert rule_for(s, "acme", "/v1/redact").random_rate == 1.0
    assert rule_for(s, "globex", "/v1/redact").random_rate == 0.5
    assert rule_for(s, "globex", "/other").random_rate == 0.0


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson(1, 10)
    assert low == pytest.approx(0.0179, abs=1e-4)
    assert high == pytest.approx(0.4042, abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(0, 20)[0] == 0.0


def _item(i: int, types: list[str], route: str = "/v1/redact") -> ReviewItemRow:
    return ReviewItemRow("acme", f"it{i}", f"r{i}", route, "low", pack(["random"]),
                         pack(types), 1_764_000_000.0 + i, None, "d", b"x")


def _v(item: int, reviewer: str, verdict: str, etype: str | None = None,
       at: float = 60.0) -> VerdictRow:
    return VerdictRow("acme", f"v{item}{reviewer}{verdict}", f"it{item}", f"r{item}",
                      "/v1/redact", reviewer, verdict, etype, None, None,
                      1_764_000_000.0 + item + at, at)


def test_quality_rates_agreement_and_time_to_review() -> None:
    items = [_item(0, ["PERSON"]), _item(1, ["PERSON", "PHONE_NUMBER"]), _item(2, []),
             _item(3, ["PERSON"])]  # item 3 is not reviewed
    verdicts = [_v(0, "ann", "correct", at=30), _v(0, "bob", "correct", at=90),
                _v(1, "ann", "not_pii", "PERSON", at=60),
                _v(1, "bob", "correct", at=120),
                _v(2, "ann", "missed", "EMAIL_ADDRESS", at=600)]
    q = quality(items, verdicts)
    assert q["reviewed_items"] == 3 and q["queued_items"] == 4
    assert q["volume"] == {"by_type": {"PERSON": 3, "PHONE_NUMBER": 1},
                           "by_tier": {"low": 4}, "by_reason": {"random": 4}}
    assert q["verdicts"] == {"correct": 3, "missed": 1, "not_pii": 1}
    assert q["by_type"]["EMAIL_ADDRESS"]["miss"]["count"] == 1
    assert q["by_type"]["EMAIL_ADDRESS"]["miss"]["of"] == 3
    assert q["by_type"]["PERSON"]["false_positive"] == {
        "count": 1, "of": 2, "rate": 0.5, "ci95": [round(wilson(1, 2)[0], 4),
                                                   round(wilson(1, 2)[1], 4)]}
    assert q["agreement"]["of"] == 2 and q["agreement"]["count"] == 1  # item 0 agrees
    assert q["time_to_review_s"] == {"median": 60.0, "max": 600.0, "n": 3}
    assert {r["entity_type"] for r in q["by_route_week"]} == {"PERSON", "PHONE_NUMBER",
                                                              "EMAIL_ADDRESS"}
    (week,) = q["by_week"]  # all four queued in one week; three reviewed
    assert week["reviewed"] == 3
    assert (week["miss"]["count"], week["miss"]["of"]) == (1, 3)  # item 2
    assert (week["false_positive"]["count"], week["false_positive"]["of"]) == (1, 2)
