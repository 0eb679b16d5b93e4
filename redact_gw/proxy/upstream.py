"""Forwarding to upstream AI services: one shared session, clean headers, mapped errors.

The ``ClientSession`` lives in a cleanup context (created at startup, closed at
shutdown). ``open_upstream`` sends a fully tokenized body with a Content-Length and
the gateway's own credential, never the caller's key, and maps transport failures to
the error tree: refused or unresolvable -> 502 ``upstream_unreachable``, timeouts ->
504 ``upstream_timeout``, anything else -> 502 ``upstream_error``.

Metrics (labels: the route template, fixed outcome and kind words, entity types):
``UpstreamMeter`` times each upstream call to its response headers and, for streams,
to the last event, and counts upstream failures by kind; ``MeteredGuard`` counts the
values restored into answers and the answer values sealed instead; ``ProxyCall``
counts tokenized values, no-retention redactions, opt-out refusals, risk actions and
vault failures of the request's tokenization.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import aiohttp
from aiohttp import web

from redact_gw.engine import Redactor
from redact_gw.errors import (
    AnswerScanFailed,
    OptedOut,
    PayloadTooLarge,
    RedactGwError,
    RiskRefused,
    Unavailable,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from redact_gw.jsonpaths import Path, Selector, apply_leaves, format_path, walk_leaves
from redact_gw.logs import current_request_id
from redact_gw.metrics import Metrics
from redact_gw.model import KnownValue, PendingValue, Principal, Revealed, Segment
from redact_gw.policy.roles import Permission, require
from redact_gw.policy.subjects import resolve_subject
from redact_gw.proxy import appkeys
from redact_gw.proxy.admission import check_work
from redact_gw.proxy.bodies import json_response
from redact_gw.proxy.handlers import new_record_id, offer_for_review, transparency_headers
from redact_gw.proxy.headers import request_headers, response_headers
from redact_gw.proxy.middlewares import route_name
from redact_gw.redaction import Entity
from redact_gw.review.answer import AnswerCopy
from redact_gw.settings import Settings
from redact_gw.streaming.dialect import StreamDialect
from redact_gw.streaming.guard import AnswerGuard, guard_document
from redact_gw.streaming.rewriter import SseRewriter, StreamLimits
from redact_gw.streaming.sse import SseDecoder, SseEvent
from redact_gw.transcripts.shapes import check_id

log = logging.getLogger(__name__)
T = TypeVar("T")

SESSION = web.AppKey("upstream_session", aiohttp.ClientSession)

_MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9.+-]{1,64}/[A-Za-z0-9.+-]{1,64}(?:; ?charset=[A-Za-z0-9-]{1,32})?")


async def session_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the one upstream ``ClientSession`` of the app."""
    s = app[appkeys.SETTINGS].upstream
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=s.connect_timeout_s,
                                    sock_read=s.read_timeout_s)
    session = aiohttp.ClientSession(timeout=timeout, auto_decompress=True,
                                    connector=aiohttp.TCPConnector(limit=256))
    app[SESSION] = session
    try:
        yield
    finally:
        await session.close()


def upstream_headers(incoming: Mapping[str, str], api_key: str | None,
                     content_type: str | None = "application/json",
                     key_header: str = "Authorization") -> dict[str, str]:
    """Request headers for upstream: the caller's allow-listed ones (``headers.py``),
    the gateway's key (``Authorization: Bearer`` or, for ``key_header="x-api-key"``,
    that header), and this request's id (as accepted or made by the gateway)."""
    out = request_headers(incoming)
    request_id = current_request_id()
    if request_id is not None:  # the upstream's logs can be matched with ours
        out["X-Request-Id"] = request_id
    if content_type:
        out["Content-Type"] = content_type
    if api_key:
        if key_header.lower() == "authorization":
            out["Authorization"] = f"Bearer {api_key}"
        else:
            out[key_header] = api_key
    return out


def client_headers(upstream: Mapping[str, str]) -> dict[str, str]:
    """Response headers for the caller: upstream's allow-listed ones (``headers.py``)
    and a plain media type."""
    out = response_headers(upstream)
    content_type = upstream.get("Content-Type")
    if content_type is not None and _MEDIA_TYPE.fullmatch(content_type):
        out["Content-Type"] = content_type
    return out


def join_url(base: str, tail: str) -> str:
    """``http://up/v1`` + ``/chat/completions``."""
    return base.rstrip("/") + "/" + tail.lstrip("/")


@dataclass(slots=True)
class UpstreamMeter:
    """Upstream latency and failures of one proxied call, labelled by route template."""

    metrics: Metrics
    route: str
    started: float = 0.0
    answered_at: float | None = None

    def start(self) -> None:
        """The request is being sent now."""
        self.started = time.perf_counter()
        self.answered_at = None

    def elapsed(self) -> float:
        """Seconds since ``start``."""
        return time.perf_counter() - self.started

    def answered(self, status: int) -> None:
        """Response headers arrived: observe the latency; 4xx/5xx count as errors."""
        self.answered_at = time.perf_counter()
        outcome = "error" if status >= 500 else "ok"
        self.metrics.upstream_seconds.labels(self.route, outcome).observe(self.elapsed())
        if status >= 400:
            self.error("http_5xx" if status >= 500 else "http_4xx")

    def failed(self, kind: str) -> None:
        """A transport failure (``kind``); timed too when no headers had arrived."""
        self.error(kind)
        if self.answered_at is None:
            outcome = "timeout" if kind == "timeout" else "error"
            self.metrics.upstream_seconds.labels(self.route, outcome).observe(self.elapsed())

    def error(self, kind: str) -> None:
        """Count an upstream failure of ``kind`` (one of ``UPSTREAM_ERROR_KINDS``)."""
        self.metrics.upstream_errors.labels(self.route, kind).inc()

    def stream_ended(self, outcome: str) -> None:
        """A streamed answer ended (``ok``, ``error``, ``timeout`` or ``cancelled``)."""
        self.metrics.upstream_stream_seconds.labels(self.route, outcome).observe(
            self.elapsed())


@contextlib.asynccontextmanager
async def open_upstream(session: aiohttp.ClientSession, method: str, url: str, *,
                        headers: Mapping[str, str], body: bytes | None,
                        meter: UpstreamMeter | None = None
                        ) -> AsyncIterator[aiohttp.ClientResponse]:
    """Send one request upstream; yields the response (released on exit).

    Args:
        session: The app's upstream session.
        method: HTTP method.
        url: Upstream URL.
        headers: Request headers (already cleaned).
        body: Request body (already tokenized), if any.
        meter: Times the call and counts its failures, when given.

    Raises:
        UpstreamUnreachable: connection refused, DNS failure.
        UpstreamTimeout: connect or read timeout.
        UpstreamError: any other transport failure.
    """
    def failed(kind: str) -> None:
        if meter is not None:
            meter.failed(kind)
    if meter is not None:
        meter.start()
    try:
        async with session.request(method, url, headers=dict(headers), data=body,
                                   allow_redirects=False) as resp:
            if meter is not None:
                meter.answered(resp.status)
            yield resp
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, TimeoutError):
            failed("timeout")
            raise UpstreamTimeout() from None
        failed("unreachable")
        log.warning("upstream unreachable: %s", type(exc).__name__)
        raise UpstreamUnreachable() from None
    except (aiohttp.ServerTimeoutError, TimeoutError):
        failed("timeout")
        raise UpstreamTimeout() from None
    except aiohttp.ClientError as exc:
        failed("transport")
        log.warning("upstream failed: %s", type(exc).__name__)
        raise UpstreamError() from None
    except UpstreamError as exc:  # raised while reading the answer (too large)
        failed("too_large" if exc.code == "upstream_answer_too_large" else "transport")
        raise


async def read_limited(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole upstream body, refusing more than ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise UpstreamError(f"the upstream answer is larger than {limit} bytes",
                                code="upstream_answer_too_large")
        parts.append(chunk)
    return b"".join(parts)


def client_gone(request: web.BaseRequest) -> bool:
    """True when the caller's connection is closed."""
    transport = request.transport
    return transport is None or transport.is_closing()


async def unless_disconnected(request: web.BaseRequest, work: Awaitable[T],
                              poll_s: float = 0.25) -> tuple[bool, T | None]:
    """Run ``work`` in an owned task; cancel it when the caller disconnects.

    aiohttp does not cancel handlers on disconnect by default, and a stalled upstream
    gives no write to fail on: this watcher makes sure a gone client cancels the
    upstream request. Returns ``(disconnected, result)``.
    """
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=poll_s)
            if done:
                return False, task.result()
            if client_gone(request):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
                    await task
                return True, None
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# -- one proxied call -----------------------------------------------------------------------
def _id_header(request: web.Request, name: str) -> str | None:
    return check_id(request.headers.get(name), name)


@dataclass(slots=True)
class ProxyCall:
    """One proxied request: who calls, for which record, and what was tokenized."""

    request: web.Request
    principal: Principal
    settings: Settings
    redactor: Redactor
    record_id: str
    subject_id: str | None
    counts: dict[str, int] = field(default_factory=dict)
    no_retention: bool = False
    tier: str | None = None
    flagged: bool = False
    restorable: frozenset[str] = frozenset()
    known: list[KnownValue] | None = None
    originals: dict[str, Revealed] | None = None
    meter: UpstreamMeter | None = None
    #: What went upstream, tokenized, for the review queue (``offer_review``).
    sent: list[tuple[str | None, str]] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)

    @property
    def metrics(self) -> Metrics:
        """The app's metrics."""
        return self.request.app[appkeys.METRICS]

    @property
    def route(self) -> str:
        """The route template, the only route label of metrics."""
        return route_name(self.request)

    @classmethod
    def begin(cls, request: web.Request) -> ProxyCall:
        """Check permission and readiness; read ``X-Record-Id`` and ``X-Subject-Id``."""
        principal: Principal = request[appkeys.PRINCIPAL]
        require(principal, Permission.PROXY)
        redactor = request.app.get(appkeys.REDACTOR)
        if redactor is None:
            raise Unavailable("detection is still loading", code="not_ready")
        record_id = _id_header(request, "X-Record-Id") or new_record_id()
        return cls(request, principal, request.app[appkeys.SETTINGS], redactor, record_id,
                   resolve_subject(request.headers, None))

    async def tokenize(self, doc: Any, select: Callable[[Path], bool],
                       speaker: Callable[[Path], str | None] = lambda _p: None,
                       select_key: Callable[[Path], bool] | None = None,
                       select_number: Callable[[Path], bool] | None = None) -> None:
        """Tokenize every selected string, long number and object key of ``doc`` in
        place (keys: where ``select_key``, default ``select``, picks their value's path):
        one detection, one vault transaction. Nothing is changed unless all of it
        succeeded.

        The subject comes from the header and the body (``resolve_subject``); the
        opt-outs of it and of every subject the record holds values of apply.
        """
        self.subject_id = resolve_subject(self.request.headers, doc)
        leaves = walk_leaves(doc, select, select_key or select, select_number)
        items = [(leaf.path, leaf.text) for leaf in leaves]
        limits = self.settings.server
        if len(items) > limits.max_segments:
            raise PayloadTooLarge(f"more than {limits.max_segments} text fields")
        if sum(len(s) for _, s in items) > limits.max_text_chars:
            raise PayloadTooLarge(f"more than {limits.max_text_chars} characters of text")
        check_work((s for _, s in items), self.settings.admission.max_digit_runs)
        metrics = self.metrics
        try:
            # sealing the request's values is the write; the opt-out and known-value
            # lookups it starts with are part of it
            with metrics.vault_operation("write"):
                redacted = await self.redactor.redact(  # also with no text: opt-outs apply
                    self.principal.tenant, self.record_id, self.subject_id,
                    [Segment(s, speaker(p)) for p, s in items],
                    [{"path": format_path(p)} for p, _ in items], principal=self.principal,
                    for_ai=True)
        except OptedOut:
            metrics.optout_refusals.labels(self.route).inc()
            raise
        self.no_retention = redacted.no_retention
        apply_leaves(doc, leaves, redacted.texts)
        self.counts = redacted.counts()
        self.restorable = frozenset(e.token for e in redacted.entities)
        self.sent = [(speaker(p), t) for (p, _), t in zip(items, redacted.texts, strict=True)]
        self.entities = list(redacted.entities)
        self.known = redacted.known
        self.originals = redacted.originals
        metrics.redacted(self.route, self.counts, no_retention=redacted.no_retention)
        await self._apply_risk(redacted.entities)

    async def _apply_risk(self, entities: Sequence[Entity]) -> None:
        """Classify what was found; refuse (422) or flag for review per the route."""
        app = self.request.app
        risk = app[appkeys.RISK]
        tier = risk.tier(entities)
        self.tier = tier
        route = self.route
        action = risk.action(route, tier)
        self.metrics.risk_actions.labels(route, tier, action).inc()
        if action == "forward":
            return
        await app[appkeys.AUDIT].record(
            "review.flagged", principal=self.principal, record_id=self.record_id,
            subject_id=self.subject_id, counts=self.counts,
            outcome="refused" if action == "refuse" else "flagged", reason=f"tier_{tier}")
        if action == "refuse":
            raise RiskRefused(f"transcripts of risk tier {tier!r} may not be sent to this"
                              " service; nothing was forwarded",
                              details={"tier": tier, "counts": self.counts})
        self.flagged = True

    async def offer_review(self, guard: AnswerGuard) -> None:
        """Let the review queue sample this call once answered, with the answer as the
        guard tokenized it; an answer in which the scan sealed a value the caller
        never sent is a near miss."""
        answer = guard.on_render if isinstance(guard.on_render, AnswerCopy) else None
        await offer_for_review(self.request, self.principal, self.record_id,
                               self.subject_id, None, self.tier or "low", self.sent,
                               self.entities, self.no_retention,
                               near_misses=["answer_new_value"] if guard.found else [],
                               answer=answer)

    def guard(self, scan: bool) -> AnswerGuard:
        """The answer guard of this call, with the caller's restore policy."""
        policy = self.settings.proxy.restore
        name = self.principal.name
        guard = MeteredGuard(self.metrics, self.redactor, self.principal.tenant,
                             self.record_id, self.subject_id, lambda t: policy.allows(name, t),
                             scan=scan, no_retention=self.no_retention,
                             restorable=self.restorable, caller=name, known=self.known,
                             originals=self.originals)
        if self.settings.review.enabled and not self.no_retention:
            guard.on_render = AnswerCopy()  # the tokenized answer, for the review copy
        return guard

    def headers(self) -> dict[str, str]:
        """Transparency headers: ``X-Record-Id`` and ``X-Redact-Counts``."""
        headers = transparency_headers(self.record_id, self.counts, self.no_retention)
        if self.tier is not None:
            headers["X-Redact-Risk-Tier"] = self.tier
        if self.flagged:
            headers["X-Redact-Review"] = "required"
        return headers

    def send(self, method: str, url: str, doc: Any | None, *,
             api_key: str | Literal[False] | None = False,
             key_header: str = "Authorization"
             ) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse]:
        """Forward ``doc`` (already tokenized) as JSON with the gateway's credential
        (``upstream.api_key`` unless a dialect names its own)."""
        body = None if doc is None else json.dumps(doc, ensure_ascii=False).encode("utf-8")
        key = self.settings.upstream.api_key if api_key is False else api_key
        headers = upstream_headers(self.request.headers, key,
                                   "application/json" if body is not None else None,
                                   key_header)
        self.meter = UpstreamMeter(self.metrics, self.route)
        return open_upstream(self.request.app[SESSION], method, url, headers=headers,
                             body=body, meter=self.meter)


class MeteredGuard(AnswerGuard):
    """An ``AnswerGuard`` that counts what it does: values restored into the answer and
    answer values sealed instead (by entity type), and vault failures (read/write).

    It hooks the guard's vault and restore steps; ``tests/test_metrics.py`` fails if
    those steps are renamed.
    """

    def __init__(self, metrics: Metrics, redactor: Redactor, tenant: str, record_id: str,
                 subject_id: str | None, allows: Callable[[str], bool],
                 **options: Any) -> None:
        super().__init__(redactor, tenant, record_id, subject_id, allows, **options)
        self.metrics = metrics

    async def start(self) -> None:
        """Open the restorable values (a vault read)."""
        with self.metrics.vault_operation("read"):
            await super().start()

    async def _tokenize(self, pending: list[PendingValue]) -> dict[tuple[str, str], str]:
        with self.metrics.vault_operation("write"):
            tokens = await super()._tokenize(pending)
        for value in pending:
            self.metrics.answer_sealed.labels(value.entity_type).inc()
        return tokens

    async def _reveal(self, texts: Sequence[str]) -> None:
        with self.metrics.vault_operation("read"):
            await super()._reveal(texts)

    def _restore(self, text: str) -> str:
        before = dict(self.restored)
        text = super()._restore(text)
        for entity_type, n in self.restored.items():
            if n > before.get(entity_type, 0):
                self.metrics.restored.labels(entity_type).inc(n - before.get(entity_type, 0))
        return text


def _counts_header(counts: dict[str, int]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(counts.items()))


async def answer_json(call: ProxyCall, resp: aiohttp.ClientResponse, *, scan: bool,
                      skip: Sequence[Selector] = (),
                      restore_only: Sequence[Selector] | None = None) -> web.Response:
    """Read a whole upstream answer (any status), scan and restore it, pass it on."""
    raw = await read_limited(resp, call.settings.proxy.max_response_bytes)
    try:
        doc: Any = json.loads(raw.decode("utf-8"))
        is_json = True
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError):
        doc, is_json = raw.decode("utf-8", errors="replace"), False
    if not is_json and resp.status < 400:
        not_json(call.meter)
    if is_json and scan and isinstance(doc, dict):
        _drop_logprobs(doc)
    guard = call.guard(scan)
    with answer_scan():
        await guard.start()
        doc = await guard_document(guard, doc, skip=skip if resp.status < 400 else (),
                                   restore_only=restore_only)
    await call.offer_review(guard)
    headers = {**client_headers(resp.headers), **call.headers(),
               "X-Redact-Answer-Counts": _counts_header(guard.found)}
    for name in [k for k in headers if k.lower() == "content-type"]:
        del headers[name]
    if is_json:
        return json_response(doc, status=resp.status, headers=headers)
    return web.Response(text=doc, status=resp.status, headers=headers,
                        content_type=resp.content_type or "text/plain")


def not_json(meter: UpstreamMeter | None) -> None:
    """A 2xx upstream answer that is not JSON: counted, and a 502 for the caller."""
    if meter is not None:
        meter.error("not_json")
    raise UpstreamError("the upstream answered with something that is not JSON;"
                        " nothing of it is returned", code="upstream_not_json")


def is_json_body(raw: bytes) -> bool:
    """True when ``raw`` is a UTF-8 JSON document."""
    try:
        json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return True


def _drop_logprobs(doc: dict[str, Any]) -> None:
    for choice in doc.get("choices") or ():
        if isinstance(choice, dict) and choice.get("logprobs") is not None:
            choice["logprobs"] = None


def is_event_stream(resp: aiohttp.ClientResponse) -> bool:
    """True for a 2xx ``text/event-stream`` answer."""
    return resp.status < 300 and resp.content_type == "text/event-stream"


def error_event(error: RedactGwError) -> SseEvent:
    """The gateway's own error, as the last event of an OpenAI-style stream."""
    return SseEvent([], json.dumps(error.to_dict()))


async def answer_stream(call: ProxyCall, resp: aiohttp.ClientResponse, *, scan: bool,
                        dialect: StreamDialect | None = None,
                        error: Callable[[RedactGwError], SseEvent] = error_event
                        ) -> web.StreamResponse:
    """Relay an SSE answer event by event through an ``SseRewriter`` for ``dialect``
    (OpenAI chat by default); a failure ends the stream with ``error(exc)``."""
    guard = call.guard(scan)
    with answer_scan():
        await guard.start()  # vault trouble is still a clean error answer here
    proxy = call.settings.proxy
    rewriter = SseRewriter(guard, StreamLimits(proxy.max_hold_chars, proxy.scan_context_chars,
                                                proxy.min_emit_chars, proxy.max_emit_delay_s),
                           dialect)
    out = web.StreamResponse(status=resp.status, headers={
        **client_headers(resp.headers), **call.headers(),
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await out.prepare(call.request)
    outcome = "cancelled"  # unless the relay says otherwise (handler cancelled too)
    try:
        gone, ended = await unless_disconnected(
            call.request, _relay(resp, rewriter, out, proxy.max_stream_seconds, call.meter,
                                 error, (proxy.max_event_bytes, proxy.max_stream_bytes)))
        if gone:
            log.info("client disconnected mid-stream; upstream request cancelled")
            resp.close()
        else:
            outcome = ended or "error"
    finally:
        if call.meter is not None:
            call.meter.stream_ended(outcome)
    if outcome == "ok":
        await call.offer_review(guard)
    return out


async def _relay(resp: aiohttp.ClientResponse, rewriter: SseRewriter,
                 out: web.StreamResponse, max_seconds: float,
                 meter: UpstreamMeter | None = None,
                 error_to_event: Callable[[RedactGwError], SseEvent] = error_event,
                 caps: tuple[int, int] = (1_048_576, 67_108_864)) -> str:
    """Pump the stream to the caller; returns how it ended: ``ok``, ``error``,
    ``timeout`` or ``cancelled`` (the caller went away). ``caps``: bytes per event and
    per stream."""
    error: RedactGwError | None = None
    outcome, kind = "ok", None
    try:
        async with asyncio.timeout(max_seconds):
            await _pump(resp, rewriter, out, caps)
    except ConnectionResetError:
        resp.close()
        return "cancelled"
    except UpstreamError as exc:  # an event or the stream over its cap
        error, outcome, kind = exc, "error", "too_large"
    except RedactGwError as exc:  # the gateway's own trouble (vault, detection)
        log.error("answer scan failed mid-stream: %s", exc.code)
        error, outcome = AnswerScanFailed(details={"cause": exc.code}), "error"
    except aiohttp.ClientError as exc:
        if isinstance(exc, aiohttp.ServerTimeoutError):
            error, outcome, kind = UpstreamTimeout(), "timeout", "timeout"
        else:
            error, outcome = UpstreamError("the upstream stream broke off"), "error"
            kind = "stream_broken"
    except TimeoutError:
        error = PayloadTooLarge(f"the stream ran longer than {max_seconds:g} seconds",
                                code="stream_too_long")
        outcome, kind = "timeout", "stream_too_long"
    if kind is not None and meter is not None:
        meter.error(kind)
    if error is not None:
        resp.close()
        log.warning("stream ended early: %s", error.code)
        with contextlib.suppress(ConnectionResetError):
            await out.write(error_to_event(error).encode())
    with contextlib.suppress(ConnectionResetError):
        await out.write_eof()
    return outcome


async def _pump(resp: aiohttp.ClientResponse, rewriter: SseRewriter,
                out: web.StreamResponse, caps: tuple[int, int]) -> None:
    """Read events in an owned task; rewrite and send them, flushing batched text when
    the upstream goes quiet."""
    queue: asyncio.Queue[SseEvent | None] = asyncio.Queue()
    reader = asyncio.create_task(_read_events(resp, queue, *caps), name="sse-reader")
    try:
        while True:
            wait = rewriter.flush_in()
            try:
                event = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                for item in await rewriter.tick():
                    await out.write(item.encode())
                continue
            if event is None:
                break
            for item in await rewriter.feed(event):
                await out.write(item.encode())
        await reader  # re-raises a broken upstream stream
        for item in await rewriter.finish():
            await out.write(item.encode())
    finally:
        if not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def _read_events(resp: aiohttp.ClientResponse, queue: asyncio.Queue[SseEvent | None],
                       max_event: int, max_stream: int) -> None:
    """Split the body into lines and events, never holding more than ``max_event``
    bytes of one event (a line without its end included) or reading more than
    ``max_stream`` bytes: past either, ``UpstreamError`` (the relay ends the stream
    with an error event)."""
    decoder = SseDecoder()
    total = event_size = 0
    tail = b""
    try:
        async for chunk in resp.content.iter_any():
            total += len(chunk)
            if total > max_stream:
                raise UpstreamError(f"the upstream stream sent more than {max_stream} bytes",
                                    code="upstream_stream_too_large")
            *lines, tail = (tail + chunk).split(b"\n")
            for line in lines:
                event_size += len(line) + 1
                if event_size > max_event:
                    break
                event = decoder.feed(line.decode("utf-8", errors="replace"))
                if event is not None:
                    queue.put_nowait(event)
                    event_size = 0
            if event_size + len(tail) > max_event:
                raise UpstreamError(f"an upstream event was larger than {max_event} bytes",
                                    code="upstream_event_too_large")
        if tail:
            event = decoder.feed(tail.decode("utf-8", errors="replace"))
            if event is not None:
                queue.put_nowait(event)
        last = decoder.flush()
        if last is not None:
            queue.put_nowait(last)
    finally:
        queue.put_nowait(None)


@contextlib.contextmanager
def answer_scan() -> Iterator[None]:
    """After the request was sent: a failure to check the answer (detection, vault) is
    ``AnswerScanFailed``, naming its cause, and nothing of the answer is returned."""
    try:
        yield
    except (UpstreamError, AnswerScanFailed):
        raise
    except RedactGwError as exc:
        log.error("answer scan failed: %s", exc.code)
        raise AnswerScanFailed(details={"cause": exc.code}) from None
