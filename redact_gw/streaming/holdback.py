"""Hold-back: how much of a streamed text must wait while more may follow.

A possibly unfinished token, the trailing partial word, and the run of number-like or
capitalized words before it stay held (``hold_start``), so half a token or a prefix of
a value that is later masked never leaves.
"""

from __future__ import annotations

import re

from redact_gw.detection.lexicon import REPEATERS, SCALES, SPOKEN_SEPARATORS, TEENS, TENS, UNITS
from redact_gw.tokens import TOKEN_RE, find_tokens, token_prefix_start

_LAST_WORD = re.compile(r"\S*\Z")
_PREV_WORD = re.compile(r"(\S+)\s+\Z")
_MAX_CHAIN_WORDS = 8
#: Spoken digits chain further: a card read aloud is 16 words or more.
_MAX_SPOKEN_WORDS = 48
_LOOKBACK = 200
#: Words people read numbers aloud with ("four one five", "double five", "dash").
SPOKEN_NUMBER_WORDS = frozenset({*UNITS, *TEENS, *TENS, *REPEATERS, *SCALES,
                                 *SPOKEN_SEPARATORS})


def _continuable(word: str) -> bool:
    """A word a value may go on after: number-like or capitalized, not sentence-final."""
    if word[-1] in ",;!?." or TOKEN_RE.fullmatch(word):
        return False
    return (any(c.isdigit() for c in word) or word[0].isupper() or "@" in word
            or _spoken(word))


def _spoken(word: str) -> bool:
    return word.lower().strip(",-") in SPOKEN_NUMBER_WORDS


def _value_start(text: str) -> int:
    """Start of the trailing partial word and the continuable words chained before it
    (up to ``_MAX_CHAIN_WORDS``, or ``_MAX_SPOKEN_WORDS`` of spoken digits)."""
    start = _LAST_WORD.search(text).start()  # type: ignore[union-attr]
    words = 0
    while words < _MAX_SPOKEN_WORDS:
        window_start = max(0, start - _LOOKBACK)
        m = _PREV_WORD.search(text, window_start, start)
        if m is None or not _continuable(m.group(1)):
            break
        words += 1
        if words > _MAX_CHAIN_WORDS and not _spoken(m.group(1)):
            break
        start = m.start(1)
    return start


def hold_start(text: str, max_hold: int) -> int:
    """Offset from which ``text`` must be held back while more may follow.

    Held back: a tail that may still grow into a token, the trailing partial word
    (anything without whitespace: an email, a URL, a percent-encoded value) and the
    number-like or capitalized words right before it (a phone number, card or IBAN
    in groups, a name, an address). At most ``max_hold`` characters are held, and a
    complete token is never cut.
    """
    cut = min(token_prefix_start(text), _value_start(text))
    floor = len(text) - max_hold
    if cut >= floor:
        return cut
    for tok in find_tokens(text[max(0, floor - 64):floor + 64]):
        base = max(0, floor - 64)
        if base + tok.start < floor < base + tok.end:
            return base + tok.start
    return floor
