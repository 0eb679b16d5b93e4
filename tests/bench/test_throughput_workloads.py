"""The throughput benchmark's leak rate reads the gateway's answers right."""

from __future__ import annotations

from bench.eval_metrics import Labeled
from bench.throughput_workloads import Text, leak_rate, spans_from_redacted
from redact_gw.tokens import format_token


def test_token_ranges_are_found_in_the_original() -> None:
    original = "Call John Smith at 555-1234 please"
    redacted = f"Call {format_token('PERSON')} at {format_token('PHONE_NUMBER')} please"
    spans = spans_from_redacted(original, redacted)
    assert spans is not None
    assert [original[a:b] for a, b in spans] == ["John Smith", "555-1234"]
    both = f"{format_token('PERSON')} at {format_token('PHONE_NUMBER')}"
    assert spans_from_redacted("John at 5551234", both) == [(0, 4), (8, 15)]
    assert spans_from_redacted(original, original) == []
    assert spans_from_redacted(original, original + " and more") is None  # not lined up


def test_leak_rate_counts_gold_values_left_readable() -> None:
    texts = [Text([("customer", "I am Ada Lovelace, call 555-1234")],
                  [Labeled(5, 17, "PERSON"), Labeled(24, 32, "PHONE_NUMBER")])]
    name_only = [[(5, 17)]]
    assert leak_rate(texts, name_only) == (0.5, 0)
    assert leak_rate(texts, [None]) == (1.0, 1)  # an answer not lined up leaks all
    assert leak_rate([Text([("customer", "no gold")])], [[]]) == (None, 0)
