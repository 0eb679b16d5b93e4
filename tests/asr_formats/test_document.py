"""Sans-io: vendor documents parsed and rendered back, word merging edge cases."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from redact_gw.asr_formats import FORMATS
from redact_gw.asr_formats.base import Utterance, WordSpec, align, rewrite_words
from redact_gw.asr_formats.document import parse, render
from redact_gw.errors import RedactGwError
from tests.asr_formats import vendors as v

_KEYS = st.sampled_from([
    "results", "channels", "alternatives", "transcript", "words", "word", "text",
    "Transcript", "Results", "Alternatives", "Items", "Content", "items", "utterances",
    "audio_segments", "transcripts", "channel", "type", "message_type", "is_final",
    "IsPartial", "UtteranceEvent", "punctuated_word", "start", "end", "id", "response"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(
        ["", "a", "hi there", "4111", "Turn", "Results", "FinalTranscript"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(fmt=st.sampled_from(sorted(FORMATS)), doc=_JSON, live=st.booleans())
def test_any_json_is_read_or_refused_and_nothing_replaced_renders_it_back(
        fmt: str, doc: Any, live: bool) -> None:
    """No document makes the parser crash (a 500); with no values the output is the
    input, byte for byte."""
    before = json.dumps(doc)
    try:
        parsed = parse(FORMATS[fmt], doc, live=live)
    except RedactGwError as exc:
        assert exc.status == 400 or exc.status == 413
        return
    n = len(parsed.utterances)
    out = render(parsed, [u.text for u in parsed.utterances], [[] for _ in range(n)],
                 {e.path: e.text for e in parsed.extras if e.inside is None})
    if not live:
        assert json.dumps(out) == before


def test_two_values_in_one_word_and_punctuation_around_them() -> None:
    spec = WordSpec(text=(("w",),), end=(("e",),), confidence=(("c",),))
    words = [{"w": "mail", "s": 0, "e": 1, "c": 0.9},
             {"w": "(a@b.co,c@d.co).", "s": 1, "e": 2, "c": 0.8},
             {"w": "ok", "s": 2, "e": 3, "c": 0.7}]
    utt = Utterance(("t",), "mail (a@b.co,c@d.co). ok", ("words",), spec)
    align(utt, words)
    values = [(6, 12, "[[E:1]]"), (13, 19, "[[E:2]]")]
    new, ranges = rewrite_words(utt, words, values)
    assert [w["w"] for w in new] == ["mail", "([[E:1]],[[E:2]]).", "ok"]
    assert new[0] is words[0] and new[2] is words[2] and ranges == [(0, 0), (1, 1), (2, 2)]


def test_a_partial_holds_words_past_the_cut_or_shows_one_pending_item() -> None:
    doc = v.deepgram_live(["call", "me", "at", "five", "five", "five"], is_final=False)
    parsed = parse(FORMATS["deepgram"], doc, live=True)
    utt = parsed.utterances[0]
    cut = len("call me ")
    out = render(parsed, ["call me "], [[]], {}, shown_until=[cut], tails=[None])
    assert [w["word"] for w in out["channel"]["alternatives"][0]["words"]] == ["call", "me"]
    out = render(parsed, ["call me [[PENDING]]"], [[]], {}, shown_until=[cut],
                 tails=["[[PENDING]]"])
    words = out["channel"]["alternatives"][0]["words"]
    assert [w["punctuated_word"] for w in words] == ["Call", "me", "[[PENDING]]"]
    assert words[2]["start"] == v.times(2)[0] and words[2]["end"] == v.times(5)[1]
    assert utt.offsets[2] == (8, 10)
