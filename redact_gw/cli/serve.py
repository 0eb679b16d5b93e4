"""``serve``, ``doctor``, ``check-config`` and ``migrate``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import Any

from redact_gw.crypto import keyring
from redact_gw.settings import Settings

from .common import _settings, _setup_logging, command


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
               shutdown_timeout_s=server.shutdown_timeout_s, access_log=server.access_log,
               event_loop=server.event_loop)
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


def add_parsers(sub: Any) -> None:
    """``serve``, ``doctor``, ``check-config``, ``migrate``."""
    s = command(sub, "serve", "run the gateway",
                "Run the gateway until SIGTERM or SIGINT, then shut down gracefully.")
    s.add_argument("--init-dev", action="store_true",
                   help="generate dev keys and demo API keys when absent (quickstart only)")
    s.set_defaults(fn=cmd_serve)
    s = command(sub, "doctor", "check keys, principals, model, vault, upstream",
                "Check this deployment: one line per check; exit 1 when any check fails.")
    s.add_argument("--timeout", type=float, default=3.0,
                   help="seconds to wait for the upstream")
    s.set_defaults(fn=cmd_doctor)
    command(sub, "check-config", "validate config, keys and principals",
            "Parse the config, key file and principals file; print what would run as"
            " JSON.").set_defaults(fn=cmd_check_config)
    command(sub, "migrate", "apply pending vault schema migrations (pre-deploy)",
            "Apply pending vault schema migrations; print the versions applied as"
            " JSON.").set_defaults(fn=cmd_migrate)
