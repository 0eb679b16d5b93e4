"""``redact`` and ``detokenize``: transcripts through the vault from a file or stdin.

Both go through the gateway's policy: ``redact`` applies opt-outs and retention
expiries and audits each record; ``detokenize`` is a reveal like
``POST /v1/detokenize`` (purpose, role rules, quota, audit). The operator appears in
the audit trail as ``operator:<os user>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redact_gw.asr_formats import FORMATS
from redact_gw.errors import BadRequest, ConfigError, RedactGwError
from redact_gw.settings import Settings

from .common import Progress, _audit_log, _operator, _settings, _write, command, open_vault


def _read(source: str) -> bytes:
    return sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()


def _read_docs(source: str) -> Iterator[tuple[int | None, Any]]:
    """Yield (line number in the file or ``None``, doc): one JSON document, or one per
    non-empty line (JSONL). Errors name the line of the file they are on."""
    from redact_gw.proxy.bodies import decode_json
    raw = _read(source)
    try:
        yield None, decode_json(raw)
        return
    except RedactGwError:
        lines = [(n, ln) for n, ln in enumerate(raw.splitlines(), start=1) if ln.strip()]
        if len(lines) < 2:
            raise
    for n, line in lines:
        try:
            doc = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError:
            raise BadRequest(f"line {n}: not valid UTF-8", code="invalid_utf8") from None
        except json.JSONDecodeError as exc:
            raise BadRequest(f"line {n}: not valid JSON (column {exc.colno})",
                             code="malformed_json") from None
        yield n, doc


def _at_line(exc: RedactGwError, line: int | None) -> RedactGwError:
    if line is not None and not exc.message.startswith("line "):
        exc.message = f"line {line}: {exc.message}"
        exc.args = (exc.message,)
    return exc


async def _redact(settings: Settings, args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from redact_gw.detection import build_detector
    from redact_gw.detection.inline import InlineDetection
    from redact_gw.engine import Redactor
    from redact_gw.policy.optout import OptOutRegistry
    from redact_gw.policy.risk import RiskPolicy
    docs = list(_read_docs(args.file))
    operator = _operator(args.tenant)
    loop = asyncio.get_running_loop()
    progress = Progress("redacting", enabled=len(docs) > 1)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect") as executor:
        detector = await loop.run_in_executor(executor, build_detector, settings.detection)
        async with open_vault(settings) as vault:
            audit = _audit_log(settings, vault.store)
            redactor = Redactor(
                InlineDetection(detector, executor), vault, settings.detection.timeout_s,
                optouts=OptOutRegistry(vault.store, audit, vault.clock), audit=audit,
                redact_allowed_for_no_ai=settings.optout.redact_allowed_for_no_ai)
            risk = RiskPolicy(settings.risk)
            for i, (line, doc) in enumerate(docs, start=1):
                if args.format is not None:  # the file holds the vendor's own JSON
                    doc = {"format": args.format, "transcript": doc}
                try:
                    body = await _redact_one(redactor, risk, settings, operator, doc)
                except RedactGwError as exc:
                    progress.close()
                    raise _at_line(exc, line) from None
                _write(sys.stdout, body)
                progress(i, len(docs))
    progress.close()
    return 0


async def _redact_one(redactor: Any, risk: Any, settings: Settings, operator: Any,
                      doc: Any) -> dict[str, Any]:
    """What ``POST /v1/redact`` answers for one transcript."""
    from redact_gw.asr_formats.postcall import VendorTranscript, is_vendor_body, parse_vendor_body
    from redact_gw.proxy.handlers import new_record_id
    from redact_gw.transcripts import parse_transcript
    t: Any = (parse_vendor_body if is_vendor_body(doc) else parse_transcript)(
        doc, max_segments=settings.server.max_segments,
        max_text_chars=settings.server.max_text_chars)
    record_id = t.record_id or new_record_id()
    channel = doc.get("channel") if isinstance(doc, dict) and isinstance(
        doc.get("channel"), str) else None
    red = await redactor.redact(operator.tenant, record_id, t.subject_id,
                                [r.segment for r in t.segments],
                                [r.location for r in t.segments],
                                principal=operator, for_ai=False, channel=channel,
                                answer_scan=False)
    body: dict[str, Any] = (t.render(red) if isinstance(t, VendorTranscript)
                            else t.with_texts(red.texts))
    body["record_id"] = record_id
    body["entities"] = [e.to_dict() for e in red.entities]
    body.pop("no_retention", None)
    if red.no_retention:
        body["no_retention"] = True
    body["risk_tier"] = risk.tier(red.entities)
    return body


def cmd_redact(args: argparse.Namespace) -> int:
    """Tokenize transcripts from a file or stdin into the vault."""
    return asyncio.run(_redact(_settings(args), args))


async def _detokenize(settings: Settings, args: argparse.Namespace) -> int:
    from redact_gw.jsonpaths import set_at, walk_strings
    from redact_gw.policy.reveal import MAX_REVEAL_TOKENS, Reveals
    from redact_gw.policy.roles import RolePolicy
    from redact_gw.redaction import tokens_in
    from redact_gw.tokens import TOKEN_RE
    if args.role not in settings.access.roles:
        raise ConfigError(f"unknown role {args.role!r}; configured roles: "
                          + ", ".join(sorted(settings.access.roles)))
    raw = _read(args.file)
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
    tokens = tokens_in(t for _, t in strings)
    roles = RolePolicy(settings.access)
    operator = roles.resolve(_operator(args.tenant, frozenset({args.role})))
    shown: dict[str, str] = {}
    async with open_vault(settings) as vault:
        reveals = Reveals(vault, vault.store, roles, _audit_log(settings, vault.store),
                          vault.clock, tuple(settings.access.purposes))
        for start in range(0, max(len(tokens), 1), MAX_REVEAL_TOKENS):
            request = {"record_id": args.record, "purpose": args.purpose,
                       "tokens": tokens[start:start + MAX_REVEAL_TOKENS]}

            async def load(request: dict[str, Any] = request) -> dict[str, Any]:
                return request
            body = await reveals.detokenize(operator, load)
            shown.update((v["token"], v["value"]) for v in body["values"] if "value" in v)

    def fn(s: str) -> str:
        return TOKEN_RE.sub(lambda m: shown.get(m.group(0), m.group(0)), s)
    if isinstance(doc, str):
        doc = fn(doc)
    else:
        for path, value in strings:
            set_at(doc, path, fn(value))
    if is_json:
        _write(sys.stdout, doc)
    else:
        sys.stdout.write(doc)
    return 0


def cmd_detokenize(args: argparse.Namespace) -> int:
    """Restore a record's tokens in text or JSON, for a purpose, audited."""
    return asyncio.run(_detokenize(_settings(args), args))


def add_parsers(sub: Any) -> None:
    """``redact`` and ``detokenize``."""
    s = command(
        sub, "redact", "tokenize JSON or JSONL transcripts into the vault",
        "Tokenize transcripts into the vault, as POST /v1/redact does: one JSON"
                    " document, or JSONL (one transcript per line). Prints the redacted"
                    " transcripts as JSON lines; values get the configured retention, and"
                    " each record is audited as operator:<os user>.")
    s.add_argument("file", nargs="?", default="-", help="JSON or JSONL file; - for stdin")
    s.add_argument("--tenant", required=True, help="tenant that owns the records")
    s.add_argument("--format", choices=list(FORMATS), default=None,
                   help="the file holds an ASR vendor's own JSON (a post-call file, or"
                        " JSONL of streaming messages); answered in the same format")
    s.set_defaults(fn=cmd_redact)
    s = command(
        sub, "detokenize", "restore a record's tokens for a purpose (audited)",
        "Restore the tokens of one record in a text or JSON file, as POST"
                    " /v1/detokenize does: for a purpose from access.purposes, with the"
                    " reveal rules and hourly quota of --role, audited as"
                    " operator:<os user>. A token of another record is an error.")
    s.add_argument("file", nargs="?", default="-", help="text or JSON file; - for stdin")
    s.add_argument("--tenant", required=True, help="tenant that owns the record")
    s.add_argument("--record", required=True, help="record id the tokens belong to")
    s.add_argument("--purpose", required=True,
                   help="why the values are revealed: one of access.purposes")
    s.add_argument("--role", default="admin",
                   help="role from access.roles whose reveal rules and quota apply")
    s.set_defaults(fn=cmd_detokenize)
