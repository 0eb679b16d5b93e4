"""Handlers for reveals, record metadata, opt-outs, erasure, legal holds, purge, audit.

Every reveal (granted or denied) and every opt-out or erasure decision is audited.
Another tenant's record answers exactly like a record that does not exist (404).

Metrics: reveals by role label (``RolePolicy.label``, never the principal's name) and
outcome, revealed values by outcome, purge runs (through ``run_purge``), and vault
failures of each handler as a ``read`` or ``write``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from redact_gw.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
)
from redact_gw.jobs.purge import run_purge
from redact_gw.model import Principal
from redact_gw.policy.optout import check_subject_id, optout_dict
from redact_gw.policy.reveal import Reveals, require_id
from redact_gw.policy.roles import Permission, require
from redact_gw.proxy import appkeys
from redact_gw.proxy.bodies import json_response, read_json_object, reject_nul
from redact_gw.proxy.handlers import principal_of
from redact_gw.vault.base import AuditQuery, OptOutRow

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _vault_op(operation: str) -> Callable[[Handler], Handler]:
    """Count the handler's ``VaultUnavailable`` as a failed vault ``operation``."""
    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def counted(request: web.Request) -> web.Response:
            with request.app[appkeys.METRICS].vault_operation(operation):
                return await handler(request)
        return counted
    return wrap


def add_routes(app: web.Application) -> None:
    """Register this module's routes."""
    r = app.router
    r.add_post("/v1/detokenize", detokenize)
    r.add_get("/v1/records/{record_id}", record_metadata)
    r.add_put("/v1/records/{record_id}/legal-hold", legal_hold)
    r.add_delete("/v1/records/{record_id}/legal-hold", legal_hold)
    r.add_get("/v1/subjects/{subject_id}/opt-out", get_optout)
    r.add_put("/v1/subjects/{subject_id}/opt-out", put_optout)
    r.add_delete("/v1/subjects/{subject_id}/opt-out", clear_optout)
    r.add_delete("/v1/subjects/{subject_id}", erase_subject)
    r.add_post("/v1/purge", purge)
    r.add_get("/v1/audit", audit_events)


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()




# -- reveal -------------------------------------------------------------------------------
def reveals(app: web.Application) -> Reveals:
    """The reveal policy over this app's vault, roles, audit trail and metrics; refused
    reveals are offered to the review queue."""
    async def offer(principal: Principal, record_id: str, doc: dict[str, Any]) -> None:
        from redact_gw.review.api import offer_refused_reveal
        await offer_refused_reveal(app, principal, record_id, doc)
    return Reveals(app[appkeys.VAULT], app[appkeys.STORE], app[appkeys.ROLES],
                   app[appkeys.AUDIT], app[appkeys.CLOCK],
                   tuple(app[appkeys.SETTINGS].access.purposes), app[appkeys.METRICS],
                   on_refused=offer)


async def detokenize(request: web.Request) -> web.Response:
    """``POST /v1/detokenize``: reveal what the caller's roles allow, for a purpose."""
    return json_response(await reveal_request(request.app, principal_of(request), request))


async def reveal_request(app: web.Application, principal: Principal,
                         source: web.Request | dict[str, Any]) -> dict[str, Any]:
    """The whole reveal of ``POST /v1/detokenize`` (permission, purpose, quota, audit,
    metrics) for a request body or an already parsed document (the console's forms)."""
    async def load() -> dict[str, Any]:
        return source if isinstance(source, dict) else await read_json_object(source)
    return await reveals(app).detokenize(principal, load)


# -- records --------------------------------------------------------------------------------
def _any_of(principal: Principal, *perms: Permission) -> None:
    if not any(p.value in principal.permissions for p in perms):
        raise Forbidden()


@_vault_op("read")
async def record_metadata(request: web.Request) -> web.Response:
    """``GET /v1/records/{record_id}``: metadata only, never a value.

    Only for roles that work with records (detokenize, read_audit, manage_optout): an
    AI service has no business with another call's subject or opt-out. The opt-out's
    free-text reason and who set it are for opt-out managers only.
    """
    principal = principal_of(request)
    _any_of(principal, Permission.DETOKENIZE, Permission.READ_AUDIT,
            Permission.MANAGE_OPTOUT)
    app = request.app
    record_id = require_id(request.match_info["record_id"], "record_id", required=True)
    row = await app[appkeys.VAULT].get_record(principal.tenant, record_id)
    store = app[appkeys.STORE]
    optout = (await store.get_optout(principal.tenant, row.subject_id)
              if row.subject_id else None)
    return json_response({
        "record_id": row.record_id, "created_at": _iso(row.created_at),
        "expires_at": _iso(await store.record_expiry(principal.tenant, record_id)),
        "subject_id": row.subject_id, "channel": row.channel,
        "counts": await store.record_counts(principal.tenant, record_id),
        "no_retention": row.no_retention, "legal_hold": row.legal_hold,
        "shredded_at": _iso(row.shredded_at),
        "opt_out": _optout_view(principal, optout) if optout else None,
    })


def _optout_view(principal: Principal, row: OptOutRow) -> dict[str, Any]:
    out = optout_dict(row)
    if Permission.MANAGE_OPTOUT.value not in principal.permissions:
        del out["reason"], out["set_by"]
    return out


@_vault_op("write")
async def legal_hold(request: web.Request) -> web.Response:
    """``PUT`` sets, ``DELETE`` lifts a legal hold on a record."""
    principal = principal_of(request)
    require(principal, Permission.LEGAL_HOLD)
    record_id = require_id(request.match_info["record_id"], "record_id", required=True)
    hold = request.method == "PUT"
    if not await request.app[appkeys.STORE].set_legal_hold(principal.tenant, record_id, hold):
        raise NotFound("unknown record", code="record_not_found")
    await request.app[appkeys.AUDIT].record(
        "legal_hold.set" if hold else "legal_hold.clear", principal=principal,
        record_id=record_id)
    return json_response({"record_id": record_id, "legal_hold": hold})


# -- opt-out and erasure ---------------------------------------------------------------------
@_vault_op("read")
async def get_optout(request: web.Request) -> web.Response:
    """``GET /v1/subjects/{subject_id}/opt-out``."""
    principal = principal_of(request)
    require(principal, Permission.MANAGE_OPTOUT)
    subject = check_subject_id(request.match_info["subject_id"])
    row = await request.app[appkeys.OPTOUTS].get(principal.tenant, subject)
    if row is None:
        raise NotFound("no opt-out recorded for this subject", code="optout_not_found")
    return json_response(optout_dict(row))


def _flag(doc: dict[str, Any], name: str) -> bool:
    value = doc.get(name, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false", details={"field": name})
    return value


@_vault_op("write")
async def put_optout(request: web.Request) -> web.Response:
    """``PUT /v1/subjects/{subject_id}/opt-out`` with the flags and a reason."""
    principal = principal_of(request)
    require(principal, Permission.MANAGE_OPTOUT)
    subject = check_subject_id(request.match_info["subject_id"])
    doc = await read_json_object(request)
    unknown = set(doc) - {"no_ai_processing", "no_retention", "reason"}
    if unknown:
        raise InvalidInput("unknown field", details={"field": sorted(unknown)[0]})
    reason = doc.get("reason")
    reject_nul(reason if isinstance(reason, str) else None, "reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 200):
        raise InvalidInput("reason must be a string of at most 200 characters",
                           details={"field": "reason"})
    row, receipt = await request.app[appkeys.OPTOUTS].set(
        principal, subject, no_ai_processing=_flag(doc, "no_ai_processing"),
        no_retention=_flag(doc, "no_retention"), reason=reason)
    body = optout_dict(row)
    if receipt is not None:
        body["shredded"] = receipt.to_dict()
    return json_response(body)


@_vault_op("write")
async def clear_optout(request: web.Request) -> web.Response:
    """``DELETE /v1/subjects/{subject_id}/opt-out``."""
    principal = principal_of(request)
    require(principal, Permission.MANAGE_OPTOUT)
    subject = check_subject_id(request.match_info["subject_id"])
    await request.app[appkeys.OPTOUTS].clear(principal, subject)
    return json_response({"subject_id": subject, "cleared": True})


@_vault_op("write")
async def erase_subject(request: web.Request) -> web.Response:
    """``DELETE /v1/subjects/{subject_id}``: shred every record of the subject now."""
    principal = principal_of(request)
    require(principal, Permission.MANAGE_OPTOUT)
    subject = check_subject_id(request.match_info["subject_id"])
    receipt = await request.app[appkeys.OPTOUTS].erase(principal, subject)
    return json_response({"subject_id": subject, "receipt": receipt.to_dict()})


# -- purge and audit -------------------------------------------------------------------------
@_vault_op("write")
async def purge(request: web.Request) -> web.Response:
    """``POST /v1/purge`` (``{"dry_run": bool}``): run a retention purge for the tenant."""
    principal = principal_of(request)
    require(principal, Permission.PURGE)
    doc = await read_json_object(request) if request.can_read_body else {}
    app = request.app
    s = app[appkeys.SETTINGS].retention.purge
    report = await run_purge(app[appkeys.STORE], app[appkeys.AUDIT], app[appkeys.CLOCK],
                             tenant=principal.tenant, batch_size=s.batch_size,
                             dry_run=_flag(doc, "dry_run"), lock_ttl_s=s.lock_ttl_s,
                             pause_s=s.pause_s,
                             tombstone_ttl_s=app[appkeys.SETTINGS].retention.tombstones,
                             metrics=app[appkeys.METRICS])
    return json_response(report.to_dict())


def _time_param(request: web.Request, name: str) -> float | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO-8601 time or epoch seconds",
                           details={"field": name}) from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _int_param(request: web.Request, name: str, default: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    # isascii: str.isdigit() also takes "²", which int() refuses (was a 500)
    if not (raw.isascii() and raw.isdigit()) or not 0 <= int(raw) <= hi:
        raise InvalidInput(f"{name} must be an integer between 0 and {hi}",
                           details={"field": name})
    return int(raw)


@_vault_op("read")
async def audit_events(request: web.Request) -> web.Response:
    """``GET /v1/audit?since=&until=&principal=&record_id=&action=&after_seq=&limit=``."""
    principal = principal_of(request)
    require(principal, Permission.READ_AUDIT)
    q = request.query
    query = AuditQuery(tenant=principal.tenant, since=_time_param(request, "since"),
                       until=_time_param(request, "until"), principal=q.get("principal"),
                       record_id=q.get("record_id"), action=q.get("action"),
                       after_seq=_int_param(request, "after_seq", 0, 2**62),
                       limit=max(1, _int_param(request, "limit", 100, 1000)))
    rows = await request.app[appkeys.STORE].audit_events(query)
    events = [{"seq": r.seq, "hash": r.hash, "prev_hash": r.prev_hash,
               **json.loads(r.payload)} for r in rows]
    return json_response({"events": events,
                          "next_after_seq": rows[-1].seq if rows else query.after_seq})
