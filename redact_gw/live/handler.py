"""``GET /v1/live``: a live call over a WebSocket (aiohttp's own).

Open: ``GET /v1/live?record_id=..&subject_id=..&channel=voice&assist=NAME`` with the
gateway key (``Authorization: Bearer``, checked by the auth middleware like every route,
before the upgrade) and the ``proxy`` permission. All parameters are optional (a record
id is generated; ``assist`` names a ``live.assist`` service the session forwards to, see
``assist``). Refused before the upgrade, as JSON errors: no WebSocket upgrade (426
``upgrade_required``), a bad parameter or an unknown assist name (422),
too many open sessions of the principal or its tenant (429
``quota_exceeded``; live sessions are not counted by ``admission``, they have these
limits of their own), detection not ready
(503). After the upgrade the first message is ``{"type": "opened", "record_id": ..,
"no_retention": ..}``, or the session is closed at once:

====  ===================  =============================================================
code  reason               when
====  ===================  =============================================================
4451  subject_opted_out    the subject opted out of AI processing; nothing was processed
4400  subject_required     ``optout.require_subject_id`` and no ``subject_id``
4429  rate_limited         more than ``live.max_messages_per_s`` (bursts of twice that)
4413  segment_too_long     a text longer than ``live.max_segment_chars``
4408  idle_timeout         no message for ``live.idle_timeout_s``
4410  session_expired      the session is older than ``live.max_session_s``
1001  going away           the gateway is shutting down
1011  (error code)         the vault failed; nothing raw was sent
====  ===================  =============================================================

A message the gateway cannot use (bad JSON, wrong field, detection failing or at
capacity, the tenant over ``live.max_tenant_messages_per_s``) is answered
``{"type": "error", "error": {"code", "message"}}`` and nothing of it is shown; the
session goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aiohttp import WSMsgType, web

from redact_gw.engine import Redactor
from redact_gw.errors import (
    InvalidInput,
    OptedOut,
    PayloadTooLarge,
    RedactGwError,
    SubjectRequired,
    TooManyRequests,
    Unavailable,
    UpgradeRequired,
    VaultUnavailable,
    fail_closed,
)
from redact_gw.live import vendor
from redact_gw.live.assist import Assist
from redact_gw.live.inbox import Inbox, Item
from redact_gw.live.limits import SESSIONS, Bucket, Sessions
from redact_gw.live.messages import parse_result
from redact_gw.live.session import Call, LiveSession
from redact_gw.metrics import Metrics
from redact_gw.model import Principal
from redact_gw.policy.roles import Permission, require
from redact_gw.proxy import appkeys
from redact_gw.proxy.handlers import new_record_id
from redact_gw.proxy.upstream import SESSION, MeteredGuard
from redact_gw.settings import LiveSettings, Settings
from redact_gw.transcripts.shapes import check_id

log = logging.getLogger(__name__)

#: Close codes (see the module docstring).
OPTED_OUT, SUBJECT_REQUIRED, RATE_LIMITED = 4451, 4400, 4429
SEGMENT_TOO_LONG, IDLE, EXPIRED = 4413, 4408, 4410


def _query_id(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    return check_id(value, name) if value is not None else None


async def live(request: web.Request) -> web.StreamResponse:
    """``GET /v1/live``: open a live call session (see the module docstring)."""
    principal: Principal = request[appkeys.PRINCIPAL]
    require(principal, Permission.PROXY)
    app = request.app
    settings = app[appkeys.SETTINGS]
    redactor = app.get(appkeys.REDACTOR)
    if redactor is None:
        raise Unavailable("detection is still loading", code="not_ready")
    if not web.WebSocketResponse().can_prepare(request).ok:
        raise UpgradeRequired()
    record_id = _query_id(request, "record_id") or new_record_id()
    subject_id = _query_id(request, "subject_id")
    channel = _query_id(request, "channel")
    fmt = vendor.check_format(request.query.get("format"))  # an ASR vendor's messages
    assist_name = _query_id(request, "assist")
    if assist_name is not None and assist_name not in settings.live.assist:
        raise InvalidInput("assist must name a service of live.assist in the config",
                           code="unknown_assist", details={"field": "assist"})
    sessions = app[SESSIONS]
    mine, tenants = sessions.count(principal)
    if mine >= settings.live.max_sessions_per_principal:
        raise TooManyRequests("too many live sessions open for this API key",
                              retry_after_s=5)
    if tenants >= settings.live.max_sessions_per_tenant:
        raise TooManyRequests("too many live sessions open for this tenant",
                              retry_after_s=5)
    per_char = 64 if fmt is not None else 4  # vendor messages carry word items too
    ws = web.WebSocketResponse(heartbeat=30.0, autoping=False,  # pings wait in line
                               max_msg_size=settings.live.max_segment_chars * per_char + 4096)
    await ws.prepare(request)
    sessions.open[ws] = (principal.tenant, principal.name)
    idle = sessions.idle[ws] = asyncio.Event()
    idle.set()
    metrics = app[appkeys.METRICS]
    metrics.live_sessions.inc()
    reason = "error"
    try:
        call = Call(principal.tenant, record_id, subject_id, channel, principal)
        reason = await _run(ws, request, redactor, call, settings.live, metrics, idle,
                            assist_name)
    finally:
        del sessions.open[ws], sessions.idle[ws]
        metrics.live_sessions.dec()
        metrics.live_closed.labels(reason).inc()
        assist = sessions.assists.pop(ws, None)
        if assist is not None:  # what the session said last still reaches the service
            sessions.retire(assist)
    return ws


async def _open(redactor: Redactor, call: Call, limits: LiveSettings, metrics: Metrics,
                subject_required: bool) -> LiveSession:
    """Apply opt-outs (``OptedOut``, ``SubjectRequired``), load the record's values."""
    if subject_required and call.subject_id is None:
        raise SubjectRequired()
    no_retention = False
    known = []
    with fail_closed(VaultUnavailable, "opt-out lookup"):
        if redactor.optouts is not None:
            no_retention = await redactor.optouts.enforce(
                call.tenant, call.principal, call.subject_id, call.record_id, for_ai=True)
        if not no_retention:
            known = await redactor.vault.known_values(  # the caller's own values only
                call.tenant, call.record_id, redactor.share.senders(call.principal))
    return LiveSession(
        redactor, replace(call, no_retention=no_retention), max_hold_s=limits.max_hold_s,
        context_turns=limits.context_turns,
        partial_context_turns=limits.partial_context_turns, known=known,
        on_hold=metrics.live_holdback.observe,
        on_revision=lambda kind: metrics.live_revisions.labels(kind).inc(),
        on_not_detected=lambda: metrics.live_not_detected.labels("held_tail").inc())


def _assist(request: web.Request, ws: web.WebSocketResponse, session: LiveSession,
            name: str, metrics: Metrics) -> Assist:
    """The session's forwarding to assist service ``name``, its suggestions guarded with
    the caller's restore policy and the values its finals sealed so far."""
    settings: Settings = request.app[appkeys.SETTINGS]
    call = session.call
    policy = settings.proxy.restore
    who = call.principal.name if call.principal is not None else None

    def guard() -> MeteredGuard:
        originals = dict(session.originals)
        return MeteredGuard(metrics, session.redactor, call.tenant, call.record_id,
                            call.subject_id, lambda t: who is not None and policy.allows(who, t),
                            scan=settings.live.assist[name].scan,
                            no_retention=call.no_retention, restorable=frozenset(originals),
                            caller=who, known=session.known, originals=originals)

    async def send(msg: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # the caller may be gone
            await _send(ws, metrics, msg, msg["type"])

    assist = Assist(settings.live.assist[name], request.app[SESSION], call.record_id, send,
                    guard, metrics)
    assist.start()
    request.app[SESSIONS].assists[ws] = assist
    return assist


async def _run(ws: web.WebSocketResponse, request: web.Request, redactor: Redactor, call: Call,
               limits: LiveSettings, metrics: Metrics, idle: asyncio.Event,
               assist_name: str | None = None) -> str:
    """Serve one session; the close reason (a ``LIVE_CLOSE_REASONS`` word)."""
    opt = request.app[appkeys.SETTINGS].optout
    session: LiveSession | vendor.VendorSession
    try:
        session = await _open(redactor, call, limits, metrics, opt.require_subject_id)
    except OptedOut as exc:
        await ws.close(code=OPTED_OUT, message=exc.code.encode())
        return "opted_out"
    except SubjectRequired as exc:
        await ws.close(code=SUBJECT_REQUIRED, message=exc.code.encode())
        return "subject_required"
    except RedactGwError as exc:
        await ws.close(code=1011, message=exc.code.encode())
        return "error"
    await _send(ws, metrics, {"type": "opened", "record_id": call.record_id,
                              "no_retention": session.call.no_retention}, "other")
    assist = _assist(request, ws, session, assist_name, metrics) if assist_name else None
    fmt = vendor.check_format(request.query.get("format"))
    if fmt is not None:  # the assist service still gets the gateway's own messages
        session = vendor.VendorSession(session, fmt, redactor)
    tenant = None
    if limits.max_tenant_messages_per_s is not None:
        tenant = request.app[SESSIONS].tenant_buckets.setdefault(
            call.tenant, Bucket(limits.max_tenant_messages_per_s, time.monotonic()))
    return await _loop(ws, session, limits, metrics, idle, assist, tenant)


async def _send(ws: web.WebSocketResponse, metrics: Metrics, msg: dict[str, Any],
                kind: str) -> None:
    if ws.closed:
        return
    metrics.live_messages.labels("out", kind).inc()
    await ws.send_json(msg)


async def _loop(ws: web.WebSocketResponse, session: LiveSession | vendor.VendorSession,
                limits: LiveSettings, metrics: Metrics, idle: asyncio.Event,
                assist: Assist | None = None, tenant: Bucket | None = None) -> str:
    started = last = time.monotonic()
    inbox = Inbox(ws, Bucket(limits.max_messages_per_s, started), tenant, time.monotonic)
    try:
        while True:
            now = time.monotonic()
            waits = {"idle_timeout": last + limits.idle_timeout_s,
                     "session_expired": started + limits.max_session_s}
            deadline = session.next_deadline()
            if deadline is not None:
                waits["tick"] = deadline
            why, at = min(waits.items(), key=lambda kv: kv[1])
            try:
                item = await inbox.next(max(0.0, at - now))
            except TimeoutError:
                if why == "tick":
                    outs = session.tick(time.monotonic())
                    for out in outs:
                        await _send(ws, metrics, out, "partial")
                    if assist is not None:
                        for native, speaker in _native(session, outs, None):
                            await assist.offer(native, speaker)
                    continue
                await ws.close(code=IDLE if why == "idle_timeout" else EXPIRED,
                               message=why.encode())
                return why
            msg = item.msg
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return "going_away" if ws.close_code == 1001 else "normal"
            if msg.type == WSMsgType.ERROR:
                return "error"
            if msg.type == WSMsgType.PING:  # answered in line: all before it is handled
                with contextlib.suppress(Exception):
                    await ws.pong(msg.data)
                continue
            if msg.type == WSMsgType.PONG:
                continue
            last = item.arrived
            if msg.type != WSMsgType.TEXT:
                metrics.live_messages.labels("in", "other").inc()
                await _error(ws, metrics, InvalidInput("messages must be JSON text"))
                continue
            if item.limited == "rate":
                await ws.close(code=RATE_LIMITED, message=b"rate_limited")
                return "rate_limited"
            if item.limited == "tenant":
                metrics.live_messages.labels("in", "other").inc()
                await _error(ws, metrics, TooManyRequests(
                    "this tenant's live sessions send more messages than allowed; this one"
                    " was dropped", code="tenant_rate_limited"))
                continue
            idle.clear()
            try:
                closed = await _handle(ws, session, item, inbox, limits, metrics, assist)
            finally:
                idle.set()
            if closed is not None:
                return closed
    finally:
        await inbox.close()


def _parser(session: LiveSession | vendor.VendorSession, limits: LiveSettings
            ) -> Callable[[Item], Any]:
    """Parse a frame's text once (the result, or the error to answer it with)."""
    def parse(item: Item) -> Any:
        try:
            if isinstance(session, vendor.VendorSession):
                return session.parse(item.msg.data, limits.max_segment_chars)
            return parse_result(item.msg.data, limits.max_segment_chars)
        except RedactGwError as exc:
            return exc
    return parse


async def _handle(ws: web.WebSocketResponse, session: LiveSession | vendor.VendorSession,
                  item: Item, inbox: Inbox, limits: LiveSettings, metrics: Metrics,
                  assist: Assist | None = None) -> str | None:
    """One incoming message; a close reason if the session ended."""
    parse = _parser(session, limits)
    result: Any = item.parsed if item.parsed is not None else parse(item)
    if isinstance(result, PayloadTooLarge):
        metrics.live_messages.labels("in", "other").inc()
        await ws.close(code=SEGMENT_TOO_LONG, message=b"segment_too_long")
        return "segment_too_long"
    if isinstance(result, RedactGwError):
        metrics.live_messages.labels("in", "other").inc()
        await _error(ws, metrics, result)
        return None
    if isinstance(session, LiveSession) and result.kind == "partial":
        newest, dropped = inbox.newest(result, parse)
        if dropped:  # superseded while it waited: never detected, never shown
            metrics.live_messages.labels("in", "partial").inc(dropped)
            metrics.live_not_detected.labels("superseded").inc(dropped)
            result = newest
    metrics.live_messages.labels("in", result.kind).inc()
    try:
        out = await session.feed(result, time.monotonic())
    except OptedOut as exc:
        await ws.close(code=OPTED_OUT, message=exc.code.encode())
        return "opted_out"
    except (VaultUnavailable, SubjectRequired) as exc:
        await ws.close(code=1011, message=exc.code.encode())
        return "error"
    except RedactGwError as exc:  # detection failed or busy, a bad segment: nothing shown
        await _error(ws, metrics, exc, result.segment_id)
        return None
    for msg in out:
        await _send(ws, metrics, msg, result.kind if isinstance(
            session, vendor.VendorSession) else msg["type"])
    if assist is not None:
        for native, speaker in _native(session, out, getattr(result, "speaker", None)):
            await assist.offer(native, speaker)
    return None


def _native(session: LiveSession | vendor.VendorSession, out: list[dict[str, Any]],
            speaker: str | None) -> list[tuple[dict[str, Any], str | None]]:
    """The gateway's own messages behind what the caller was just sent (with a vendor
    format, the session's inner messages), for the assist service."""
    if isinstance(session, vendor.VendorSession):
        return session.native
    return [(msg, speaker) for msg in out]


async def _error(ws: web.WebSocketResponse, metrics: Metrics, exc: RedactGwError,
                 segment_id: str | None = None) -> None:
    body: dict[str, Any] = {"type": "error", **exc.to_dict()}
    if segment_id is not None:
        body["segment_id"] = segment_id
    await _send(ws, metrics, body, "error")


def add_routes(app: web.Application) -> None:
    """Register ``GET /v1/live`` (when ``live.enabled``) and its shutdown hook."""
    if not app[appkeys.SETTINGS].live.enabled:
        return
    sessions = Sessions()
    app[SESSIONS] = sessions
    app.on_shutdown.append(sessions.close_all)
    app.router.add_get("/v1/live", live)
