"""The answer of a proxied call, as the review copy keeps it: tokenized, bounded.

The answer guard (``streaming/guard.py``) calls ``AnswerCopy`` (its ``on_render``
hook) with every piece it renders: the piece's text with each value found as a
token (new finds sealed in the record's ``~answers`` sibling, the caller's own values
as their tokens: nothing restored) and those values' spans. Pieces of one stream
channel (or one JSON string) are joined in order; channels are separated by a blank
line. Nothing here is stored: ``ReviewService.offer`` seals the text, with the rest of
the copy, under the record's data key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redact_gw.model import Span
from redact_gw.redaction import Entity
from redact_gw.tokens import token_prefix_start

#: Characters of answer text kept for review; past it the text ends with ``TRUNCATED``.
MAX_ANSWER_CHARS = 200_000
TRUNCATED = "\n[... answer truncated for review ...]"
#: Where an answer entity's value is sealed (``location["record"]``).
ANSWERS, CALLER = "answers", "caller"


class AnswerCopy:
    """Collects the tokenized answer of one call (``AnswerGuard.on_render``)."""

    def __init__(self, max_chars: int = MAX_ANSWER_CHARS) -> None:
        self.max_chars = max_chars
        self._parts: dict[Any, list[str]] = {}
        self._entities: dict[str, Entity] = {}
        self._chars = 0
        self._unique = 0
        self.truncated = False

    def __call__(self, pieces: Sequence[tuple[Any, str, list[tuple[str, Span, bool]]]]
                 ) -> None:
        """Record rendered pieces (keys continue earlier pieces of the same text)."""
        for key, text, found in pieces:
            if key is None:
                key, self._unique = ("piece", self._unique), self._unique + 1
            room = self.max_chars - self._chars
            if room <= 0 or not text:
                self.truncated = self.truncated or bool(text)
                continue
            kept = text if len(text) <= room else _cut(text, room)
            self.truncated = self.truncated or kept != text
            self._parts.setdefault(key, []).append(kept)
            self._chars += len(kept)
            for token, span, new in found:
                if token not in self._entities and token in kept:
                    self._entities[token] = Entity(
                        token, span.entity_type, span.score, span.recognizer,
                        {"answer": True, "record": ANSWERS if new else CALLER},
                        span.explanation)

    def text(self) -> str | None:
        """The tokenized answer (``None`` when it had no text)."""
        joined = "\n\n".join("".join(parts) for parts in self._parts.values())
        if not joined.strip():
            return None
        return joined + TRUNCATED if self.truncated else joined

    def entities(self) -> list[Entity]:
        """The values found in the answer, first occurrence first."""
        return list(self._entities.values())


def _cut(text: str, room: int) -> str:
    """At most ``room`` characters, never ending inside a token."""
    head = text[:room]
    return head[:token_prefix_start(head)]
