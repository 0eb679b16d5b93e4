"""``/v1/review/*``: the queue, items, verdicts and quality figures as JSON.

Handlers are thin: they parse, then call ``ReviewService`` (the console's views call
the same service). Every route needs the ``review`` permission.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiohttp import web

from redact_gw.errors import Forbidden, InvalidInput, RedactGwError, Unavailable
from redact_gw.model import Principal, Revealed, Segment, Span
from redact_gw.policy.roles import Permission, require
from redact_gw.proxy import appkeys
from redact_gw.proxy.bodies import json_response, read_json_object
from redact_gw.proxy.handlers import principal_of
from redact_gw.review import replay
from redact_gw.review.lists import LiveLists
from redact_gw.review.metrics import ReviewMetrics
from redact_gw.review.proposals import Proposals
from redact_gw.review.queue import ReviewService, item_summary
from redact_gw.review.replay import Replay
from redact_gw.review.sampling import REASONS
from redact_gw.review.stats import quality
from redact_gw.tasks import periodic_ctx
from redact_gw.vault.review_base import ReviewQuery

log = logging.getLogger(__name__)
REVIEW = web.AppKey("review", ReviewService)
LISTS = web.AppKey("review_lists", LiveLists)
PROPOSALS = web.AppKey("review_proposals", Proposals)
REPLAY = web.AppKey("review_replay", Replay)
TIERS = ("low", "medium", "high")
TYPE_RE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
AGE_RE = re.compile(r"[1-9][0-9]{0,3}")
NUMBER_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
STATS_ITEMS = 10_000


def review_ctx(app: web.Application) -> AsyncIterator[None]:
    """Build the review service once the vault is open (after ``_vault_ctx``)."""
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async def gate(principal: Principal, record_id: str, purpose: str, token: str,
                       entity_type: str) -> Revealed:
            return await reveal_full(app, principal, record_id, purpose, token, entity_type)
        app[REVIEW] = ReviewService(app[appkeys.SETTINGS], app[appkeys.VAULT],
                                    app[appkeys.AUDIT], app[appkeys.CLOCK],
                                    ReviewMetrics(app[appkeys.METRICS].registry), reveal=gate)
        app[PROPOSALS] = Proposals(app[REVIEW])
        async def today(segments: Sequence[Segment]) -> list[list[Span]]:
            redactor = app.get(appkeys.REDACTOR)
            if redactor is None:
                raise Unavailable("detection is still loading", code="not_ready")
            return await redactor.detect(segments)
        app[REPLAY] = Replay(app[REVIEW], app[LISTS], today)
        tenants = sorted({p.tenant for p in app[appkeys.PRINCIPALS].principals()})
        try:  # approved list entries of every known tenant, opened into memory
            await app[LISTS].refresh(app[appkeys.VAULT], tenants)
        except RedactGwError as exc:
            log.warning("review lists not loaded (%s)", exc.code)
        try:
            yield
        finally:
            app[REPLAY].close()
    return ctx(app)


async def reveal_full(app: web.Application, principal: Principal, record_id: str,
                      purpose: str, token: str, entity_type: str) -> Revealed:
    """Reveal one token in full through the API's reveal path (purpose, quota, audit);
    ``Forbidden`` (before anything is revealed) unless the principal's roles show the
    token's type in full."""
    from redact_gw.proxy.governance import reveal_request
    if app[appkeys.ROLES].reveal_mode(principal, entity_type) != "full":
        raise Forbidden("judging a token needs the right to reveal its type in full")
    body = await reveal_request(app, principal, {"record_id": record_id, "purpose": purpose,
                                                 "tokens": [token]})
    value = body["values"][0]
    if value["mode"] != "full":
        raise Forbidden("judging a token needs the right to reveal its type in full")
    return Revealed(token, value["entity_type"], value["value"])


async def offer_refused_reveal(app: web.Application, principal: Principal, record_id: str,
                               doc: dict[str, Any]) -> None:
    """A refused reveal is a near miss for the review queue (the API's reveal path
    calls this; it never changes the refusal)."""
    svc = app.get(REVIEW)
    if svc is None:
        return
    text = doc.get("text") if isinstance(doc.get("text"), str) else None
    raw = doc.get("tokens")
    tokens = [t for t in raw if isinstance(t, str)][:1000] if isinstance(raw, list) else []
    await svc.offer_refused_reveal(principal, record_id, text, tokens)


def service(request: web.Request) -> ReviewService:
    """The app's review service."""
    return request.app[REVIEW]


def _choice(q: Any, name: str, allowed: tuple[str, ...] | None = None) -> str | None:
    v = q.get(name) or None
    if v is not None and (len(v) > 64 or (allowed is not None and v not in allowed)):
        raise InvalidInput(f"unknown {name}", details={"field": name})
    return v


def queue_query(principal: Principal, q: Any, now: float) -> ReviewQuery:
    """Queue filters from query parameters (``route``, ``tier``, ``type``, ``reason``,
    ``max_age_h``, ``status``, ``limit``)."""
    age = q.get("max_age_h") or None
    if age is not None and not AGE_RE.fullmatch(age):
        raise InvalidInput("max_age_h must be a whole number of hours (1-9999)",
                           details={"field": "max_age_h"})
    limit = q.get("limit", "100")
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= 500):
        raise InvalidInput("limit must be between 1 and 500", details={"field": "limit"})
    etype = _choice(q, "type")
    if etype is not None and not TYPE_RE.fullmatch(etype):
        raise InvalidInput("type must be an entity type name", details={"field": "type"})
    return ReviewQuery(principal.tenant, route=_choice(q, "route"),
                       tier=_choice(q, "tier", TIERS), reason=_choice(q, "reason", REASONS),
                       entity_type=etype,
                       since=now - int(age) * 3600 if age is not None else None,
                       status=_choice(q, "status", ("open", "reviewed")), limit=int(limit))


async def list_items(request: web.Request) -> web.Response:
    """``GET /v1/review/items``: the tenant's queue, newest first, metadata only."""
    principal = principal_of(request)
    query = queue_query(principal, request.query, request.app[appkeys.CLOCK]())
    rows = await service(request).items(principal, query)
    return json_response({"items": [item_summary(r) for r in rows]})


async def get_item(request: web.Request) -> web.Response:
    """``GET /v1/review/items/{item_id}``: the tokenized copy (tokens, never values)."""
    copy = await service(request).open(principal_of(request), request.match_info["item_id"])
    return json_response(copy.to_dict())


def _int(doc: dict[str, Any], name: str) -> int:
    v = doc.get(name)
    if isinstance(v, float) and v.is_integer():  # JSON does not tell 3 from 3.0
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise InvalidInput(f"{name} must be a whole number", details={"field": name})
    return v


def _str(doc: dict[str, Any], name: str) -> str:
    v = doc.get(name)
    if not isinstance(v, str) or not v or len(v) > 128:
        raise InvalidInput(f"{name} must be a string", details={"field": name})
    return v


async def apply_verdict(svc: ReviewService, principal: Principal, item_id: str,
                        doc: dict[str, Any]) -> dict[str, Any]:
    """Apply one verdict document; shared by the API and the console."""
    verdict = doc.get("verdict")
    if verdict == "correct":
        await svc.correct(principal, item_id)
        return {"verdict": "correct"}
    if verdict == "missed":
        part = doc.get("part", "segments")
        if part not in ("segments", "answer"):
            raise InvalidInput("part must be segments or answer", details={"field": "part"})
        token, verdict_id = await svc.missed(
            principal, item_id, _int(doc, "segment") if part == "segments" else 0,
            _int(doc, "start"), _int(doc, "end"), _str(doc, "entity_type"), part)
        return {"verdict": "missed", "token": token, "verdict_id": verdict_id}
    if verdict == "not_pii":
        proposal = await svc.not_pii(principal, item_id, _str(doc, "token"),
                                     _str(doc, "purpose"))
        return {"verdict": "not_pii", "proposal_id": proposal}
    raise InvalidInput("verdict must be correct, missed or not_pii",
                       details={"field": "verdict"})


async def post_verdict(request: web.Request) -> web.Response:
    """``POST /v1/review/items/{item_id}/verdicts``."""
    principal = principal_of(request)
    require(principal, Permission.REVIEW)
    doc = await read_json_object(request)
    body = await apply_verdict(service(request), principal, request.match_info["item_id"],
                               doc)
    return json_response(body)


async def stats_for(svc: ReviewService, principal: Principal) -> dict[str, Any]:
    """Quality figures of the principal's tenant; updates the rate gauges."""
    items = await svc.items(principal, ReviewQuery(principal.tenant, limit=STATS_ITEMS))
    verdicts = await svc.store.review_verdicts(principal.tenant, None)
    figures = quality(items, verdicts)
    for etype, rates in figures["by_type"].items():
        if rates["miss"]["rate"] is not None:
            svc.metrics.miss_rate.labels(etype).set(rates["miss"]["rate"])
        if rates["false_positive"]["rate"] is not None:
            svc.metrics.fp_rate.labels(etype).set(rates["false_positive"]["rate"])
    return figures


async def stats(request: web.Request) -> web.Response:
    """``GET /v1/review/stats``: miss and false-positive rates (Wilson 95% intervals)
    per entity type, route and week; agreement; time to review."""
    return json_response(await stats_for(service(request), principal_of(request)))


async def list_proposals(request: web.Request) -> web.Response:
    """``GET /v1/review/proposals``: allow/deny-list candidates (values masked)."""
    rows = await request.app[PROPOSALS].listing(principal_of(request))
    return json_response({"proposals": rows})


async def promote(request: web.Request) -> web.Response:
    """``POST /v1/review/proposals`` ``{"verdict_id", "pattern"?}``: a missed value (or,
    with ``"pattern": true``, its shape: ``#`` for each digit) becomes a deny-list
    candidate."""
    doc = await read_json_object(request)
    pattern = doc.get("pattern", False)
    if not isinstance(pattern, bool):
        raise InvalidInput("pattern must be true or false", details={"field": "pattern"})
    proposal = await request.app[PROPOSALS].promote(principal_of(request),
                                                    _str(doc, "verdict_id"), pattern)
    return json_response({"proposal_id": proposal, "kind": "deny", "status": "pending"})


async def preview(request: web.Request) -> web.Response:
    """``GET /v1/review/proposals/{proposal_id}/preview``: the change replayed on the
    sealed review sample (counts only)."""
    result = await request.app[PROPOSALS].preview(principal_of(request),
                                                  request.match_info["proposal_id"])
    return json_response(result.to_dict())


async def decide(request: web.Request) -> web.Response:
    """``POST /v1/review/proposals/{proposal_id}/decision`` ``{"approve": bool,
    "route"?}``: approve for one route first (phased), or every route; widen or
    withdraw a single-route approval later."""
    doc = await read_json_object(request)
    approve = doc.get("approve")
    if not isinstance(approve, bool):
        raise InvalidInput("approve must be true or false", details={"field": "approve"})
    status = await request.app[PROPOSALS].decide(
        principal_of(request), request.match_info["proposal_id"], approve,
        request.app[LISTS], doc.get("route"), route_templates(request.app))
    return json_response({"proposal_id": request.match_info["proposal_id"],
                          "status": status})


def route_templates(app: web.Application) -> frozenset[str]:
    """The route templates this gateway serves (``/v1/chat/completions``...)."""
    return frozenset(r.resource.canonical for r in app.router.routes() if r.resource)


async def preview_threshold(request: web.Request) -> web.Response:
    """``GET /v1/review/preview/threshold?entity_type=&threshold=``."""
    q = request.query
    etype = q.get("entity_type", "")
    if not TYPE_RE.fullmatch(etype):
        raise InvalidInput("entity_type must be an entity type name",
                           details={"field": "entity_type"})
    raw = q.get("threshold", "")
    threshold = float(raw) if NUMBER_RE.fullmatch(raw) else -1.0
    if not 0.0 <= threshold <= 1.0:
        raise InvalidInput("threshold must be a number from 0 to 1",
                           details={"field": "threshold"})
    return json_response(await request.app[PROPOSALS].preview_threshold(
        principal_of(request), etype, threshold))


async def preview_detection(request: web.Request) -> web.Response:
    """``POST /v1/review/preview/detection``: replay proposed thresholds and entity
    types on the sealed review sample (tenant-wide or one ``route``): values newly
    caught and tokens dropped, per item and in totals; audited; admins."""
    principal = principal_of(request)
    require(principal, Permission.MANAGE_KEYS)
    proposal = replay.parse(await read_json_object(request))
    return json_response(await request.app[REPLAY].run(principal, proposal))


def _lists_refresh_ctx(app: web.Application) -> AsyncIterator[None]:
    """Re-read approved list entries every ``review.lists_refresh_s`` (other replicas)."""
    async def work() -> None:
        tenants = sorted({p.tenant for p in app[appkeys.PRINCIPALS].principals()})
        await app[LISTS].refresh(app[appkeys.VAULT], tenants)
    return periodic_ctx("review-lists", lambda: app[appkeys.SETTINGS].review.lists_refresh_s,
                        work)(app)


def add_routes(app: web.Application) -> None:
    """Register the review API and the service's cleanup contexts."""
    app.cleanup_ctx.append(review_ctx)
    app.cleanup_ctx.append(_lists_refresh_ctx)
    r = app.router
    r.add_get("/v1/review/items", list_items)
    r.add_get("/v1/review/items/{item_id}", get_item)
    r.add_post("/v1/review/items/{item_id}/verdicts", post_verdict)
    r.add_get("/v1/review/stats", stats)
    r.add_get("/v1/review/preview/threshold", preview_threshold)
    r.add_post("/v1/review/preview/detection", preview_detection)
    r.add_get("/v1/review/proposals", list_proposals)
    r.add_post("/v1/review/proposals", promote)
    r.add_get("/v1/review/proposals/{proposal_id}/preview", preview)
    r.add_post("/v1/review/proposals/{proposal_id}/decision", decide)
