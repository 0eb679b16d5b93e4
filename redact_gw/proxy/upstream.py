"""Forwarding to upstream AI services: one shared session, clean headers, mapped errors.

The ``ClientSession`` lives in a cleanup context (created at startup, closed at
shutdown). ``open_upstream`` sends a fully tokenized body with a Content-Length and
the gateway's own credential, never the caller's key, and maps transport failures to
the error tree: refused or unresolvable -> 502 ``upstream_unreachable``, timeouts ->
504 ``upstream_timeout``, anything else -> 502 ``upstream_error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from redact_gw.engine import Redactor
from redact_gw.errors import (
    PayloadTooLarge,
    RedactGwError,
    RiskRefused,
    Unavailable,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from redact_gw.jsonpaths import Path, Selector, format_path, set_at, walk_strings
from redact_gw.model import KnownValue, Principal, Segment
from redact_gw.policy.roles import Permission, require
from redact_gw.proxy import appkeys
from redact_gw.proxy.bodies import json_response
from redact_gw.proxy.handlers import new_record_id, transparency_headers
from redact_gw.proxy.middlewares import route_name
from redact_gw.redaction import Entity
from redact_gw.settings import Settings
from redact_gw.streaming import (
    AnswerGuard,
    SseDecoder,
    SseEvent,
    SseRewriter,
    StreamLimits,
    guard_document,
)
from redact_gw.transcripts.shapes import check_id

log = logging.getLogger(__name__)
T = TypeVar("T")

SESSION = web.AppKey("upstream_session", aiohttp.ClientSession)

#: RFC 9110 7.6.1 hop-by-hop headers, plus the proxy-only ones.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate",
                        "proxy-authorization", "proxy-connection", "te", "trailer",
                        "transfer-encoding", "upgrade"})
_DROP_REQUEST = HOP_BY_HOP | {"host", "authorization", "content-length", "content-encoding",
                              "accept-encoding", "cookie", "expect", "x-record-id",
                              "x-subject-id", "openai-organization", "openai-project"}
_DROP_RESPONSE = HOP_BY_HOP | {"content-length", "content-encoding", "set-cookie",
                               "x-record-id", "x-redact-counts", "x-redact-answer-counts",
                               "date", "server"}


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
                     content_type: str | None = "application/json") -> dict[str, str]:
    """Request headers for upstream: no hop-by-hop, no caller key, the gateway's key."""
    out = {k: v for k, v in incoming.items() if k.lower() not in _DROP_REQUEST}
    for k in [k for k in out if k.lower() == "content-type"]:
        del out[k]
    if content_type:
        out["Content-Type"] = content_type
    if api_key:
        out["Authorization"] = f"Bearer {api_key}"
    return out


def client_headers(upstream: Mapping[str, str]) -> dict[str, str]:
    """Response headers for the caller: upstream's, minus hop-by-hop and framing."""
    return {k: v for k, v in upstream.items() if k.lower() not in _DROP_RESPONSE}


def join_url(base: str, tail: str) -> str:
    """``http://up/v1`` + ``/chat/completions``."""
    return base.rstrip("/") + "/" + tail.lstrip("/")


@contextlib.asynccontextmanager
async def open_upstream(session: aiohttp.ClientSession, method: str, url: str, *,
                        headers: Mapping[str, str], body: bytes | None
                        ) -> AsyncIterator[aiohttp.ClientResponse]:
    """Send one request upstream; yields the response (released on exit).

    Raises:
        UpstreamUnreachable: connection refused, DNS failure.
        UpstreamTimeout: connect or read timeout.
        UpstreamError: any other transport failure.
    """
    try:
        async with session.request(method, url, headers=dict(headers), data=body,
                                   allow_redirects=False) as resp:
            yield resp
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, TimeoutError):
            raise UpstreamTimeout() from None
        log.warning("upstream unreachable: %s", type(exc).__name__)
        raise UpstreamUnreachable() from None
    except (aiohttp.ServerTimeoutError, TimeoutError):
        raise UpstreamTimeout() from None
    except aiohttp.ClientError as exc:
        log.warning("upstream failed: %s", type(exc).__name__)
        raise UpstreamError() from None


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
                   _id_header(request, "X-Subject-Id"))

    async def tokenize(self, doc: Any, select: Callable[[Path], bool],
                       speaker: Callable[[Path], str | None] = lambda _p: None) -> None:
        """Tokenize every selected string of ``doc`` in place: one detection, one vault
        transaction. Nothing is changed unless all of it succeeded."""
        items = [(p, s) for p, s in walk_strings(doc) if s.strip() and select(p)]
        limits = self.settings.server
        if len(items) > limits.max_segments:
            raise PayloadTooLarge(f"more than {limits.max_segments} text fields")
        if sum(len(s) for _, s in items) > limits.max_text_chars:
            raise PayloadTooLarge(f"more than {limits.max_text_chars} characters of text")
        redacted = await self.redactor.redact(  # also with no text: opt-outs still apply
            self.principal.tenant, self.record_id, self.subject_id,
            [Segment(s, speaker(p)) for p, s in items],
            [{"path": format_path(p)} for p, _ in items], principal=self.principal,
            for_ai=True)
        self.no_retention = redacted.no_retention
        for (path, _), text in zip(items, redacted.texts, strict=True):
            set_at(doc, path, text)
        self.counts = redacted.counts()
        self.restorable = frozenset(e.token for e in redacted.entities)
        self.known = redacted.known
        await self._apply_risk(redacted.entities)
        metrics = self.request.app[appkeys.METRICS]
        for entity_type, n in self.counts.items():
            metrics.tokenized.labels(entity_type).inc(n)

    async def _apply_risk(self, entities: Sequence[Entity]) -> None:
        """Classify what was found; refuse (422) or flag for review per the route."""
        app = self.request.app
        risk = app[appkeys.RISK]
        tier = risk.tier(entities)
        self.tier = tier
        action = risk.action(route_name(self.request), tier)
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

    def guard(self, scan: bool) -> AnswerGuard:
        """The answer guard of this call, with the caller's restore policy."""
        policy = self.settings.proxy.restore
        name = self.principal.name
        return AnswerGuard(self.redactor, self.principal.tenant, self.record_id,
                           self.subject_id, lambda t: policy.allows(name, t), scan=scan,
                           no_retention=self.no_retention, restorable=self.restorable,
                           caller=name, known=self.known)

    def headers(self) -> dict[str, str]:
        """Transparency headers: ``X-Record-Id`` and ``X-Redact-Counts``."""
        headers = transparency_headers(self.record_id, self.counts, self.no_retention)
        if self.tier is not None:
            headers["X-Redact-Risk-Tier"] = self.tier
        if self.flagged:
            headers["X-Redact-Review"] = "required"
        return headers

    def send(self, method: str, url: str, doc: Any | None
             ) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse]:
        """Forward ``doc`` (already tokenized) as JSON with the gateway's credential."""
        body = None if doc is None else json.dumps(doc, ensure_ascii=False).encode("utf-8")
        headers = upstream_headers(self.request.headers, self.settings.upstream.api_key,
                                   "application/json" if body is not None else None)
        return open_upstream(self.request.app[SESSION], method, url, headers=headers,
                             body=body)


def _counts_header(counts: dict[str, int]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(counts.items()))


async def answer_json(call: ProxyCall, resp: aiohttp.ClientResponse, *, scan: bool,
                      skip: Sequence[Selector] = (),
                      restore_only: Sequence[Selector] | None = None) -> web.Response:
    """Read a whole upstream answer (any status), scan and restore it, pass it on."""
    raw = await read_limited(resp, call.settings.proxy.max_response_bytes)
    guard = call.guard(scan)
    await guard.start()
    try:
        doc: Any = json.loads(raw.decode("utf-8"))
        is_json = True
    except (UnicodeDecodeError, json.JSONDecodeError):
        doc, is_json = raw.decode("utf-8", errors="replace"), False
    if is_json and scan and isinstance(doc, dict):
        _drop_logprobs(doc)
    doc = await guard_document(guard, doc, skip=skip if resp.status < 400 else (),
                               restore_only=restore_only)
    headers = {**client_headers(resp.headers), **call.headers(),
               "X-Redact-Answer-Counts": _counts_header(guard.found)}
    for name in [k for k in headers if k.lower() == "content-type"]:
        del headers[name]
    if is_json:
        return json_response(doc, status=resp.status, headers=headers)
    return web.Response(text=doc, status=resp.status, headers=headers,
                        content_type=resp.content_type or "text/plain")


def _drop_logprobs(doc: dict[str, Any]) -> None:
    for choice in doc.get("choices") or ():
        if isinstance(choice, dict) and choice.get("logprobs") is not None:
            choice["logprobs"] = None


def is_event_stream(resp: aiohttp.ClientResponse) -> bool:
    """True for a 2xx ``text/event-stream`` answer."""
    return resp.status < 300 and resp.content_type == "text/event-stream"


async def answer_stream(call: ProxyCall, resp: aiohttp.ClientResponse, *,
                        scan: bool) -> web.StreamResponse:
    """Relay an SSE answer event by event through an ``SseRewriter``."""
    guard = call.guard(scan)
    await guard.start()  # vault trouble is still a clean 503 here
    proxy = call.settings.proxy
    rewriter = SseRewriter(guard, StreamLimits(proxy.max_hold_chars, proxy.scan_context_chars,
                                                proxy.min_emit_chars, proxy.max_emit_delay_s))
    out = web.StreamResponse(status=resp.status, headers={
        **client_headers(resp.headers), **call.headers(),
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await out.prepare(call.request)
    gone, _ = await unless_disconnected(call.request, _relay(resp, rewriter, out,
                                                             proxy.max_stream_seconds))
    if gone:
        log.info("client disconnected mid-stream; upstream request cancelled")
        resp.close()
    return out


async def _relay(resp: aiohttp.ClientResponse, rewriter: SseRewriter,
                 out: web.StreamResponse, max_seconds: float) -> None:
    error: RedactGwError | None = None
    try:
        async with asyncio.timeout(max_seconds):
            await _pump(resp, rewriter, out)
    except ConnectionResetError:
        resp.close()
        return
    except RedactGwError as exc:
        error = exc
    except aiohttp.ClientError as exc:
        error = UpstreamTimeout() if isinstance(exc, aiohttp.ServerTimeoutError) else (
            UpstreamError("the upstream stream broke off"))
    except TimeoutError:
        error = PayloadTooLarge(f"the stream ran longer than {max_seconds:g} seconds",
                                code="stream_too_long")
    if error is not None:
        resp.close()
        log.warning("stream ended early: %s", error.code)
        with contextlib.suppress(ConnectionResetError):
            await out.write(SseEvent([], json.dumps(error.to_dict())).encode())
    with contextlib.suppress(ConnectionResetError):
        await out.write_eof()


async def _pump(resp: aiohttp.ClientResponse, rewriter: SseRewriter,
                out: web.StreamResponse) -> None:
    """Read events in an owned task; rewrite and send them, flushing batched text when
    the upstream goes quiet."""
    queue: asyncio.Queue[SseEvent | None] = asyncio.Queue()
    reader = asyncio.create_task(_read_events(resp, queue), name="sse-reader")
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


async def _read_events(resp: aiohttp.ClientResponse,
                       queue: asyncio.Queue[SseEvent | None]) -> None:
    decoder = SseDecoder()
    try:
        async for line in resp.content:
            event = decoder.feed(line.decode("utf-8", errors="replace"))
            if event is not None:
                queue.put_nowait(event)
        last = decoder.flush()
        if last is not None:
            queue.put_nowait(last)
    finally:
        queue.put_nowait(None)
