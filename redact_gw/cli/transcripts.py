"""``redact`` and ``detokenize``: transcripts through the vault from a file or stdin."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redact_gw.errors import ConfigError, RedactGwError
from redact_gw.settings import Settings

from .common import _settings, _write, open_vault


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


def add_parsers(sub: Any) -> None:
    """``redact`` and ``detokenize``."""
    s = sub.add_parser("redact", help="tokenize JSON or JSONL transcripts into the vault")
    s.add_argument("file", nargs="?", default="-")
    s.add_argument("--tenant", default="default")
    s.set_defaults(fn=cmd_redact)
    s = sub.add_parser("detokenize", help="restore a record's tokens (needs the key file)")
    s.add_argument("file", nargs="?", default="-")
    s.add_argument("--record", required=True)
    s.add_argument("--tenant", default="default")
    s.set_defaults(fn=cmd_detokenize)
