"""Planted personal data never shows up anywhere it should not, with the real detector.

One scenario drives the gateway end to end (redact, proxied chat streamed and not,
reveal, opt-out refusal, no-retention, erasure, purge, and error paths) with a value of
every entity type the detector supports, written and spoken, plus a record id and a
subject id. Then every place an operator, an AI service or an attacker could read is
searched for every planted value and its normalized forms: all log records at DEBUG
of every logger (the access log included), ``/metrics``, every error body, the other
non-reveal answers, the audit trail (API and JSONL mirror), the vault file, and every
request the upstream AI service received. Only a reveal and the restored answers,
which go to the caller, may carry values; they are checked to carry them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from redact_gw.detection import Detector
from redact_gw.model import KnownValue, Segment, Span
from redact_gw.proxy.accesslog import AccessLogger
from redact_gw.proxy.app import create_app
from redact_gw.redaction import normalize
from redact_gw.settings import load_settings
from redact_gw.testing import FailingDetector, FakeClock, FakeUpstream, Scripted
from redact_gw.tokens import TOKEN_RE
from tests.conftest import Env

pytestmark = pytest.mark.slow
CHAT = "/v1/chat/completions"
DAY = 86400

#: Every entity type the detector emits for personal data (detection/__init__.py);
#: NRP, DATE_TIME and URL are below the default threshold by design.
ENTITY_TYPES = frozenset({
    "PERSON", "LOCATION", "ADDRESS", "DATE_OF_BIRTH", "PHONE_NUMBER", "EMAIL_ADDRESS",
    "CREDIT_CARD", "US_SSN", "US_ITIN", "US_PASSPORT", "IBAN_CODE", "US_BANK_NUMBER",
    "ROUTING_NUMBER", "ACCOUNT_NUMBER", "ZIP_CODE", "IP_ADDRESS", "MAC_ADDRESS", "CRYPTO",
    "CREDENTIAL"})
#: Planted but reported under another type: the detector tokenizes a passport number in
#: context as ACCOUNT_NUMBER (no recognizer emits US_PASSPORT at the default threshold).
REPORTED_AS = {"US_PASSPORT": "ACCOUNT_NUMBER"}


@dataclass(frozen=True)
class Planted:
    """One planted value and the other forms it must not appear in either."""

    entity_type: str
    value: str
    also: tuple[str, ...] = ()

    def forms(self) -> set[str]:
        """The value, its JSON escape, normalized, digits-only and listed forms."""
        forms = {self.value, json.dumps(self.value)[1:-1], *self.also,
                 normalize(self.entity_type, self.value)}
        digits = re.sub(r"\D", "", self.value)
        if len(digits) >= 5:
            forms.add(digits)
        return {f for f in forms if f.strip()}


P = Planted
#: (sentence, values planted in it). Written, then spoken (as speech recognition writes).
SENTENCES: list[tuple[str, list[Planted]]] = [
    ("IBAN GB29 NWBK 6016 1331 9268 19, checking account 7730194428, routing number "
     "021000021.",
     [P("IBAN_CODE", "GB29 NWBK 6016 1331 9268 19"), P("US_BANK_NUMBER", "7730194428"),
      P("ROUTING_NUMBER", "021000021")]),
    ("Hi, my name is Rosalind Whitfield and I live in Albuquerque.",
     [P("PERSON", "Rosalind Whitfield", ("Rosalind", "Whitfield")),
      P("LOCATION", "Albuquerque")]),
    ("My address is 1428 Maplewood Avenue, my zip code is 87109.",
     [P("ADDRESS", "1428 Maplewood Avenue", ("Maplewood",)), P("ZIP_CODE", "87109")]),
    ("I was born on 03/17/1979.", [P("DATE_OF_BIRTH", "03/17/1979", ("1979-03-17",))]),
    ("You can reach me at 503-555-0147 or rosalind.whitfield@example.org.",
     [P("PHONE_NUMBER", "503-555-0147", ("555-0147",)),
      P("EMAIL_ADDRESS", "rosalind.whitfield@example.org",
        ("rosalind.whitfield", "rosalind.whitfield%40example.org"))]),
    ("My card is 5500 0000 0000 0004 and my ssn is 536-22-8714.",
     [P("CREDIT_CARD", "5500 0000 0000 0004", ("5500-0000-0000-0004",)),
      P("US_SSN", "536-22-8714")]),
    ("My ITIN is 912-73-4481.", [P("US_ITIN", "912-73-4481")]),
    ("My member id is 77310492.", [P("ACCOUNT_NUMBER", "77310492")]),
    ("My ip address is 172.16.254.9 and the router MAC is 3c:22:fb:9a:41:0e.",
     [P("IP_ADDRESS", "172.16.254.9"),
      P("MAC_ADDRESS", "3c:22:fb:9a:41:0e", ("3c-22-fb-9a-41-0e", "3c22fb9a410e"))]),
    ("Send it to my bitcoin wallet 1BoatSLRHtKNngkdXEeobR76b53LETtpyT please.",
     [P("CRYPTO", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")]),
    ("Here is the key AKIAJ2N5XQW8PLR7T3VB and my password is Quokka!Lantern42 ok.",
     [P("CREDENTIAL", "AKIAJ2N5XQW8PLR7T3VB"), P("CREDENTIAL", "Quokka!Lantern42")]),
    ("My passport number is 483920176.", [P("US_PASSPORT", "483920176")]),
    # spoken
    ("this is marcus delgado spelled d e l g a d o",
     [P("PERSON", "marcus delgado", ("delgado",)), P("PERSON", "d e l g a d o")]),
    ("call me at seven one eight, five five five, two nine three one",
     [P("PHONE_NUMBER", "seven one eight, five five five, two nine three one",
        ("7185552931", "718-555-2931"))]),
    ("my email is marcus dot delgado at outlook dot com",
     [P("EMAIL_ADDRESS", "marcus dot delgado at outlook dot com",
        ("marcus.delgado@outlook.com",))]),
    ("my card is four five three two one five one one two eight three zero three three six six",
     [P("CREDIT_CARD", "four five three two one five one one two eight three zero three "
        "three six six", ("4532151128303366",))]),
    ("my ssn is six one two, four four, nine eight seven one",
     [P("US_SSN", "six one two, four four, nine eight seven one", ("612449871",))]),
    ("my tax id is nine one two seven eight three four five six",
     [P("US_ITIN", "nine one two seven eight three four five six", ("912783456",))]),
    ("i was born on july ninth nineteen ninety one",
     [P("DATE_OF_BIRTH", "july ninth nineteen ninety one", ("1991-07-09", "07/09/1991"))]),
    ("the zip is six oh six one four", [P("ZIP_CODE", "six oh six one four", ("60614",))]),
    ("routing number zero two six oh oh nine five nine three",
     [P("ROUTING_NUMBER", "zero two six oh oh nine five nine three", ("026009593",))]),
    ("my checking account is forty one fifty two sixty three seventy four eighty five",
     [P("US_BANK_NUMBER", "forty one fifty two sixty three seventy four eighty five",
        ("4152637485",))]),
    ("my member id is q x seven seven four one nine two",
     [P("ACCOUNT_NUMBER", "q x seven seven four one nine two", ("qx774192", "774192"))]),
    ("my iban is d e eight nine three seven oh four oh oh four four oh five three two oh "
     "one three oh oh oh",
     [P("IBAN_CODE", "d e eight nine three seven oh four oh oh four four oh five three two "
        "oh one three oh oh oh", ("DE89370400440532013000",))]),
]
PLANTED = [p for _, ps in SENTENCES for p in ps]
TEXT = "\n".join(s for s, _ in SENTENCES)
RECORD = "call-planted-q7x2"
SUBJECT = "subj-planted-k9w4"
OPTED_OUT = "subj-planted-optout-3"
NO_RETENTION = "subj-planted-noret-5"
UNKNOWN_RECORD = "call-planted-unknown-8"
IDS = (RECORD, SUBJECT, OPTED_OUT, NO_RETENTION, UNKNOWN_RECORD)


def _pattern(form: str) -> re.Pattern[str]:
    # alnum boundaries: a 5-digit value must not "match" inside a hash or a token id
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(form) + r"(?![A-Za-z0-9])",
                      re.IGNORECASE)


VALUE_PATTERNS = [(p, f, _pattern(f)) for p in PLANTED for f in sorted(p.forms())]
ID_PATTERNS = [(i, _pattern(i)) for i in IDS]


def leaks(text: str, *, ids: bool) -> list[str]:
    """Every planted value form (and planted id, when ``ids``) found in ``text``, also
    right after a JSON or repr escape such as ``\\n``."""
    unescaped = re.sub(r'\\(?:[nrtbf"/\\]|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2})', " ", text)

    def hit(pat: re.Pattern[str]) -> bool:
        return bool(pat.search(text) or pat.search(unescaped))
    found = [f"{p.entity_type}:{form!r}" for p, form, pat in VALUE_PATTERNS if hit(pat)]
    if ids:
        found += [f"id:{i!r}" for i, pat in ID_PATTERNS if hit(pat)]
    return found


# -- the gateway under test ---------------------------------------------------------------
@dataclass
class Switch:
    """The real detector, or (``fail``) one that raises quoting planted values."""

    real: Detector
    fail: bool = False
    failing: FailingDetector = field(default_factory=lambda: FailingDetector(
        message="boom: Rosalind Whitfield 536-22-8714 call-planted-q7x2"))

    def warm_up(self) -> None:
        self.real.warm_up()

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        return (self.failing if self.fail else self.real).detect(segments, known)


@dataclass
class Seen:
    """Everything the scenario produced, by where a reader would find it."""

    errors: list[tuple[str, str]] = field(default_factory=list)
    answers: list[tuple[str, str]] = field(default_factory=list)
    revealed: list[tuple[str, str]] = field(default_factory=list)


class Scenario:
    """Sends requests and files each answer as an error, an answer or a reveal."""

    def __init__(self, client: TestClient, env: Env, seen: Seen) -> None:
        self.client, self.env, self.seen = client, env, seen

    async def call(self, what: str, method: str, path: str, *, who: str | None = "ai",
                   reveal: bool = False, expect: int | None = None, **kw: Any) -> str:
        headers = {**(self.env.auth(who) if who else {}), **kw.pop("headers", {})}
        resp = await self.client.request(method, path, headers=headers, **kw)
        text = await resp.text()
        if expect is not None:
            assert resp.status == expect, (what, resp.status, text[:300])
        where = (self.seen.errors if resp.status >= 400 else
                 self.seen.revealed if reveal else self.seen.answers)
        where.append((f"{what} -> {resp.status}", text + "\n" + json.dumps(dict(resp.headers))))
        return text


async def start(aiohttp_server: Any, aiohttp_client: Any, env: Env, clock: FakeClock,
                detector: Detector) -> tuple[TestClient, FakeUpstream, Switch]:
    """The gateway, with the production access logger, in front of a FakeUpstream."""
    fake = FakeUpstream()
    up = await aiohttp_server(fake.app())
    cfg = yaml.safe_load(env.config_path.read_text())
    cfg["audit"] = {"mirror_jsonl": "audit.jsonl"}
    cfg["detection"]["timeout_s"] = 60.0
    path = env.root / "leak.yaml"
    path.write_text(yaml.safe_dump(cfg))
    settings = load_settings(path, {"REDACT_GW_UPSTREAM_URL": str(up.make_url("/v1")),
                                    "REDACT_GW_UPSTREAM_API_KEY": "sk-upstream-secret"})
    switch = Switch(detector)
    app = create_app(settings, detector_factory=lambda: switch, clock=clock)
    server = await aiohttp_server(app, access_log_class=AccessLogger,
                                  access_log=logging.getLogger("redact_gw.access"))
    client: TestClient = await aiohttp_client(server)
    return client, fake, switch


def capture_every_logger(caplog: pytest.LogCaptureFixture) -> None:
    """DEBUG on the root and on every logger that exists, the access logger included;
    the capture handler also on loggers that do not propagate."""
    caplog.set_level(logging.DEBUG)
    names = ["redact_gw.access", "aiohttp.access", *logging.root.manager.loggerDict]
    for name in names:
        caplog.set_level(logging.DEBUG, logger=name)
        logger = logging.getLogger(name)
        if not logger.propagate and caplog.handler not in logger.handlers:
            logger.addHandler(caplog.handler)
        logger.disabled = False


def formatted(records: Iterable[logging.LogRecord]) -> Iterator[tuple[str, str]]:
    """Each record as a reader would see it: message, traceback and extra fields."""
    fmt = logging.Formatter("%(name)s %(levelname)s %(message)s")
    standard = set(vars(logging.makeLogRecord({})))
    for r in records:
        extra = {k: v for k, v in vars(r).items() if k not in standard}
        yield f"log {r.name}", fmt.format(r) + " " + repr(extra) + " " + repr(r.args)


def stream_text(body: str) -> str:
    """The content of an SSE chat answer."""
    out = []
    for line in body.splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:]).get("choices") or ():
                out.append((choice.get("delta") or {}).get("content") or "")
    return "".join(out)


# -- the scenario ---------------------------------------------------------------------------
async def run_scenario(client: TestClient, env: Env, clock: FakeClock, switch: Switch,
                       seen: Seen, fake: FakeUpstream) -> dict[str, Any]:
    s = Scenario(client, env, seen)
    turns = [{"speaker": "customer" if i % 2 else "agent", "text": t}
             for i, (t, _) in enumerate(SENTENCES)]
    # 1. redact a transcript
    body = json.loads(await s.call("redact", "POST", "/v1/redact", expect=200, json={
        "record_id": RECORD, "subject_id": SUBJECT, "turns": turns}))
    found_types = {e["entity_type"] for e in body["entities"]}
    tokens = sorted({e["token"] for e in body["entities"]})
    # 2. proxied chat, not streamed and streamed: the upstream echoes tokens back
    chat = {"model": "demo-echo-1", "messages": [
        {"role": "system", "content": "You help Rosalind Whitfield (503-555-0147)."},
        {"role": "user", "content": TEXT}]}
    # caller headers carrying planted values never go upstream or into a log
    ids = {"X-Record-Id": RECORD, "X-Subject-Id": SUBJECT,
           "X-Customer-Email": "rosalind.whitfield@example.org",
           "Referer": "https://crm.example/customers/Rosalind%20Whitfield",
           "User-Agent": "crm-bot 503-555-0147", "X-Request-Id": "5035550147"}
    answer = json.loads(await s.call("chat", "POST", CHAT, reveal=True, expect=200,
                                     json=chat, headers=ids))
    streamed = await s.call("chat stream", "POST", CHAT, reveal=True, expect=200,
                            json={**chat, "stream": True}, headers=ids)
    # the other dialects, streamed and not (issue 14)
    claude = {"model": "demo-echo-1", "max_tokens": 64, "system": chat["messages"][0]["content"],
              "messages": chat["messages"][1:]}
    responses = {"model": "demo-echo-1", "instructions": chat["messages"][0]["content"],
                 "input": TEXT}
    for name, path, doc in [("messages", "/v1/messages", claude),
                            ("responses", "/v1/responses", responses),
                            ("completions", "/v1/completions",
                             {"model": "demo-echo-1", "prompt": TEXT})]:
        for stream in (False, True):
            await s.call(f"{name}{' stream' if stream else ''}", "POST", path, reveal=True,
                         expect=200, json={**doc, "stream": stream}, headers=ids)
    # 3. a reveal for a purpose
    revealed = json.loads(await s.call(
        "reveal", "POST", "/v1/detokenize", who="admin", reveal=True, expect=200,
        json={"record_id": RECORD, "tokens": tokens, "purpose": "legal_request"}))
    await s.call("record metadata", "GET", f"/v1/records/{RECORD}", who="admin", expect=200)
    # 4. opt-outs: refused (451), and no retention
    await s.call("opt-out", "PUT", f"/v1/subjects/{OPTED_OUT}/opt-out", who="admin",
                 expect=200, json={"no_ai_processing": True})
    await s.call("opted-out chat", "POST", CHAT, expect=451, json=chat,
                 headers={"X-Subject-Id": OPTED_OUT, "X-Record-Id": "call-o"})
    await s.call("no-retention", "PUT", f"/v1/subjects/{NO_RETENTION}/opt-out", who="admin",
                 expect=200, json={"no_retention": True})
    await s.call("no-retention chat", "POST", CHAT, expect=200, json=chat,
                 headers={"X-Subject-Id": NO_RETENTION})
    # 5. error paths, each quoting planted values in its input
    await error_paths(s, switch, tokens, fake)
    # 6. erasure, then a retention purge
    await s.call("erase", "DELETE", f"/v1/subjects/{SUBJECT}", who="admin", expect=200)
    clock.advance(31 * DAY)
    await s.call("purge", "POST", "/v1/purge", who="admin", expect=200)
    return {"types": found_types, "answer": answer["choices"][0]["message"]["content"],
            "streamed": stream_text(streamed), "revealed": revealed}


async def hostile_paths(s: Scenario, fake: FakeUpstream) -> None:
    """Issue 16: bad bodies and a hostile upstream, each quoting planted values."""
    quoting = '{"text": "Rosalind Whitfield 536-22-8714", "x": '
    await s.call("too deep", "POST", "/v1/redact", expect=400,
                 data=(quoting + "[" * 200 + "]" * 200 + "}").encode())
    await s.call("NaN", "POST", "/v1/redact", expect=400, data=(quoting + "NaN}").encode())
    await s.call("huge integer", "POST", CHAT, expect=400,
                 data=(quoting + "1" * 5000 + "}").encode())
    await s.call("NUL channel", "POST", "/v1/redact", expect=400,
                 json={"text": TEXT, "channel": "Rosalind\u0000Whitfield"})
    await s.call("unsupported encoding", "POST", "/v1/redact", expect=415,
                 data=json.dumps({"text": TEXT}).encode(),
                 headers={"Content-Encoding": "x-custom", "Content-Type": "application/json"})
    await s.call("too many numbers", "POST", "/v1/redact", expect=413,
                 json={"text": " ".join(["536-22-8714"] * 400)})
    fake.then(Scripted(body=b"<html>Rosalind Whitfield 536-22-8714</html>", headers={
        "Content-Type": "text/html", "X-Customer": "Rosalind Whitfield 503-555-0147",
        "Access-Control-Allow-Origin": "*"}))
    await s.call("upstream not json", "POST", CHAT, expect=502,
                 json={"model": "m", "messages": [{"role": "user", "content": "hello"}]})


async def error_paths(s: Scenario, switch: Switch, tokens: list[str],
                      fake: FakeUpstream) -> None:
    quoted = '{"text": "my ssn is 536-22-8714, Rosalind Whitfield", "record_id": 7,'
    await s.call("malformed json", "POST", "/v1/redact", expect=400, data=quoted.encode())
    await s.call("malformed json chat", "POST", CHAT, expect=400, data=quoted.encode())
    await s.call("wrong type", "POST", "/v1/redact", expect=422,
                 json={"turns": "Rosalind Whitfield 536-22-8714"})
    await s.call("wrong type id", "POST", "/v1/redact", expect=422,
                 json={"text": TEXT, "record_id": "Rosalind Whitfield 536-22-8714"})
    await s.call("wrong type chat", "POST", CHAT, expect=422,
                 json={"model": "m", "messages": "rosalind.whitfield@example.org"})
    await s.call("bad record header", "POST", CHAT, expect=422,
                 json={"model": "m", "messages": [{"role": "user", "content": TEXT}]},
                 headers={"X-Record-Id": "Rosalind Whitfield"})
    await s.call("bad subject path", "PUT", "/v1/subjects/536-22-8714 Whitfield/opt-out",
                 who="admin", expect=422, json={"no_ai_processing": True})
    await s.call("unknown record", "POST", "/v1/detokenize", who="admin", expect=404,
                 json={"record_id": UNKNOWN_RECORD, "tokens": tokens,
                       "purpose": "legal_request"})
    await s.call("missing purpose", "POST", "/v1/detokenize", who="admin", expect=422,
                 json={"record_id": RECORD, "text": "for Rosalind Whitfield " + tokens[0]})
    await s.call("forbidden reveal", "POST", "/v1/detokenize", who="ai", expect=403,
                 json={"record_id": RECORD, "tokens": tokens, "purpose": "legal_request"})
    await s.call("not a token", "POST", "/v1/detokenize", who="admin", expect=422,
                 json={"record_id": RECORD, "tokens": ["536-22-8714"],
                       "purpose": "legal_request"})
    big = {"text": (TEXT + "\n") * (70_000 // len(TEXT) + 1), "record_id": RECORD}
    await s.call("oversized", "POST", "/v1/redact", expect=413, json=big)
    await s.call("oversized chat", "POST", CHAT, expect=413,
                 json={"model": "m", "messages": [{"role": "user", "content": big["text"]}]})
    bad_utf8 = '{"text": "Rosalind Whitfield 536-22-8714 \xff"}'.encode("latin-1")
    await s.call("invalid utf-8", "POST", "/v1/redact", expect=400, data=bad_utf8)
    await hostile_paths(s, fake)
    await s.call("unauthorized", "POST", "/v1/redact", who=None, expect=401,
                 json={"text": TEXT}, headers={"Authorization": "Bearer 536-22-8714"})
    switch.fail = True
    try:
        await s.call("detection failure", "POST", "/v1/redact", expect=503,
                     json={"text": TEXT, "record_id": RECORD})
        await s.call("detection failure chat", "POST", CHAT, expect=503, json={
            "model": "m", "messages": [{"role": "user", "content": TEXT}]},
            headers={"X-Record-Id": RECORD})
    finally:
        switch.fail = False


async def test_no_planted_value_anywhere(aiohttp_server: Any, aiohttp_client: Any, env: Env,
                                         clock: FakeClock, detector: Detector,
                                         caplog: pytest.LogCaptureFixture) -> None:
    capture_every_logger(caplog)
    client, fake, switch = await start(aiohttp_server, aiohttp_client, env, clock, detector)
    seen = Seen()
    result = await run_scenario(client, env, clock, switch, seen, fake)
    audit = await (await client.get("/v1/audit", params={"limit": "1000"},
                                    headers=env.auth("admin"))).text()
    metrics = await (await client.get("/metrics")).text()
    await client.close()  # flush the access log of the last requests

    # the scenario did what it says: every type found, values restored and revealed
    assert result["types"] >= {REPORTED_AS.get(t, t) for t in ENTITY_TYPES}
    for text in (result["answer"], result["streamed"]):
        missing = [p.value for p in PLANTED if p.value not in text]
        assert not missing, f"not restored: {missing}"
    revealed = {v["value"] for v in result["revealed"]["values"]}
    assert {p.value for p in PLANTED} <= revealed
    # chat, stream, 3 dialects x 2, no-retention chat, the hostile non-JSON answer
    assert len(fake.received) == 10
    actions = {e["action"] for e in json.loads(audit)["events"]}
    assert {"optout.refused", "erasure", "purge"} <= actions
    assert len(seen.errors) >= 25 and caplog.records

    mirror = (env.root / "audit.jsonl").read_text()
    vault = b"".join(p.read_bytes() for p in env.root.glob("vault.db*")).decode("latin-1")
    places: list[tuple[str, str, bool]] = [  # (where, text, planted ids are forbidden too)
        *((w, t, True) for w, t in formatted(caplog.records)),
        ("/metrics", metrics, True),
        *((w, t, True) for w, t in seen.errors),
        *((f"upstream {r.request_line}", "\n".join(
            [r.request_line, json.dumps(r.headers), r.body.decode("utf-8", "replace")]),
          True) for r in fake.received),
        *((w, t, False) for w, t in seen.answers),  # ids are echoed to their caller
        ("GET /v1/audit", audit, False), ("audit mirror", mirror, False),  # ids: audited
        ("vault file", vault, False),
    ]
    problems = [f"{where}: {found}" for where, text, ids in places
                if (found := leaks(text, ids=ids))]
    assert not problems, "planted data leaked:\n" + "\n".join(problems[:40])
    # the upstream saw tokens in place of every value
    sent = "\n".join(r.body.decode() for r in fake.received)
    assert {m.group("type") for m in TOKEN_RE.finditer(sent)} >= {
        REPORTED_AS.get(t, t) for t in ENTITY_TYPES}


def test_the_search_catches_each_form() -> None:
    """The check is fail-capable: values, escapes, normalized and spoken forms, ids."""
    assert leaks("... 536-22-8714 ...", ids=False) == ["US_SSN:'536-22-8714'"]
    assert leaks("digits 5500000000000004 here", ids=False)
    assert leaks('{"msg": "ROSALIND WHITFIELD"}', ids=False)
    assert leaks("key: -----\\nQuokka!Lantern42", ids=False)
    assert leaks("sent to marcus.delgado@outlook.com", ids=False)
    assert leaks("normalized GB29NWBK60161331926819", ids=False)
    assert leaks("n=7185552931", ids=False)
    assert leaks("record call-planted-q7x2 done", ids=True)
    assert not leaks("record call-planted-q7x2 done", ids=False)
    assert not leaks("hash a87109f0c and token [[ZIP_CODE:k3j9x2mq7p]]", ids=True)
    logger = logging.getLogger("redact_gw.selftest")
    record = logger.makeRecord("redact_gw.selftest", logging.DEBUG, __file__, 1,
                               "tokenizing %s", ("for Rosalind Whitfield",), None)
    assert any(leaks(t, ids=True) for _, t in formatted([record]))


@pytest.mark.parametrize("text", [
    "My ITIN is 912-73-4481.\nIBAN GB29 NWBK 6016 1331 9268 19",
    "my passport number is 483920176. IBAN GB29 NWBK 6016 1331 9268 19",
    "My ITIN is 912-73-4481.\nhello GB29 NWBK 6016 1331 9268 19",
])
def test_a_number_before_an_iban_is_detected(detector: Detector, text: str) -> None:
    spans = detector.detect([Segment(text)])[0]
    number = re.search(r"\d[\d-]{7,}\d", text)
    assert number is not None
    assert number.group(0) in {text[s.start:s.end] for s in spans}
