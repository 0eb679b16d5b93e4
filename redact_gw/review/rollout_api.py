"""``/v1/review/rollout``: apply a previewed detection change to routes or the tenant,
list the overrides, roll one back (JSON; the console's rollout pages call the same
``Rollout``). See ``rollout.py`` for who may do what."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from redact_gw.errors import InvalidInput, RedactGwError
from redact_gw.proxy import appkeys
from redact_gw.proxy.bodies import json_response, read_json_object
from redact_gw.proxy.handlers import principal_of
from redact_gw.review import replay
from redact_gw.review.api import route_templates
from redact_gw.review.rollout import LiveOverrides, Rollout
from redact_gw.tasks import periodic_ctx

log = logging.getLogger(__name__)
OVERRIDES = web.AppKey("policy_overrides", LiveOverrides)
ROLLOUT = web.AppKey("rollout", Rollout)


def parse_apply(doc: dict[str, Any]) -> tuple[replay.Proposal, list[str]]:
    """A proposal (``replay.parse`` fields, no ``route``) and its ``scopes``."""
    doc = dict(doc)
    scopes = doc.pop("scopes", None)
    if "route" in doc:
        raise InvalidInput("name the routes in scopes", details={"field": "route"})
    if not isinstance(scopes, list):
        raise InvalidInput("scopes must be a list of route templates or *",
                           details={"field": "scopes"})
    return replay.parse(doc), scopes


async def apply(request: web.Request) -> web.Response:
    """``POST /v1/review/rollout``: apply settings to ``scopes``."""
    principal = principal_of(request)
    proposal, scopes = parse_apply(await read_json_object(request))
    return json_response(await request.app[ROLLOUT].apply(
        principal, proposal, scopes, route_templates(request.app)))


async def listing(request: web.Request) -> web.Response:
    """``GET /v1/review/rollout``: the tenant's overrides."""
    return json_response({"overrides": await request.app[ROLLOUT].overrides(
        principal_of(request))})


async def rollback(request: web.Request) -> web.Response:
    """``POST /v1/review/rollout/rollback``: ``{"scope": ...}``."""
    principal = principal_of(request)
    doc = await read_json_object(request)
    if set(doc) - {"scope"}:
        raise InvalidInput("unknown field", details={"field": sorted(set(doc) - {"scope"})[0]})
    scope = doc.get("scope")
    if not isinstance(scope, str):
        raise InvalidInput("scope must be a route template or *", details={"field": "scope"})
    return json_response(await request.app[ROLLOUT].rollback(principal, scope))


def rollout_ctx(app: web.Application) -> AsyncIterator[None]:
    """Build ``Rollout`` once the vault is open, load every override, keep re-reading
    them every ``review.lists_refresh_s`` (other replicas' applies and rollbacks)."""
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        app[ROLLOUT] = Rollout(app[appkeys.STORE], app[appkeys.KEYS], app[appkeys.AUDIT],
                               app[appkeys.CLOCK], app[appkeys.SETTINGS], app[OVERRIDES])
        try:
            await app[ROLLOUT].refresh()
        except RedactGwError as exc:
            log.warning("policy overrides not loaded (%s)", exc.code)
        yield
    return ctx(app)


def _refresh_ctx(app: web.Application) -> AsyncIterator[None]:
    return periodic_ctx("policy-overrides",
                        lambda: app[appkeys.SETTINGS].review.lists_refresh_s,
                        lambda: app[ROLLOUT].refresh())(app)


def add_routes(app: web.Application) -> None:
    """Register the rollout API (after the vault's cleanup context)."""
    app.cleanup_ctx.append(rollout_ctx)
    app.cleanup_ctx.append(_refresh_ctx)
    app.router.add_post("/v1/review/rollout", apply)
    app.router.add_get("/v1/review/rollout", listing)
    app.router.add_post("/v1/review/rollout/rollback", rollback)
