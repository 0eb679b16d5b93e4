"""What every operator command shares: settings, the vault, the operator principal,
the audit log, JSON output and a progress bar shown only on a terminal."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from typing import Any, TextIO

from redact_gw.crypto import keyring
from redact_gw.logs import LogFormat, setup_logging
from redact_gw.settings import Settings, load_settings


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default after its help, unless there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str:
        default = action.default
        if default is None or default is False or default == [] or default == argparse.SUPPRESS:
            return action.help or ""
        return super()._get_help_string(action) or ""


def command(sub: Any, name: str, help: str, description: str | None = None) -> Any:
    """A subcommand parser: ``help`` in its parent's list, ``description`` (default: the
    help as a sentence) on its own ``--help``, defaults shown after each option."""
    return sub.add_parser(name, help=help, formatter_class=HelpFormatter,
                          description=description or help[0].upper() + help[1:] + ".")


def group(sub: Any, name: str, help: str, dest: str) -> Any:
    """A subcommand with subcommands of its own."""
    return command(sub, name, help).add_subparsers(dest=dest, required=True,
                                                   metavar="COMMAND")


def _setup_logging(fmt: LogFormat = "text", level: str = "INFO") -> None:
    """Logs to stderr: JSON lines (``serve``'s default) or text (operator commands)."""
    setup_logging(fmt, level)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


@contextlib.asynccontextmanager
async def open_vault(settings: Settings) -> AsyncIterator[Any]:
    """A ``Vault`` over the configured store, closed on exit; values it writes get the
    configured retention expiry, as through the gateway."""
    from redact_gw.policy.retention import RetentionPolicy
    from redact_gw.proxy.app import open_store
    from redact_gw.vault.service import Vault
    keys = keyring.KeyringSource(settings.resolve(settings.keys.path),
                                 settings.keys.reload_interval_s)
    store = open_store(settings)
    await store.open()
    try:
        yield Vault(store, keys, clock=time.time,
                    expiry=RetentionPolicy(settings.retention).expiry)
    finally:
        await store.close()


def _write(out: TextIO, doc: Any) -> None:
    out.write(json.dumps(doc, ensure_ascii=False) + "\n")


def _operator(tenant: str, roles: frozenset[str] = frozenset({"operator"})) -> Any:
    """The person at the terminal, as audit events name them: ``operator:<os user>``
    (a name no API key principal can have: those never hold a colon)."""
    import getpass

    from redact_gw.model import Principal
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Principal(f"operator:{user}", tenant, roles)


def _audit_log(settings: Settings, store: Any) -> Any:
    from redact_gw.audit import AuditLog
    mirror = settings.audit.mirror_jsonl
    return AuditLog(store, time.time, settings.resolve(mirror) if mirror else None,
                    keyring.KeyringSource(settings.resolve(settings.keys.path)))


class Progress:
    """``label [#####.....] done/total`` on stderr when it is a terminal; else silent."""

    def __init__(self, label: str, *, enabled: bool = True) -> None:
        self.label = label
        self.shown = enabled and sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.shown:
            return
        width = 30
        filled = int(width * done / total) if total else width
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}]"
                         f" {done}/{total}")
        sys.stderr.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
