"""``/v1/live?format=``: every alternative of a result is redacted and answered (the
vendor's shape), and live fields pointing into a transcript follow the redaction.

Real detector; messages built with the vendors' SDK types or published schemas.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from redact_gw.detection import Detector
from redact_gw.jsonpaths import get_at
from redact_gw.tokens import TOKEN_RE
from tests.asr_formats import vendors as v
from tests.asr_formats.test_live_formats import _open
from tests.conftest import Env, MakeClient

RAW = ("4111", "1111", "smith", "example")
#: The second hypothesis: the same call, its last word heard differently.
OTHER = [*v.CALL[:-1], "thank", "you"]


@dataclass(frozen=True)
class Alts:
    fmt: str
    build: Callable[[list[str], bool], dict[str, Any]]
    alts: tuple[Any, ...]
    text: str
    words: str
    word_text: str


CASES = [
    Alts("deepgram", lambda w, f: v.deepgram_live(w, is_final=f),
         ("channel", "alternatives"), "transcript", "words", "punctuated_word"),
    Alts("google", lambda w, f: v.google_stream(w, is_final=f),
         ("results", 0, "alternatives"), "transcript", "words", "word"),
    Alts("transcribe", lambda w, f: v.transcribe_stream(w, partial=not f),
         ("Transcript", "Results", 0, "Alternatives"), "Transcript", "Items", "Content"),
]


def _two(case: Alts, words: list[str], final: bool) -> dict[str, Any]:
    n = len(words)
    other = OTHER[:n + 1] if n == len(v.CALL) else OTHER[:n]
    return v.with_alternative(case.build(words, final), case.alts, case.build(other, final))


async def _answers(ws: Any, until_final: bool) -> list[dict[str, Any]]:
    out = []
    while True:
        msg = await ws.receive_json(timeout=20)
        assert msg.get("type") != "error", msg
        out.append(msg)
        if not until_final or TOKEN_RE.search(json.dumps(msg)):
            return out


@pytest.mark.parametrize("case", CASES, ids=[c.fmt for c in CASES])
async def test_every_alternative_is_redacted_with_the_same_tokens(
        case: Alts, make_client: MakeClient, env: Env, detector: Detector) -> None:
    client = await make_client(detector)
    ws = await _open(client, env, case.fmt, "live-alts")
    for n in range(1, len(v.CALL) + 1):
        await ws.send_json(_two(case, v.CALL[:n], False))
    await ws.send_json(_two(case, v.CALL, True))
    out = await _answers(ws, until_final=True)
    await ws.close()
    for msg in out:
        assert not any(piece in json.dumps(msg) for piece in RAW), msg
        assert len(get_at(msg, case.alts)) == 2  # the vendor's shape: both hypotheses
    final = get_at(out[-1], case.alts)
    first, second = (alt[case.text] for alt in final)
    tokens = [m.group() for m in TOKEN_RE.finditer(first)]
    assert len(tokens) == 2 and [m.group() for m in TOKEN_RE.finditer(second)] == tokens
    assert second.endswith(f"{tokens[1]} thank you")
    for alt in final:  # each alternative's words merged around its tokens
        items = [w[case.word_text] for w in alt[case.words]]
        assert [i for i in items if TOKEN_RE.search(i)] == tokens
        assert " ".join(items) == alt[case.text]
    # partials: the second hypothesis is held like the first, never ahead of it
    for msg in out[:-1]:
        for alt in get_at(msg, case.alts):
            shown = " ".join(w[case.word_text] for w in alt[case.words])
            assert shown == alt[case.text].strip()


@pytest.mark.parametrize("case", CASES, ids=[c.fmt for c in CASES])
async def test_plain_alternatives_round_trip_byte_for_byte(
        case: Alts, make_client: MakeClient, env: Env, detector: Detector) -> None:
    client = await make_client(detector)
    ws = await _open(client, env, case.fmt, "live-alts-plain")
    final = v.with_alternative(case.build(v.PLAIN, True), case.alts,
                               case.build([*v.PLAIN[:-1], "deliveries"], True))
    await ws.send_json(final)
    echoed = await ws.receive_json(timeout=20)
    await ws.close()
    assert json.dumps(echoed) == json.dumps(final)


async def test_live_call_analytics_issue_offsets_follow_the_token(
        make_client: MakeClient, env: Env, detector: Detector) -> None:
    client = await make_client(detector)
    ws = await _open(client, env, "transcribe-call-analytics", "live-issues")
    partial = v.call_analytics_event(v.CALL[:9], partial=True)
    event = partial["UtteranceEvent"]
    event["IssuesDetected"] = [
        {"CharacterOffsets": {"Begin": 4, "End": 11}},  # "my card": shown
        {"CharacterOffsets": dict(zip(("Begin", "End"), v.char_range(v.CALL, 2, 8),
                                      strict=True))}]  # runs into held words
    await ws.send_json(partial)
    shown = await ws.receive_json(timeout=20)
    issues = shown["UtteranceEvent"]["IssuesDetected"]
    assert issues == [{"CharacterOffsets": {"Begin": 4, "End": 11}}]
    assert shown["UtteranceEvent"]["Transcript"][4:11] == "my card"
    final = v.call_analytics_event(v.CALL, partial=False)
    final["UtteranceEvent"]["IssuesDetected"] = copy.deepcopy(event["IssuesDetected"])
    await ws.send_json(final)
    done = (await _answers(ws, until_final=True))[-1]["UtteranceEvent"]
    await ws.close()
    assert not any(piece in json.dumps(done) for piece in RAW)
    card = TOKEN_RE.search(done["Transcript"])
    assert card is not None
    spans = [(i["CharacterOffsets"]["Begin"], i["CharacterOffsets"]["End"])
             for i in done["IssuesDetected"]]
    assert [done["Transcript"][b:e] for b, e in spans] == [
        "my card", f"card number is {card.group()}"]


async def test_live_deepgram_entities_point_to_the_merged_word(
        make_client: MakeClient, env: Env, detector: Detector) -> None:
    from deepgram.listen.v1.types.listen_v1results import ListenV1Results
    client = await make_client(detector)
    ws = await _open(client, env, "deepgram", "live-entities-idx")
    msg = v.deepgram_live(v.CALL, is_final=True)
    msg["entities"] = [{"label": "CARDINAL", "value": " ".join(v.CARD),
                        "raw_value": " ".join(v.CARD), "confidence": 0.9,
                        "start_word": 5, "end_word": 9},
                       {"label": "EMAIL_ADDRESS", "value": " ".join(v.EMAIL),
                        "raw_value": " ".join(v.EMAIL), "confidence": 0.9,
                        "start_word": 13, "end_word": 20}]
    ListenV1Results.model_validate(msg)  # the SDK's own shape for a live entity
    await ws.send_json(msg)
    out = await ws.receive_json(timeout=20)
    await ws.close()
    assert not any(piece in json.dumps(out) for piece in RAW)
    words = [w["punctuated_word"] for w in out["channel"]["alternatives"][0]["words"]]
    picked = [words[e["start_word"]:e["end_word"]] for e in out["entities"]]
    assert len(picked) == 2 and all(len(p) == 1 and TOKEN_RE.fullmatch(p[0])
                                    for p in picked)
    assert [e["label"] for e in out["entities"]] == ["CARDINAL", "EMAIL_ADDRESS"]
