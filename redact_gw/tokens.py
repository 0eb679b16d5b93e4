"""The token grammar: format, find, parse. Pure functions, no I/O.

A token looks like ``[[PHONE_NUMBER:k3j9x2mq7p]]``:

* type-tagged: the entity type is readable by humans and models alike;
* random: the id is 10 characters of lowercase base32 (50 bits) drawn by the vault,
  unique within a record; nothing about the value can be derived from it;
* found by one regex (``TOKEN_RE``);
* survives JSON escaping (only ``[``, ``]``, ``:``, ``_``, ASCII letters and digits,
  none of which JSON, HTML-safe JSON encoders or URL-unsafe contexts rewrite) and
  being echoed by an LLM (no whitespace, no characters models like to "fix").
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
ID_LENGTH = 10
TOKEN_OPEN = "[["
TOKEN_CLOSE = "]]"
TYPE_PATTERN = r"[A-Z][A-Z0-9_]{0,39}"
TOKEN_RE = re.compile(
    r"\[\[(?P<type>" + TYPE_PATTERN + r"):(?P<id>[a-z2-7]{" + str(ID_LENGTH) + r"})\]\]"
)
_TYPE_RE = re.compile(TYPE_PATTERN)
#: Longest possible token, in characters: the streaming restorer's hold-back bound.
MAX_TOKEN_LEN = len(TOKEN_OPEN) + 40 + 1 + ID_LENGTH + len(TOKEN_CLOSE)


@dataclass(frozen=True, slots=True)
class TokenMatch:
    """A token found in a text."""

    token: str
    entity_type: str
    start: int
    end: int


def new_token_id() -> str:
    """Draw a fresh random token id from the OS CSPRNG (one read, 50 random bits).

    Base32 (RFC 4648, lowercased: exactly ``ID_ALPHABET``) of 7 random bytes; its
    first 10 characters carry the first 50 bits.
    """
    return _base32_id(secrets.token_bytes(7))


def _base32_id(raw: bytes) -> str:
    """``b32encode(raw)[:10].lower()`` of 7 bytes (the same characters, tested), five
    bits at a time from one integer instead of ``base64``'s pure-Python encoder."""
    bits = int.from_bytes(raw, "big") >> 6  # the first 50 of the 56 bits
    return "".join(ID_ALPHABET[(bits >> shift) & 31] for shift in _SHIFTS)


_SHIFTS = tuple(range(5 * (ID_LENGTH - 1), -1, -5))


def format_token(entity_type: str, token_id: str | None = None) -> str:
    """Build a token for ``entity_type`` with ``token_id`` (random when omitted).

    Raises:
        ValueError: the entity type or id does not fit the grammar.
    """
    if entity_type not in _CHECKED_TYPES:
        if not _TYPE_RE.fullmatch(entity_type):
            raise ValueError("entity type must match " + TYPE_PATTERN)
        if len(_CHECKED_TYPES) < 1024:  # a bounded memo: types are a small fixed set
            _CHECKED_TYPES.add(entity_type)
    if token_id is None:  # a drawn id always fits the grammar
        return f"{TOKEN_OPEN}{entity_type}:{new_token_id()}{TOKEN_CLOSE}"
    token = f"{TOKEN_OPEN}{entity_type}:{token_id}{TOKEN_CLOSE}"
    if not TOKEN_RE.fullmatch(token):
        raise ValueError("token id does not fit the grammar")
    return token


#: Entity types already found to fit ``TYPE_PATTERN``.
_CHECKED_TYPES: set[str] = set()


def parse_token(text: str) -> TokenMatch | None:
    """Parse ``text`` as exactly one token, or return ``None``."""
    m = TOKEN_RE.fullmatch(text)
    if m is None:
        return None
    return TokenMatch(m.group(0), m.group("type"), 0, len(text))


def find_tokens(text: str) -> list[TokenMatch]:
    """Every token in ``text``, in order."""
    return [TokenMatch(m.group(0), m.group("type"), m.start(), m.end())
            for m in TOKEN_RE.finditer(text)]


def token_prefix_start(text: str) -> int:
    """Offset where a possibly unfinished token starts at the end of ``text``.

    Returns ``len(text)`` when the tail of ``text`` cannot be the beginning of a token.
    Used by streaming restore to hold back only what might still become a token.
    """
    start = text.rfind("[", max(0, len(text) - MAX_TOKEN_LEN))
    while start != -1:
        tail = text[start:]
        if _could_grow_into_token(tail):
            # "[[" may begin at start-1 when start points at the second bracket.
            if start > 0 and text[start - 1] == "[" and _could_grow_into_token(text[start - 1:]):
                return start - 1
            return start
        start = text.rfind("[", max(0, len(text) - MAX_TOKEN_LEN), start)
    return len(text)


_PARTIAL_RE = re.compile(
    r"\[(?:\[(?:[A-Z](?:[A-Z0-9_]{0,39}(?::[a-z2-7]{0," + str(ID_LENGTH) + r"}(?:\])?)?)?)?)?"
)


def _could_grow_into_token(tail: str) -> bool:
    """True when ``tail`` is a strict prefix of some token."""
    m = _PARTIAL_RE.fullmatch(tail)
    return m is not None and not TOKEN_RE.fullmatch(tail)
