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


def _values(text: str) -> list[tuple[int, int, str]]:
    """The card and the email of ``v.CALL`` where they sit in ``text`` (if they do)."""
    out = []
    for piece, rep in ((" ".join(v.CARD), "[[CREDIT_CARD:c1]]"),
                       (" ".join(v.EMAIL), "[[EMAIL_ADDRESS:e1]]")):
        at = text.find(piece)
        if at != -1:
            out.append((at, at + len(piece), rep))
    return out


@settings(max_examples=150, deadline=None)
@given(ranges=st.lists(st.tuples(st.integers(-2, 110), st.integers(-2, 110)), max_size=6))
def test_call_analytics_offsets_in_a_rendered_document_point_to_the_same_words(
        ranges: list[tuple[int, int]]) -> None:
    from redact_gw.asr_formats.base import redact_piece
    doc = v.call_analytics_postcall(v.CALL)
    doc["Transcript"][1]["IssuesDetected"] = [
        {"CharacterOffsets": {"Begin": b, "End": e}} for b, e in ranges]
    parsed = parse(FORMATS["transcribe-call-analytics"], doc)
    values = [_values(u.text) for u in parsed.utterances]
    texts = [redact_piece(u.text, vs, 0, len(u.text))
             for u, vs in zip(parsed.utterances, values, strict=True)]
    out = render(parsed, texts, values, {e.path: e.text for e in parsed.extras})
    turn, said = out["Transcript"][1], " ".join(v.CALL)
    kept = [(b, e) for b, e in ranges if 0 <= b <= e <= len(said)]
    got = [i["CharacterOffsets"] for i in turn["IssuesDetected"]]
    assert len(got) == len(kept)
    for (b, e), new in zip(kept, got, strict=True):
        assert turn["Content"][new["Begin"]:new["End"]] == redact_piece(
            said, values[1], b, e)


@settings(max_examples=150, deadline=None)
@given(ranges=st.lists(st.tuples(st.integers(0, 21), st.integers(0, 21)), max_size=6))
def test_deepgram_word_indices_in_a_rendered_document_name_the_same_words(
        ranges: list[tuple[int, int]]) -> None:
    from redact_gw.asr_formats.base import redact_piece
    doc = v.deepgram_prerecorded(v.CALL)
    alt = doc["results"]["channels"][0]["alternatives"][0]
    alt["entities"] = [{"label": "X", "value": "x", "start_word": s, "end_word": e}
                       for s, e in ranges]
    parsed = parse(FORMATS["deepgram"], doc)
    values = [_values(u.text) for u in parsed.utterances]
    texts = [redact_piece(u.text, vs, 0, len(u.text))
             for u, vs in zip(parsed.utterances, values, strict=True)]
    out = render(parsed, texts, values, {e.path: e.text for e in parsed.extras})
    new_alt = out["results"]["channels"][0]["alternatives"][0]
    words = [w["punctuated_word"] for w in new_alt["words"]]
    said = " ".join(v.CALL)
    for (s, e), entity in zip(ranges, new_alt["entities"], strict=True):
        if not s < e:
            continue  # empty or reversed: moved or dropped, never widened
        assert "start_word" in entity
        first = len(" ".join(v.CALL[:s])) + (1 if s else 0)
        last = len(" ".join(v.CALL[:e]))
        assert " ".join(words[entity["start_word"]:entity["end_word"]]) == redact_piece(
            said, values[0], first, last)
