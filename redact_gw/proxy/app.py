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
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from redact_gw.audit import AuditLog
from redact_gw.crypto.keyring import KeyringSource
from redact_gw.detection import Detector
from redact_gw.engine import Redactor
from redact_gw.jobs.purge import PurgeReport, purge_task_ctx, run_purge
from redact_gw.metrics import Metrics
from redact_gw.model import Clock
from redact_gw.policy.optout import OptOutRegistry
from redact_gw.policy.principals import PrincipalDirectory
from redact_gw.policy.retention import RetentionPolicy
from redact_gw.policy.risk import RiskPolicy
from redact_gw.policy.roles import RolePolicy
from redact_gw.proxy import appkeys, governance, handlers, openai, routes, upstream
from redact_gw.proxy.middlewares import auth_middleware, error_middleware
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
    app[appkeys.PRINCIPALS] = PrincipalDirectory(s.resolve(s.auth.principals_file))
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
    app[appkeys.AUDIT] = AuditLog(store, clock, settings.resolve(mirror) if mirror else None)
    app[appkeys.OPTOUTS] = OptOutRegistry(store, app[appkeys.AUDIT], clock)
    try:
        yield
    finally:
        await store.close()


def _detection_ctx(factory: DetectorFactory | None):  # type: ignore[no-untyped-def]
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        s = app[appkeys.SETTINGS].detection
        executor = ThreadPoolExecutor(max_workers=s.workers, thread_name_prefix="detect")
        app[appkeys.DETECTION_EXECUTOR] = executor
        try:
            loop = asyncio.get_running_loop()
            if factory is None:
                from redact_gw.detection import build_detector
                detector = await loop.run_in_executor(executor, build_detector, s)
            else:
                detector = factory()
            await loop.run_in_executor(executor, detector.warm_up)
            app[appkeys.DETECTOR] = detector
            optout = app[appkeys.SETTINGS].optout
            app[appkeys.REDACTOR] = Redactor(
                detector, app[appkeys.VAULT], executor, s.timeout_s,
                optouts=app[appkeys.OPTOUTS], audit=app[appkeys.AUDIT],
                require_subject=optout.require_subject_id,
                redact_allowed_for_no_ai=optout.redact_allowed_for_no_ai)
            yield
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
    return ctx


def _scheduled_purge_ctx(app: web.Application) -> AsyncIterator[None]:
    s = app[appkeys.SETTINGS]
    purge = s.retention.purge
    assert purge.schedule is not None

    async def run_once() -> PurgeReport:
        return await run_purge(app[appkeys.STORE], app[appkeys.AUDIT], app[appkeys.CLOCK],
                               batch_size=purge.batch_size, lock_ttl_s=purge.lock_ttl_s,
                               pause_s=purge.pause_s, tombstone_ttl_s=s.retention.tombstones)
    return purge_task_ctx(run_once, purge.schedule, app[appkeys.CLOCK])(app)


def create_app(settings: Settings, *, detector_factory: DetectorFactory | None = None,
               clock: Clock = time.time) -> web.Application:
    """Build the gateway application.

    Args:
        settings: Parsed configuration.
        detector_factory: Builds the detector (tests share one); default builds the
            configured Presidio detector inside the detection executor.
        clock: Wall clock, injected so retention and audit can be tested.
    """
    app = web.Application(middlewares=[error_middleware, auth_middleware],
                          client_max_size=settings.server.max_body_bytes)
    app[appkeys.SETTINGS] = settings
    app[appkeys.CLOCK] = clock
    app[appkeys.METRICS] = Metrics()
    app.cleanup_ctx.append(_keys_ctx)
    app.cleanup_ctx.append(_file_watch_ctx)
    app.cleanup_ctx.append(_vault_ctx)
    app.cleanup_ctx.append(_detection_ctx(detector_factory))
    app[appkeys.ROLES] = RolePolicy(settings.access)
    app[appkeys.RISK] = RiskPolicy(settings.risk)
    if settings.retention.purge.schedule:
        app.cleanup_ctx.append(_scheduled_purge_ctx)
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/readyz", handlers.readyz)
    app.router.add_get("/metrics", handlers.metrics)
    app.router.add_post("/v1/redact", handlers.redact)
    governance.add_routes(app)
    app.cleanup_ctx.append(upstream.session_ctx)
    openai.add_routes(app)
    routes.add_routes(app, settings.routes)
    return app
