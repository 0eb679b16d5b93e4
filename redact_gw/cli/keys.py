"""``keys generate``, ``keys rotate`` and ``keys rewrap``: the key file and re-wrapping."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from redact_gw.crypto import keyring
from redact_gw.settings import Settings

from .common import Progress, _audit_log, _operator, _settings, command, group, open_vault


def cmd_keys_generate(args: argparse.Namespace) -> int:
    """Write a new key file (mode 0600); refuses to overwrite."""
    ring = keyring.generate_key_file(Path(args.path))
    print(f"wrote {args.path} with primary key {ring.primary_kid} (mode 0600)")
    return 0


async def _rewrap(settings: Settings, batch_size: int, primary: str | None) -> dict[str, Any]:
    """Re-wrap every data key under the key file's primary, in batches.

    A record whose data key does not open is skipped (listed under ``failed``); the
    others are re-wrapped and the command exits non-zero.
    """
    from redact_gw.vault.service import RewrapReport
    started = time.monotonic()
    report = RewrapReport()
    async with open_vault(settings) as vault:
        vault.keys.reload_if_changed()
        primary = primary or vault.keys.current().primary_kid
        todo = sum(n for kid, n in (await vault.store.count_records_by_kek()).items()
                   if kid != primary)
        progress = Progress("re-wrapping")
        while True:
            n = await vault.rewrap_batch(batch_size, report)
            progress(report.rewrapped, max(todo, report.rewrapped))
            if n == 0:  # a pass is over; records that failed to open are skipped
                remaining = await vault.store.count_records_by_kek()
                if sum(c for k, c in remaining.items() if k != primary) <= len(report.failed):
                    break
                # a serving gateway may still wrap new records under the old key until
                # it re-reads the key file (keys.reload_interval_s)
                await asyncio.sleep(settings.keys.reload_interval_s / 2)
        progress.close()
        summary = {"primary": primary, **report.to_dict(),
                   "seconds": round(time.monotonic() - started, 3)}
        await _audit_log(settings, vault.store).record(
            "key.rotate", principal=_operator("*"),
            outcome="partial" if report.failed else "ok",
            reason="rewrap_failed" if report.failed else "rewrapped",
            extra_counts={"records": {"rewrapped": report.rewrapped,
                                      "failed": len(report.failed)}})
    return summary


def _print_rewrap(summary: dict[str, Any]) -> int:
    """Print the summary; non-zero when a record could not be re-wrapped."""
    print(json.dumps(summary))
    if summary["failed"]:
        print(f"{len(summary['failed'])} record(s) could not be opened and stay under their"
              " old key (ids above); the others were re-wrapped", file=sys.stderr)
        return 1
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Add a new primary key; unless --no-rewrap, re-wrap every data key under it."""
    settings = _settings(args)
    ring = keyring.add_primary(settings.resolve(settings.keys.path))
    if args.no_rewrap:
        print(json.dumps({"primary": ring.primary_kid, "rewrapped": 0,
                          "next": "distribute the key file to every replica, then run"
                                  " `redact-gw keys rewrap`"}))
        return 0
    return _print_rewrap(asyncio.run(_rewrap(settings, args.batch_size, ring.primary_kid)))


def cmd_keys_rewrap(args: argparse.Namespace) -> int:
    """Re-wrap every data key under the key file's current primary."""
    return _print_rewrap(asyncio.run(_rewrap(_settings(args), args.batch_size, None)))


def add_parsers(sub: Any) -> None:
    """``keys generate|rotate|rewrap``."""
    keys = group(sub, "keys", "manage the key file (key-encryption keys)", "keys_command")
    s = command(keys, "generate", "write a new key file (mode 0600; never overwrites)")
    s.add_argument("path", help="where to write the key file")
    s.set_defaults(fn=cmd_keys_generate)
    s = command(keys, "rotate", "add a new primary key; re-wrap all data keys under it",
                "Add a new primary key to the key file, retire the old one and re-wrap"
                " every record's data key under the new one, in batches (progress on a"
                " terminal). A serving gateway keeps serving throughout.")
    s.add_argument("--batch-size", type=int, default=500, help="records per batch")
    s.add_argument("--no-rewrap", action="store_true",
                   help="only add the new primary (mounted secrets: run 'keys rewrap' once"
                        " every replica has the new file)")
    s.set_defaults(fn=cmd_keys_rotate)
    s = command(keys, "rewrap", "re-wrap all data keys under the current primary")
    s.add_argument("--batch-size", type=int, default=500, help="records per batch")
    s.set_defaults(fn=cmd_keys_rewrap)
