"""``redact-gw``: serve the gateway and run its operator commands.

Every command reads settings through ``load_settings`` (``--config`` or
``$REDACT_GW_CONFIG``), prints gateway errors as ``error: <code>: <message>`` and
exits non-zero, never with a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TextIO

from redact_gw.crypto import keyring
from redact_gw.errors import ConfigError, RedactGwError
from redact_gw.logs import LogFormat, setup_logging
from redact_gw.settings import Settings, load_settings

log = logging.getLogger("redact_gw")


def _setup_logging(fmt: LogFormat = "text", level: str = "INFO") -> None:
    """Logs to stderr: JSON lines (``serve``'s default) or text (operator commands)."""
    setup_logging(fmt, level)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


# -- serve ------------------------------------------------------------------------------
def _init_dev(settings: Settings) -> None:
    """Create dev keys and a demo API key when absent (quickstart only)."""
    from redact_gw.policy.principals import PrincipalDirectory, create_api_key
    key_path = settings.resolve(settings.keys.path)
    if not key_path.exists():
        keyring.generate_key_file(key_path)
        print(f"dev: generated key file {key_path} (mode 0600)", file=sys.stderr)
    principals = settings.resolve(settings.auth.principals_file)
    if not principals.exists() or not PrincipalDirectory(principals).principals():
        for name, roles in (("demo-ai", ["ai-service"]), ("demo-admin", ["admin"])):
            key = create_api_key(principals, name, "demo", roles)
            env = "REDACT_GW_DEMO_KEY" if name == "demo-ai" else "REDACT_GW_ADMIN_KEY"
            print(f"dev: API key for {name} (tenant demo, roles {roles}), shown once:\n"
                  f"  export {env}={key}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the gateway until SIGTERM or SIGINT, then shut down gracefully."""
    from redact_gw.proxy import runner
    from redact_gw.proxy.app import create_app
    settings = _settings(args)
    _setup_logging(args.log_format or settings.server.log_format)
    if args.init_dev:
        _init_dev(settings)
    keyring.load_keyring(settings.resolve(settings.keys.path))  # refuse bad keys up front
    server = settings.server
    runner.run(create_app(settings), server.host, server.port,
               shutdown_timeout_s=server.shutdown_timeout_s, access_log=server.access_log)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the deployment: one line per check; exit 1 when any check fails."""
    from redact_gw import doctor
    logging.disable(logging.CRITICAL)  # the findings are the output, not the stores' logs
    try:
        checks = asyncio.run(doctor.run_checks(args.config, timeout_s=args.timeout))
    finally:
        logging.disable(logging.NOTSET)
    for check in checks:
        print(check.line())
    failed = sum(c.status == "FAIL" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    print(f"doctor: {len(checks)} checks, {failed} failed, {warned} warning(s)")
    return 1 if failed else 0


# -- vault-backed commands ----------------------------------------------------------------
@contextlib.asynccontextmanager
async def open_vault(settings: Settings) -> AsyncIterator[Any]:
    """A ``Vault`` over the configured store, closed on exit."""
    from redact_gw.proxy.app import open_store
    from redact_gw.vault.service import Vault
    keys = keyring.KeyringSource(settings.resolve(settings.keys.path),
                                 settings.keys.reload_interval_s)
    store = open_store(settings)
    await store.open()
    try:
        yield Vault(store, keys)
    finally:
        await store.close()


def _read_docs(source: str) -> Iterator[tuple[bool, Any]]:
    """Yield (is_jsonl, doc): one JSON document, or one per non-empty line."""
    from redact_gw.proxy.bodies import decode_json
    raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    try:
        yield False, decode_json(raw)
        return
    except RedactGwError:
        lines = [ln for ln in raw.splitlines() if ln.strip()]
        if len(lines) < 2:
            raise
    for line in lines:
        yield True, decode_json(line)


def _write(out: TextIO, doc: Any) -> None:
    out.write(json.dumps(doc, ensure_ascii=False) + "\n")


async def _redact(settings: Settings, args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from redact_gw.detection import build_detector
    from redact_gw.detection.inline import InlineDetection
    from redact_gw.engine import Redactor
    from redact_gw.proxy.handlers import new_record_id
    from redact_gw.transcripts import parse_transcript
    docs = list(_read_docs(args.file))
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect") as executor:
        detector = await loop.run_in_executor(executor, build_detector, settings.detection)
        async with open_vault(settings) as vault:
            redactor = Redactor(InlineDetection(detector, executor), vault,
                                settings.detection.timeout_s)
            for _jsonl, doc in docs:
                t = parse_transcript(doc, max_segments=settings.server.max_segments,
                                     max_text_chars=settings.server.max_text_chars)
                record_id = t.record_id or new_record_id()
                red = await redactor.redact(args.tenant, record_id, t.subject_id,
                                            [r.segment for r in t.segments],
                                            [r.location for r in t.segments])
                body = t.with_texts(red.texts)
                body["record_id"] = record_id
                body["entities"] = [e.to_dict() for e in red.entities]
                _write(sys.stdout, body)
    return 0


def cmd_redact(args: argparse.Namespace) -> int:
    """Tokenize transcripts from a file or stdin into the vault."""
    return asyncio.run(_redact(_settings(args), args))


async def _detokenize(settings: Settings, args: argparse.Namespace) -> int:
    from redact_gw.jsonpaths import set_at, walk_strings
    from redact_gw.redaction import restore, tokens_in
    raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("input is not valid UTF-8") from None
    try:
        doc: Any = json.loads(text)
        is_json = True
    except json.JSONDecodeError:
        doc, is_json = text, False
    strings = list(walk_strings(doc))
    async with open_vault(settings) as vault:
        values = await vault.reveal(args.tenant, args.record, tokens_in(t for _, t in strings))
    def fn(s: str) -> str:
        return restore(s, values, lambda _t: "full").text
    if isinstance(doc, str):
        doc = fn(doc)
    else:
        for path, text in strings:
            set_at(doc, path, fn(text))
    if is_json:
        _write(sys.stdout, doc)
    else:
        sys.stdout.write(doc)
    return 0


def cmd_detokenize(args: argparse.Namespace) -> int:
    """Restore a record's tokens in text or JSON (operator holding the key file)."""
    return asyncio.run(_detokenize(_settings(args), args))


async def _migrate(settings: Settings) -> dict[str, Any]:
    from redact_gw.proxy.app import open_store
    store = open_store(settings, migrate=False)
    await store.open()
    try:
        applied = await store.migrate()
    finally:
        await store.close()
    return {"backend": "postgresql" if settings.vault.is_postgres else "sqlite",
            "applied": applied}


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending vault schema migrations; prints the versions applied as JSON."""
    print(json.dumps(asyncio.run(_migrate(_settings(args)))))
    return 0


# -- keys, api keys, config ------------------------------------------------------------
def cmd_keys_generate(args: argparse.Namespace) -> int:
    """Write a new key file (mode 0600); refuses to overwrite."""
    ring = keyring.generate_key_file(Path(args.path))
    print(f"wrote {args.path} with primary key {ring.primary_kid} (mode 0600)")
    return 0


async def _rewrap(settings: Settings, batch_size: int, primary: str | None) -> dict[str, Any]:
    """Re-wrap every data key under the key file's primary, in batches."""
    from redact_gw.vault.service import RewrapReport
    started = time.monotonic()
    report = RewrapReport()
    async with open_vault(settings) as vault:
        vault.keys.reload_if_changed()
        primary = primary or vault.keys.current().primary_kid
        while True:
            n = await vault.rewrap_batch(batch_size, report)
            if n == 0:  # a pass is over; records that failed to open are skipped
                remaining = await vault.store.count_records_by_kek()
                if sum(c for k, c in remaining.items() if k != primary) <= len(report.failed):
                    break
                # a serving gateway may still wrap new records under the old key until
                # it re-reads the key file (keys.reload_interval_s)
                await asyncio.sleep(settings.keys.reload_interval_s / 2)
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


def cmd_apikey_create(args: argparse.Namespace) -> int:
    """Create a principal and print its API key once."""
    from redact_gw.policy.principals import create_api_key
    settings = _settings(args)
    name = args.name or f"{args.tenant}-{'-'.join(args.role) or 'client'}"
    key = create_api_key(settings.resolve(settings.auth.principals_file), name, args.tenant,
                         args.role)
    print(key)
    print(f"created principal {name!r} (tenant {args.tenant}); the key is shown only once",
          file=sys.stderr)
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Parse config, key file and principals; report what would run."""
    from redact_gw.policy.principals import PrincipalDirectory
    settings = _settings(args)
    ring = keyring.load_keyring(settings.resolve(settings.keys.path))
    principals = PrincipalDirectory(settings.resolve(settings.auth.principals_file))
    print(json.dumps({
        "ok": True,
        "vault": "postgresql" if settings.vault.is_postgres else "sqlite",
        "keys": {"primary": ring.primary_kid, "count": len(ring.keys)},
        "principals": len(principals.principals()),
        "spacy_model": settings.detection.spacy_model,
        "upstream": settings.upstream.url,
    }))
    return 0


# -- governance: purge, opt-out, legal hold, audit --------------------------------------------
def _operator(tenant: str) -> Any:
    import getpass

    from redact_gw.model import Principal
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Principal(f"cli:{user}", tenant, frozenset({"operator"}))


def _audit_log(settings: Settings, store: Any) -> Any:
    from redact_gw.audit import AuditLog
    mirror = settings.audit.mirror_jsonl
    return AuditLog(store, time.time, settings.resolve(mirror) if mirror else None,
                    keyring.KeyringSource(settings.resolve(settings.keys.path)))


def _progress_bar(done: int, total: int) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    sys.stderr.write(f"\rpurging [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


async def _purge(settings: Settings, args: argparse.Namespace) -> int:
    from redact_gw.jobs.purge import run_purge
    tty = sys.stderr.isatty() and not args.dry_run
    async with open_vault(settings) as vault:
        report = await run_purge(
            vault.store, _audit_log(settings, vault.store), time.time, tenant=args.tenant,
            batch_size=args.batch_size or settings.retention.purge.batch_size,
            dry_run=args.dry_run, use_lock=True, lock_ttl_s=settings.retention.purge.lock_ttl_s,
            pause_s=settings.retention.purge.pause_s,
            tombstone_ttl_s=settings.retention.tombstones,
            progress=_progress_bar if tty else None, as_of=args.as_of)
    if tty:
        sys.stderr.write("\n")
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


def _add_governance(sub: Any) -> None:
    s = sub.add_parser("purge", help="delete expired values, shred emptied records")
    s.add_argument("--dry-run", action="store_true", help="count only")
    s.add_argument("--tenant")
    s.add_argument("--batch-size", type=int)
    s.add_argument("--as-of", type=_as_of, metavar="DATE",
                   help="purge what will have expired by DATE (UTC, e.g. 2027-01-01);"
                        " default: now")
    s.set_defaults(fn=cmd_purge)
    opt = sub.add_parser("opt-out", help="subject opt-outs").add_subparsers(
        dest="optout_command", required=True)
    s = opt.add_parser("set", help="set flags (no_retention shreds existing data)")
    s.add_argument("subject")
    s.add_argument("--no-ai", action="store_true", help="no automated (AI) processing")
    s.add_argument("--no-retention", action="store_true", help="keep nothing reversible")
    s.add_argument("--reason")
    for name in ("get", "clear"):
        opt.add_parser(name).add_argument("subject")
    s = opt.add_parser("import", help="CSV: subject_id,no_ai_processing,no_retention,reason")
    s.add_argument("file")
    for p in opt.choices.values():
        p.add_argument("--tenant", required=True)
        p.set_defaults(fn=cmd_optout)
    hold = sub.add_parser("legal-hold", help="legal holds").add_subparsers(
        dest="hold_command", required=True)
    for name in ("set", "clear"):
        s = hold.add_parser(name)
        s.add_argument("--tenant", required=True)
        s.add_argument("--record", required=True)
        s.set_defaults(fn=cmd_legal_hold)
    aud = sub.add_parser("audit", help="audit trail").add_subparsers(
        dest="audit_command", required=True)
    aud.add_parser("verify", help="check the hash chain").set_defaults(fn=cmd_audit)
    s = aud.add_parser("list", help="print events as JSONL")
    s.add_argument("--tenant")
    s.add_argument("--action")
    s.add_argument("--record")
    s.add_argument("--after-seq", type=int, default=0)
    s.add_argument("--limit", type=int, default=1000)
    s.set_defaults(fn=cmd_audit)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="redact-gw", description=__doc__.splitlines()[0])
    p.add_argument("--config", help="config file (default: $REDACT_GW_CONFIG or defaults)")
    p.add_argument("--log-format", choices=["json", "text"],
                   help="log lines on stderr (default: server.log_format for serve, which"
                        " defaults to json; text for the other commands)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the gateway")
    s.add_argument("--init-dev", action="store_true",
                   help="generate dev keys and demo API keys when absent")
    s.set_defaults(fn=cmd_serve)
    s = sub.add_parser("doctor", help="check keys, principals, model, vault, upstream")
    s.add_argument("--timeout", type=float, default=3.0,
                   help="seconds to wait for the upstream (default 3)")
    s.set_defaults(fn=cmd_doctor)
    s = sub.add_parser("redact", help="tokenize JSON or JSONL transcripts into the vault")
    s.add_argument("file", nargs="?", default="-")
    s.add_argument("--tenant", default="default")
    s.set_defaults(fn=cmd_redact)
    s = sub.add_parser("detokenize", help="restore a record's tokens (needs the key file)")
    s.add_argument("file", nargs="?", default="-")
    s.add_argument("--record", required=True)
    s.add_argument("--tenant", default="default")
    s.set_defaults(fn=cmd_detokenize)
    s = sub.add_parser("check-config", help="validate config, keys and principals")
    s.set_defaults(fn=cmd_check_config)
    s = sub.add_parser("migrate", help="apply pending vault schema migrations (pre-deploy)")
    s.set_defaults(fn=cmd_migrate)
    keys = sub.add_parser("keys", help="key file management").add_subparsers(
        dest="keys_command", required=True)
    s = keys.add_parser("generate", help="write a new key file")
    s.add_argument("path")
    s.set_defaults(fn=cmd_keys_generate)
    s = keys.add_parser("rotate", help="new primary key; re-wrap all data keys")
    s.add_argument("--batch-size", type=int, default=500)
    s.add_argument("--no-rewrap", action="store_true",
                   help="only add the new primary (mounted secrets: rewrap once every"
                        " replica has the new file)")
    s.set_defaults(fn=cmd_keys_rotate)
    s = keys.add_parser("rewrap", help="re-wrap all data keys under the current primary")
    s.add_argument("--batch-size", type=int, default=500)
    s.set_defaults(fn=cmd_keys_rewrap)
    apikey = sub.add_parser("apikey", help="API keys").add_subparsers(
        dest="apikey_command", required=True)
    s = apikey.add_parser("create", help="create a principal; print its key once")
    s.add_argument("--tenant", required=True)
    s.add_argument("--role", action="append", default=[])
    s.add_argument("--name")
    s.set_defaults(fn=cmd_apikey_create)
    _add_governance(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``redact-gw`` script."""
    args = build_parser().parse_args(argv)
    _setup_logging(args.log_format or "text")
    try:
        return int(args.fn(args))
    except RedactGwError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: io_error: {exc.strerror or type(exc).__name__}"
              f"{' (' + str(exc.filename) + ')' if exc.filename else ''}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
