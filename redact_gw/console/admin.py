"""Console pages for list approvals, subjects and keys (admins, compliance).

Same rules as ``views``: a live session, the page's permission, the CSRF token, and
the same services as the JSON API (``Proposals``, ``OptOutRegistry``, the store's
legal hold and the principals file).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from redact_gw.console.sessions import SESSIONS, Session
from redact_gw.console.views import allowed, form_field, render, view, when
from redact_gw.detection.entities import ENTITY_DESCRIPTIONS
from redact_gw.errors import Forbidden, InvalidInput, NotFound
from redact_gw.model import Principal
from redact_gw.policy.optout import check_subject_id, optout_dict
from redact_gw.policy.roles import Permission
from redact_gw.proxy import appkeys
from redact_gw.review import replay
from redact_gw.review.api import LISTS, PROPOSALS, REPLAY, REVIEW, route_templates
from redact_gw.transcripts.shapes import check_id


# -- allow/deny lists (admins) ----------------------------------------------------------------
async def _lists_page(request: web.Request, session: Session, principal: Principal,
                      preview: dict[str, Any] | None = None, notice: str | None = None,
                      status: int = 200,
                      detection: dict[str, Any] | None = None,
                      applied: dict[str, str] | None = None) -> web.Response:
    proposals = await request.app[PROPOSALS].listing(principal)
    verdicts = await request.app[REVIEW].store.review_verdicts(principal.tenant, None)
    missed = [v for v in reversed(verdicts) if v.verdict == "missed"][:50]
    routes = sorted({v.route for v in verdicts} & route_templates(request.app))
    return render(request, "lists.html", {
        "proposals": proposals, "missed": missed, "preview": preview, "notice": notice,
        "routes": routes, "all_routes": sorted(
            r for r in route_templates(request.app)
            if not r.startswith(("/console", "/v1/review", "/v1/audit", "/healthz",
                                 "/readyz", "/metrics", "/openapi"))),
        "applied": applied or {},
        "when": when, "detection": detection, "types": sorted(ENTITY_DESCRIPTIONS)},
        session=session, principal=principal, status=status)


@view(Permission.MANAGE_KEYS)
async def lists_page(request: web.Request, session: Session,
                     principal: Principal) -> web.StreamResponse:
    """``GET /console/lists``: candidates, missed values to promote, and the form to
    preview detection settings on the sample."""
    return await _lists_page(request, session, principal)


def detection_proposal(form: Any) -> dict[str, Any]:
    """The console's one-change form -> a ``review.replay`` proposal document."""
    etype, change = form_field(form, "entity_type") or "", form_field(form, "change")
    route = (form_field(form, "route") or "").strip()
    doc: dict[str, Any] = {"route": route} if route else {}
    if change in ("enable", "disable"):
        return {**doc, "entities": {etype: change}}
    raw = (form_field(form, "threshold") or "").strip()
    try:
        value: Any = float(raw)
    except ValueError:
        value = raw
    return {**doc, "thresholds": {etype: value}}


@view(Permission.MANAGE_KEYS)
async def lists_action(request: web.Request, session: Session,
                       principal: Principal) -> web.StreamResponse:
    """``POST /console/lists``: promote, preview, approve or reject."""
    form = await request.post()
    action, target = form_field(form, "action"), form_field(form, "id") or ""
    props = request.app[PROPOSALS]
    if action in ("promote", "promote_pattern"):
        await props.promote(principal, target, pattern=action == "promote_pattern")
        return await _lists_page(request, session, principal,
                                 notice="Promoted to a deny-list candidate.")
    if action == "preview_detection":
        replayed = await request.app[REPLAY].run(principal,
                                                 replay.parse(detection_proposal(form)))
        applied = {k: form_field(form, k) or "" for k in ("entity_type", "change",
                                                         "threshold")}
        return await _lists_page(request, session, principal, detection=replayed,
                                 applied=applied)
    if action == "preview":
        result = await props.preview(principal, target)
        return await _lists_page(request, session, principal,
                                 preview={"id": target, **result.to_dict()})
    if action in ("approve", "reject"):
        route = form_field(form, "route") or None
        outcome = await props.decide(principal, target, action == "approve",
                                     request.app[LISTS], route, route_templates(request.app))
        where = f" on {route} only" if route and action == "approve" else ""
        return await _lists_page(request, session, principal,
                                 notice=f"Candidate {outcome}{where}; applied now.")
    raise InvalidInput("unknown action", details={"field": "action"})


# -- subjects: opt-outs, erasure, legal holds -------------------------------------------------
async def _subjects_page(request: web.Request, session: Session, principal: Principal,
                         subject: str | None = None, notice: str | None = None,
                         receipt: dict[str, Any] | None = None) -> web.Response:
    row = (await request.app[appkeys.OPTOUTS].get(principal.tenant, subject)
           if subject else None)
    return render(request, "subjects.html", {
        "subject": subject or "", "optout": optout_dict(row) if row else None,
        "notice": notice, "receipt": receipt,
        "can_hold": allowed(principal, Permission.LEGAL_HOLD)},
        session=session, principal=principal)


@view(Permission.MANAGE_OPTOUT)
async def subjects_page(request: web.Request, session: Session,
                        principal: Principal) -> web.StreamResponse:
    """``GET /console/subjects?subject_id=``: a subject's opt-out flags."""
    raw = request.query.get("subject_id") or None
    subject = check_subject_id(raw) if raw else None
    return await _subjects_page(request, session, principal, subject)


@view(Permission.MANAGE_OPTOUT)
async def subjects_action(request: web.Request, session: Session,
                          principal: Principal) -> web.StreamResponse:
    """``POST /console/subjects``: set or clear opt-outs, erase, legal holds (the same
    registry and store calls as the ``/v1/subjects`` and ``/v1/records`` handlers)."""
    form = await request.post()
    action = form_field(form, "action")
    app = request.app
    registry = app[appkeys.OPTOUTS]
    if action == "hold":
        if not allowed(principal, Permission.LEGAL_HOLD):
            raise Forbidden("this API key lacks the 'legal_hold' permission")
        record_id = check_id(form_field(form, "record_id"), "record_id", required=True)
        assert record_id is not None
        hold = form_field(form, "hold") == "on"
        if not await app[appkeys.STORE].set_legal_hold(principal.tenant, record_id, hold):
            raise NotFound("unknown record", code="record_not_found")
        await app[appkeys.AUDIT].record("legal_hold.set" if hold else "legal_hold.clear",
                                        principal=principal, record_id=record_id)
        return await _subjects_page(request, session, principal, notice=(
            f"Legal hold {'set on' if hold else 'lifted from'} record {record_id}."))
    subject = check_subject_id(form_field(form, "subject_id"))
    if action == "set":
        reason = (form_field(form, "reason") or "")[:200] or None
        _row, shredded = await registry.set(
            principal, subject, no_ai_processing=form_field(form, "no_ai_processing") == "on",
            no_retention=form_field(form, "no_retention") == "on", reason=reason)
        return await _subjects_page(request, session, principal, subject,
                                    notice="Opt-out saved.",
                                    receipt=shredded.to_dict() if shredded else None)
    if action == "clear":
        await registry.clear(principal, subject)
        return await _subjects_page(request, session, principal, subject,
                                    notice="Opt-out cleared.")
    if action == "erase":
        receipt = await registry.erase(principal, subject)
        return await _subjects_page(request, session, principal, subject,
                                    notice="Every record of the subject was erased.",
                                    receipt=receipt.to_dict())
    raise InvalidInput("unknown action", details={"field": "action"})


# -- keys and principals (admins) -------------------------------------------------------------
async def _keys_page(request: web.Request, session: Session, principal: Principal,
                     notice: str | None = None, new_key: str | None = None) -> web.Response:
    directory = request.app[appkeys.PRINCIPALS]
    await directory.refresh()
    rows = sorted((p for p in directory.principals() if p.tenant == principal.tenant),
                  key=lambda p: p.name)
    return render(request, "keys.html", {
        "principals": rows, "roles": sorted(request.app[appkeys.SETTINGS].access.roles),
        "notice": notice, "new_key": new_key}, session=session, principal=principal)


@view(Permission.MANAGE_KEYS)
async def keys_page(request: web.Request, session: Session,
                    principal: Principal) -> web.StreamResponse:
    """``GET /console/keys``: the tenant's principals (names and roles, never keys)."""
    return await _keys_page(request, session, principal)


@view(Permission.MANAGE_KEYS)
async def keys_action(request: web.Request, session: Session,
                      principal: Principal) -> web.StreamResponse:
    """``POST /console/keys``: create (the key is shown once) or revoke."""
    import asyncio

    from redact_gw.errors import ConfigError, NotFound
    from redact_gw.policy import apikeys
    from redact_gw.policy.principals import create_api_key
    form = await request.post()
    settings = request.app[appkeys.SETTINGS]
    path = settings.resolve(settings.auth.principals_file)
    name = (form_field(form, "name") or "").strip()
    action = form_field(form, "action")
    if action == "create":
        roles = [r for r in form.getall("roles", []) if r in settings.access.roles]
        if not roles:
            raise InvalidInput("pick at least one role", details={"field": "roles"})
        try:
            key = await asyncio.to_thread(create_api_key, path, name, principal.tenant,
                                          roles)
        except ConfigError as exc:
            raise InvalidInput(str(exc).split(":")[-1].strip() or "invalid principal",
                               details={"field": "name"}) from None
        await request.app[appkeys.AUDIT].record("key.create", principal=principal,
                                                reason="api_key")
        return await _keys_page(request, session, principal, new_key=key,
                                notice=f"Created {name}. Copy the key now: it is shown once.")
    if action == "revoke":
        # the CLI's revoke: under the file lock, and the name stays taken
        await request.app[appkeys.PRINCIPALS].refresh()
        mine = {p.name for p in request.app[appkeys.PRINCIPALS].principals()
                if p.tenant == principal.tenant}
        try:
            if name not in mine:
                raise ConfigError("not a principal of this tenant")
            await asyncio.to_thread(apikeys.revoke, path, name)
        except ConfigError:
            raise NotFound("no such principal in this tenant", code="record_not_found") from None
        await request.app[appkeys.PRINCIPALS].refresh()
        await request.app[SESSIONS].end_principal(principal.tenant, name)  # every replica
        await request.app[appkeys.AUDIT].record("key.revoke", principal=principal,
                                                reason="api_key")
        return await _keys_page(request, session, principal, notice=f"Revoked {name}.")
    raise InvalidInput("unknown action", details={"field": "action"})
