"""Retention purge: delete expired values, then shred data keys nothing needs.

Works in batches (each one short transaction, so the gateway keeps serving), is
idempotent, resumes after being killed (every finished batch is durable), and two
purges at once never double count (each batch counts the rows it actually deleted).
A lease lock keeps scheduled purges of several replicas from running at once. Each
run appends a receipt to the audit log: cutoff, counts by entity type, duration.

Given the app's ``Metrics`` (optional: the CLI runs purges without an app), each run
is counted by outcome (``ok``, ``dry_run``, ``skipped``, ``error``) and timed, with the
values removed by entity type, the records shredded and the tombstones forgotten.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redact_gw.audit import AuditLog
from redact_gw.metrics import Metrics
from redact_gw.model import Clock
from redact_gw.tasks import CleanupCtx, periodic_ctx
from redact_gw.vault.base import Removed, VaultStore

log = logging.getLogger(__name__)
LOCK_NAME = "retention-purge"
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class PurgeReport:
    """What one purge run did (or, dry, would do)."""

    cutoff: float
    dry_run: bool
    tenant: str | None
    values: dict[str, int] = field(default_factory=dict)
    records_shredded: int = 0
    tombstones_removed: int = 0
    batches: int = 0
    seconds: float = 0.0
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON summary for cron logs."""
        return {"cutoff": datetime.fromtimestamp(self.cutoff, UTC).isoformat(),
                "dry_run": self.dry_run, "tenant": self.tenant,
                "values_removed": sum(self.values.values()),
                "values_by_type": dict(sorted(self.values.items())),
                "records_shredded": self.records_shredded,
                "tombstones_removed": self.tombstones_removed, "batches": self.batches,
                "seconds": round(self.seconds, 3), "skipped": self.skipped}


async def run_purge(store: VaultStore, audit: AuditLog, clock: Clock, *,
                    tenant: str | None = None, batch_size: int = 1000, dry_run: bool = False,
                    use_lock: bool = True, lock_ttl_s: float = 120.0, pause_s: float = 0.0,
                    tombstone_ttl_s: float | None = None,
                    progress: Progress | None = None,
                    metrics: Metrics | None = None,
                    as_of: float | None = None) -> PurgeReport:
    """Run one purge to completion (or until no expired value is left).

    ``pause_s`` between batches leaves the vault to live requests: a purge inside a
    serving gateway trades throughput for request latency. Tombstones older than
    ``tombstone_ttl_s`` are forgotten (a reveal of such a token then answers 404, not
    410), so the tombstone table does not grow without bound. ``as_of`` (a Unix time)
    purges as if it were then: what will have expired by that date (leases still use
    ``clock``). ``metrics``, when given, counts the run (see the module docstring); a
    failing run counts as ``error``.
    """
    started = time.monotonic()
    try:
        report = await _purge(store, audit, clock, tenant=tenant, batch_size=batch_size,
                              dry_run=dry_run, use_lock=use_lock, lock_ttl_s=lock_ttl_s,
                              pause_s=pause_s, tombstone_ttl_s=tombstone_ttl_s,
                              progress=progress, as_of=as_of)
    except Exception:
        if metrics is not None:
            metrics.purged("error", time.monotonic() - started)
        raise
    if metrics is not None:
        outcome = "dry_run" if dry_run else "skipped" if report.skipped else "ok"
        metrics.purged(outcome, time.monotonic() - started,
                       None if dry_run else report.values, report.records_shredded,
                       report.tombstones_removed)
    return report


async def _purge(store: VaultStore, audit: AuditLog, clock: Clock, *, tenant: str | None,
                 batch_size: int, dry_run: bool, use_lock: bool, lock_ttl_s: float,
                 pause_s: float, tombstone_ttl_s: float | None,
                 progress: Progress | None, as_of: float | None) -> PurgeReport:
    cutoff = clock() if as_of is None else as_of
    report = PurgeReport(cutoff, dry_run, tenant)
    started = time.monotonic()
    if dry_run:
        report.values = await store.count_expired(cutoff, tenant)
        return report
    holder = f"purge-{secrets.token_hex(6)}"
    if use_lock and not await store.try_lock(LOCK_NAME, holder, clock(), lock_ttl_s):
        report.skipped = "another purge holds the lock"
        return report
    try:
        total_expected = sum((await store.count_expired(cutoff, tenant)).values())
        removed = Removed()
        while True:
            batch = await store.purge_expired_batch(cutoff, tenant, batch_size)
            if batch.total == 0:
                break
            removed.add(batch)
            report.batches += 1
            if progress:
                progress(removed.total, max(total_expected, removed.total))
            if use_lock:
                await store.try_lock(LOCK_NAME, holder, clock(), lock_ttl_s)
            await asyncio.sleep(pause_s)  # let requests in between batches
        # sealed review copies expire with their record's retention too
        while await store.purge_review_expired(cutoff, tenant, batch_size):
            pass
        while (n := await store.shred_emptied_records(cutoff, tenant, batch_size)):
            report.records_shredded += n
        if tombstone_ttl_s is not None:
            while (n := await store.purge_tombstones(cutoff - tombstone_ttl_s, tenant,
                                                     batch_size)):
                report.tombstones_removed += n
        vacuum = getattr(store, "vacuum", None)
        if vacuum is not None:
            await vacuum()
        report.values = removed.values
    finally:
        if use_lock:
            await store.release_lock(LOCK_NAME, holder)
    report.seconds = time.monotonic() - started
    await audit.record("purge", tenant=tenant, counts=report.values, outcome="ok",
                       extra_counts={"records": {"shredded": report.records_shredded,
                                                 "tombstones_removed":
                                                     report.tombstones_removed},
                                     "run": {"cutoff": int(cutoff),
                                             "duration_ms": int(report.seconds * 1000)}})
    return report


def next_delay(schedule: str, now: float) -> float:
    """Seconds until the next run for ``every <duration>`` or a cron expression."""
    if schedule.startswith("every "):
        from redact_gw.settings import parse_duration
        return parse_duration(schedule.removeprefix("every "))
    from croniter import croniter
    nxt = croniter(schedule, datetime.fromtimestamp(now, UTC)).get_next(float)
    return max(0.0, float(nxt) - now)


def purge_task_ctx(run_once: Callable[[], Awaitable[PurgeReport]], schedule: str,
                   clock: Clock) -> CleanupCtx:
    """A cleanup context owning the scheduled purge task: started with the app,
    cancelled and awaited on shutdown."""
    async def work() -> None:
        report = await run_once()
        log.info("scheduled purge: %s", report.to_dict())
    return periodic_ctx("retention-purge", lambda: next_delay(schedule, clock()), work)
