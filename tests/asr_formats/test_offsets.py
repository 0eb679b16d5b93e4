"""Fields that point into a transcript (character offsets, word indices) after
redaction: moved to the same words, or dropped; never raw, never off by a token.

Post-call through ``/v1/redact`` with the real detector; messages built with the
vendors' SDK types or published schemas (``vendors.py``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from redact_gw.asr_formats.base import Utterance, WordSpec, align, redact_piece, rewrite_words
from redact_gw.asr_formats.offsets import Remap
from redact_gw.detection import Detector
from redact_gw.tokens import TOKEN_RE
from tests.asr_formats import vendors as v
from tests.conftest import Env, MakeClient

RAW = ("4111", "1111", "smith", "example")


@st.composite
def _text_values_range(draw: Any) -> tuple[str, list[tuple[int, int, str]], int, int]:
    text = draw(st.text("ab 1.", min_size=1, max_size=40))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=8)))
    values = []
    for s, e in zip(cuts[::2], cuts[1::2], strict=False):
        if s < e:
            values.append((s, e, draw(st.sampled_from(["[[T:1]]", "X", ""]))))
    begin = draw(st.integers(0, len(text)))
    end = draw(st.integers(begin, len(text)))
    return text, values, begin, end


@settings(max_examples=400, deadline=None)
@given(case=_text_values_range())
def test_a_moved_range_is_exactly_the_redacted_piece(
        case: tuple[str, list[tuple[int, int, str]], int, int]) -> None:
    """Whatever the values and the range, the redacted text at the moved range is the
    range's own text redacted: every value touching it whole, nothing else."""
    text, values, begin, end = case
    utt = Utterance(("t",), text)
    new_text = redact_piece(text, values, 0, len(text))
    moved = Remap([utt], [values]).char_range(0, begin, end)
    assert moved is not None
    assert new_text[moved[0]:moved[1]] == redact_piece(text, values, begin, end)


def test_a_piece_starting_inside_a_value_shows_its_token_not_its_tail() -> None:
    text = "card 4111 1111 1111 1111 ok"
    values = [(5, 24, "[[CREDIT_CARD:1]]")]
    assert redact_piece(text, values, 15, 27) == "[[CREDIT_CARD:1]] ok"
    remap = Remap([Utterance(("t",), text)], [values])
    assert remap.char_range(0, 15, 27) == (5, 25)
    assert remap.char_range(0, 0, 99) is None and remap.char_range(0, "1", 3) is None
    assert remap.char_range(0, 4, 2) is None and remap.char_range(0, True, 3) is None


def test_word_indices_move_to_merged_items_and_bad_ones_are_refused() -> None:
    spec = WordSpec(text=(("w",),))
    words = [{"w": w} for w in ["call", "4111", "1111", "1111", "1111", "now"]]
    utt = Utterance(("t",), "call 4111 1111 1111 1111 now", ("words",), spec)
    align(utt, words)
    values = [(5, 24, "[[CREDIT_CARD:1]]")]
    _, spans = rewrite_words(utt, words, values)
    remap = Remap([utt], [values], {0: spans})
    assert remap.word_range(0, 1, 5) == (1, 2)  # the card's four words: one item
    assert remap.word_range(0, 2, 6) == (1, 3)  # starts inside the card: takes it whole
    assert remap.word_range(0, 0, 6) == (0, 3) and remap.word_range(0, 5, 6) == (2, 3)
    assert remap.word_range(0, 6, 6) == (3, 3)
    for bad in [(0, 7), (3, 1), (-1, 2), (0.5, 2), (None, 2), ("1", 2)]:
        assert remap.word_range(0, *bad) is None
    # a partial showing up to "call 4111 ": words held past the cut cannot be pointed at
    partial = Remap([utt], [[]], {0: spans[:2]}, shown_until=[10])
    assert partial.word_range(0, 0, 2) == (0, 2) and partial.word_range(0, 0, 3) is None


async def _redact(client: Any, env: Env, fmt: str, doc: dict[str, Any]) -> Any:
    resp = await client.post("/v1/redact", headers=env.auth("ai"),
                             json={"format": fmt, "transcript": doc})
    assert resp.status == 200, await resp.text()
    return await resp.json()


def _span(node: dict[str, Any]) -> slice:
    return slice(node["CharacterOffsets"]["Begin"], node["CharacterOffsets"]["End"])


async def test_call_analytics_character_offsets_follow_the_tokens(
        make_client: MakeClient, env: Env, detector: Detector) -> None:
    client = await make_client(detector)
    doc = v.call_analytics_insights(v.CALL)
    # the real-time guide's example spells the ends BeginOffsetChar/EndOffsetChar
    begin, end = v.char_range(v.CALL, 11, 19)
    doc["Transcript"][1]["IssuesDetected"].append(
        {"CharacterOffsets": {"BeginOffsetChar": begin, "EndOffsetChar": end}})
    original = copy.deepcopy(doc)
    body = await _redact(client, env, "transcribe-call-analytics", doc)
    out = body["transcript"]
    assert not any(piece in json.dumps(body) for piece in RAW)
    tokens = {e["entity_type"]: e["token"] for e in body["entities"]}
    card = tokens["CREDIT_CARD"]
    turn = out["Transcript"][1]
    # the issue still names "card number is <card>", now with the token
    assert turn["Content"][_span(turn["IssuesDetected"][0])] == f"card number is {card}"
    other = turn["IssuesDetected"][1]["CharacterOffsets"]
    assert turn["Content"][other["BeginOffsetChar"]:other["EndOffsetChar"]] == (
        f"email is {tokens['EMAIL_ADDRESS']}")
    # an action item starting inside the card takes the whole token, never its tail
    assert turn["Content"][_span(turn["ActionItemsDetected"][0])] == f"{card} and my"
    assert turn["OutcomesDetected"] == []  # offsets past the text: dropped
    # the agent's turn and every field redaction does not need: byte for byte
    assert out["Transcript"][0] == original["Transcript"][0]
    for key in ("Content", "IssuesDetected", "ActionItemsDetected", "OutcomesDetected"):
        del turn[key], original["Transcript"][1][key]
    assert json.dumps(out) == json.dumps(original)


async def test_call_analytics_offsets_without_values_round_trip(
        make_client: MakeClient, env: Env, detector: Detector) -> None:
    client = await make_client(detector)
    doc = v.call_analytics_insights(v.PLAIN)
    doc["Transcript"][1]["OutcomesDetected"] = [{"CharacterOffsets": {"Begin": 4,
                                                                      "End": 12}}]
    body = await _redact(client, env, "transcribe-call-analytics", doc)
    assert json.dumps(body["transcript"]) == json.dumps(doc)


async def test_deepgram_word_indices_point_to_the_merged_items(
        make_client: MakeClient, env: Env, detector: Detector) -> None:
    client = await make_client(detector)
    doc = v.deepgram_intelligence(v.CALL)
    original = copy.deepcopy(doc)
    body = await _redact(client, env, "deepgram", doc)
    assert not any(piece in json.dumps(body) for piece in RAW)
    out = body["transcript"]
    tokens = {e["entity_type"]: e["token"] for e in body["entities"]}
    alt = out["results"]["channels"][0]["alternatives"][0]
    words = [w["punctuated_word"] for w in alt["words"]]
    assert len(words) == len(v.CALL) - 9

    def said(node: dict[str, Any]) -> list[str]:
        return words[int(node["start_word"]):int(node["end_word"])]

    assert said(alt["entities"][0]) == [tokens["CREDIT_CARD"]]
    assert said(alt["entities"][1]) == [tokens["EMAIL_ADDRESS"]]
    assert alt["entities"][0]["raw_value"] == tokens["CREDIT_CARD"]
    assert said(alt["summaries"][0]) == words
    topic = ["card", "number", "is", tokens["CREDIT_CARD"]]
    assert said(alt["topics"][0]) == topic
    assert said(out["results"]["topics"]["segments"][0]) == topic
    assert said(out["results"]["intents"]["segments"][0]) == [
        "and", "my", "email", "is", tokens["EMAIL_ADDRESS"], "thanks"]
    assert said(out["results"]["sentiments"]["segments"][0]) == words
    assert isinstance(alt["entities"][0]["start_word"], float)  # the SDK's number type
    # nothing else moved: labels, confidences, scores, times
    assert alt["entities"][0]["label"] == "CARDINAL"
    assert out["results"]["sentiments"]["average"] == original["results"]["sentiments"][
        "average"]
    assert out["results"]["topics"]["segments"][0]["topics"] == original["results"][
        "topics"]["segments"][0]["topics"]


async def test_deepgram_indices_without_values_round_trip(
        make_client: MakeClient, env: Env, detector: Detector) -> None:
    client = await make_client(detector)
    doc = v.deepgram_intelligence(v.PLAIN)
    body = await _redact(client, env, "deepgram", doc)
    assert body["entities"] == []
    assert json.dumps(body["transcript"]) == json.dumps(doc)


async def test_deepgram_indices_that_cannot_be_moved_are_dropped(
        make_client: MakeClient, env: Env, detector: Detector) -> None:
    """Indices past the words, or counted in an unknown channel once words merged, are
    removed; the entries and their (redacted) text stay."""
    client = await make_client(detector)
    doc = v.deepgram_intelligence(v.CALL)
    doc["results"]["channels"][0]["alternatives"][0]["entities"][0]["end_word"] = 99
    doc["results"]["channels"].append(copy.deepcopy(doc["results"]["channels"][0]))
    body = await _redact(client, env, "deepgram", doc)
    out = body["transcript"]
    assert not any(piece in json.dumps(body) for piece in RAW)
    entity = out["results"]["channels"][0]["alternatives"][0]["entities"][0]
    assert "start_word" not in entity and "end_word" not in entity
    assert entity["label"] == "CARDINAL"
    segment = out["results"]["topics"]["segments"][0]
    assert "start_word" not in segment and TOKEN_RE.search(segment["text"])


async def test_assemblyai_insights_keep_their_times_and_lose_their_values(
        make_client: MakeClient, env: Env, detector: Detector) -> None:
    """AssemblyAI points by time, never by character or word: times stay, texts are
    rewritten with the transcript; the ``unredacted_*`` copy is redacted like the
    transcript, its words merged (a card read word by word is not scanned word by
    word)."""
    client = await make_client(detector)
    doc = v.assemblyai_insights(v.CALL)
    original = copy.deepcopy(doc)
    body = await _redact(client, env, "assemblyai", doc)
    assert not any(piece in json.dumps(body) for piece in RAW)
    out = body["transcript"]
    tokens = {e["entity_type"]: e["token"] for e in body["entities"]}
    assert out["entities"][0]["text"] == tokens["CREDIT_CARD"]
    assert out["auto_highlights_result"]["results"][0]["text"] == (
        f"card number is {tokens['CREDIT_CARD']}")
    assert out["unredacted_text"] == out["text"]
    assert out["unredacted_words"] == out["words"]
    assert len(out["unredacted_words"]) == len(v.CALL) - 9
    assert out["unredacted_utterances"] == out["utterances"]
    for key in ("entities", "sentiment_analysis_results", "chapters"):
        assert [(n["start"], n["end"]) for n in out[key]] == [
            (n["start"], n["end"]) for n in original[key]]
    assert out["auto_highlights_result"]["results"][0]["timestamps"] == original[
        "auto_highlights_result"]["results"][0]["timestamps"]
    assert out["iab_categories_result"]["results"][0]["timestamp"] == original[
        "iab_categories_result"]["results"][0]["timestamp"]


async def test_assemblyai_insights_without_values_round_trip(
        make_client: MakeClient, env: Env, detector: Detector) -> None:
    client = await make_client(detector)
    doc = v.assemblyai_insights(v.PLAIN)
    body = await _redact(client, env, "assemblyai", doc)
    assert json.dumps(body["transcript"]) == json.dumps(doc)
