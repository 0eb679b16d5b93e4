"""Append-only, hash-chained audit log.

Every reveal (granted or denied), redaction summary, opt-out decision, purge and key
rotation appends an event: time, principal, roles, tenant, action, record, purpose,
outcome, entity types and counts. Never a value, never a token-to-value pair: the
event is built from typed fields only, so there is no place a value could go.

Events live in the vault database (``audit_events``) and are optionally mirrored as
JSONL. The chain is keyed by the key file (``audit_chain``): a database writer without
it cannot rewrite the chain so that it verifies. ``verify`` walks the chain and names
the first bad sequence number; with the mirror it also compares every mirrored
sequence number and hash with the database row, and catches events cut off the end.
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

import orjson

from redact_gw.audit_chain import (
    GENESIS,
    KeyLookup,
    canonical,
    check_hash,
    current_key,
    is_keyed,
    lookup_in,
)
from redact_gw.crypto.keyring import Keyring, KeyringSource
from redact_gw.model import Clock, Principal
from redact_gw.vault.base import AuditAppend, AuditQuery, AuditRow, VaultStore

log = logging.getLogger(__name__)

ACTIONS = frozenset({
    "redact", "proxy", "reveal", "optout.set", "optout.clear", "optout.refused",
    "erasure", "purge", "legal_hold.set", "legal_hold.clear", "key.rotate", "records.read",
    "review.flagged", "review.verdict", "review.list_change", "review.preview", "key.create",
    "key.revoke", "review.rollout",
})


def _canonical_event(payload: dict[str, Any]) -> str:
    """``canonical(payload)`` for the payloads ``AuditLog.prepare`` builds, with orjson
    when that gives the very same text (about ten times faster on every request).

    orjson writes the same compact, key-sorted JSON except: non-ASCII text raw (json
    escapes it), DEL raw (json writes ``\\u007f``) and floats in exponent form
    (``1e-8`` against ``1e-08``). So its text is kept only when it is pure ASCII with
    no escape at all (no backslash, no DEL: every string was plain printable ASCII)
    and each float reads as Python writes it; only top-level values can be floats
    here (``ts``: counts are ``int``, roles ``str``). Anything else, or a type orjson
    refuses (an integer past 64 bits), goes to ``canonical``."""
    try:
        out = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return canonical(payload)
    if (out.isascii() and b"\\" not in out and b"\x7f" not in out
            and all(not isinstance(v, float) or orjson.dumps(v) == float.__repr__(v).encode()
                    for v in payload.values())):
        return out.decode("ascii")
    return canonical(payload)


def _counts(value: Mapping[str, int] | None) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted((value or {}).items())}


class AuditLog:
    """Writes audit events through a store, mirroring them to JSONL when configured."""

    def __init__(self, store: VaultStore, clock: Clock, mirror: Path | None = None,
                 keys: KeyringSource | None = None) -> None:
        self.store = store
        self.clock = clock
        self.mirror = mirror
        #: Keys the chain is keyed with; ``None`` only in tests of legacy chains.
        self.keys = keys
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
        return await self.complete(self.prepare(
            action, principal=principal, tenant=tenant, record_id=record_id,
            subject_id=subject_id, purpose=purpose, outcome=outcome, counts=counts,
            extra_counts=extra_counts, reason=reason))

    def prepare(self, action: str, *, principal: Principal | None = None,
                tenant: str | None = None, record_id: str | None = None,
                subject_id: str | None = None, purpose: str | None = None,
                outcome: str = "ok", counts: Mapping[str, int] | None = None,
                extra_counts: Mapping[str, Mapping[str, int]] | None = None,
                reason: str | None = None) -> AuditAppend:
        """The event ``record`` appends (same arguments), not yet written: a vault
        write can carry it in its own transaction, then ``complete`` finishes it."""
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
        key = current_key(self.keys.current()) if self.keys is not None else None
        return AuditAppend(ts, tenant, payload["principal"], action, record_id,
                           _canonical_event(payload), key)

    async def complete(self, event: AuditAppend) -> AuditRow:
        """Append ``event`` unless a vault write already carried it; mirror it."""
        row = event.row
        if row is None:
            row = await self.store.append_audit(event.ts, event.tenant, event.principal,
                                                event.action, event.record_id,
                                                event.payload, event.key)
            event.row = row
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


def _check_row(row: AuditRow, expected_seq: int, prev_hash: str,
               lookup: KeyLookup | None) -> str | None:
    if row.seq != expected_seq:
        return "sequence gap or insertion" if row.seq > expected_seq else "duplicate sequence"
    if row.prev_hash != prev_hash:
        return "previous-hash mismatch (deleted, inserted or reordered event)"
    if is_keyed(prev_hash) and not is_keyed(row.hash):
        return "unkeyed event after keyed ones (chain rewritten without the key file)"
    problem = check_hash(row.hash, row.prev_hash, row.seq, row.payload, lookup)
    if problem:
        return problem
    try:
        payload = json.loads(row.payload)
    except ValueError:
        return "payload is not JSON"
    if any(payload.get(c) != getattr(row, c) for c in _COLUMNS):
        return "indexed columns differ from the hashed payload (edited event)"
    return None


async def verify(store: VaultStore, mirror: Path | None = None, page: int = 1000,
                 keys: Keyring | None = None) -> Verification:
    """Walk the whole chain; name the first bad sequence number.

    Args:
        store: The vault store holding the chain.
        mirror: The JSONL mirror: every line's seq and hash must match the database.
        page: Events read per query.
        keys: The key file's keyring. With it, keyed events are checked and the chain's
            last event must be keyed (a chain rewritten in plain SHA-256 fails);
            without it, only a legacy unkeyed chain can verify.
    """
    lookup = lookup_in(keys) if keys is not None else None
    expected, prev, count = 1, GENESIS, 0
    hashes: dict[int, str] = {}
    after = 0
    while True:
        rows = await store.audit_events(AuditQuery(after_seq=after, limit=page))
        if not rows:
            break
        for row in rows:
            problem = _check_row(row, expected, prev, lookup)
            if problem:
                return Verification(False, count, expected if row.seq > expected else row.seq,
                                    problem)
            expected, prev, count = row.seq + 1, row.hash, count + 1
            if mirror is not None:
                hashes[row.seq] = row.hash
        after = rows[-1].seq
    if keys is not None and count and not is_keyed(prev):
        return Verification(False, count, count, "the last event is not keyed: the chain was"
                            " rewritten without the key file, or nothing was written since"
                            " keying began")
    if mirror is not None and mirror.exists():
        return _verify_against_mirror(mirror, count, hashes)
    return Verification(True, count)


def _verify_against_mirror(mirror: Path, count: int, hashes: dict[int, str]) -> Verification:
    for n, line in enumerate(mirror.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            seq, hash_value = int(doc["seq"]), str(doc["hash"])
        except (ValueError, KeyError, TypeError):
            return Verification(False, count, None, f"JSONL mirror line {n} is unreadable")
        if seq not in hashes:
            return Verification(False, count, seq,
                                "an event in the JSONL mirror is missing from the database")
        if hashes[seq] != hash_value:
            return Verification(False, count, seq, "the database event differs from the"
                                " JSONL mirror (rewritten event)")
    return Verification(True, count)
