"""The application factory and its cleanup contexts.

``create_app(settings)`` builds everything from settings alone; each lifetime
(keys, vault, detection executor) is a cleanup context that closes what it opened,
in reverse order, also when startup fails halfway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from redact_gw import console
from redact_gw.audit import AuditLog
from redact_gw.crypto.keyring import KeyringSource
from redact_gw.detection import Detector, require_model
from redact_gw.detection.base import DetectionService
from redact_gw.detection.inline import InlineDetection
from redact_gw.detection.pool import DetectionPool
from redact_gw.engine import Redactor
from redact_gw.jobs.purge import PurgeReport, purge_task_ctx, run_purge
from redact_gw.live import handler as live
from redact_gw.logs import ContextThreadPoolExecutor
from redact_gw.metrics import Metrics
from redact_gw.model import Clock
from redact_gw.policy.optout import OptOutRegistry
from redact_gw.policy.principals import PrincipalDirectory
from redact_gw.policy.retention import RetentionPolicy
from redact_gw.policy.risk import RiskPolicy
from redact_gw.policy.roles import RolePolicy
from redact_gw.policy.sharing import ShareGroups
from redact_gw.proxy import appkeys, dialects, governance, handlers, routes, spec, upstream
from redact_gw.proxy.admission import ADMISSION, Admission, admission_middleware
from redact_gw.proxy.middlewares import (
    auth_middleware,
    error_middleware,
    request_id_header,
    request_id_middleware,
)
from redact_gw.review import api as review_api
from redact_gw.review import rollout_api
from redact_gw.review.lists import LiveLists
from redact_gw.review.rollout import LiveOverrides
from redact_gw.settings import Settings
from redact_gw.tasks import periodic_ctx
from redact_gw.vault.base import VaultStore
from redact_gw.vault.service import Vault

log = logging.getLogger(__name__)
DetectorFactory = Callable[[], Detector]


def open_store(settings: Settings, *, migrate: bool | None = None) -> VaultStore:
    """The configured vault backend (not yet opened).

    Args:
        settings: Parsed configuration (``vault.url`` picks the backend).
        migrate: Apply pending migrations in ``open()``; default ``vault.migrate_on_start``.
    """
    v = settings.vault
    auto = v.migrate_on_start if migrate is None else migrate
    if v.is_postgres:
        from redact_gw.vault.postgres import PostgresStore
        return PostgresStore(v.url, min_size=v.pool_min_size, max_size=v.pool_max_size,
                             statement_timeout_s=v.statement_timeout_s,
                             connect_timeout_s=v.connect_timeout_s, migrate=auto)
    from redact_gw.vault.sqlite import SqliteStore
    return SqliteStore(settings.resolve(v.url), secure_delete=v.secure_delete, migrate=auto)


async def _keys_ctx(app: web.Application) -> AsyncIterator[None]:
    s = app[appkeys.SETTINGS]
    app[appkeys.KEYS] = KeyringSource(s.resolve(s.keys.path), s.keys.reload_interval_s)
    reloads = app[appkeys.METRICS].principals_reloads
    app[appkeys.PRINCIPALS] = PrincipalDirectory(
        s.resolve(s.auth.principals_file), clock=app[appkeys.CLOCK],
        on_reload=lambda outcome: reloads.labels(outcome).inc())
    yield


def _file_watch_ctx(app: web.Application) -> AsyncIterator[None]:
    """Owns the task that re-reads the key and principals files when they change
    (in worker threads): rotations and new API keys apply without a restart."""
    keys, principals = app[appkeys.KEYS], app[appkeys.PRINCIPALS]

    async def work() -> None:
        if await keys.refresh():
            log.info("key file reloaded; primary %s", keys.current().primary_kid)
        await principals.refresh()
    return periodic_ctx("file-watch", lambda: keys.interval_s, work)(app)


async def _vault_ctx(app: web.Application) -> AsyncIterator[None]:
    store = open_store(app[appkeys.SETTINGS])
    await store.open()
    app[appkeys.STORE] = store
    settings, clock = app[appkeys.SETTINGS], app[appkeys.CLOCK]
    app[appkeys.VAULT] = Vault(store, app[appkeys.KEYS], clock=clock,
                               expiry=RetentionPolicy(settings.retention).expiry)
    mirror = settings.audit.mirror_jsonl
    app[appkeys.AUDIT] = AuditLog(store, clock, settings.resolve(mirror) if mirror else None,
                                  app[appkeys.KEYS])
    app[appkeys.OPTOUTS] = OptOutRegistry(store, app[appkeys.AUDIT], clock)
    try:
        yield
    finally:
        await store.close()
        log.info("vault closed", extra={"event": "vault_closed"})


def _redactor(app: web.Application, detection: DetectionService) -> Redactor:
    settings = app[appkeys.SETTINGS]
    return Redactor(detection, app[appkeys.VAULT], settings.detection.timeout_s,
                    optouts=app[appkeys.OPTOUTS], audit=app[appkeys.AUDIT],
                    require_subject=settings.optout.require_subject_id,
                    redact_allowed_for_no_ai=settings.optout.redact_allowed_for_no_ai,
                    observe=app[appkeys.METRICS].detection_seconds.observe,
                    adjust=app[review_api.LISTS].apply,
                    scope=app[rollout_api.OVERRIDES].for_tenant,
                    share=ShareGroups(settings.access.share_groups))


def _detection_ctx(factory: DetectorFactory | None,  # type: ignore[no-untyped-def]
                   worker_factory: str | None = None):
    """Detection in worker processes (default), or in a thread when a detector factory
    is given (tests) or ``detection.in_process`` is set.

    The pool's workers warm up in the background: the gateway listens at once,
    ``/healthz`` answers, ``/readyz`` says 503 until a worker is warm, and redaction
    answers 503 ``detection_overloaded`` with ``Retry-After`` meanwhile.
    """
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        s = app[appkeys.SETTINGS].detection
        if factory is None and not s.in_process:
            if worker_factory is None:  # a clear ConfigError, before any worker starts
                require_model(s.spacy_model)
            pool = DetectionPool(s, metrics=app[appkeys.METRICS], factory=worker_factory,
                                 log_format=app[appkeys.SETTINGS].server.log_format)
            await pool.start()
            warm = asyncio.create_task(_warm(pool), name="detection-warm-up")
            app[appkeys.DETECTION] = pool
            app[appkeys.REDACTOR] = _redactor(app, pool)
            try:
                yield
            finally:
                warm.cancel()
                await pool.close()
            return
        # copies each caller's context: a detector's log lines name the request
        executor = ContextThreadPoolExecutor(max_workers=1, thread_name_prefix="detect")
        try:
            loop = asyncio.get_running_loop()
            if factory is None:
                from redact_gw.detection import build_detector
                detector = await loop.run_in_executor(executor, build_detector, s)
            else:
                detector = factory()
            await loop.run_in_executor(executor, detector.warm_up)
            inline = InlineDetection(detector, executor)
            app[appkeys.DETECTION] = inline
            app[appkeys.REDACTOR] = _redactor(app, inline)
            yield
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
    return ctx


async def _warm(pool: DetectionPool) -> None:
    started = time.perf_counter()
    if await pool.wait_warm():
        log.info("detection ready: %d workers warm in %.1fs", pool.size,
                 time.perf_counter() - started)
    else:
        log.error("detection workers did not all warm up; see the worker errors above")


def _scheduled_purge_ctx(app: web.Application) -> AsyncIterator[None]:
    s = app[appkeys.SETTINGS]
    purge = s.retention.purge
    assert purge.schedule is not None

    async def run_once() -> PurgeReport:
        return await run_purge(app[appkeys.STORE], app[appkeys.AUDIT], app[appkeys.CLOCK],
                               batch_size=purge.batch_size, lock_ttl_s=purge.lock_ttl_s,
                               pause_s=purge.pause_s, tombstone_ttl_s=s.retention.tombstones,
                               metrics=app[appkeys.METRICS])
    return purge_task_ctx(run_once, purge.schedule, app[appkeys.CLOCK])(app)


def create_app(settings: Settings, *, detector_factory: DetectorFactory | None = None,
               clock: Clock = time.time,
               worker_factory: str | None = None) -> web.Application:
    """Build the gateway application.

    Args:
        settings: Parsed configuration.
        detector_factory: Builds a detector run in a thread of this process (tests
            share one); default: the configured Presidio detector in worker processes
            (or in a thread with ``detection.in_process``).
        clock: Wall clock, injected so retention and audit can be tested.
        worker_factory: ``module:callable`` building the detector inside each worker
            process instead of the Presidio one (tests, benchmarks).
    """
    app = web.Application(middlewares=[request_id_middleware, error_middleware,
                                       auth_middleware, admission_middleware],
                          client_max_size=settings.server.max_body_bytes)
    app[ADMISSION] = Admission(settings.admission)
    app.on_response_prepare.append(request_id_header)
    app[appkeys.SETTINGS] = settings
    app[appkeys.CLOCK] = clock
    app[appkeys.METRICS] = Metrics()
    app[review_api.LISTS] = LiveLists()
    app[rollout_api.OVERRIDES] = LiveOverrides(app[appkeys.METRICS].registry)
    app.cleanup_ctx.append(_keys_ctx)
    app.cleanup_ctx.append(_file_watch_ctx)
    app.cleanup_ctx.append(_vault_ctx)
    app.cleanup_ctx.append(_detection_ctx(detector_factory, worker_factory))
    app[appkeys.ROLES] = RolePolicy(settings.access)
    app[appkeys.RISK] = RiskPolicy(settings.risk)
    if settings.retention.purge.schedule:
        app.cleanup_ctx.append(_scheduled_purge_ctx)
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/readyz", handlers.readyz)
    app.router.add_get("/metrics", handlers.metrics)
    app.router.add_get("/openapi.json", spec.openapi)
    app.router.add_post("/v1/redact", handlers.redact)
    governance.add_routes(app)
    review_api.add_routes(app)
    rollout_api.add_routes(app)
    console.add_routes(app)
    live.add_routes(app)
    app.cleanup_ctx.append(upstream.session_ctx)
    dialects.add_routes(app)
    routes.add_routes(app, settings.routes)
    return app
