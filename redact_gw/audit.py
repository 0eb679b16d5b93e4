"""Append-only, hash-chained audit log.

Every reveal (granted or denied), redaction summary, opt-out decision, purge and key
rotation appends an event: time, principal, roles, tenant, action, record, purpose,
outcome, entity types and counts. Never a value, never a token-to-value pair: the
event is built from typed fields only, so there is no place a value could go.

Events live in the vault database (``audit_events``) and are optionally mirrored as
JSONL. ``verify`` walks the chain and names the first bad sequence number; with the
mirror it also catches events deleted from the end of the chain.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redact_gw.audit_chain import GENESIS, canonical, chain_hash
from redact_gw.model import Clock, Principal
from redact_gw.vault.base import AuditQuery, AuditRow, VaultStore

log = logging.getLogger(__name__)

ACTIONS = frozenset({
    "redact", "proxy", "reveal", "optout.set", "optout.clear", "optout.refused",
    "erasure", "purge", "legal_hold.set", "legal_hold.clear", "key.rotate", "records.read",
    "review.flagged", "review.verdict", "review.list_change", "key.create", "key.revoke",
})


def _counts(value: Mapping[str, int] | None) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted((value or {}).items())}


class AuditLog:
    """Writes audit events through a store, mirroring them to JSONL when configured."""

    def __init__(self, store: VaultStore, clock: Clock, mirror: Path | None = None) -> None:
        self.store = store
        self.clock = clock
        self.mirror = mirror
        self._mirror_lock = asyncio.Lock()

    async def record(self, action: str, *, principal: Principal | None = None,
                     tenant: str | None = None, record_id: str | None = None,
                     subject_id: str | None = None, purpose: str | None = None,
                     outcome: str = "ok", counts: Mapping[str, int] | None = None,
                     extra_counts: Mapping[str, Mapping[str, int]] | None = None,
                     reason: str | None = None) -> AuditRow:
        """Append one event.

        Args:
            action: One of ``ACTIONS``.
            principal: Who acted (``None`` for the system, e.g. a scheduled purge).
            tenant: Tenant concerned (defaults to the principal's).
            record_id: Record concerned.
            subject_id: Opaque customer id concerned (opt-outs, erasure).
            purpose: Stated purpose of a reveal.
            outcome: ``ok``, ``granted``, ``denied``, ``refused``, ``quota_exceeded``...
            counts: Entity type -> number of values concerned.
            extra_counts: Further named count maps (revealed/masked/withheld...).
            reason: A machine code explaining the outcome (never free text from input).
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        ts = self.clock()
        tenant = tenant if tenant is not None else (principal.tenant if principal else None)
        payload: dict[str, Any] = {
            "ts": ts, "action": action, "tenant": tenant, "outcome": outcome,
            "principal": principal.name if principal else None,
            "roles": sorted(principal.roles) if principal else [],
            "record_id": record_id, "subject_id": subject_id, "purpose": purpose,
            "reason": reason, "counts": _counts(counts),
        }
        for name, value in (extra_counts or {}).items():
            payload[name] = _counts(value)
        row = await self.store.append_audit(ts, tenant, payload["principal"], action,
                                            record_id, canonical(payload))
        if self.mirror is not None:
            await self._append_mirror(row)
        return row

    async def _append_mirror(self, row: AuditRow) -> None:
        line = json.dumps({"seq": row.seq, "prev_hash": row.prev_hash, "hash": row.hash,
                           "event": json.loads(row.payload)}, sort_keys=True) + "\n"
        path = self.mirror
        assert path is not None
        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line)
        async with self._mirror_lock:
            try:
                await asyncio.get_running_loop().run_in_executor(None, write)
            except OSError as exc:
                log.error("audit mirror write failed: %s", exc.strerror)


@dataclass(frozen=True, slots=True)
class Verification:
    """Result of walking the chain."""

    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the CLI."""
        return {"ok": self.ok, "events": self.events, "first_bad_seq": self.first_bad_seq,
                "problem": self.problem}


_COLUMNS = ("ts", "tenant", "principal", "action", "record_id")


def _check_row(row: AuditRow, expected_seq: int, prev_hash: str) -> str | None:
    if row.seq != expected_seq:
        return "sequence gap or insertion" if row.seq > expected_seq else "duplicate sequence"
    if row.prev_hash != prev_hash:
        return "previous-hash mismatch (deleted, inserted or reordered event)"
    if row.hash != chain_hash(row.prev_hash, row.seq, row.payload):
        return "hash mismatch (edited event)"
    try:
        payload = json.loads(row.payload)
    except ValueError:
        return "payload is not JSON"
    if any(payload.get(c) != getattr(row, c) for c in _COLUMNS):
        return "indexed columns differ from the hashed payload (edited event)"
    return None


async def verify(store: VaultStore, mirror: Path | None = None,
                 page: int = 1000) -> Verification:
    """Walk the whole chain; name the first bad sequence number."""
    expected, prev, count = 1, GENESIS, 0
    after = 0
    while True:
        rows = await store.audit_events(AuditQuery(after_seq=after, limit=page))
        if not rows:
            break
        for row in rows:
            problem = _check_row(row, expected, prev)
            if problem:
                return Verification(False, count, expected if row.seq > expected else row.seq,
                                    problem)
            expected, prev, count = row.seq + 1, row.hash, count + 1
        after = rows[-1].seq
    if mirror is not None and mirror.exists():
        return _verify_against_mirror(mirror, count, prev)
    return Verification(True, count)


def _verify_against_mirror(mirror: Path, count: int, head: str) -> Verification:
    lines = [ln for ln in mirror.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if len(lines) > count:
        return Verification(False, count, count + 1,
                            "events in the JSONL mirror are missing from the database")
    if lines and json.loads(lines[-1])["hash"] != head and len(lines) == count:
        return Verification(False, count, count, "chain head differs from the JSONL mirror")
    return Verification(True, count)
