"""Forwarding a live session's redacted text to an agent-assist service, and its
suggestions back.

One ``Assist`` per session that names a service (``GET /v1/live?assist=NAME``, settings
``live.assist.NAME``). ``offer`` takes each message the session sends its caller (finals,
and partials when ``forward_partials``) and queues what the service may see: the
segment's whole text *as the caller sees it* (tokens and masks, never raw text)::

    {"type": "final", "record_id": "call-1", "segment_id": "s1", "speaker": "customer",
     "text": "my card is [[CREDIT_CARD:k3j9x2mq7p]]", "start": 12.3, "end": 14.0}

A task of its own forwards the queue in order, so the caller's session never waits for
the service:

* ``http(s)://``: one POST per message (``timeout_s``, ``retries`` on a timeout, a
  refused connection or a 5xx), answered ``204`` or ``{"suggestions": [{"text": ..,
  "id": ..}]}``;
* ``ws(s)://``: one WebSocket per session (opened with the first message, reopened
  after a failure); the service sends ``{"type": "suggestion", "text": ..,
  "segment_id": .., "id": ..}`` whenever it likes.

The service is hostile: answers are size-bounded, shape-checked and scanned like any AI
answer (``AnswerGuard``): values the caller never sent are sealed as tokens, tokens of
the caller's own values are restored as far as its restore policy allows. The caller
gets ``{"type": "suggestion", "segment_id": .., "id": .., "text": ..}``, or a typed
``{"type": "error", "error": {"code": "assist_..."}}`` and never anything raw.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from redact_gw.errors import RedactGwError, UpstreamError
from redact_gw.metrics import Metrics
from redact_gw.proxy.upstream import read_limited
from redact_gw.settings import AssistSettings
from redact_gw.streaming.guard import AnswerGuard, Piece
from redact_gw.transcripts.shapes import check_id

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]
GuardFactory = Callable[[], AnswerGuard]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One suggestion as the service sent it (not yet scanned)."""

    text: str
    segment_id: str | None = None
    id: str | None = None


class AssistFailed(UpstreamError):
    """The assist service failed; ``kind`` is the metric label, the code says it too."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message, code=f"assist_{kind}")
        self.kind = kind


def parse_suggestion(doc: Any, limits: AssistSettings) -> Suggestion:
    """Check one suggestion object (``text``, optional ``segment_id`` and ``id``)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("text"), str):
        raise AssistFailed("bad_answer", "an assist suggestion must be an object with text")
    if len(doc["text"]) > limits.max_suggestion_chars:
        raise AssistFailed("bad_answer", "an assist suggestion is longer than"
                           f" {limits.max_suggestion_chars} characters")
    try:
        segment_id = check_id(doc.get("segment_id"), "segment_id")
        sid = check_id(doc.get("id"), "id")
    except RedactGwError:
        raise AssistFailed("bad_answer", "an assist suggestion has a bad id") from None
    return Suggestion(doc["text"], segment_id, sid)


def parse_answer(raw: bytes, limits: AssistSettings) -> list[Suggestion]:
    """An HTTP answer body: empty, or ``{"suggestions": [...]}``."""
    if not raw.strip():
        return []
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise AssistFailed("bad_answer", "the assist service answered with something"
                           " that is not JSON") from None
    items = doc.get("suggestions", []) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise AssistFailed("bad_answer", "the assist answer must be an object with a list"
                           " of suggestions")
    if len(items) > limits.max_suggestions:
        raise AssistFailed("bad_answer", f"the assist service sent more than"
                           f" {limits.max_suggestions} suggestions")
    return [parse_suggestion(i, limits) for i in items]


class Assist:
    """Forwarding of one session (see the module docstring).

    Args:
        cfg: The service's settings.
        http: The app's client session.
        record_id: The session's record.
        send: Sends one message to the caller (never raises).
        guard: Makes the answer guard of a suggestion (the session's values so far).
        metrics: The app's metrics.
    """

    def __init__(self, cfg: AssistSettings, http: aiohttp.ClientSession, record_id: str,
                 send: Send, guard: GuardFactory, metrics: Metrics) -> None:
        self.cfg = cfg
        self.http = http
        self.record_id = record_id
        self.send = send
        self.guard = guard
        self.metrics = metrics
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(cfg.max_pending)
        self._shown: dict[str, str] = {}
        self._speakers: dict[str, str | None] = {}
        #: Segment ids the service was sent (bounded): the only ones it may name.
        self._forwarded: dict[str, None] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the forwarding task."""
        self._worker = asyncio.create_task(self._run(), name="live-assist")

    async def close(self) -> None:
        """Stop forwarding (what is still queued is dropped) and close the WebSocket."""
        for task in (self._worker, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()

    async def drain(self, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) until every queued message was forwarded."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout_s)

    async def offer(self, msg: dict[str, Any], speaker: str | None) -> None:
        """Queue what the service may see of a message the caller was sent."""
        kind, segment_id = msg["type"], msg["segment_id"]
        text = self._shown.get(segment_id, "")[:msg["offset"]] + msg["text"]
        speaker = speaker or self._speakers.get(segment_id)
        if kind == "final":
            self._shown.pop(segment_id, None)
            self._speakers.pop(segment_id, None)
        else:
            self._shown[segment_id] = text
            self._speakers[segment_id] = speaker
            if not self.cfg.forward_partials:
                return
        doc = {"type": kind, "record_id": self.record_id, "segment_id": segment_id,
               "speaker": speaker, "text": text, "start": msg["start"], "end": msg["end"]}
        try:
            self._queue.put_nowait(doc)
            self._forwarded[segment_id] = None
            if len(self._forwarded) > 1024:
                del self._forwarded[next(iter(self._forwarded))]
        except asyncio.QueueFull:
            await self._fail(AssistFailed("backlog", "the assist service is behind; this"
                                          " message was not forwarded"), segment_id)

    async def _run(self) -> None:
        while True:
            doc = await self._queue.get()
            try:
                started = time.monotonic()
                if self.cfg.websocket:
                    await self._ws_send(doc)
                else:
                    suggestions = await self._post(doc)
                    self.metrics.live_assist_seconds.observe(time.monotonic() - started)
                    for s in suggestions:
                        await self._suggest(s, doc["segment_id"])
                self.metrics.live_assist_forwarded.labels(doc["type"]).inc()
            except AssistFailed as exc:
                await self._fail(exc, doc["segment_id"])
            except Exception as exc:  # a bad URL, a client bug: never fatal, never raw
                log.warning("assist forwarding failed: %s", type(exc).__name__,
                            extra={"event": "live_assist_failed"})
                await self._fail(AssistFailed("unavailable", "the assist service could"
                                              " not be reached"), doc["segment_id"])
            finally:
                self._queue.task_done()

    async def _post(self, doc: dict[str, Any]) -> list[Suggestion]:
        cfg = self.cfg
        headers = {"Authorization": f"Bearer {cfg.api_key}"} if cfg.api_key else {}
        timeout = aiohttp.ClientTimeout(total=cfg.timeout_s)
        last = AssistFailed("unavailable", "the assist service could not be reached")
        for _ in range(cfg.retries + 1):
            try:
                async with self.http.post(cfg.url, json=doc, headers=headers,
                                          timeout=timeout, allow_redirects=False) as resp:
                    if resp.status >= 500:
                        last = AssistFailed("unavailable", "the assist service failed"
                                            f" (HTTP {resp.status})")
                        continue
                    if resp.status >= 300:
                        raise AssistFailed("refused", "the assist service refused the"
                                           f" message (HTTP {resp.status})")
                    return parse_answer(await _read(resp, cfg.max_answer_bytes), cfg)
            except TimeoutError:
                last = AssistFailed("timeout", "the assist service did not answer within"
                                    f" {cfg.timeout_s}s")
            except aiohttp.ClientError:
                last = AssistFailed("unavailable", "the assist service could not be"
                                    " reached")
        raise last

    async def _ws_send(self, doc: dict[str, Any]) -> None:
        cfg = self.cfg
        for _ in range(cfg.retries + 1):
            try:
                async with asyncio.timeout(cfg.timeout_s):
                    if self._ws is None or self._ws.closed:
                        await self._connect()
                    assert self._ws is not None
                    started = time.monotonic()
                    await self._ws.send_json(doc)
                    self.metrics.live_assist_seconds.observe(time.monotonic() - started)
                    return
            except (TimeoutError, aiohttp.ClientError, ConnectionError):
                if self._ws is not None:
                    with contextlib.suppress(Exception):
                        await self._ws.close()
                self._ws = None
        raise AssistFailed("unavailable", "the assist service's WebSocket could not be"
                           " reached")

    async def _connect(self) -> None:
        cfg = self.cfg
        headers = {"Authorization": f"Bearer {cfg.api_key}"} if cfg.api_key else {}
        if self._reader is not None:
            self._reader.cancel()
        self._ws = await self.http.ws_connect(cfg.url, headers=headers, autoping=True,
                                              heartbeat=30.0,
                                              max_msg_size=cfg.max_answer_bytes)
        self._reader = asyncio.create_task(self._read_ws(self._ws), name="live-assist-ws")

    async def _read_ws(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Suggestions the service sends on its WebSocket, until it closes."""
        async for msg in ws:
            try:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise AssistFailed("bad_answer", "the assist service sent a message"
                                       " that is not JSON text")
                try:
                    doc = json.loads(msg.data)
                except (json.JSONDecodeError, RecursionError):
                    raise AssistFailed("bad_answer", "the assist service sent a message"
                                       " that is not JSON") from None
                await self._suggest(parse_suggestion(doc, self.cfg), None)
            except AssistFailed as exc:
                await self._fail(exc, None)
            except Exception as exc:  # a client bug: reported, never raw, reading goes on
                log.warning("assist suggestion failed: %s", type(exc).__name__,
                            extra={"event": "live_assist_failed"})
                await self._fail(AssistFailed("bad_answer", "an assist suggestion could"
                                              " not be used"), None)
        if ws.exception() is not None or ws.close_code not in (None, 1000):
            await self._fail(AssistFailed("unavailable", "the assist service closed its"
                                          " WebSocket"), None)

    async def _suggest(self, s: Suggestion, segment_id: str | None) -> None:
        """Scan and restore one suggestion, then send it to the caller. A segment id the
        service was never sent is dropped; so is an ``id`` in which the scan finds a value
        (ids are not restored or sealed, only passed on)."""
        if s.segment_id is not None and s.segment_id not in self._forwarded:
            s = Suggestion(s.text, None, s.id)
        try:
            guard = self.guard()
            await guard.start()
            spans = await guard.detect([s.text, s.id or ""])
            text = (await guard.render([Piece(s.text, spans[0])]))[0]
            if spans[1]:
                s = Suggestion(s.text, s.segment_id, None)
        except RedactGwError:
            await self._fail(AssistFailed("scan_failed", "an assist suggestion could not"
                                          " be checked for personal data; it was dropped"),
                             s.segment_id or segment_id)
            return
        out: dict[str, Any] = {"type": "suggestion", "segment_id": s.segment_id or segment_id,
                               "text": text}
        if s.id is not None:
            out["id"] = s.id
        self.metrics.live_assist_suggestions.inc()
        await self.send(out)

    async def _fail(self, exc: AssistFailed, segment_id: str | None) -> None:
        self.metrics.live_assist_errors.labels(exc.kind).inc()
        log.info("assist: %s", exc.code, extra={"event": "live_assist_failed",
                                                 "code": exc.code})
        body: dict[str, Any] = {"type": "error", **exc.to_dict()}
        if segment_id is not None:
            body["segment_id"] = segment_id
        await self.send(body)


async def _read(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The assist service's whole answer; more than ``limit`` bytes is a bad answer."""
    try:
        return await read_limited(resp, limit)
    except UpstreamError:
        raise AssistFailed("bad_answer", f"the assist answer is larger than {limit}"
                           " bytes") from None
