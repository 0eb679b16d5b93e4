"""Fakes and factories shipped with the package, for this project's tests and yours.

Nothing here is used by the gateway itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from redact_gw.model import KnownValue, Segment, Span
from redact_gw.settings import DetectionSettings

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("EMAIL_ADDRESS", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("US_SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("CREDIT_CARD", re.compile(r"\b(?:\d{4}[ -]?){3}\d{4}\b")),
    ("PHONE_NUMBER", re.compile(r"\b\d{3}[ -]\d{3}[ -]\d{4}\b")),
    ("IBAN_CODE", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")),
    ("IP_ADDRESS", re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}"
                              r"(?:25[0-5]|2[0-4]\d|1?\d?\d)\b")),
    ("DATE_OF_BIRTH", re.compile(r"\b(?:19|20)\d{2}-[01]\d-[0-3]\d\b")),
    ("ADDRESS", re.compile(r"\b\d{1,5} [A-Z][a-z]+ (?:Street|Avenue|Road|Lane)\b")),
    ("LOCATION", re.compile(r"\b(?:Springfield|Chicago|Boston)\b")),
]


@dataclass
class FakeDetector:
    """Regex detector for fast tests: emails, SSNs, cards, phones and listed names."""

    names: Sequence[str] = ("John Smith", "Maria Garcia", "Rebecca Jones")
    calls: int = 0

    def warm_up(self) -> None:
        """Nothing to load."""

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """Find planted values; recurring known values are found too."""
        self.calls += 1
        out = []
        for seg in segments:
            spans: list[Span] = []
            for etype, pat in _PATTERNS:
                spans += [Span(m.start(), m.end(), etype, 0.9, "fake-" + etype.lower())
                          for m in pat.finditer(seg.text)]
            for name in [*self.names, *(k.value for k in known if k.entity_type == "PERSON")]:
                for m in re.finditer(re.escape(name), seg.text):
                    spans.append(Span(m.start(), m.end(), "PERSON", 0.85, "fake-person"))
            out.append(_non_overlapping(spans))
        return out


class ThresholdDetector:
    """``FakeDetector`` plus a weak LOCATION guess (0.35) for "Quahog", filtered by the
    settings' thresholds and entity types like the real detector (policy preview)."""

    def __init__(self, settings: DetectionSettings) -> None:
        self.settings = settings
        self.fake = FakeDetector()

    def with_settings(self, settings: DetectionSettings) -> ThresholdDetector:
        """The same detector under other settings (scoped overrides)."""
        return ThresholdDetector(settings)

    def warm_up(self) -> None:
        """Nothing to load."""

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """Fake spans and guesses that reach the settings' thresholds."""
        out = []
        for seg, spans in zip(segments, self.fake.detect(segments, known), strict=True):
            spans = [*spans, *(Span(m.start(), m.end(), "LOCATION", 0.35, "fake-location")
                               for m in re.finditer("Quahog", seg.text))]
            out.append(sorted((s for s in spans if s.score >= self.settings.threshold_for(
                s.entity_type) and self.settings.enables(s.entity_type)),
                key=lambda s: s.start))
        return out


def _non_overlapping(spans: list[Span]) -> list[Span]:
    chosen: list[Span] = []
    for s in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if not chosen or s.start >= chosen[-1].end:
            chosen.append(s)
    return chosen


class ScriptedDetector(FakeDetector):
    """``FakeDetector`` obeying markers in the text, for detection worker tests.

    ``@@crash`` ends the process at once (as a segfault or OOM kill would),
    ``@@spin=S`` burns CPU for S seconds holding the GIL, ``@@sleep=S`` sleeps and
    ``@@fail`` raises (with a planted value in the message).
    """

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """Obey the markers, then find planted values."""
        text = " ".join(s.text for s in segments)
        if "@@crash" in text:
            os._exit(3)
        if (m := re.search(r"@@spin=([\d.]+)", text)) is not None:
            end = time.perf_counter() + float(m.group(1))
            while time.perf_counter() < end:
                pass
        if (m := re.search(r"@@sleep=([\d.]+)", text)) is not None:
            time.sleep(float(m.group(1)))
        if "@@fail" in text:
            raise RuntimeError("scripted failure: John Smith 555-867-5309")
        return super().detect(segments, known)


class SlowStartDetector(ScriptedDetector):
    """A ``ScriptedDetector`` whose warm-up takes ``REDACT_GW_TEST_WARM_S`` (1.5) s."""

    def warm_up(self) -> None:
        """Sleep like a large model loading."""
        time.sleep(float(os.environ.get("REDACT_GW_TEST_WARM_S", "1.5")))


def scripted_detector(settings: object = None) -> ScriptedDetector:
    """Worker factory (``redact_gw.testing:scripted_detector``)."""
    return ScriptedDetector()


def slow_start_detector(settings: object = None) -> SlowStartDetector:
    """Worker factory (``redact_gw.testing:slow_start_detector``)."""
    return SlowStartDetector()


@dataclass
class FailingDetector:
    """A detector that always raises (fail-closed tests)."""

    message: str = "boom: John Smith 555-867-5309"  # PII in the message on purpose

    def warm_up(self) -> None:
        """Nothing to load."""

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """Raise."""
        raise RuntimeError(self.message)


@dataclass
class SlowDetector:
    """A detector that sleeps past any sane timeout."""

    seconds: float = 5.0

    def warm_up(self) -> None:
        """Nothing to load."""

    def detect(self, segments: Sequence[Segment],
               known: Sequence[KnownValue] = ()) -> list[list[Span]]:
        """Sleep, then find nothing."""
        time.sleep(self.seconds)
        return [[] for _ in segments]


@dataclass
class FakeClock:
    """A settable clock: ``clock()`` returns ``now``; ``advance(seconds)`` moves it."""

    now: float = 1_800_000_000.0
    history: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.history.append(self.now)
        self.now += seconds


@dataclass(frozen=True)
class Received:
    """One request as the fake upstream got it: request line, headers, raw body."""

    method: str
    path_qs: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def request_line(self) -> str:
        """``POST /v1/chat/completions HTTP/1.1``."""
        return f"{self.method} {self.path_qs} HTTP/{self.version}"

    def header(self, name: str) -> str | None:
        """First value of a header (case-insensitive)."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Scripted:
    """One scripted answer of the fake upstream.

    Attributes:
        status: HTTP status.
        json_body: Answer as JSON (ignored when ``body`` or ``events`` is set).
        body: Raw answer bytes.
        events: SSE events to stream: dicts are JSON-encoded, strings sent as data
            (``"[DONE]"``), bytes written verbatim (to cut events anywhere).
        headers: Extra response headers.
        gates: Event index -> ``asyncio.Event`` awaited before writing that event.
        hang: Never answer (timeout tests).
    """

    status: int = 200
    json_body: Any = None
    body: bytes | None = None
    events: list[Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    gates: dict[int, asyncio.Event] = field(default_factory=dict)
    hang: bool = False


class FakeUpstream:
    """An OpenAI-compatible fake AI service recording exactly what it receives.

    Scripted answers are served in order (``script``); with none left it behaves like
    the demo model (quotes the last user message back, streaming when asked).
    ``disconnected`` is set when a streaming answer's client went away.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[Scripted] = []
        self.disconnected = asyncio.Event()
        self.streaming = asyncio.Event()

    def app(self) -> web.Application:
        """The aiohttp app (serve it with ``aiohttp_server``)."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    def then(self, answer: Scripted | None = None, **kwargs: Any) -> FakeUpstream:
        """Queue a scripted answer; returns self."""
        self.script.append(answer if answer is not None else Scripted(**kwargs))
        return self

    def then_stream(self, chunks: Sequence[Any], *, done: bool = True,
                    **kwargs: Any) -> FakeUpstream:
        """Queue an SSE answer from chat chunks (``[DONE]`` appended when ``done``)."""
        events = [*chunks, "[DONE]"] if done else list(chunks)
        return self.then(Scripted(events=events, **kwargs))

    @property
    def last(self) -> Received:
        """The most recent request."""
        return self.received[-1]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(Received(request.method, request.path_qs,
                                      f"{request.version.major}.{request.version.minor}",
                                      list(request.headers.items()), body))
        answer = self.script.pop(0) if self.script else self._echo(request.path, body)
        if answer.hang:
            await asyncio.Event().wait()
        if answer.events is not None:
            return await self._stream(request, answer)
        if answer.body is not None:
            return web.Response(body=answer.body, status=answer.status,
                                headers=answer.headers)
        return web.json_response(answer.json_body, status=answer.status,
                                 headers=answer.headers)

    def _echo(self, path: str, body: bytes) -> Scripted:
        from redact_gw import demo
        try:
            doc = json.loads(body) if body else {}
        except json.JSONDecodeError:
            return Scripted(status=400, json_body={"error": {"message": "bad json"}})
        if path.endswith("/models"):
            return Scripted(json_body=demo.models_answer())
        if path.endswith("/embeddings") and isinstance(doc, dict):
            return Scripted(json_body=demo.embeddings_answer(doc))
        if isinstance(doc, dict):
            dialect = demo.dialect_answer(path, doc)
            if dialect is not None:
                return Scripted(status=dialect[0], json_body=dialect[1], events=dialect[2])
        text = demo.echo_text(doc) if isinstance(doc, dict) else ""
        if isinstance(doc, dict) and doc.get("stream") is True:  # as OpenAI: a boolean
            return Scripted(events=[*demo.chat_chunks(demo.words(text)), "[DONE]"])
        return Scripted(json_body=demo.completion(text))

    async def _stream(self, request: web.Request, answer: Scripted) -> web.StreamResponse:
        resp = web.StreamResponse(status=answer.status, headers={
            "Content-Type": "text/event-stream", **answer.headers})
        await resp.prepare(request)
        self.streaming.set()
        try:
            for i, event in enumerate(answer.events or []):
                gate = answer.gates.get(i)
                if gate is not None:
                    await gate.wait()
                if isinstance(event, bytes):
                    await resp.write(event)
                else:
                    payload = event if isinstance(event, str) else json.dumps(event)
                    await resp.write(f"data: {payload}\n\n".encode())
            await resp.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.disconnected.set()
            raise
        return resp
