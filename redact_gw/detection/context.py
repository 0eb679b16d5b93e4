"""Context words around a position, across segment boundaries.

An agent's question ("can i have your card number") in one segment is context for the
customer's answer at the start of the next. ``TranscriptContext`` keeps the lowercase
words of every segment and answers "which kind of value was asked for just before
this position?".
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from redact_gw.detection.labels import label_ranges
from redact_gw.detection.lexicon import (
    CONTEXT_FAMILIES,
    PHONE_SERVICE_NOUNS,
    TRAILING_NEGATIVE,
)
from redact_gw.detection.view import Tok

#: Words looked at before a value (crossing into the previous segment).
WINDOW = 10
#: A quantity word ("order", "ticket") counts only this close: "order number is".
NEGATIVE_WINDOW = 3

_FAMILY_OF: dict[str, str] = {
    word: family for family, words in CONTEXT_FAMILIES.items() for word in words
}


def _without_labels(text: str, toks: Sequence[Tok]) -> list[Tok]:
    labels = label_ranges(text)
    if not labels:
        return list(toks)
    if len(labels) == 1:  # one label (a turn per segment): one comparison per token
        a, b = labels[0]
        return [t for t in toks if not a <= t.start < b]
    return [t for t in toks if not any(a <= t.start < b for a, b in labels)]


@dataclass(frozen=True, slots=True)
class Hint:
    """The nearest context family before a value and the word that raised it.

    ``service`` is a phone-service noun ("line", "desk") between that word and the
    value, if any: "order line 3035550147".
    """

    family: str
    word: str
    service: str = ""


class TranscriptContext:
    """Lowercase words of every segment, with their offsets."""

    def __init__(self, texts: Sequence[str], tokens: Sequence[Sequence[Tok]]) -> None:
        """Index the tokens of each segment, leaving speaker labels out.

        Args:
            texts: The segments' texts.
            tokens: For each segment, its tokens in order.
        """
        tokens = [_without_labels(text, toks) for text, toks in zip(texts, tokens, strict=True)]
        self._texts = list(texts)
        self._words = [[t.lower for t in seg] for seg in tokens]
        self._ends = [[t.end for t in seg] for seg in tokens]
        self._starts = [[t.start for t in seg] for seg in tokens]

    def words_before(self, seg: int, pos: int, n: int = WINDOW) -> list[str]:
        """Up to ``n`` words ending before ``pos``, nearest last, crossing segments."""
        k = bisect.bisect_right(self._ends[seg], pos)
        words = self._words[seg][max(0, k - n):k]
        prev = seg - 1
        while len(words) < n and prev >= 0:
            need = n - len(words)
            words = self._words[prev][-need:] + words
            prev -= 1
        return words

    def segment_words(self, seg: int) -> list[str]:
        """The lowercase words of segment ``seg`` (speaker labels left out)."""
        return list(self._words[seg])

    def _next_word(self, seg: int, pos: int) -> str | None:
        """The word right after ``pos`` when only spaces or tabs separate them."""
        k = bisect.bisect_left(self._starts[seg], pos)
        if k >= len(self._starts[seg]):
            return None
        gap = self._texts[seg][pos:self._starts[seg][k]]
        return self._words[seg][k] if gap.strip(" \t") == "" else None

    def hint(self, seg: int, start: int, end: int) -> Hint | None:
        """The context family for a value at ``[start, end)``, nearest word first.

        A quantity word right after the value ("twenty five dollars", "16 gb") wins
        over everything before it; only the very next word counts, and not across a
        sentence end or line break ("... 4481.\nIBAN GB29 ..." is no quantity).
        """
        trailing = self._next_word(seg, end)
        if trailing in TRAILING_NEGATIVE:
            return Hint("negative", trailing)
        service = ""
        for distance, word in enumerate(reversed(self.words_before(seg, start)), 1):
            family = _FAMILY_OF.get(word)
            if family == "negative" and distance > NEGATIVE_WINDOW:
                continue
            if family:
                return Hint(family, word, service)
            if not service and word in PHONE_SERVICE_NOUNS:
                service = word
        return None

    def mentions(self, seg: int, start: int, words: frozenset[str], n: int = WINDOW) -> str:
        """The nearest of ``words`` before ``start`` within ``n`` words, or ``""``."""
        for word in reversed(self.words_before(seg, start, n)):
            if word in words:
                return word
        return ""
