"""A live call's finals are read by spaCy once: as context of later partials and finals
their kept NER stands in (``detection.ner_memo``), and the finals still equal
``/v1/redact`` on the same turns."""

from __future__ import annotations

import re

import pytest

from redact_gw.detection import Detector
from tests.conftest import Env, MakeClient, write_config
from tests.detection.ner_spy import read_by_ner, spy_on_ner
from tests.live.wsync import send_each

TURNS = [
    ("agent", "thanks for calling, can I have your full name please"),
    ("customer", "sure it's marguerite osterhaus"),
    ("agent", "and the card number ms osterhaus"),
    ("customer", "four one one one one one one one one one one one one one one one"),
    ("agent", "the card ending one one one one, and your email"),
    ("customer", "it's osterhaus at example dot com"),
]


async def test_context_finals_are_not_read_by_spacy_again(
        make_client: MakeClient, env: Env, detector: Detector,
        monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(env.root, {"live": {"max_messages_per_s": 1000}})
    client = await make_client(detector, settings=env.settings())
    spy = spy_on_ner(detector, monkeypatch)
    ws = await client.ws_connect("/v1/live", params={"record_id": "kept-1"},
                                 headers=env.auth(), autoping=False)
    assert (await ws.receive_json())["type"] == "opened"
    finals = []
    for i, (speaker, text) in enumerate(TURNS):
        partial = " ".join(text.split()[:3])
        msgs = await send_each(ws, [
            {"type": "partial", "segment_id": f"t{i}", "speaker": speaker, "text": partial},
            {"type": "final", "segment_id": f"t{i}", "speaker": speaker, "text": text}])
        view = ""
        for msg in msgs:
            assert msg["type"] in ("partial", "final"), msg
            view = view[:msg["offset"]] + msg["text"]
        finals.append(view)
    await ws.close()
    # every final read once (its own detection), never again as context of the later
    # partials and finals (each of which had earlier finals as context)
    # (lower-case lines of plain words are not read at all: ``ner_gate``)
    read = [text.lower() for text in spy.read]  # spaCy reads speech with capitals
    for _, text in TURNS:
        assert read.count(text.lower()) == read_by_ner(detector, text)
    assert sum(read_by_ner(detector, text) for _, text in TURNS) >= 3
    partials = [" ".join(text.split()[:3]) for _, text in TURNS]
    assert len(spy.read) == sum(read_by_ner(detector, t) for _, t in TURNS) + sum(
        read_by_ner(detector, p) for p in partials)
    assert "[[PERSON:" in finals[1] and "[[PERSON:" in finals[2]  # cued, then recurring
    assert "[[CREDIT_CARD:" in finals[3] and "[[CREDIT_CARD:" in finals[4]
    # and each final is what /v1/redact makes of the same turns (another record:
    # other token ids)
    for k in range(len(TURNS)):
        body = {"record_id": f"batch-{k}",
                "turns": [{"speaker": who, "text": text} for who, text in TURNS[:k + 1]]}
        r = await client.post("/v1/redact", json=body, headers=env.auth("admin"))
        assert r.status == 200, await r.text()
        assert _types((await r.json())["turns"][-1]["text"]) == _types(finals[k])


def _types(text: str) -> str:
    """The text with each token's id left out (``[[PERSON:ab12]]`` -> ``[[PERSON]]``)."""
    return re.sub(r"\[\[([A-Z_]+)[^\]]*\]\]", r"[[\1]]", text)
