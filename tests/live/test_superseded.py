"""Partials that are not detected: superseded while they waited, or only their
held-back tail grew. What is shown stays what detection of each would have allowed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redact_gw.model import KnownValue, Segment, Span
from redact_gw.testing import ScriptedDetector
from tests.conftest import Env, MakeClient
from tests.live.wsync import handled, send_each


class _Recording(ScriptedDetector):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        self.seen.append(segments[-1].text)
        return super().detect(segments, known)


def _shown(msgs: list[dict[str, Any]], segment_id: str) -> str:
    text = ""
    for m in msgs:
        if m.get("segment_id") == segment_id:
            text = text[:m["offset"]] + m["text"]
    return text


def _metric(exposition: str, reason: str) -> float:
    line = f'redact_gw_live_partials_not_detected_total{{reason="{reason}"}} '
    return float(exposition.split(line, 1)[1].split()[0]) if line in exposition else 0.0


async def test_partials_that_waited_are_superseded_but_never_past_another_final(
        make_client: MakeClient, env: Env) -> None:
    det = _Recording()
    client = await make_client(det)
    ws = await client.ws_connect("/v1/live", headers=env.auth(), autoping=False)
    await ws.receive_json()
    said = ["hello", "hello there", "hello there John Smith",
            "hello there John Smith speaking today"]
    # the first partial keeps detection busy while the others arrive
    await ws.send_json({"type": "partial", "segment_id": "a", "text": "wait @@sleep=0.5 ok"})
    for text in said[:3]:
        await ws.send_json({"type": "partial", "segment_id": "s", "text": text})
    await ws.send_json({"type": "final", "segment_id": "b", "text": "ok then"})
    await ws.send_json({"type": "partial", "segment_id": "s", "text": said[3]})
    msgs = await handled(ws)
    # the two partials superseded by the third were never detected; the last partial,
    # sent after segment b's final, was not moved before it (finals are context)
    assert det.seen == ["wait @@sleep=0.5 ok", said[2], "ok then", said[3]]
    assert _shown(msgs, "s") == "hello there [[PERSON]] speaking "
    assert "John" not in str(msgs) and "Smith" not in str(msgs)
    exposition = await (await client.get("/metrics")).text()
    assert _metric(exposition, "superseded") == 2
    assert 'redact_gw_live_messages_total{direction="in",kind="partial"} 5.0' in exposition
    # a final supersedes the partials of its segment waiting before it
    det.seen.clear()
    await ws.send_json({"type": "partial", "segment_id": "c", "text": "wait @@sleep=0.5 a"})
    await ws.send_json({"type": "partial", "segment_id": "s", "text": said[3] + " thanks"})
    await ws.send_json({"type": "final", "segment_id": "s", "text": said[3] + " thanks"})
    msgs = await handled(ws)
    assert det.seen == ["wait @@sleep=0.5 a", said[3] + " thanks"]
    assert msgs[-1]["type"] == "final" and "[[PERSON:" in _shown(msgs, "s")
    await ws.close()


async def test_a_growing_held_tail_is_not_detected_again(make_client: MakeClient,
                                                          env: Env) -> None:
    det = _Recording()
    client = await make_client(det)
    ws = await client.ws_connect("/v1/live", headers=env.auth(), autoping=False)
    await ws.receive_json()
    texts = ["my card is four", "my card is four one", "my card is four one one one",
             "my card is four one one one thanks",  # still held: "one thanks" may go on
             "my card is four one one one thanks a lot"]
    msgs = await send_each(ws, [{"type": "partial", "segment_id": "s", "text": t}
                                for t in texts])
    # only the partials that moved the hold-back on were detected
    assert det.seen == [texts[0], texts[4]]
    assert _shown(msgs, "s") == "my card is [[NUMBER]] thanks "
    assert all("four" not in m["text"] for m in msgs)
    exposition = await (await client.get("/metrics")).text()
    assert _metric(exposition, "held_tail") == 3
    # a revision inside the held tail is detected anew
    msgs = await send_each(ws, [{"type": "partial", "segment_id": "s",
                                 "text": "my card is for one one one thanks a lot"}])
    assert det.seen[-1] == "my card is for one one one thanks a lot"
    await ws.close()


async def test_a_full_inbox_pauses_reading_and_loses_nothing(
        make_client: MakeClient, env: Env, monkeypatch: Any) -> None:
    from redact_gw.live import inbox
    monkeypatch.setattr(inbox, "MAX_QUEUED", 4)
    client = await make_client(ScriptedDetector())
    ws = await client.ws_connect("/v1/live", headers=env.auth(), autoping=False)
    await ws.receive_json()
    await ws.send_json({"type": "partial", "segment_id": "a", "text": "wait @@sleep=0.3 ok"})
    for i in range(10):
        await ws.send_json({"type": "final", "segment_id": f"s{i}", "text": f"turn {i}"})
    msgs = await handled(ws)
    finals = [m["segment_id"] for m in msgs if m["type"] == "final"]
    assert finals == [f"s{i}" for i in range(10)]
    await ws.close()
