"""The fast credential anchor gate answers exactly as the case-insensitive search."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from redact_gw.detection.engine import CREDENTIAL_ANCHORS, may_hold_credential

#: Pieces of anchors in mixed case, plus characters whose case folding reaches ASCII
#: letters (Kelvin sign, long s, dotted capital I): random text built from them hits
#: anchors, near misses and Unicode folding far more often than plain random text.
PIECES = ["AKIA", "akIa", "Sk-", "sK_", "live_", "TEST_", "eyJ", "EYJ", "GH", "p_", "Ghs_",
          "github_PAT_", "glpat-", "XOXB-", "hooks.slack.com", "HOOKS.SLACK.COM",
          "Private Key", "private  key", "AIza", "aws_secret_access_KEY", "a", "k", "s",
          "\u212a", "\u017f", "\u0130", "\u0131", "é", " ", "_", "-", ".", "x", "\n"]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
def test_same_answer_on_anchor_pieces(text: str) -> None:
    assert may_hold_credential(text) == (CREDENTIAL_ANCHORS.search(text) is not None)


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=60))
def test_same_answer_on_any_text(text: str) -> None:
    assert may_hold_credential(text) == (CREDENTIAL_ANCHORS.search(text) is not None)


def test_unicode_folding_still_gates_in() -> None:
    # The Kelvin sign folds to "k": a case-insensitive search finds "s\u212a-" as "sk-".
    assert may_hold_credential("my s\u212a-abc")
    assert may_hold_credential("my SK-abc") and not may_hold_credential("my sk abc")
