"""``POST /v1/redact`` with a vendor ``format``: round trips and word merging per vendor
(real detector; messages built with the vendors' SDK types, see ``vendors.py``)."""

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
from tests.conftest import Env, MakeClient


@dataclass(frozen=True)
class Case:
    fmt: str
    build: Callable[[list[str]], dict[str, Any]]
    #: (path of a transcript string, path of its word list or None)
    texts: list[tuple[tuple[Any, ...], tuple[Any, ...] | None]]
    word_text: tuple[Any, ...]
    start: str
    end: str
    conf: tuple[Any, ...]


CASES = [
    Case("deepgram", v.deepgram_prerecorded,
         [(("results", "channels", 0, "alternatives", 0, "transcript"),
           ("results", "channels", 0, "alternatives", 0, "words")),
          (("results", "utterances", 0, "transcript"), ("results", "utterances", 0, "words")),
          (("results", "channels", 0, "alternatives", 0, "paragraphs", "paragraphs", 0,
            "sentences", 0, "text"), None),
          (("results", "channels", 0, "alternatives", 0, "paragraphs", "transcript"), None)],
         ("punctuated_word",), "start", "end", ("confidence",)),
    Case("google", v.google_batch,
         [(("results", 0, "alternatives", 0, "transcript"),
           ("results", 0, "alternatives", 0, "words"))],
         ("word",), "startTime", "endTime", ("confidence",)),
    Case("assemblyai", v.assemblyai_postcall,
         [(("text",), ("words",)), (("utterances", 0, "text"), ("utterances", 0, "words"))],
         ("text",), "start", "end", ("confidence",)),
    Case("transcribe", v.transcribe_batch,
         [(("results", "transcripts", 0, "transcript"), ("results", "items")),
          (("results", "audio_segments", 0, "transcript"), None)],
         ("alternatives", 0, "content"), "start_time", "end_time",
         ("alternatives", 0, "confidence")),
    Case("transcribe", lambda w: v.transcribe_stream(w, partial=False),
         [(("Transcript", "Results", 0, "Alternatives", 0, "Transcript"),
           ("Transcript", "Results", 0, "Alternatives", 0, "Items"))],
         ("Content",), "StartTime", "EndTime", ("Confidence",)),
    Case("transcribe-call-analytics", v.call_analytics_postcall,
         [(("Transcript", 1, "Content"), None)], ("Content",), "", "", ()),
]
IDS = [f"{c.fmt}-{c.build.__name__}" for c in CASES]


async def _redact(client: Any, env: Env, fmt: str, doc: dict[str, Any],
                  **extra: Any) -> Any:
    return await client.post("/v1/redact", headers=env.auth("ai"),
                             json={"format": fmt, "transcript": doc, **extra})


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_nothing_to_redact_round_trips_byte_for_byte(
        case: Case, make_client: MakeClient, env: Env, detector: Detector) -> None:
    client = await make_client(detector)
    doc = case.build(v.PLAIN)
    resp = await _redact(client, env, case.fmt, doc, record_id="call-plain")
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["entities"] == []
    assert json.dumps(body["transcript"]) == json.dumps(doc)
    assert body["format"] == case.fmt and body["record_id"] == "call-plain"


def _number(value: Any) -> float:
    return float(value)


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_card_and_email_become_one_item_each(
        case: Case, make_client: MakeClient, env: Env, detector: Detector) -> None:
    client = await make_client(detector)
    doc = case.build(v.CALL)
    original = copy.deepcopy(doc)
    resp = await _redact(client, env, case.fmt, doc, record_id="call-7")
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    out = body["transcript"]
    raw = json.dumps(body)
    for piece in ("4111", "1111", "smith", "example"):
        assert piece not in raw
    types = {e["entity_type"] for e in body["entities"]}
    assert {"CREDIT_CARD", "EMAIL_ADDRESS"} <= types
    card = next(e["token"] for e in body["entities"] if e["entity_type"] == "CREDIT_CARD")
    email = next(e["token"] for e in body["entities"] if e["entity_type"] == "EMAIL_ADDRESS")
    for text_path, words_path in case.texts:
        text = get_at(out, text_path)
        assert (" ".join(v.CALL[:5]) + f" {card} and my email is {email} thanks") in text
        if words_path is None:
            continue
        before, after = get_at(original, words_path), get_at(out, words_path)
        assert len(after) == len(before) - 3 - 6
        merged = {get_at(w, case.word_text): w for w in after if TOKEN_RE.search(
            get_at(w, case.word_text))}
        for token, first, last in ((card, 5, 8), (email, 13, 19)):
            item = merged[token]
            assert item[case.start] == before[first][case.start]  # captions stay aligned
            assert item[case.end] == before[last][case.end]
            assert _number(get_at(item, case.conf)) == min(
                _number(get_at(w, case.conf)) for w in before[first:last + 1])
        # every other word item is untouched, byte for byte
        kept = [w for w in after if not TOKEN_RE.search(get_at(w, case.word_text))]
        assert kept == before[:5] + before[9:13] + before[20:]
    # fields redaction does not need are unchanged
    for text_path, words_path in case.texts:
        from redact_gw.jsonpaths import set_at
        set_at(out, text_path, None)
        set_at(original, text_path, None)
        if words_path is not None:
            set_at(out, words_path, None)
            set_at(original, words_path, None)
    if case.fmt == "transcribe" and "results" in original:  # item ids of merged words go
        seg_items = out["results"]["audio_segments"][0].pop("items")
        original["results"]["audio_segments"][0].pop("items")
        assert seg_items == [i for i in range(len(v.CALL)) if i not in (6, 7, 8, *range(
            14, 20))]
    if case.fmt == "deepgram":  # a paragraph counts the merged items, 21 words -> 12
        para = ("results", "channels", 0, "alternatives", 0, "paragraphs", "paragraphs", 0)
        assert get_at(original, para)["num_words"] == len(v.CALL)
        assert get_at(out, para)["num_words"] == len(v.CALL) - 9
        get_at(original, para)["num_words"] = len(v.CALL) - 9
    assert json.dumps(out) == json.dumps(original)


async def test_unknown_format_and_bad_shapes_are_400(make_client: MakeClient,
                                                     env: Env) -> None:
    client = await make_client()
    resp = await _redact(client, env, "whisper", {"text": "hi"})
    assert resp.status == 400
    err = (await resp.json())["error"]
    assert err["code"] == "unknown_format" and "deepgram" in err["message"]
    for fmt, doc in [("deepgram", ["not", "an", "object"]),
                     ("deepgram", {"results": {"channels": "x"}}),
                     ("google", {"results": [{"alternatives": [{"transcript": 5}]}]}),
                     ("assemblyai", {"text": "hi", "words": [{"start": 1}]}),
                     ("transcribe", {"Transcript": {"Results": [{"Alternatives": [7]}]}})]:
        resp = await _redact(client, env, fmt, doc)
        assert resp.status == 400, (fmt, await resp.text())
        assert (await resp.json())["error"]["code"] == "bad_asr_format"
    resp = await client.post("/v1/redact", headers=env.auth("ai"), json={"format": "google"})
    assert resp.status == 400


async def test_words_that_do_not_match_the_transcript_are_redacted_apart(
        make_client: MakeClient, env: Env, detector: Detector) -> None:
    """A hostile or odd file whose words differ from its transcript leaks nothing."""
    client = await make_client(detector)
    doc = v.google_batch(v.CALL)
    doc["results"][0]["alternatives"][0]["transcript"] = "a different summary sentence"
    resp = await _redact(client, env, "google", doc)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert "4111" not in json.dumps(body) and "smith" not in json.dumps(body)
    words = body["transcript"]["results"][0]["alternatives"][0]["words"]
    assert len(words) == len(v.CALL) - 9


async def test_other_strings_are_scanned(make_client: MakeClient, env: Env,
                                         detector: Detector) -> None:
    client = await make_client(detector)
    doc = v.assemblyai_postcall(v.PLAIN)
    doc["summary"] = "The caller, reachable at jane.roe@example.org, asked for a refund."
    doc["entities"] = [{"entity_type": "email_address", "text": "jane.roe@example.org",
                        "start": 1, "end": 2}]
    resp = await _redact(client, env, "assemblyai", doc)
    body = await resp.json()
    assert resp.status == 200
    assert "jane.roe" not in json.dumps(body)
    token = TOKEN_RE.search(body["transcript"]["summary"])
    assert token is not None and body["transcript"]["entities"][0]["text"] == token.group()
    assert body["transcript"]["entities"][0]["entity_type"] == "email_address"


async def test_transcribe_channel_labels_items_are_merged_too(make_client: MakeClient,
                                                             env: Env) -> None:
    """Channel identification repeats every item per channel: those copies are words
    too, redacted with their own text (fast fake detector: written card numbers)."""
    client = await make_client()
    doc = v.transcribe_batch(v.CALL)
    items = copy.deepcopy(doc["results"]["items"])
    for item in items:
        item["channel_label"] = "ch_0"
    doc["results"]["channel_labels"] = {"channels": [{"channel_label": "ch_0",
                                                      "items": items}],
                                        "number_of_channels": 1}
    resp = await _redact(client, env, "transcribe", doc)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert "4111" not in json.dumps(body)
    chan = body["transcript"]["results"]["channel_labels"]["channels"][0]["items"]
    card = [i for i in chan if TOKEN_RE.search(i["alternatives"][0]["content"])]
    assert len(chan) == len(items) - 3 and len(card) == 1
    assert (card[0]["start_time"], card[0]["end_time"]) == (items[5]["start_time"],
                                                            items[8]["end_time"])
