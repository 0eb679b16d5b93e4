"""Issue 15, finding 1: no principal learns another's values (both backends).

Principal A ("ai") redacts a card, an SSN and a name into a record. Principal B ("ai2",
same tenant, no reveal right) scans the record with all 10,000 four-digit strings and
name guesses: every field and header of B's answers must be what B gets for a record
that holds nothing, so nothing tells B which pieces occur. The scan runs detection
with the real recurrence module (``detection/recurrence.py``, the oracle of the
finding) over the fast regex detector: the full Presidio pipeline takes over a minute
for 10,000 strings (and building the spoken view of one 50 kB segment takes ~20 s), so
the scan is sent as 101 turns, and the real detector scans the pieces that matter among
decoys and runs the poisoning test.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from redact_gw.detection import recurrence
from redact_gw.detection.base import Detector
from redact_gw.detection.view import build_view
from redact_gw.model import KnownValue, Segment, Span
from redact_gw.testing import FakeDetector
from redact_gw.tokens import TOKEN_RE
from tests.conftest import Gateway, MakeGateway
from tests.pg import fresh_schema, schema_dsn

A_TEXT = "Card 4111 1111 1111 1111, SSN 078-05-1120. This is Rebecca Jones."
NAMES = ["Rebecca", "Jones", "Smith", "Garcia", "Maria", "John", "Johnson", "Brown",
         "Davis", "Miller", "Wilson", "Moore", "Taylor", "Anderson", "Thomas", "Jackson",
         "White", "Harris"]
#: 100 turns of 100 four-digit strings each, then the name guesses.
SCAN = ["\n".join(f"{i:04d}" for i in range(k, k + 100)) for k in range(0, 10_000, 100)]
SCAN.append("\n".join(NAMES))


class RecurringFake(FakeDetector):
    """The regex fake plus the real recurrence detection over known values."""

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        spans = super().detect(segments, ())
        texts = [s.text for s in segments]
        needles = recurrence.collect(texts, [], known)
        out = []
        for i, text in enumerate(texts):
            hits = [Span(c.start, c.end, c.entity_type, c.score, c.recognizer, c.normalized,
                         c.explanation) for c in recurrence.find(i, build_view(text), needles)]
            chosen: list[Span] = []
            for s in sorted([*spans[i], *hits], key=lambda s: (s.start, s.start - s.end)):
                if not chosen or s.start >= chosen[-1].end:
                    chosen.append(s)
            out.append(chosen)
        return out


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, Any]]:
    """Config overrides putting the vault on the backend."""
    if request.param == "sqlite":
        yield {}
        return
    async with fresh_schema() as schema:
        yield {"vault": {"url": schema_dsn(schema)}}


def _scrub(value: Any, record_ids: Sequence[str]) -> Any:
    """Tokens and record ids replaced: what is left must not depend on the record."""
    text = TOKEN_RE.sub("[[TOKEN]]", value if isinstance(value, str) else repr(value))
    text = re.sub(r"""(['"]created['"]: )\d+""", r"\1TIME", text)
    for rid in record_ids:
        text = text.replace(rid, "RECORD")
    return text


def _visible(resp: Any, body: Any, record_ids: Sequence[str]) -> tuple[Any, ...]:
    headers = {k: v for k, v in resp.headers.items()
               if k.lower() not in ("date", "content-length", "server", "x-request-id")}
    return resp.status, _scrub(body, record_ids), _scrub(sorted(headers.items()), record_ids)


async def _scan_redact(gw: Gateway, who: str, record: str) -> tuple[Any, ...]:
    turns = [{"speaker": "caller", "text": t} for t in SCAN]
    r = await gw.client.post("/v1/redact", json={"turns": turns, "record_id": record},
                             headers=gw.env.auth(who))
    return _visible(r, await r.json(), [record])


async def _scan_proxy(gw: Gateway, who: str, record: str) -> tuple[Any, ...]:
    r = await gw.client.post("/v1/chat/completions",
                             json={"model": "m", "messages": [{"role": "user", "content": t}
                                                              for t in SCAN]},
                             headers={**gw.env.auth(who), "X-Record-Id": record})
    upstream = gw.fake.last.body.decode()
    return (*_visible(r, await r.json(), [record]), _scrub(upstream, [record]))


async def _a_redacts(gw: Gateway, record: str) -> None:
    r = await gw.client.post("/v1/redact", json={"text": A_TEXT, "record_id": record},
                             headers=gw.env.auth("ai"))
    assert r.status == 200 and len((await r.json())["entities"]) == 3


async def test_four_digit_scan_learns_nothing_of_another_principals_values(
        make_gateway: MakeGateway, backend: dict[str, Any]) -> None:
    gw = await make_gateway(detector=RecurringFake(names=("Rebecca Jones",)),
                            config={**backend, "server": {"max_body_bytes": 200_000},
                                    "detection": {"timeout_s": 30.0},
                                    # one request of 10,000 numbers (the default admits
                                    # 1,000: an attacker would send ten)
                                    "admission": {"max_digit_runs": 20_000}})
    await _a_redacts(gw, "call-a")
    await _a_redacts(gw, "call-a2")
    scanned = await _scan_redact(gw, "ai2", "call-a")
    control = await _scan_redact(gw, "ai2", "empty-1")
    assert scanned == control and scanned[0] == 200
    assert "Recurrence" not in scanned[1] and "seen before" not in scanned[1]
    proxied = await _scan_proxy(gw, "ai2", "call-a2")
    assert proxied == await _scan_proxy(gw, "ai2", "empty-2") and proxied[0] == 200


async def test_supervisor_without_ssn_right_learns_no_ssn_pieces(
        make_gateway: MakeGateway) -> None:
    gw = await make_gateway(detector=RecurringFake(names=("Rebecca Jones",)))
    await _a_redacts(gw, "call-s")
    pieces = "\n".join(["0780", "7805", "8051", "0511", "5112", "1120", "0000", "Jones"])
    r = await gw.client.post("/v1/redact", json={"text": pieces, "record_id": "call-s"},
                             headers=gw.env.auth("supervisor"))
    body = await r.json()
    assert body["entities"] == [] and r.headers["X-Redact-Counts"] == ""


async def test_share_group_members_use_each_others_values(make_gateway: MakeGateway) -> None:
    """The operator's opt-in: members of one group catch each other's pieces."""
    gw = await make_gateway(detector=RecurringFake(names=("Rebecca Jones",)),
                            config={"access": {"share_groups": {"desk": ["ai", "ai2"]}}})
    await _a_redacts(gw, "call-g")
    r = await gw.client.post("/v1/redact",
                             json={"text": "the card ending 1111, Ms Jones", "record_id": "call-g"},
                             headers=gw.env.auth("ai2"))
    types = sorted(e["entity_type"] for e in (await r.json())["entities"])
    assert types == ["CREDIT_CARD", "PERSON"]


async def test_own_values_still_recur(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(detector=RecurringFake(names=("Rebecca Jones",)))
    await _a_redacts(gw, "call-o")
    r = await gw.client.post("/v1/redact",
                             json={"text": "the card ending 1111, Ms Jones", "record_id": "call-o"},
                             headers=gw.env.auth("ai"))
    assert len((await r.json())["entities"]) == 2


async def test_planted_names_do_not_poison_another_principals_text(
        make_gateway: MakeGateway, backend: dict[str, Any], detector: Detector) -> None:
    """B plants the names "Refund Please" and "Bill Balance"; A's words stay words."""
    gw = await make_gateway(detector=detector, config=backend)
    r = await gw.client.post("/v1/redact", json={"record_id": "call-p", "turns": [
        {"speaker": "caller", "text": "My name is Refund Please."},
        {"speaker": "caller", "text": "My name is Bill Balance."}]},
        headers=gw.env.auth("ai2"))
    assert [e["entity_type"] for e in (await r.json())["entities"]] == ["PERSON", "PERSON"]
    r = await gw.client.post("/v1/chat/completions", json={
        "model": "m", "messages": [{"role": "user", "content":
                                    "I want a refund please, my balance is wrong"}]},
        headers={**gw.env.auth("ai"), "X-Record-Id": "call-p"})
    assert r.status == 200 and r.headers["X-Redact-Counts"] == ""
    sent = gw.fake.last.json()["messages"][0]["content"]
    assert sent == "I want a refund please, my balance is wrong"


async def test_restore_gives_back_the_callers_own_spelling(make_gateway: MakeGateway,
                                                          backend: dict[str, Any]) -> None:
    gw = await make_gateway(config=backend)
    for who, text in (("ai", "mail John.Smith@Example.COM"),
                      ("ai2", "mail john.smith@example.com")):
        r = await gw.client.post("/v1/chat/completions", json={
            "model": "m", "messages": [{"role": "user", "content": text}]},
            headers={**gw.env.auth(who), "X-Record-Id": "call-r"})
        assert r.status == 200
        sent = gw.fake.last.json()["messages"][0]["content"]
        assert TOKEN_RE.search(sent) and "@" not in sent
        answer = (await r.json())["choices"][0]["message"]["content"]
        spelled = re.findall(r"[\w.]+@[\w.]+", answer)
        assert spelled == [text.split()[1]], who


async def test_real_detector_scan_of_the_pieces_learns_nothing(
        make_gateway: MakeGateway, backend: dict[str, Any], detector: Detector) -> None:
    """The full pipeline (Presidio + recurrences) on the pieces that matter, mixed with
    decoys: one turn per line, compared with the same scan of an empty record."""
    gw = await make_gateway(detector=detector, config=backend)
    r = await gw.client.post("/v1/redact", json={"text": A_TEXT, "record_id": "call-d"},
                             headers=gw.env.auth("ai"))
    assert {e["entity_type"] for e in (await r.json())["entities"]} >= {"CREDIT_CARD",
                                                                         "US_SSN"}
    pieces = ["4111", "1111", "0780", "7805", "8051", "0511", "5112", "1120", "Jones",
              "Rebecca", *(f"{i:04d}" for i in range(2000, 2020)), "Smith"]
    turns = [{"speaker": "caller", "text": p} for p in pieces]

    async def scan(record: str) -> tuple[Any, ...]:
        r = await gw.client.post("/v1/redact", json={"turns": turns, "record_id": record},
                                 headers=gw.env.auth("ai2"))
        return _visible(r, await r.json(), [record])
    scanned = await scan("call-d")
    assert scanned == await scan("empty-d") and scanned[0] == 200
