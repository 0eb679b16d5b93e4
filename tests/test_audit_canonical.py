"""Audit events are chained over the exact text ``audit_chain.canonical`` writes,
whichever encoder ``AuditLog.prepare`` takes to write it."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from redact_gw.audit import _canonical_event
from redact_gw.audit_chain import canonical

_TEXT = st.one_of(st.none(), st.text(max_size=12),
                  st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7f),
                          max_size=12))
_NUMBER = st.one_of(st.floats(), st.integers(), st.integers(min_value=2**63 - 2,
                                                             max_value=2**70))
_COUNTS = st.dictionaries(st.text(max_size=8), st.integers(min_value=0, max_value=2**70),
                          max_size=3)


@settings(max_examples=400)
@given(ts=_NUMBER, names=st.fixed_dictionaries({
    k: _TEXT for k in ("action", "tenant", "outcome", "principal", "record_id",
                       "subject_id", "purpose", "reason")}),
       roles=st.lists(st.text(max_size=8), max_size=3), counts=_COUNTS,
       extra=st.dictionaries(st.sampled_from(["revealed", "masked", "withheld"]), _COUNTS))
def test_the_event_text_is_canonical_json(ts: Any, names: dict[str, Any], roles: list[str],
                                          counts: dict[str, int],
                                          extra: dict[str, dict[str, int]]) -> None:
    payload = {"ts": ts, **names, "roles": roles, "counts": counts, **extra}
    assert _canonical_event(payload) == canonical(payload)


def test_plain_events_and_the_cases_orjson_writes_otherwise() -> None:
    base = {"ts": 1796633038.0950613, "action": "redact", "tenant": "acme",
            "roles": ["admin"], "counts": {"PERSON": 2}, "subject_id": None}
    for change in ({}, {"ts": 1.8203465998597738e-08}, {"ts": 1e16}, {"ts": float("nan")},
                   {"tenant": "caf\u00e9"}, {"tenant": "a\x7fb"}, {"tenant": 'a"b\\c\n'},
                   {"counts": {"PERSON": 2**64}}):
        payload = {**base, **change}
        assert _canonical_event(payload) == canonical(payload)
