"""``apikey``: API keys of the principals file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import _settings


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


def add_parsers(sub: Any) -> None:
    """``apikey create``."""
    apikey = sub.add_parser("apikey", help="API keys").add_subparsers(
        dest="apikey_command", required=True)
    s = apikey.add_parser("create", help="create a principal; print its key once")
    s.add_argument("--tenant", required=True)
    s.add_argument("--role", action="append", default=[])
    s.add_argument("--name")
    s.set_defaults(fn=cmd_apikey_create)
