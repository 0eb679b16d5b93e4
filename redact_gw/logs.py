"""Structured logs: one JSON object per line, each carrying the request id.

``setup_logging(fmt)`` installs one stderr handler on the root logger with either
``JsonFormatter`` (``{"ts", "level", "logger", "message", "request_id", ...}``) or a
plain text formatter. The request id lives in a ``ContextVar`` set by the request-id
middleware; asyncio tasks copy it, and ``ContextThreadPoolExecutor`` carries it into
worker threads (``loop.run_in_executor`` does not copy context by itself), so every
line logged while a request is handled names it.

Only the fields in ``SAFE_FIELDS`` are taken from a record's ``extra``: anything else a
caller attaches is dropped, so a careless ``extra={"body": ...}`` never reaches a log.
A logged exception contributes its type and frames (file, line, function), never its
message: exception messages can quote the input.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

LogFormat = Literal["json", "text"]
T = TypeVar("T")

#: The id of the request being handled in this context (``None`` outside requests).
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "redact_gw_request_id", default=None)

#: An incoming ``X-Request-Id`` is kept only when it matches this; otherwise a new one.
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")

#: ``extra`` fields copied into JSON lines; they must never hold payload or secrets.
SAFE_FIELDS = frozenset({
    "request_id", "method", "route", "status", "duration_ms", "event", "task", "signal",
    "connections", "timeout_s", "seconds", "check", "outcome",
})

_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_HANDLER_NAME = "redact_gw.stderr"


def current_request_id() -> str | None:
    """The request id of the current context, if any."""
    return request_id_var.get()


def new_request_id() -> str:
    """A fresh request id (32 hex digits): ``uuid.uuid4().hex``, bit for bit the same
    layout (version 4, RFC 4122 variant), without building a ``UUID`` object (a few
    microseconds per request that names no id of its own)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


def accept_request_id(incoming: str | None) -> str:
    """``incoming`` when it is a well-formed id (``[A-Za-z0-9._-]{1,64}``), else a new id."""
    if incoming is not None and REQUEST_ID_RE.fullmatch(incoming):
        return incoming
    return new_request_id()


def _request_id_of(record: logging.LogRecord) -> str | None:
    rid = record.__dict__.get("request_id")
    return rid if isinstance(rid, str) else current_request_id()


def _frames(exc_info: Any) -> list[str]:
    tb = exc_info[2] if isinstance(exc_info, tuple) else None
    return [f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb)][-20:]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, safe extras."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a single line of JSON."""
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = _request_id_of(record)
        if rid is not None:
            doc["request_id"] = rid
        for key, value in record.__dict__.items():
            if key in SAFE_FIELDS and key not in doc and key not in _RESERVED:
                doc[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info and record.exc_info[0] is not None:
            doc["exc_type"] = record.exc_info[0].__name__
            doc["exc_frames"] = _frames(record.exc_info)
        if record.stack_info:
            doc["stack"] = True
        return json.dumps(doc, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger> [<request id>] <message>``; exceptions by type only."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one line of text."""
        record.message = record.getMessage()
        rid = _request_id_of(record)
        line = (f"{self.formatTime(record)} {record.levelname} {record.name} "
                f"{'[' + rid + '] ' if rid else ''}{record.message}")
        if record.exc_info and record.exc_info[0] is not None:
            line += f" ({record.exc_info[0].__name__})"
        return line


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record."""

    def __init__(self) -> None:
        super().__init__()
        self.name = _HANDLER_NAME

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def setup_logging(fmt: LogFormat = "text", level: str | int = "INFO") -> None:
    """Install (or replace) the gateway's stderr handler on the root logger."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.name == _HANDLER_NAME]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # Presidio announces every recognizer it loads at INFO: keep startup readable.
    logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A thread pool that runs each call in a copy of the submitter's context.

    ``loop.run_in_executor`` does not copy contextvars into the worker thread; with this
    executor a detector, store or audit writer that logs still names the request.
    """

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Schedule ``fn(*args, **kwargs)`` in the current context."""
        ctx = contextvars.copy_context()
        return super().submit(functools.partial(ctx.run, fn, *args, **kwargs))


def iter_json_lines(text: str) -> Iterator[dict[str, Any]]:
    """The JSON objects among ``text``'s lines (tests and log tooling)."""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(doc, dict):
                yield doc
