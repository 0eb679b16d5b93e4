"""Console views: thin, like the API handlers, and calling the same services.

Every view but sign-in needs a live session; pages check the principal's permissions
(an ``ai-service`` key cannot even sign in). Every POST carries the session's CSRF
token. Errors render as an HTML page with the gateway's public message and status.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from redact_gw.audit import verify
from redact_gw.console.render import split_tokens, svg_counts, svg_rates, svg_weeks
from redact_gw.console.sessions import COOKIE, SESSIONS, SIGNIN_COOKIE, Session, same
from redact_gw.detection.entities import ENTITY_DESCRIPTIONS
from redact_gw.errors import Forbidden, InvalidInput, RedactGwError
from redact_gw.model import Principal
from redact_gw.policy.roles import Permission
from redact_gw.proxy import appkeys
from redact_gw.proxy.governance import reveal_request
from redact_gw.review.api import (
    REVIEW,
    TIERS,
    apply_verdict,
    queue_query,
    stats_for,
)
from redact_gw.review.sampling import REASONS
from redact_gw.review.verdicts import entity_record
from redact_gw.vault.base import AuditQuery
from redact_gw.vault.review_base import ReviewQuery


class CsrfFailed(Forbidden):
    """A console form without this session's CSRF token (HTML pages only)."""

    code = "csrf_failed"
    default_message = "the form's CSRF token is missing or wrong"


class SignedOut(Forbidden):
    """A console form posted without a live session (HTML pages only)."""

    code = "signed_out"
    default_message = "sign in first"


View = Callable[[web.Request, Session, Principal], Awaitable[web.StreamResponse]]
#: Pages, the permission each needs, in menu order.
PAGES = (("Queue", "/console/queue", Permission.REVIEW),
         ("Quality", "/console/quality", Permission.REVIEW),
         ("Lists", "/console/lists", Permission.MANAGE_KEYS),
         ("Rollout", "/console/rollout", Permission.REVIEW),
         ("Subjects", "/console/subjects", Permission.MANAGE_OPTOUT),
         ("Keys", "/console/keys", Permission.MANAGE_KEYS),
         ("Audit", "/console/audit", Permission.READ_AUDIT))
CONSOLE_PERMISSIONS = frozenset(p.value for _, _, p in PAGES)


def allowed(principal: Principal, permission: Permission) -> bool:
    return permission.value in principal.permissions


def render(request: web.Request, template: str, context: dict[str, Any], *,
           session: Session | None = None, principal: Principal | None = None,
           status: int = 200) -> web.Response:
    """Render a page with the menu, the principal and the CSRF token."""
    nav = [(title, href) for title, href, perm in PAGES
           if principal is not None and allowed(principal, perm)]
    base = {"principal": principal, "nav": nav, "csrf": session.csrf if session else "",
            "path": request.path}
    return aiohttp_jinja2.render_template(template, request, {**base, **context},
                                          status=status)


def error_page(request: web.Request, exc: RedactGwError, session: Session | None = None,
               principal: Principal | None = None) -> web.Response:
    """The gateway error as an HTML page (public message and code only)."""
    return render(request, "error.html", {"code": exc.code, "message": exc.message},
                  session=session, principal=principal, status=exc.status)


def view(permission: Permission | None = None) -> Callable[[View], Callable[
        [web.Request], Awaitable[web.StreamResponse]]]:
    """Session, permission and CSRF checks around a console view."""
    def wrap(fn: View) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @functools.wraps(fn)
        async def handler(request: web.Request) -> web.StreamResponse:
            found = await request.app[SESSIONS].get(request.cookies.get(COOKIE))
            if found is None:
                if request.method == "GET":
                    raise web.HTTPSeeOther("/console/signin")
                return error_page(request, SignedOut())
            session, principal = found
            try:
                if request.method == "POST":
                    form = await request.post()
                    if not same(form_field(form, "csrf"), session.csrf):
                        raise CsrfFailed()
                if permission is not None and not allowed(principal, permission):
                    raise Forbidden(f"this API key lacks the {permission.value!r} permission")
                return await fn(request, session, principal)
            except RedactGwError as exc:
                return error_page(request, exc, session, principal)
        return handler
    return wrap


def form_field(form: Any, name: str) -> str | None:
    v = form.get(name)
    return v if isinstance(v, str) else None


# -- sign in / out ---------------------------------------------------------------------------
async def index(request: web.Request) -> web.StreamResponse:
    """``/console``: the first page the signed-in principal may see, or the sign-in."""
    found = await request.app[SESSIONS].get(request.cookies.get(COOKIE))
    pages = [href for _, href, perm in PAGES if found and allowed(found[1], perm)]
    raise web.HTTPSeeOther(pages[0] if pages else "/console/signin")


def _cookie_args(request: web.Request, max_age: int | None) -> dict[str, Any]:
    return {"httponly": True, "samesite": "Strict", "secure": request.secure,
            "path": "/console", "max_age": max_age}


async def signin_form(request: web.Request) -> web.StreamResponse:
    """``GET /console/signin``."""
    token = secrets.token_urlsafe(24)
    response = render(request, "signin.html", {"signin_csrf": token, "problem": None})
    response.set_cookie(SIGNIN_COOKIE, token, **_cookie_args(request, 600))
    return response


async def signin(request: web.Request) -> web.StreamResponse:
    """``POST /console/signin``: exchange an API key for a session cookie."""
    form = await request.post()
    token = secrets.token_urlsafe(24)
    def refuse(problem: str, status: int) -> web.Response:
        response = render(request, "signin.html", {"signin_csrf": token, "problem": problem},
                          status=status)
        response.set_cookie(SIGNIN_COOKIE, token, **_cookie_args(request, 600))
        return response
    if not same(form_field(form, "csrf"), request.cookies.get(SIGNIN_COOKIE)):
        return refuse("The form expired or was not sent by this page. Try again.", 403)
    key = (form_field(form, "api_key") or "").strip()
    created = await request.app[SESSIONS].create(key) if 0 < len(key) <= 200 else None
    if created is None:
        return refuse("Unknown API key.", 401)
    session, principal = created
    if not principal.permissions & CONSOLE_PERMISSIONS:
        await request.app[SESSIONS].end(session.sid)
        return refuse("This API key has no access to the console.", 403)
    first = next(href for _, href, perm in PAGES if allowed(principal, perm))
    response = web.HTTPSeeOther(first)
    ttl = int(request.app[appkeys.SETTINGS].review.console.session_ttl_s)
    response.set_cookie(COOKIE, session.sid, **_cookie_args(request, ttl))
    response.del_cookie(SIGNIN_COOKIE, path="/console")
    raise response


@view()
async def signout(request: web.Request, session: Session,
                  principal: Principal) -> web.StreamResponse:
    """``POST /console/signout``."""
    await request.app[SESSIONS].end(session.sid)
    response = web.HTTPSeeOther("/console/signin")
    response.del_cookie(COOKIE, path="/console")
    raise response


# -- queue and items -------------------------------------------------------------------------
@view(Permission.REVIEW)
async def queue(request: web.Request, session: Session,
                principal: Principal) -> web.StreamResponse:
    """``GET /console/queue``: filters by route, tier, type, reason, age, status."""
    q = request.query
    query = queue_query(principal, q, request.app[appkeys.CLOCK]())
    rows = await request.app[REVIEW].items(principal, query)
    return render(request, "queue.html", {
        "items": rows, "filters": {k: q.get(k, "") for k in ("route", "tier", "type",
                                                              "reason", "max_age_h",
                                                              "status")},
        "tiers": TIERS, "reasons": REASONS, "types": sorted(ENTITY_DESCRIPTIONS),
        "when": when, "done": q.get("done")}, session=session, principal=principal)


def when(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


async def _item_page(request: web.Request, session: Session, principal: Principal,
                     revealed: dict[str, dict[str, Any]] | None = None,
                     problem: str | None = None, status: int = 200) -> web.Response:
    copy = await request.app[REVIEW].open(principal, request.match_info["item_id"])
    roles = request.app[appkeys.ROLES]
    modes = {e["token"]: roles.reveal_mode(principal, e["entity_type"])
             for e in copy.entities}
    return render(request, "item.html", {
        "copy": copy, "row": copy.row, "when": when,
        "segments": [(i, s.get("speaker"), split_tokens(s["text"]))
                     for i, s in enumerate(copy.segments)],
        "answer": split_tokens(copy.answer) if copy.answer else None,
        "modes": modes, "revealed": revealed or {}, "problem": problem,
        "purposes": request.app[appkeys.SETTINGS].access.purposes,
        "types": sorted(ENTITY_DESCRIPTIONS),
        "can_reveal": allowed(principal, Permission.DETOKENIZE)},
        session=session, principal=principal, status=status)


@view(Permission.REVIEW)
async def item(request: web.Request, session: Session,
               principal: Principal) -> web.StreamResponse:
    """``GET /console/items/{item_id}``: the tokenized copy, tokens explained."""
    return await _item_page(request, session, principal)


@view(Permission.REVIEW)
async def item_reveal(request: web.Request, session: Session,
                      principal: Principal) -> web.StreamResponse:
    """``POST .../reveal``: one token, for a purpose, through the API's reveal path."""
    form = await request.post()
    copy = await request.app[REVIEW].open(principal, request.match_info["item_id"])
    token = form_field(form, "token") or ""
    entity = next((e for e in copy.entities if e["token"] == token), None)
    if entity is None:
        raise InvalidInput("the token is not one of this item's", details={"field": "token"})
    try:
        body = await reveal_request(request.app, principal, {
            "record_id": entity_record(copy.row.record_id, entity),
            "purpose": form_field(form, "purpose"), "tokens": [token]})
    except RedactGwError as exc:
        return await _item_page(request, session, principal, problem=exc.message,
                                status=exc.status)
    return await _item_page(request, session, principal,
                            revealed={v["token"]: v for v in body["values"]})


@view(Permission.REVIEW)
async def item_verdict(request: web.Request, session: Session,
                       principal: Principal) -> web.StreamResponse:
    """``POST .../verdict``, then on to the next open item (keyboard flow)."""
    form = await request.post()
    svc = request.app[REVIEW]
    item_id = request.match_info["item_id"]
    verdict = form_field(form, "verdict")
    doc: dict[str, Any] = {"verdict": verdict}
    if verdict == "missed":
        copy = await svc.open(principal, item_id)
        doc.update(_selection(copy.segments, copy.answer, form),
                   entity_type=form_field(form, "entity_type"))
    elif verdict == "not_pii":
        doc.update(token=form_field(form, "token"), purpose=form_field(form, "purpose"))
    try:
        await apply_verdict(svc, principal, item_id, doc)
    except RedactGwError as exc:
        if exc.status >= 500:
            raise
        return await _item_page(request, session, principal, problem=exc.message,
                                status=exc.status)
    nxt = [r for r in await svc.items(principal, ReviewQuery(principal.tenant, status="open",
                                                             limit=2))
           if r.item_id != item_id]
    target = f"/console/items/{nxt[0].item_id}" if nxt else "/console/queue"
    raise web.HTTPSeeOther(f"{target}?done={verdict}")


def _selection(segments: list[dict[str, Any]], answer: str | None,
               form: Any) -> dict[str, Any]:
    """The missed text (typed or selected) -> part, segment, start, end in the copy."""
    raw_seg, text = form_field(form, "segment") or "", form_field(form, "text") or ""
    if raw_seg == "answer" and answer:
        where, seg, part = answer, 0, "answer"
    elif raw_seg.isdigit() and int(raw_seg) < len(segments):
        seg, part = int(raw_seg), "segments"
        where = segments[seg]["text"]
    else:
        raise InvalidInput("pick the segment the text is in", details={"field": "segment"})
    start = where.find(text) if text.strip() else -1
    if start < 0:
        raise InvalidInput("that text is not in the segment", details={"field": "text"})
    return {"part": part, "segment": seg, "start": start, "end": start + len(text)}


# -- quality and audit -----------------------------------------------------------------------
@view(Permission.REVIEW)
async def quality_page(request: web.Request, session: Session,
                       principal: Principal) -> web.StreamResponse:
    """``GET /console/quality``: rates with intervals as server-rendered SVG."""
    figures = await stats_for(request.app[REVIEW], principal)
    return render(request, "quality.html", {
        "f": figures, "miss_svg": svg_rates(figures["by_type"], "miss", "Miss rate"),
        "fp_svg": svg_rates(figures["by_type"], "false_positive", "False-positive rate"),
        "weeks_svg": svg_weeks(figures["by_week"], "Miss and false-positive rates by week"),
        "volume_svgs": [(title, svg_counts(figures["volume"][key], title)) for key, title in (
            ("by_type", "Queued items by entity type"), ("by_tier", "Queued items by tier"),
            ("by_reason", "Queued items by reason (near misses included)"))]},
        session=session, principal=principal)


@view(Permission.READ_AUDIT)
async def audit_page(request: web.Request, session: Session,
                     principal: Principal) -> web.StreamResponse:
    """``GET /console/audit``: the tenant's events (filterable) and the chain status."""
    q = request.query
    def opt(name: str) -> str | None:
        v = q.get(name) or None
        if v is not None and len(v) > 128:
            raise InvalidInput(f"{name} is too long", details={"field": name})
        return v
    app = request.app
    rows = await app[appkeys.STORE].audit_events(AuditQuery(
        tenant=principal.tenant, principal=opt("principal"), record_id=opt("record_id"),
        action=opt("action"), limit=500))
    mirror = app[appkeys.SETTINGS].audit.mirror_jsonl
    check = await verify(app[appkeys.STORE],
                         app[appkeys.SETTINGS].resolve(mirror) if mirror else None,
                         keys=app[appkeys.KEYS].current())  # the chain is keyed
    events = [{"seq": r.seq, "when": when(r.ts), **json.loads(r.payload)}
              for r in reversed(rows)]
    return render(request, "audit.html", {
        "events": events, "check": check,
        "filters": {k: q.get(k, "") for k in ("principal", "record_id", "action")}},
        session=session, principal=principal)
