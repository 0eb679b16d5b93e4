"""The seam between the stream engine (``rewriter.py``) and one API's answer events
(``proxy/dialects/*``): what each string of an event is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from redact_gw.jsonpaths import Path

#: What a dialect says about one string of an answer event.
PROTOCOL = "protocol"  # passed on untouched (ids, types, model names)
WHOLE = "whole"  # scanned and restored as it is


@dataclass(frozen=True, slots=True)
class Channel:
    """A piece of streamed text: appended to the channel ``key``'s buffer."""

    key: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Copy:
    """A repeat of channel ``key``'s whole text (``*.done`` events, a final response):
    replaced by exactly what the caller got of that channel."""

    key: tuple[Any, ...]


Kind = str | Channel | Copy


class StreamDialect(Protocol):
    """Where the text is in one API's answer events (``proxy/dialects/*``).

    The engine (``SseRewriter``) buffers channel text, holds back what may still grow,
    scans, restores and re-wraps it; the dialect only reads and writes its events.
    """

    def prepare(self, doc: dict[str, Any], scan: bool) -> None:
        """Drop what no scan can follow (logprob fragments); called first."""

    def classify(self, doc: dict[str, Any], path: Path) -> Kind:
        """``PROTOCOL``, ``WHOLE``, ``Channel(key)`` or ``Copy(key)`` for a string."""

    def finishing(self, doc: dict[str, Any], key: tuple[Any, ...]) -> bool:
        """Whether channel ``key`` ends with this event (flush all it holds first)."""

    def put(self, doc: dict[str, Any], key: tuple[Any, ...], text: str) -> bool:
        """Place text of channel ``key`` in an event that did not carry it; ``False``
        when the dialect cannot (a new event is then made from the channel's last)."""

    def blank(self, template: dict[str, Any] | None) -> dict[str, Any] | None:
        """An empty event to carry flushed text (``None``: use per-channel events)."""

    def empty(self, doc: dict[str, Any]) -> bool:
        """Whether an event left with no text may be dropped."""
