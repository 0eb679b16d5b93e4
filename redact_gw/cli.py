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
from redact_gw.settings import Settings, load_settings

log = logging.getLogger("redact_gw")


def _setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")


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
    """Run the gateway until interrupted."""
    from aiohttp import web

    from redact_gw.proxy.accesslog import AccessLogger
    from redact_gw.proxy.app import create_app
    settings = _settings(args)
    if args.init_dev:
        _init_dev(settings)
    keyring.load_keyring(settings.resolve(settings.keys.path))  # refuse bad keys up front
    app = create_app(settings)
    web.run_app(app, host=settings.server.host, port=settings.server.port,
                access_log_class=AccessLogger,
                access_log=logging.getLogger("redact_gw.access") if settings.server.access_log
                else None, print=lambda msg: log.info("%s", msg))
    return 0


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
    from redact_gw.engine import Redactor
    from redact_gw.proxy.handlers import new_record_id
    from redact_gw.transcripts import parse_transcript
    docs = list(_read_docs(args.file))
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect") as executor:
        detector = await loop.run_in_executor(executor, build_detector, settings.detection)
        async with open_vault(settings) as vault:
            redactor = Redactor(detector, vault, executor, settings.detection.timeout_s)
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


def _strings(doc: Any) -> Iterator[str]:
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for v in doc.values():
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)


def _map_strings(doc: Any, fn: Any) -> Any:
    if isinstance(doc, str):
        return fn(doc)
    if isinstance(doc, dict):
        return {k: _map_strings(v, fn) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_map_strings(v, fn) for v in doc]
    return doc


async def _detokenize(settings: Settings, args: argparse.Namespace) -> int:
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
    async with open_vault(settings) as vault:
        await vault.get_record(args.tenant, args.record)
        values = await vault.reveal(args.tenant, args.record, tokens_in(_strings(doc)))
    def fn(s: str) -> str:
        return restore(s, values, lambda _t: "full").text
    if is_json:
        _write(sys.stdout, _map_strings(doc, fn))
    else:
        sys.stdout.write(fn(doc))
    return 0


def cmd_detokenize(args: argparse.Namespace) -> int:
    """Restore a record's tokens in text or JSON (operator holding the key file)."""
    return asyncio.run(_detokenize(_settings(args), args))


# -- keys, api keys, config ------------------------------------------------------------
def cmd_keys_generate(args: argparse.Namespace) -> int:
    """Write a new key file (mode 0600); refuses to overwrite."""
    ring = keyring.generate_key_file(Path(args.path))
    print(f"wrote {args.path} with primary key {ring.primary_kid} (mode 0600)")
    return 0


async def _rotate(settings: Settings, batch_size: int) -> dict[str, Any]:
    path = settings.resolve(settings.keys.path)
    ring = keyring.add_primary(path)
    started = time.monotonic()
    total = 0
    async with open_vault(settings) as vault:
        vault.keys.reload_if_changed()
        while True:
            n = await vault.rewrap_batch(batch_size)
            total += n
            if n == 0:
                remaining = await vault.store.count_records_by_kek()
                if set(remaining) <= {ring.primary_kid}:
                    break
                await asyncio.sleep(settings.keys.reload_interval_s / 2)
    return {"primary": ring.primary_kid, "rewrapped": total,
            "seconds": round(time.monotonic() - started, 3)}


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Add a new primary key and re-wrap every record's data key under it."""
    summary = asyncio.run(_rotate(_settings(args), args.batch_size))
    print(json.dumps(summary))
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="redact-gw", description=__doc__.splitlines()[0])
    p.add_argument("--config", help="config file (default: $REDACT_GW_CONFIG or defaults)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the gateway")
    s.add_argument("--init-dev", action="store_true",
                   help="generate dev keys and demo API keys when absent")
    s.set_defaults(fn=cmd_serve)
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
    keys = sub.add_parser("keys", help="key file management").add_subparsers(
        dest="keys_command", required=True)
    s = keys.add_parser("generate", help="write a new key file")
    s.add_argument("path")
    s.set_defaults(fn=cmd_keys_generate)
    s = keys.add_parser("rotate", help="new primary key; re-wrap all data keys")
    s.add_argument("--batch-size", type=int, default=500)
    s.set_defaults(fn=cmd_keys_rotate)
    apikey = sub.add_parser("apikey", help="API keys").add_subparsers(
        dest="apikey_command", required=True)
    s = apikey.add_parser("create", help="create a principal; print its key once")
    s.add_argument("--tenant", required=True)
    s.add_argument("--role", action="append", default=[])
    s.add_argument("--name")
    s.set_defaults(fn=cmd_apikey_create)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``redact-gw`` script."""
    args = build_parser().parse_args(argv)
    _setup_logging()
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
