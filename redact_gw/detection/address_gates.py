"""Which of the address finders' scans can match a text: necessary conditions.

``addresses._find_all`` runs a dozen scans over every segment whose view holds a digit,
and in a call most of those are support talk ("it should arrive in 3 to 5 business
days", "the total comes to 42 dollars"). The slowest scans are case-insensitive
alternations of hundreds of words, tried at every position; each gate here is a
condition every match of its pattern meets, read off the pattern, so a scan it skips
would have found nothing. Checked against the patterns themselves in
``tests/detection/test_address_gates.py``.

``re.IGNORECASE`` matches some non-ASCII characters to ASCII letters (the long s
U+017F to "s", the Kelvin sign to "k"), so word-list gates read only ASCII texts, where
it is exactly ``str.lower``; any other text is scanned as before. ``folded`` and
``has_any`` also gate the month-name and password scans (``dates``, ``spoken``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: An ASCII word: a maximal run of ``\\w`` in an ASCII text.
_ASCII_WORD = re.compile(r"[a-z0-9_]+")
#: ``POSTCODE_RE`` (case-sensitive): a ZIP, ZIP+4 or state/APO form holds five digits
#: in a row, a UK or Canadian postcode a capital followed by a digit.
_POSTCODE_HINT = re.compile(r"\d{5}|[A-Z]\d")


def folded(text: str) -> str | None:
    """``text`` lower-cased when it is ASCII (the word gates' input), else ``None``."""
    return text.lower() if text.isascii() else None


def last_words(phrases: Iterable[str]) -> frozenset[str]:
    """The last word of each phrase ("us hwy" -> "hwy"): what a phrase that ends at a
    word boundary leaves as a whole word of the text."""
    return frozenset(p.split()[-1] for p in phrases)


def has_word(low: str | None, words: frozenset[str]) -> bool:
    """Whether the folded text has one of ``words`` as a whole word (``True`` for a
    text that is not ASCII: no gate there)."""
    return low is None or any(w in words for w in _ASCII_WORD.findall(low))


def has_any(low: str | None, pieces: tuple[str, ...]) -> bool:
    """Whether the folded text holds one of ``pieces`` (``True`` when not ASCII)."""
    return low is None or any(p in low for p in pieces)


def may_hold_postcode(text: str) -> bool:
    """Whether ``POSTCODE_RE`` can match ``text`` (any text: the pattern is
    case-sensitive and the hint has its ``\\d`` and ``[A-Z]``)."""
    return _POSTCODE_HINT.search(text) is not None
