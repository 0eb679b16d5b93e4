"""Live finals equal ``/v1/redact`` on the same turns: the values a call's own earlier
finals stored never reach detection while those finals are still context."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redact_gw.detection import Detector
from redact_gw.model import KnownValue, Segment, Span
from redact_gw.testing import FakeDetector
from tests.conftest import Env, MakeClient, write_config
from tests.live.wsync import send_each

#: The failing example the property test found: "billing billing" was a PERSON (two
#: "rare" words), stored in the live record, then the one-word turn "billing" recurred
#: as that value in the live final but not in ``/v1/redact`` on the same turns.
BILLING = ["billing billing okay my card number is 4111 1111 1111 1111 okay", "billing"]


async def _finals(client: Any, env: Env, record_id: str, texts: Sequence[str]) -> list[str]:
    ws = await client.ws_connect("/v1/live", params={"record_id": record_id},
                                 headers=env.auth(), autoping=False)
    assert (await ws.receive_json())["type"] == "opened"
    out = []
    for i, text in enumerate(texts):
        msgs = await send_each(ws, [  # the partial is handled before the final comes
            {"type": "partial", "segment_id": f"t{i}", "speaker": "customer",
             "text": text[:len(text) // 2]},
            {"type": "final", "segment_id": f"t{i}", "speaker": "customer", "text": text}])
        view = ""
        for msg in msgs:
            assert msg["type"] in ("partial", "final"), msg
            view = view[:msg["offset"]] + msg["text"]
        assert msgs[-1]["type"] == "final"
        out.append(view)
    await ws.close()
    return out


async def _batch(client: Any, env: Env, record_id: str, texts: Sequence[str],
                 key: str = "admin") -> str:
    body = {"record_id": record_id,
            "turns": [{"speaker": "customer", "text": t} for t in texts]}
    r = await client.post("/v1/redact", json=body, headers=env.auth(key))
    assert r.status == 200, await r.text()
    return str((await r.json())["turns"][-1]["text"])


async def test_one_word_billing_turn_stays_a_word_live_and_batch(
        make_client: MakeClient, env: Env, detector: Detector) -> None:
    write_config(env.root, {"live": {"max_messages_per_s": 1000}})
    client = await make_client(detector, settings=env.settings())
    finals = await _finals(client, env, "live-billing", BILLING)
    assert finals[0].startswith("billing billing okay my card number is [[CREDIT_CARD:")
    assert finals[1] == "billing"
    assert await _batch(client, env, "batch-billing", BILLING) == "billing"


def test_a_doubtful_known_name_does_not_recur(detector: Detector) -> None:
    """A stored PERSON made of English words is not looked for again (as when found)."""
    known = [KnownValue("PERSON", "billing billing"),
             KnownValue("PERSON", "marguerite osterhaus")]
    spans = detector.detect([Segment("billing", "customer"),
                             Segment("ask osterhaus about billing", "customer")], known)
    assert spans[0] == []
    assert [s.entity_type for s in spans[1]] == ["PERSON"]
    assert "ask osterhaus about billing"[spans[1][0].start:spans[1][0].end] == "osterhaus"


class _RecordingDetector(FakeDetector):
    """The fake detector, remembering the known values each detection got."""

    def __init__(self) -> None:
        self.known: list[list[str]] = []

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        self.known.append(sorted(k.value for k in known))
        return super().detect(segments, known)


async def test_finals_get_record_values_at_open_and_those_out_of_context(
        make_client: MakeClient, env: Env) -> None:
    write_config(env.root, {"live": {"max_messages_per_s": 1000, "context_turns": 1}})
    det = _RecordingDetector()
    client = await make_client(det, settings=env.settings())
    await _batch(client, env, "call-7", ["this is Rebecca Jones"], "ai")  # stored before the call
    det.known.clear()
    texts = ["hello this is John Smith", "and my email is a@example.com", "okay thanks"]
    finals = await _finals(client, env, "call-7", texts)
    assert finals[0].startswith("hello this is [[PERSON:")
    # each turn: a partial, then its final; turn 1's values only once it left the window
    assert det.known == [["Rebecca Jones"]] * 4 + [["John Smith", "Rebecca Jones"]] * 2


async def test_a_partial_knows_the_values_of_finals_beyond_its_shorter_context(
        make_client: MakeClient, env: Env) -> None:
    """A partial sees fewer finals as text (``partial_context_turns``) than its final will
    (``context_turns``): the values of the finals in between reach it as known values,
    so it never shows a recurrence its final masks."""
    write_config(env.root, {"live": {"max_messages_per_s": 1000, "context_turns": 3,
                                     "partial_context_turns": 1}})
    det = _RecordingDetector()
    client = await make_client(det, settings=env.settings())
    await _batch(client, env, "call-8", ["this is Rebecca Jones"], "ai")
    det.known.clear()
    texts = ["hello this is John Smith", "and my email is a@example.com", "okay thanks"]
    await _finals(client, env, "call-8", texts)
    before = ["Rebecca Jones"]
    # turn 3's partial has only turn 2 as text: turn 1's John Smith comes as known
    assert det.known == [before] * 4 + [["John Smith", "Rebecca Jones"], before]
