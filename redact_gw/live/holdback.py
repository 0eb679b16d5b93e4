"""What of a growing speech-recognition partial may be shown, and how it changed.

Pure functions, no I/O:

* ``hold_from(text)``: offset from which a partial must be held back. The trailing word
  (recognition may still change or extend it) and the chain of words before it that a
  value may run through: written numbers, capitalized words, ``@``, and the words of
  spoken values (``four one one one``, ``j o h n at example dot com``). The words on
  both sides of a connector (``at``, ``dot``...) are held with it: they may be parts
  of a spoken email.
* ``render(text, spans, cut)``: the shown text: ``text[:cut]`` with each detected value
  replaced by a type mask ``[[TYPE]]`` (partial values are never sealed in the vault:
  recognition may still correct them). A value crossing the cut is held whole.
* ``diff(sent, new)``: the message that turns what the client has into ``new``:
  ``(offset, text)``, the client keeps ``sent[:offset]`` and appends ``text``. An
  ``offset`` below ``len(sent)`` says exactly which earlier text is replaced.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from redact_gw.model import Span
from redact_gw.tokens import TOKEN_RE

#: Shown instead of held text that waited longer than the hold-back bound.
PENDING_MASK = "[[PENDING]]"

_WORD = re.compile(r"\S+")
_NUMBER_WORDS = frozenset({
    "zero", "oh", "o", "one", "two", "three", "four", "five", "six", "seven", "eight",
    "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
    "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty",
    "seventy", "eighty", "ninety", "hundred", "thousand", "million", "double", "triple",
    "plus"})
_DIGIT_WORDS = {w: 1 for w in ("zero", "oh", "o", "one", "two", "three", "four", "five",
                               "six", "seven", "eight", "nine")}
_DIGIT_WORDS.update({w: 2 for w in ("ten", "eleven", "twelve", "thirteen", "fourteen",
                                    "fifteen", "sixteen", "seventeen", "eighteen",
                                    "nineteen", "twenty", "thirty", "forty", "fifty",
                                    "sixty", "seventy", "eighty", "ninety", "double")})
_DIGIT_WORDS["triple"] = 3
#: A run of this many digits (spoken or written) is never shown raw in a partial.
MIN_MASKED_DIGITS = 4
#: Words that join the parts of a spoken email, URL or identifier.
_CONNECTORS = frozenset(["at", "dot", "dash", "hyphen", "underscore", "point", "slash"])
_STRIP = ".,;:!?\"'()"


def _bare(word: str) -> str:
    return word.strip(_STRIP).lower()


def _continuable(word: str) -> bool:
    """A word a value may run through (number-like, capitalized, spoken part)."""
    if TOKEN_RE.fullmatch(word) or word == PENDING_MASK:
        return False
    bare = _bare(word)
    if not bare:
        return False
    return (any(c.isdigit() for c in word) or word.lstrip(_STRIP)[:1].isupper()
            or "@" in word or bare in _NUMBER_WORDS or bare in _CONNECTORS
            or (len(bare) == 1 and bare.isalpha()))


def hold_from(text: str, *, final: bool = False) -> int:
    """Offset from which ``text`` is held back (``len(text)`` for a final)."""
    if final:
        return len(text)
    words = list(_WORD.finditer(text))
    if not words:
        return len(text)
    bare = [_bare(w.group()) for w in words]
    last = len(words) - 1
    # the trailing word is always held in a partial, and may be a connector half said
    connector = [b in _CONNECTORS for b in bare]
    connector[last] = any(c.startswith(bare[last]) for c in _CONNECTORS) if bare[last] else False
    i = last
    while i > 0:
        prev = words[i - 1].group()
        joined = connector[i] or (i >= 2 and connector[i - 2])
        if not (_continuable(prev) or joined):
            break
        i -= 1
    return words[i].start()


def _digits(word: str) -> int:
    written = sum(c.isdigit() for c in word)
    return written or _DIGIT_WORDS.get(_bare(word), 0)


def digit_runs(text: str) -> list[Span]:
    """Runs of words holding ``MIN_MASKED_DIGITS`` or more digits, spoken or written
    (``four one one one``, ``555 867``): shown as ``[[NUMBER]]`` in partials, since
    recognition may still turn them into part of a longer value."""
    runs: list[Span] = []
    start = end = count = 0
    for m in [*_WORD.finditer(text), None]:
        n = _digits(m.group()) if m is not None else 0
        if n and count:
            end, count = m.end(), count + n  # type: ignore[union-attr]
            continue
        if count >= MIN_MASKED_DIGITS:
            runs.append(Span(start, end, "NUMBER", 1.0, "live-holdback"))
        if m is not None:
            start, end, count = m.start(), m.end(), n
    return runs


def safe_cut(cut: int, spans: Sequence[Span]) -> int:
    """Move ``cut`` back to the start of any value crossing it."""
    for s in sorted(spans, key=lambda s: s.start, reverse=True):
        if s.start < cut < s.end:
            cut = s.start
    return cut


def render(text: str, spans: Sequence[Span], cut: int) -> str:
    """``text[:cut]`` with every value inside it replaced by its type mask, and every
    other run of digits (``digit_runs``) by ``[[NUMBER]]``."""
    runs = [r for r in digit_runs(text[:cut])
            if not any(s.start < r.end and r.start < s.end for s in spans)]
    out: list[str] = []
    cursor = 0
    for s in sorted([*spans, *runs], key=lambda s: s.start):
        if s.end > cut or s.start < cursor:
            continue
        out.append(text[cursor:s.start])
        out.append(f"[[{s.entity_type}]]")
        cursor = s.end
    out.append(text[cursor:cut])
    return "".join(out)


def diff(sent: str, new: str) -> tuple[int, str]:
    """``(offset, text)`` turning ``sent`` into ``new``; a cut never splits a mask."""
    n = 0
    limit = min(len(sent), len(new))
    while n < limit and sent[n] == new[n]:
        n += 1
    opened = sent.rfind("[[", 0, n)
    if opened != -1:
        closed = sent.find("]]", opened)
        if closed == -1 or closed + 2 > n:
            n = opened  # replace a mask or token whole, never from its middle
    return n, new[n:]


def common_prefix(a: str, b: str) -> int:
    """Length of the common prefix of ``a`` and ``b``."""
    n = 0
    limit = min(len(a), len(b))
    while n < limit and a[n] == b[n]:
        n += 1
    return n
