"""``apikey create|list|revoke|rotate``: API keys of the principals file.

Keys are printed once on stdout and stored only as hashes; ``list`` shows no secret.
A serving gateway picks every change up by itself (a new key on its first request).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from redact_gw.settings import parse_duration

from .common import _settings, command, group


def cmd_apikey_create(args: argparse.Namespace) -> int:
    """Create a principal and print its API key once."""
    from redact_gw.policy.apikeys import create
    settings = _settings(args)
    name = args.name or f"{args.tenant}-{'-'.join(args.role) or 'client'}"
    key = create(settings.resolve(settings.auth.principals_file), name, args.tenant,
                 args.role, known_roles=settings.access.roles)
    print(key)
    print(f"created principal {name!r} (tenant {args.tenant}); the key is shown only once",
          file=sys.stderr)
    return 0


def cmd_apikey_list(args: argparse.Namespace) -> int:
    """Print every principal as one JSON line: no key, only key ids."""
    from redact_gw.policy.apikeys import list_keys
    settings = _settings(args)
    for row in list_keys(settings.resolve(settings.auth.principals_file)):
        if args.tenant is None or row["tenant"] == args.tenant:
            print(json.dumps(row))
    return 0


def cmd_apikey_revoke(args: argparse.Namespace) -> int:
    """Remove every key of a principal at once."""
    from redact_gw.policy.apikeys import revoke
    settings = _settings(args)
    print(json.dumps(revoke(settings.resolve(settings.auth.principals_file), args.name)))
    return 0


def cmd_apikey_rotate(args: argparse.Namespace) -> int:
    """Print a new key for a principal; the old one works for the overlap window."""
    from redact_gw.policy.apikeys import rotate
    settings = _settings(args)
    key, summary = rotate(settings.resolve(settings.auth.principals_file), args.name,
                          args.overlap)
    print(key)
    until = summary["old_key_valid_until"]
    print(f"rotated principal {args.name!r}; the new key is shown only once; the old key"
          f" {'works until ' + until if until else 'is refused from now on'}",
          file=sys.stderr)
    return 0


def _overlap(text: str) -> float:
    """``24h``, ``30m``, ``0`` (no overlap) -> seconds."""
    if text.strip() in ("0", "0s"):
        return 0.0
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parsers(sub: Any) -> None:
    """``apikey create|list|revoke|rotate``."""
    apikey = group(sub, "apikey", "create, list, revoke and rotate API keys", "apikey_command")
    s = command(apikey, "create", "create a principal; print its key once",
                "Create a principal with a new API key. The key is printed once on stdout"
                " and stored only as a hash; a serving gateway accepts it at once.")
    s.add_argument("--tenant", required=True, help="tenant whose records the key may touch")
    s.add_argument("--role", action="append", default=[], required=True,
                   help="a role from access.roles of the config (repeat for several)")
    s.add_argument("--name", help="principal name (default: TENANT-ROLES)")
    s.set_defaults(fn=cmd_apikey_create)
    s = command(apikey, "list", "list principals and key ids (no secrets)",
                "One JSON line per principal: name, tenant, roles, created, status and the"
                " ids of its valid keys (never a key or its full hash).")
    s.add_argument("--tenant", help="only this tenant's principals (default: every tenant)")
    s.set_defaults(fn=cmd_apikey_list)
    s = command(apikey, "revoke", "refuse every key of a principal from now on",
                "Remove every key of a principal. Its name stays taken, so no new principal"
                " inherits its data or quota.")
    s.add_argument("name", help="principal name")
    s.set_defaults(fn=cmd_apikey_revoke)
    s = command(apikey, "rotate", "new key for a principal; the old one works a while",
                "Print a new key for a principal. Its current key keeps working for the"
                " overlap window, then is refused.")
    s.add_argument("name", help="principal name")
    s.add_argument("--overlap", type=_overlap, default="24h",
                   help="how long the old key keeps working: 24h, 30m, 7d, or 0 for none")
    s.set_defaults(fn=cmd_apikey_rotate)
