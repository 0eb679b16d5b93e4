"""``GET /v1/live?format=...``: vendor streaming messages in and out (real detector).

A call reads a card number and a spoken email word by word, as partials that grow,
then a final. No message out shows a piece of either; the final has one word item per
value carrying its token, with the value's first start and last end time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient

from redact_gw.detection import Detector
from redact_gw.jsonpaths import get_at
from redact_gw.tokens import TOKEN_RE
from tests.asr_formats import vendors as v
from tests.conftest import Env, MakeClient

MASK = re.compile(r"\[\[[A-Z_]+\]\]")


@dataclass(frozen=True)
class Live:
    fmt: str
    build: Callable[[list[str], bool], dict[str, Any]]  # (words, final) -> message
    text: tuple[Any, ...]
    words: tuple[Any, ...]
    word_text: str
    start: str
    end: str
    conf: str


_DG = ("channel", "alternatives", 0)
_GG = ("results", 0, "alternatives", 0)
_TR = ("Transcript", "Results", 0, "Alternatives", 0)
CASES = [
    Live("deepgram", lambda w, f: v.deepgram_live(w, is_final=f), (*_DG, "transcript"),
         (*_DG, "words"), "punctuated_word", "start", "end", "confidence"),
    Live("google", lambda w, f: v.google_stream(w, is_final=f), (*_GG, "transcript"),
         (*_GG, "words"), "word", "startOffset", "endOffset", "confidence"),
    Live("assemblyai", lambda w, f: v.assemblyai_turn(
        w, final_words=len(w) if f else len(w) - 1, end_of_turn=f), ("transcript",),
         ("words",), "text", "start", "end", "confidence"),
    Live("assemblyai", lambda w, f: v.assemblyai_v2(w, final=f), ("text",), ("words",),
         "text", "start", "end", "confidence"),
    Live("transcribe", lambda w, f: v.transcribe_stream(w, partial=not f),
         (*_TR, "Transcript"), (*_TR, "Items"), "Content", "StartTime", "EndTime",
         "Confidence"),
    Live("transcribe-call-analytics", lambda w, f: v.call_analytics_event(w, partial=not f),
         ("UtteranceEvent", "Transcript"), ("UtteranceEvent", "Items"), "Content",
         "BeginOffsetMillis", "EndOffsetMillis", "Confidence"),
]
IDS = ["deepgram", "google", "assemblyai-v3", "assemblyai-v2", "transcribe",
       "call-analytics"]


async def _open(client: TestClient, env: Env, fmt: str, record: str) -> Any:
    ws = await client.ws_connect("/v1/live", headers=env.auth("ai"),
                                 params={"format": fmt, "record_id": record})
    assert (await ws.receive_json(timeout=5))["type"] == "opened"
    return ws


async def _play(ws: Any, case: Live, words: list[str]) -> list[dict[str, Any]]:
    """Partials growing word by word, then the final; every message answered."""
    for n in range(1, len(words) + 1):
        await ws.send_json(case.build(words[:n], False))
    await ws.send_json(case.build(words, True))
    out = []
    while True:
        msg = await ws.receive_json(timeout=20)
        assert msg.get("type") != "error", msg
        out.append(msg)
        if (get_at(msg, case.text) and not MASK.search(json.dumps(msg)) and TOKEN_RE.search(
                get_at(msg, case.text))) or len(out) > 3 * len(words):
            break
    return out


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_live_call_never_shows_a_value_and_final_merges_words(
        case: Live, make_client: MakeClient, env: Env, detector: Detector) -> None:
    client = await make_client(detector)
    ws = await _open(client, env, case.fmt, "live-call-7")
    out = await _play(ws, case, v.CALL)
    await ws.close()
    for msg in out:
        raw = json.dumps(msg)
        for piece in ("4111", "1111", "smith", "example"):
            assert piece not in raw
    final = out[-1]
    expected = case.build(v.CALL, True)
    before, after = get_at(expected, case.words), get_at(final, case.words)
    text = get_at(final, case.text)
    tokens = [m.group() for m in TOKEN_RE.finditer(text)]
    assert len(tokens) == 2 and text == get_at(expected, case.text).replace(
        " ".join(v.CARD), tokens[0]).replace(" ".join(v.EMAIL), tokens[1])
    assert [w[case.word_text] for w in after if TOKEN_RE.search(w[case.word_text])] == tokens
    merged = [w for w in after if TOKEN_RE.search(w[case.word_text])]
    for item, (first, last) in zip(merged, [(5, 8), (13, 19)], strict=True):
        assert item[case.start] == before[first][case.start]
        assert item[case.end] == before[last][case.end]
        assert item[case.conf] == min(w[case.conf] for w in before[first:last + 1])
    assert [w for w in after if w not in merged] == before[:5] + before[9:13] + before[20:]
    # partials: a word is shown as it came, or as a mask; captions never run ahead
    partials = out[:-1]
    assert partials, "partials were shown before the final"
    said = [(w[case.word_text], w[case.start], w[case.end]) for w in before]
    for msg in partials:
        for w in get_at(msg, case.words):
            assert ((w[case.word_text], w[case.start], w[case.end]) in said
                    or MASK.fullmatch(w[case.word_text])), w
        # the words shown are exactly the transcript shown, masks included
        shown = " ".join(w[case.word_text] for w in get_at(msg, case.words))
        assert shown == get_at(msg, case.text).strip()


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_live_plain_final_round_trips_and_partials_keep_their_fields(
        case: Live, make_client: MakeClient, env: Env, detector: Detector) -> None:
    client = await make_client(detector)
    ws = await _open(client, env, case.fmt, "live-plain")
    await ws.send_json(case.build(v.PLAIN[:4], False))
    partial = await ws.receive_json(timeout=20)
    final = case.build(v.PLAIN, True)
    await ws.send_json(final)
    echoed = await ws.receive_json(timeout=20)
    await ws.close()
    assert json.dumps(echoed) == json.dumps(final)
    sent = case.build(v.PLAIN[:4], False)
    shown = get_at(partial, case.text)
    assert get_at(sent, case.text).startswith(shown) and len(shown) < len(
        get_at(sent, case.text))  # the trailing word is held
    from redact_gw.jsonpaths import set_at
    for doc in (partial, sent):
        set_at(doc, case.text, None)
        set_at(doc, case.words, None)
    assert partial == sent


async def test_unknown_live_format_is_refused_before_the_upgrade(make_client: MakeClient,
                                                                env: Env) -> None:
    client = await make_client()
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/v1/live", headers=env.auth("ai"), params={"format": "nope"})
    assert refused.value.status == 400
    # a plain GET is told to upgrade first (426), whatever its parameters
    resp = await client.get("/v1/live", headers=env.auth("ai"), params={"format": "nope"})
    assert resp.status == 426


async def test_bad_vendor_message_is_an_error_and_the_session_goes_on(
        make_client: MakeClient, env: Env) -> None:
    client = await make_client()
    ws = await _open(client, env, "deepgram", "live-bad")
    await ws.send_json({"type": "Results", "channel": {"alternatives": [{"transcript": 3}]}})
    err = await ws.receive_json(timeout=5)
    assert err["type"] == "error" and err["error"]["code"] == "bad_asr_format"
    words = v.deepgram_live(["hello", "there"], is_final=True)
    words["channel"]["alternatives"][0]["transcript"] = "something else entirely"
    await ws.send_json(words)
    err = await ws.receive_json(timeout=5)
    assert err["error"]["code"] == "words_mismatch"
    meta = {"type": "Metadata", "request_id": "r-1", "channels": 1}
    await ws.send_json(meta)
    assert await ws.receive_json(timeout=5) == meta  # no transcript: passed on as it is
    await ws.close()


async def test_text_held_too_long_becomes_one_pending_item(make_client: MakeClient,
                                                            env: Env) -> None:
    from tests.conftest import write_config
    write_config(env.root, {"live": {"max_hold_s": 0.2}})
    client = await make_client(settings=env.settings())
    ws = await _open(client, env, "deepgram", "live-hold")
    sent = v.deepgram_live(["please", "bill", "John", "Smith"], is_final=False)
    await ws.send_json(sent)
    first = await ws.receive_json(timeout=5)
    assert first["channel"]["alternatives"][0]["transcript"] == "Please bill "
    later = await ws.receive_json(timeout=5)  # the hold timed out: re-sent, masked
    await ws.close()
    alt = later["channel"]["alternatives"][0]
    assert alt["transcript"] == "Please bill [[PENDING]]" and "Smith" not in json.dumps(later)
    words = sent["channel"]["alternatives"][0]["words"]
    assert alt["words"][:2] == words[:2]
    assert alt["words"][2]["punctuated_word"] == alt["words"][2]["word"] == "[[PENDING]]"
    assert (alt["words"][2]["start"], alt["words"][2]["end"]) == (words[2]["start"],
                                                                  words[3]["end"])


async def test_vendor_entities_outside_the_transcript_are_masked(make_client: MakeClient,
                                                                 env: Env) -> None:
    client = await make_client()
    ws = await _open(client, env, "deepgram", "live-entities")
    msg = v.deepgram_live(["thanks", "bye"], is_final=True)
    msg["entities"] = [{"label": "CARDINAL", "value": "4111 1111", "raw_value": "four one",
                        "confidence": 0.9, "start_word": 0, "end_word": 1},
                       {"label": "EMAIL", "value": "john.smith@gmail.com", "confidence": 0.9,
                        "start_word": 0, "end_word": 1}]
    await ws.send_json(msg)
    out = await ws.receive_json(timeout=5)
    await ws.close()
    assert "4111" not in json.dumps(out) and "john.smith" not in json.dumps(out)
    assert out["entities"][0]["value"] == "[[NUMBER]]"
    assert out["entities"][1]["value"] == "[[EMAIL_ADDRESS]]"
    assert out["entities"][0]["label"] == "CARDINAL"
