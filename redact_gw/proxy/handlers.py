"""Thin HTTP handlers: read, check permission, call the core, render."""

from __future__ import annotations

import re
import secrets
from typing import Any

from aiohttp import web

from redact_gw.asr_formats.postcall import VendorTranscript, is_vendor_body, parse_vendor_body
from redact_gw.errors import InvalidInput, OptedOut, Unavailable
from redact_gw.model import Principal
from redact_gw.policy.roles import Permission, require
from redact_gw.policy.subjects import resolve_subject
from redact_gw.proxy import appkeys
from redact_gw.proxy.admission import check_work
from redact_gw.proxy.bodies import json_response, read_json, reject_nul
from redact_gw.proxy.middlewares import route_name
from redact_gw.transcripts import Transcript, parse_transcript
from redact_gw.vault import migrations
from redact_gw.vault.base import VaultStore

_CHANNEL_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def check_channel(value: object) -> str | None:
    """A retention channel name (``chat``, ``voice``...): at most 64 letters, digits or
    ``._-``; anything else is a 422 naming the field (it is stored on the record)."""
    if value is None:
        return None
    if not isinstance(value, str) or not _CHANNEL_RE.fullmatch(value):
        raise InvalidInput("channel must be a string of 1-64 letters, digits or ._-",
                           details={"field": "channel"})
    return value


def new_record_id() -> str:
    """A fresh record id for callers that did not name one."""
    return "rec_" + secrets.token_hex(12)


def principal_of(request: web.Request) -> Principal:
    """The caller attached by the auth middleware."""
    principal: Principal = request[appkeys.PRINCIPAL]
    return principal


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: detection warm, vault answering at the current schema, keys loaded.

    The body names each check and how many detection workers are warm; it never
    names hosts, paths or keys.
    """
    app = request.app
    detection = app.get(appkeys.DETECTION)
    store = app[appkeys.STORE]
    vault_ok = await store.ping()
    checks = {
        "detection": detection is not None and detection.ready,
        "vault": vault_ok,
        "migrations": vault_ok and await _schema_current(
            store, app[appkeys.SETTINGS].vault.is_postgres),
        "keys": _keys_loaded(app),
    }
    ready = all(checks.values())
    app[appkeys.METRICS].ready.set(1 if ready else 0)
    body: dict[str, Any] = {"ready": ready, "checks": checks}
    if detection is not None:
        workers = detection.status()["workers"]
        body["detection_workers"] = {"warm": sum(1 for w in workers if w["warm"]),
                                     "configured": len(workers)}
    return json_response(body, status=200 if ready else 503)


async def _schema_current(store: VaultStore, is_postgres: bool) -> bool:
    try:
        applied = await store.schema_versions()
    except Exception:  # an unreachable or broken vault is simply not ready
        return False
    return not migrations.pending(applied, postgres=is_postgres)


def _keys_loaded(app: web.Application) -> bool:
    keys = app.get(appkeys.KEYS)
    if keys is None:
        return False
    ring = keys.current()
    return ring.primary_kid in ring.keys


async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition."""
    body = request.app[appkeys.METRICS].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})


async def redact(request: web.Request) -> web.Response:
    """``POST /v1/redact``: tokenize a transcript of any accepted shape."""
    principal = principal_of(request)
    require(principal, Permission.REDACT)
    settings = request.app[appkeys.SETTINGS]
    doc = await read_json(request, settings.server.max_body_bytes)
    transcript: Transcript | VendorTranscript
    if is_vendor_body(doc):  # an ASR vendor's own JSON (asr_formats)
        transcript = parse_vendor_body(doc, max_segments=settings.server.max_segments,
                                       max_text_chars=settings.server.max_text_chars)
    else:
        transcript = parse_transcript(doc, max_segments=settings.server.max_segments,
                                      max_text_chars=settings.server.max_text_chars)
    check_work((ref.segment.text for ref in transcript.segments),
               settings.admission.max_digit_runs)
    record_id = transcript.record_id or new_record_id()
    subject_id = resolve_subject(request.headers, doc)  # header and body must agree
    redactor = request.app.get(appkeys.REDACTOR)
    if redactor is None:
        raise Unavailable("detection is still loading", code="not_ready")
    if isinstance(doc.get("channel"), str):
        reject_nul(doc["channel"], "channel")  # 400 nul_character, as for every field
    channel = check_channel(doc.get("channel"))
    metrics = request.app[appkeys.METRICS]
    route = route_name(request)
    try:
        with metrics.vault_operation("write"):
            redacted = await redactor.redact(
                principal.tenant, record_id, subject_id,
                [ref.segment for ref in transcript.segments],
                [ref.location for ref in transcript.segments],
                principal=principal, for_ai=False, channel=channel, answer_scan=False)
    except OptedOut:
        metrics.optout_refusals.labels(route).inc()
        raise
    counts = redacted.counts()
    metrics.redacted(route, counts, no_retention=redacted.no_retention)
    body: dict[str, Any] = (transcript.render(redacted)
                            if isinstance(transcript, VendorTranscript)
                            else transcript.with_texts(redacted.texts))
    body["record_id"] = record_id
    body["entities"] = [e.to_dict() for e in redacted.entities]
    body.pop("no_retention", None)  # the gateway's word, like record_id: never echoed
    if redacted.no_retention:
        body["no_retention"] = True
    tier = request.app[appkeys.RISK].tier(redacted.entities)
    body["risk_tier"] = tier
    headers = transparency_headers(record_id, counts, redacted.no_retention)
    headers["X-Redact-Risk-Tier"] = tier
    await offer_for_review(request, principal, record_id, transcript.subject_id, channel,
                           tier, [(ref.segment.speaker, text) for ref, text in
                                  zip(transcript.segments, redacted.texts, strict=True)],
                           redacted.entities, redacted.no_retention)
    return json_response(body, headers=headers)


async def offer_for_review(request: web.Request, principal: Principal, record_id: str,
                           subject_id: str | None, channel: str | None, tier: str,
                           segments: list[tuple[str | None, str]], entities: Any,
                           no_retention: bool, near_misses: list[str] | None = None,
                           answer: Any = None) -> None:
    """Let the review queue sample this tokenized transcript, and the tokenized answer
    of a proxied call (a ``review.answer.AnswerCopy``); never fails the call."""
    from redact_gw.review.api import REVIEW
    review = request.app.get(REVIEW)
    if review is not None:
        await review.offer(principal, record_id, subject_id, channel, route_name(request),
                           tier, segments, entities, no_retention=no_retention,
                           near_misses=near_misses or (),
                           answer=None if answer is None else answer.text(),
                           answer_entities=() if answer is None else answer.entities())


def transparency_headers(record_id: str, counts: dict[str, int],
                         no_retention: bool = False) -> dict[str, str]:
    """``X-Record-Id``, ``X-Redact-Counts: PERSON=2,PHONE_NUMBER=1`` and, when nothing
    reversible was kept, ``X-Redact-No-Retention: true``."""
    headers = {"X-Record-Id": record_id,
               "X-Redact-Counts": ",".join(f"{k}={v}" for k, v in sorted(counts.items()))}
    if no_retention:
        headers["X-Redact-No-Retention"] = "true"
    return headers
