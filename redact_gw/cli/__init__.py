"""``redact-gw``: serve the gateway and run its operator commands.

Every command reads settings through ``load_settings`` (``--config`` or
``$REDACT_GW_CONFIG``), prints gateway errors as ``error: <code>: <message>`` and
exits non-zero, never with a traceback. Each module of this package holds a group of
commands and adds their parsers (``add_parsers``).
"""

from __future__ import annotations

import argparse
import sys

from redact_gw import __version__
from redact_gw.errors import RedactGwError

from . import apikey, governance, keys, serve, transcripts
from .common import HelpFormatter, _setup_logging


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog="redact-gw", formatter_class=HelpFormatter,
        description="redact-gw: serve the privacy redaction gateway and run its operator"
                    " commands. Run 'redact-gw COMMAND --help' for a command's options.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--config", help="config file (default: $REDACT_GW_CONFIG, else the"
                                     " built-in defaults)")
    p.add_argument("--log-format", choices=["json", "text"],
                   help="log lines on stderr (default: server.log_format for serve, which"
                        " defaults to json; text for the other commands)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (serve, transcripts, keys, apikey, governance):
        group.add_parsers(sub)
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
