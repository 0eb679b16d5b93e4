"""Console page for scoped detection overrides (phased rollout, ``review/rollout.py``).

``GET /console/rollout`` lists the tenant's overrides (scope, settings, who, when,
whether the signature verifies) with a rollback button each; ``POST`` applies the
change previewed on the lists page to a route or the tenant, or rolls one back. Same
checks as every console form (session, permission, CSRF) and the same ``Rollout``
as the JSON API, so the same who-may-loosen rule.
"""

from __future__ import annotations

from aiohttp import web

from redact_gw.console.admin import detection_proposal
from redact_gw.console.sessions import Session
from redact_gw.console.views import form_field, render, view, when
from redact_gw.errors import InvalidInput
from redact_gw.model import Principal
from redact_gw.policy.roles import Permission
from redact_gw.review import replay
from redact_gw.review.api import route_templates
from redact_gw.review.rollout import TENANT_SCOPE
from redact_gw.review.rollout_api import ROLLOUT


async def _page(request: web.Request, session: Session, principal: Principal,
                notice: str | None = None) -> web.Response:
    overrides = await request.app[ROLLOUT].overrides(principal)
    return render(request, "rollout.html", {"overrides": overrides, "notice": notice,
                                            "when": when, "tenant_scope": TENANT_SCOPE},
                  session=session, principal=principal)


@view(Permission.REVIEW)
async def rollout_page(request: web.Request, session: Session,
                       principal: Principal) -> web.StreamResponse:
    """``GET /console/rollout``."""
    return await _page(request, session, principal)


@view(Permission.REVIEW)
async def rollout_action(request: web.Request, session: Session,
                         principal: Principal) -> web.StreamResponse:
    """``POST /console/rollout``: ``apply`` (from the preview) or ``rollback``."""
    form = await request.post()
    action, scope = form_field(form, "action"), (form_field(form, "scope") or "").strip()
    rollout = request.app[ROLLOUT]
    if action == "apply":
        doc = detection_proposal(form)
        doc.pop("route", None)
        await rollout.apply(principal, replay.parse(doc), [scope],
                            route_templates(request.app))
        where = "the whole tenant" if scope == TENANT_SCOPE else scope
        return await _page(request, session, principal,
                           notice=f"Applied to {where}; live now.")
    if action == "rollback":
        await rollout.rollback(principal, scope)
        return await _page(request, session, principal,
                           notice=f"Rolled back {scope}; its requests use the wider"
                                  " settings now.")
    raise InvalidInput("unknown action", details={"field": "action"})

