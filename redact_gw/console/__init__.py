"""The web console at ``/console``: server-rendered pages over the same services as the
JSON API (review queue, reveals, audit, opt-outs, keys).

Templates are Jinja2 (``aiohttp-jinja2``, autoescaped); CSS and the one small script
are vendored in ``static/``: no CDN, works offline. Every console answer carries a
strict Content-Security-Policy (no inline script or style) and ``no-store``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from redact_gw.console import admin, rollout, views
from redact_gw.console.sessions import SESSIONS, SessionStore
from redact_gw.proxy import appkeys
from redact_gw.tasks import periodic_ctx

STATIC = Path(__file__).parent / "static"
PREFIX = "/console"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
       " form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: CSP and friends on every console answer."""
    if not request.path.startswith(PREFIX):
        return
    h = response.headers
    h["Content-Security-Policy"] = CSP
    h["X-Content-Type-Options"] = "nosniff"
    h["X-Frame-Options"] = "DENY"
    h["Referrer-Policy"] = "no-referrer"
    if not request.path.startswith(PREFIX + "/static/"):
        h["Cache-Control"] = "no-store"


def _sessions_ctx(app: web.Application) -> AsyncIterator[None]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        s = app[appkeys.SETTINGS]
        app[SESSIONS] = SessionStore(app[appkeys.STORE], app[appkeys.KEYS],
                                     app[appkeys.PRINCIPALS], app[appkeys.ROLES],
                                     app[appkeys.CLOCK], s.review.console.session_ttl_s)
        yield
    return ctx(app)


def _sessions_purge_ctx(app: web.Application) -> AsyncIterator[None]:
    """Delete expired console sessions every session lifetime (any replica may)."""
    return periodic_ctx("console-sessions-purge",
                        lambda: app[appkeys.SETTINGS].review.console.session_ttl_s,
                        lambda: app[SESSIONS].purge())(app)


def add_routes(app: web.Application) -> None:
    """Mount the console (when ``review.console.enabled``)."""
    if not app[appkeys.SETTINGS].review.console.enabled:
        return
    aiohttp_jinja2.setup(app, loader=jinja2.PackageLoader("redact_gw.console", "templates"),
                         autoescape=jinja2.select_autoescape(default=True),
                         undefined=jinja2.StrictUndefined)
    app.cleanup_ctx.append(_sessions_ctx)
    app.cleanup_ctx.append(_sessions_purge_ctx)
    app.on_response_prepare.append(security_headers)
    r = app.router
    r.add_static(PREFIX + "/static/", STATIC)
    r.add_get(PREFIX, views.index)
    r.add_get(PREFIX + "/signin", views.signin_form)
    r.add_post(PREFIX + "/signin", views.signin)
    r.add_post(PREFIX + "/signout", views.signout)
    r.add_get(PREFIX + "/queue", views.queue)
    r.add_get(PREFIX + "/items/{item_id}", views.item)
    r.add_post(PREFIX + "/items/{item_id}/reveal", views.item_reveal)
    r.add_post(PREFIX + "/items/{item_id}/verdict", views.item_verdict)
    r.add_get(PREFIX + "/quality", views.quality_page)
    r.add_get(PREFIX + "/audit", views.audit_page)
    r.add_get(PREFIX + "/lists", admin.lists_page)
    r.add_post(PREFIX + "/lists", admin.lists_action)
    r.add_get(PREFIX + "/rollout", rollout.rollout_page)
    r.add_post(PREFIX + "/rollout", rollout.rollout_action)
    r.add_get(PREFIX + "/subjects", admin.subjects_page)
    r.add_post(PREFIX + "/subjects", admin.subjects_action)
    r.add_get(PREFIX + "/keys", admin.keys_page)
    r.add_post(PREFIX + "/keys", admin.keys_action)
