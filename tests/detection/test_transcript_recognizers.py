"""The transcript recognizers over a whole transcript, without the gazetteer."""

from __future__ import annotations

from redact_gw.detection import entities as E
from redact_gw.detection import transcript_recognizers, truecase
from redact_gw.detection.context import TranscriptContext
from redact_gw.detection.presidio_results import OPTED_IN_SCORE
from redact_gw.detection.view import build_view
from redact_gw.model import Segment

CALL = [
    Segment("Agent: when is the appointment?", "agent"),
    Segment("Customer: march fourth at ten", "customer"),
    Segment("Agent: and your last name?", "agent"),
    Segment("Customer: fairbanks", "customer"),
    Segment("Customer: my email is dmitri dot f at gmail dot com", "customer"),
]


def _found(opted_in: frozenset[str]) -> dict[tuple[int, str], tuple[str, float]]:
    texts = [s.text for s in CALL]
    views = [build_view(t) for t in texts]
    ctx = TranscriptContext(texts, [v.tokens for v in views])
    cands = transcript_recognizers.candidates(
        CALL, views, ctx, [truecase.split_lines(t) for t in texts], None, frozenset(),
        opted_in)
    return {(c.seg, texts[c.seg][c.start:c.end]): (c.entity_type, c.score) for c in cands}


def test_values_are_read_per_segment_and_per_turn() -> None:
    found = _found(frozenset())
    assert found[(4, "dmitri dot f at gmail dot com")] == (E.EMAIL_ADDRESS, 0.95)
    # a bare word is a name only as the answer to the question in the turn before
    assert found[(3, "fairbanks")][0] == E.PERSON


def test_a_low_value_type_named_in_the_settings_is_raised_to_the_opted_in_score() -> None:
    plain, opted = _found(frozenset()), _found(frozenset({E.DATE_TIME}))
    assert plain[(1, "march fourth")] == (E.DATE_TIME, 0.3)
    assert opted[(1, "march fourth")] == (E.DATE_TIME, OPTED_IN_SCORE)
    # other types keep their score
    assert opted[(4, "dmitri dot f at gmail dot com")] == (E.EMAIL_ADDRESS, 0.95)
