"""Governance: ``purge``, ``opt-out``, ``legal-hold`` and ``audit``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from redact_gw.errors import ConfigError, RedactGwError
from redact_gw.settings import Settings

from .common import Progress, _audit_log, _operator, _settings, _write, command, group, open_vault


async def _purge(settings: Settings, args: argparse.Namespace) -> int:
    from redact_gw.jobs.purge import run_purge
    progress = Progress("purging", enabled=not args.dry_run)
    async with open_vault(settings) as vault:
        report = await run_purge(
            vault.store, _audit_log(settings, vault.store), time.time, tenant=args.tenant,
            batch_size=args.batch_size or settings.retention.purge.batch_size,
            dry_run=args.dry_run, use_lock=True, lock_ttl_s=settings.retention.purge.lock_ttl_s,
            pause_s=settings.retention.purge.pause_s,
            tombstone_ttl_s=settings.retention.tombstones,
            progress=progress if progress.shown else None, as_of=args.as_of)
    progress.close()
    print(json.dumps(report.to_dict()))
    return 3 if report.skipped else 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete expired values and shred emptied records; JSON summary on stdout."""
    return asyncio.run(_purge(_settings(args), args))


async def _optout(settings: Settings, args: argparse.Namespace) -> int:
    from redact_gw.policy.optout import OptOutRegistry, check_subject_id, optout_dict
    operator = _operator(args.tenant)
    async with open_vault(settings) as vault:
        reg = OptOutRegistry(vault.store, _audit_log(settings, vault.store), time.time)
        if args.optout_command == "import":
            return await _optout_import(reg, operator, args.file)
        subject = check_subject_id(args.subject)
        if args.optout_command == "get":
            row = await reg.get(args.tenant, subject)
            print(json.dumps(optout_dict(row) if row else None))
            return 0 if row else 1
        if args.optout_command == "clear":
            await reg.clear(operator, subject)
            print(json.dumps({"subject_id": subject, "cleared": True}))
            return 0
        row, receipt = await reg.set(operator, subject, no_ai_processing=args.no_ai,
                                     no_retention=args.no_retention, reason=args.reason)
        out = optout_dict(row)
        if receipt:
            out["shredded"] = receipt.to_dict()
        print(json.dumps(out))
        return 0


def _csv_flag(value: str | None, line: int, name: str) -> bool:
    text = (value or "").strip().lower()
    if text in ("1", "true", "yes", "y"):
        return True
    if text in ("", "0", "false", "no", "n"):
        return False
    raise ConfigError(f"line {line}: {name} must be true or false")


async def _optout_import(reg: Any, operator: Any, path: str) -> int:
    """CSV with header subject_id,no_ai_processing,no_retention[,reason]."""
    import csv
    import io

    from redact_gw.policy.optout import check_subject_id
    raw = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(raw))
    if not reader.fieldnames or "subject_id" not in reader.fieldnames:
        raise ConfigError("CSV needs a header with subject_id, no_ai_processing, no_retention")
    rows = []
    for n, rec in enumerate(reader, start=2):
        try:
            subject = check_subject_id(rec.get("subject_id"))
        except RedactGwError:
            raise ConfigError(f"line {n}: subject_id is not a valid id") from None
        rows.append((subject, _csv_flag(rec.get("no_ai_processing"), n, "no_ai_processing"),
                     _csv_flag(rec.get("no_retention"), n, "no_retention"),
                     (rec.get("reason") or None)))
    shredded = 0
    for subject, no_ai, no_ret, reason in rows:
        _row, receipt = await reg.set(operator, subject, no_ai_processing=no_ai,
                                      no_retention=no_ret, reason=reason)
        shredded += receipt.records if receipt else 0
    print(json.dumps({"imported": len(rows), "records_shredded": shredded}))
    return 0


def cmd_optout(args: argparse.Namespace) -> int:
    """Manage subject opt-outs."""
    return asyncio.run(_optout(_settings(args), args))


async def _legal_hold(settings: Settings, args: argparse.Namespace) -> int:
    hold = args.hold_command == "set"
    async with open_vault(settings) as vault:
        if not await vault.store.set_legal_hold(args.tenant, args.record, hold):
            raise ConfigError("unknown record")
        await _audit_log(settings, vault.store).record(
            "legal_hold.set" if hold else "legal_hold.clear",
            principal=_operator(args.tenant), record_id=args.record)
    print(json.dumps({"record_id": args.record, "legal_hold": hold}))
    return 0


def cmd_legal_hold(args: argparse.Namespace) -> int:
    """Set or lift a legal hold on a record."""
    return asyncio.run(_legal_hold(_settings(args), args))


async def _audit(settings: Settings, args: argparse.Namespace) -> int:
    from redact_gw.audit import verify
    from redact_gw.vault.base import AuditQuery
    async with open_vault(settings) as vault:
        if args.audit_command == "verify":
            mirror = settings.audit.mirror_jsonl
            result = await verify(vault.store, settings.resolve(mirror) if mirror else None,
                                  keys=vault.keys.current())
            print(json.dumps(result.to_dict()))
            return 0 if result.ok else 1
        rows = await vault.store.audit_events(AuditQuery(
            tenant=args.tenant, action=args.action, record_id=args.record,
            after_seq=args.after_seq, limit=args.limit))
        for r in rows:
            _write(sys.stdout, {"seq": r.seq, "hash": r.hash, **json.loads(r.payload)})
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Verify or list the audit chain."""
    return asyncio.run(_audit(_settings(args), args))


def _as_of(value: str) -> float:
    """``--as-of``: an ISO date or date-time (UTC unless it names an offset)."""
    from datetime import UTC, datetime
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2027-01-01") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def add_parsers(sub: Any) -> None:
    """``purge``, ``opt-out``, ``legal-hold``, ``audit``."""
    s = command(sub, "purge", "delete expired values, shred emptied records",
                "Delete values whose retention expired and shred records left empty (their"
                " data key is destroyed). Prints a JSON summary; exit 3 when another purge"
                " holds the lock.")
    s.add_argument("--dry-run", action="store_true", help="count what would go; change nothing")
    s.add_argument("--tenant", help="only this tenant (default: every tenant)")
    s.add_argument("--batch-size", type=int,
                   help="values per batch (default: retention.purge.batch_size)")
    s.add_argument("--as-of", type=_as_of, metavar="DATE",
                   help="purge what will have expired by DATE (UTC, e.g. 2027-01-01;"
                        " default: now)")
    s.set_defaults(fn=cmd_purge)
    opt = group(sub, "opt-out", "read and change subject opt-outs", "optout_command")
    s = command(opt, "set", "set a subject's opt-out flags (no_retention shreds its data)")
    s.add_argument("subject", help="opaque subject id (a customer id, not an email)")
    s.add_argument("--no-ai", action="store_true", help="no automated (AI) processing")
    s.add_argument("--no-retention", action="store_true", help="keep nothing reversible")
    s.add_argument("--reason", help="short reason kept with the opt-out (no personal data)")
    for name, text in (("get", "print a subject's opt-out as JSON (exit 1 if none)"),
                       ("clear", "remove a subject's opt-out")):
        command(opt, name, text).add_argument(
            "subject", help="opaque subject id (a customer id, not an email)")
    s = command(opt, "import", "set opt-outs from a CSV file",
                "Set opt-outs from a CSV file with the header"
                " subject_id,no_ai_processing,no_retention[,reason].")
    s.add_argument("file", help="CSV file; - for stdin")
    for p in opt.choices.values():
        p.add_argument("--tenant", required=True, help="tenant of the subjects")
        p.set_defaults(fn=cmd_optout)
    hold = group(sub, "legal-hold", "set or lift legal holds on records", "hold_command")
    for name, text in (("set", "keep a record's values past their retention (purge and erasure"
                               " skip it)"),
                       ("clear", "lift a record's legal hold")):
        s = command(hold, name, text)
        s.add_argument("--tenant", required=True, help="tenant that owns the record")
        s.add_argument("--record", required=True, help="record id")
        s.set_defaults(fn=cmd_legal_hold)
    aud = group(sub, "audit", "verify or list the audit trail", "audit_command")
    command(aud, "verify", "check the audit hash chain (and its JSONL mirror)").set_defaults(
        fn=cmd_audit)
    s = command(aud, "list", "print audit events as JSON lines")
    s.add_argument("--tenant", help="only this tenant's events")
    s.add_argument("--action", help="only this action (reveal, redact, key.rotate...)")
    s.add_argument("--record", help="only events about this record id")
    s.add_argument("--after-seq", type=int, default=0,
                   help="only events after this sequence number")
    s.add_argument("--limit", type=int, default=1000, help="at most this many events")
    s.set_defaults(fn=cmd_audit)
