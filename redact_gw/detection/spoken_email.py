"""Emails read aloud: "john dot smith at gmail dot com", "j o h n underscore 8 4 at ...".

Found from the "at" outwards: the domain to the right must end in a public suffix
(checked against tldextract's bundled snapshot, offline), and the local part is read
leftwards over words joined by "dot", "underscore", "dash", spelled letters and
numbers, stopping at words such as "is" or "email".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import tldextract

from redact_gw.detection.lexicon import (
    EMAIL_CONNECTORS,
    EMAIL_STOPS,
    REPEATERS,
    TEENS,
    TENS,
    UNITS,
)
from redact_gw.detection.view import Tok

RECOGNIZER = "SpokenEmailRecognizer"
#: Plain words read leftwards into a local part ("li na wang eighty eight at").
_MAX_PLAIN_WORDS = 3
#: Single letters read leftwards before a plain word ("j k smith at").
_MAX_INITIALS = 2



@functools.cache
def offline_tld() -> tldextract.TLDExtract:
    """The offline extractor: bundled public-suffix snapshot, no download, no disk cache."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None,
                                 fallback_to_snapshot=True)


def has_public_suffix(domain: str) -> bool:
    """Whether ``domain`` ends in a known public suffix and has a registrable name."""
    result = offline_tld()(domain)
    return bool(result.suffix and result.domain)


def _char(word: str) -> str:
    if word in REPEATERS:
        return chr(REPEATERS[word])
    if word in EMAIL_CONNECTORS:
        return EMAIL_CONNECTORS[word]
    if word in UNITS and word != "o":
        return str(UNITS[word])
    if word in TEENS:
        return str(TEENS[word])
    if word in TENS:
        return str(TENS[word])[0]
    return word


def _same_line(text: str, a: Tok, b: Tok) -> bool:
    return "\n" not in text[a.end:b.start]


def _sep(text: str, toks: Sequence[Tok], i: int) -> str:
    """What joins token ``i`` to token ``i + 1``: ".", "-", "" (other) or "\n"."""
    if i + 1 >= len(toks):
        return "\n"
    between = text[toks[i].end:toks[i + 1].start]
    if "\n" in between:
        return "\n"
    if between.strip() in (".", "-") and between.strip() == between:
        return between
    word = toks[i + 1].lower
    if word in ("dot", "period", "point") and between.strip() == "":
        return "."
    if word in ("dash", "hyphen") and between.strip() == "":
        return "-"
    return ""


def _space_joined(text: str, toks: Sequence[Tok], i: int) -> bool:
    """Whether token ``i + 1`` continues the same label: "proton mail dot com"."""
    return (i + 2 < len(toks) and toks[i + 1].text.isalpha()
            and toks[i + 1].lower not in EMAIL_CONNECTORS and _sep(text, toks, i + 1) == "."
            and text[toks[i].end:toks[i + 1].start] == " ")


def _domain(text: str, toks: Sequence[Tok], at: int) -> tuple[str, int] | None:
    """Read "gmail dot com" / "gmail.com" after token ``at``: (domain, last index)."""
    labels = [""]
    best: tuple[str, int] | None = None
    i = at + 1
    while i < len(toks) and _sep(text, toks, i - 1) != "\n":
        word = toks[i].lower
        if word in EMAIL_CONNECTORS or not word.isalnum():
            break
        labels[-1] += word
        if len(labels) > 1 and has_public_suffix(".".join(labels)):
            best = (".".join(labels), i)
        sep = _sep(text, toks, i)
        spoken = i + 1 < len(toks) and toks[i + 1].lower in EMAIL_CONNECTORS
        if sep == "" and _space_joined(text, toks, i):
            i += 1
            continue
        if sep == ".":
            labels.append("")
        elif sep == "-":
            labels[-1] += "-"
        else:
            break
        i += 2 if spoken else 1
    return best


def _local_part(text: str, toks: Sequence[Tok], at: int) -> tuple[str, int] | None:
    """Read the local part leftwards from token ``at``: (local, first index)."""
    i = at - 1
    if i < 0 or toks[i].lower in EMAIL_STOPS or not _same_line(text, toks[i], toks[at]):
        return None
    parts = [_char(toks[i].lower)]
    first = i
    words = initials = 0
    while first > 0 and _same_line(text, toks[first - 1], toks[first]):
        prev, cur = toks[first - 1].lower, toks[first].lower
        sep = text[toks[first - 1].end:toks[first].start]
        joined = sep in (".", "_", "-", "+")
        if prev in EMAIL_CONNECTORS and first - 2 >= 0 and toks[first - 2].lower not in EMAIL_STOPS:
            parts[:0] = [_char(toks[first - 2].lower), EMAIL_CONNECTORS[prev]]
            first -= 2
        elif joined and prev not in EMAIL_STOPS:
            parts[:0] = [prev, sep]
            first -= 1
        elif _is_char_word(prev) and _is_char_word(cur) and prev not in EMAIL_STOPS:
            parts.insert(0, _char(prev))
            first -= 1
        elif words < _MAX_PLAIN_WORDS and prev.isalpha() and not (
                _is_char_word(prev) or prev in EMAIL_STOPS):
            parts.insert(0, prev)
            first -= 1
            words += 1
        elif initials < _MAX_INITIALS and _is_initial(prev) and not _is_char_word(cur):
            parts.insert(0, prev)  # "j k smith at", "thomas o neil at"
            first -= 1
            initials += 1
        else:
            break
    local = re.sub("([\x02\x03])(.)", lambda m: m.group(2) * ord(m.group(1)), "".join(parts))
    return local, first


def _is_initial(word: str) -> bool:
    """A single letter that may be an initial (not the words "a" and "i")."""
    return len(word) == 1 and word.isalpha() and word not in ("a", "i")


def _is_char_word(word: str) -> bool:
    return (len(word) == 1 or word.isdigit()
            or any(word in table for table in (REPEATERS, UNITS, TEENS, TENS)))


def find_spoken_emails(text: str, toks: Sequence[Tok]) -> list[tuple[int, int, str]]:
    """Spoken emails in ``text`` as (start, end, normalized address)."""
    out: list[tuple[int, int, str]] = []
    for at, tok in enumerate(toks):
        if tok.lower != "at" or text[tok.start - 1:tok.start] == "@":
            continue
        domain = _domain(text, toks, at)
        local = _local_part(text, toks, at) if domain else None
        if domain is None or local is None:
            continue
        address = f"{local[0]}@{domain[0]}".lower()
        out.append((toks[local[1]].start, toks[domain[1]].end, address))
    return out
