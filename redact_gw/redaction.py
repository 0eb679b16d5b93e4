"""Sans-io redaction core: spans -> pending values -> tokenized texts, and restore.

Nothing here does I/O or knows about HTTP, the vault or detection engines: the
caller hands in spans and a token mapping, and gets texts and entity reports back.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from redact_gw.model import KnownValue, PendingValue, Revealed, SegmentNer, Span
from redact_gw.tokens import TOKEN_RE

RevealMode = Literal["full", "masked", "none"]

#: Entity types whose identity is their digits (and letters): separators don't count.
ALNUM_TYPES = frozenset({
    "CREDIT_CARD", "PHONE_NUMBER", "US_SSN", "US_ITIN", "US_BANK_NUMBER", "IBAN_CODE",
    "ACCOUNT_NUMBER", "ROUTING_NUMBER", "ZIP_CODE", "US_PASSPORT", "US_DRIVER_LICENSE",
    "UK_NHS", "IP_ADDRESS", "DATE_OF_BIRTH", "MAC_ADDRESS",
})
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")


def normalize(entity_type: str, raw: str, hint: str | None = None) -> str:
    """Canonical form used to give equal values one token within a record."""
    text = unicodedata.normalize("NFKC", hint if hint is not None else raw)
    if entity_type in ALNUM_TYPES:
        return _NON_ALNUM.sub("", text).upper()
    if entity_type == "EMAIL_ADDRESS":
        return text.strip().lower()
    return " ".join(text.casefold().split())


@dataclass(frozen=True, slots=True)
class Entity:
    """A tokenized span as reported to the caller (never the value)."""

    token: str
    entity_type: str
    score: float
    recognizer: str
    location: dict[str, Any]
    explanation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``/v1/redact``."""
        d: dict[str, Any] = {"token": self.token, "entity_type": self.entity_type,
                             "score": round(self.score, 4), "recognizer": self.recognizer,
                             "location": self.location}
        if self.explanation:
            d["explanation"] = self.explanation
        return d


def pending_values(texts: Sequence[str], spans: Sequence[Sequence[Span]]) -> list[PendingValue]:
    """One ``PendingValue`` per span, in document order (duplicates allowed)."""
    return [PendingValue(s.entity_type, normalize(s.entity_type, text[s.start:s.end],
                                                  s.normalized), text[s.start:s.end])
            for text, ss in zip(texts, spans, strict=True) for s in ss]


@dataclass(slots=True)
class Redacted:
    """Tokenized texts and the entities placed in them."""

    texts: list[str]
    entities: list[Entity] = field(default_factory=list)
    no_retention: bool = False
    #: The record's values after this redaction (what was there plus what was added),
    #: so the answer scan can use them without decrypting the record again.
    known: list[KnownValue] = field(default_factory=list)
    #: Token -> this request's own original (first spelling in the request): what the
    #: caller's answer may restore, whoever stored the token's value first.
    originals: dict[str, Revealed] = field(default_factory=dict)
    #: Per text: (start, end, token) of each value in the ORIGINAL text, so a caller
    #: holding the text's structure (ASR word items) can place the tokens itself.
    placed: list[list[tuple[int, int, str]]] = field(default_factory=list)
    #: Per text, its NER when the caller asked to keep it (``detection.ner_memo``).
    ner: list[SegmentNer | None] = field(default_factory=list, repr=False)

    def counts(self) -> dict[str, int]:
        """Number of tokenized spans per entity type."""
        out: dict[str, int] = {}
        for e in self.entities:
            out[e.entity_type] = out.get(e.entity_type, 0) + 1
        return out


def apply_tokens(texts: Sequence[str], spans: Sequence[Sequence[Span]],
                 tokens: Mapping[tuple[str, str], str],
                 locations: Sequence[Mapping[str, Any]] | None = None,
                 keys: Sequence[str] | None = None) -> Redacted:
    """Replace every span by its token; report where each token sits in the output.

    Args:
        texts: Original segment texts.
        spans: Sorted, non-overlapping spans per segment.
        tokens: (entity_type, normalized key) -> token, as the vault returned.
        locations: Extra location fields per segment (path, turn index...).
        keys: Each span's normalized key, in document order, when the caller has them
            already (``pending_values``' ``key``s): ``normalize`` is not run again.
    """
    out = Redacted([])
    n = 0
    for i, (text, ss) in enumerate(zip(texts, spans, strict=True)):
        pieces: list[str] = []
        placed: list[tuple[int, int, str]] = []
        cursor = 0
        length = 0
        for s in ss:
            piece = text[cursor:s.start]
            pieces.append(piece)
            length += len(piece)
            if keys is None:
                key = normalize(s.entity_type, text[s.start:s.end], s.normalized)
            else:
                key = keys[n]
                n += 1
            token = tokens[(s.entity_type, key)]
            loc = dict(locations[i]) if locations else {"segment": i}
            loc.update(start=length, end=length + len(token))
            out.entities.append(Entity(token, s.entity_type, s.score, s.recognizer, loc,
                                       s.explanation))
            pieces.append(token)
            placed.append((s.start, s.end, token))
            length += len(token)
            cursor = s.end
        pieces.append(text[cursor:])
        out.texts.append("".join(pieces))
        out.placed.append(placed)
    return out


def mask(entity_type: str, value: str) -> str:
    """A masked rendering: last four for identifiers, initials for the rest."""
    if entity_type in ALNUM_TYPES or entity_type in ("CREDENTIAL",):
        alnum = _NON_ALNUM.sub("", value)
        keep = 4 if entity_type != "CREDENTIAL" and len(alnum) > 6 else 0
        return "*" * max(len(alnum) - keep, 4) + (alnum[-keep:] if keep else "")
    if entity_type == "EMAIL_ADDRESS" and "@" in value:
        local, _, domain = value.rpartition("@")
        return (local[:1] + "***@" + domain) if local else "***@" + domain
    return " ".join(w[:1] + "*" * max(len(w) - 1, 2) for w in value.split()) or "***"


@dataclass(slots=True)
class Restored:
    """A restored text and per-entity-type counts of what was revealed."""

    text: str
    revealed: dict[str, int] = field(default_factory=dict)
    masked: dict[str, int] = field(default_factory=dict)
    withheld: dict[str, int] = field(default_factory=dict)


def _bump(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


def restore(text: str, values: Mapping[str, Revealed],
            mode_for: Callable[[str], RevealMode]) -> Restored:
    """Replace tokens found in ``values`` according to the mode of their entity type.

    Tokens not in ``values`` (other records, purged, unknown) stay as they are.
    """
    result = Restored("")
    def sub(m: re.Match[str]) -> str:
        rv = values.get(m.group(0))
        if rv is None:
            return m.group(0)
        mode = mode_for(rv.entity_type)
        if mode == "full":
            _bump(result.revealed, rv.entity_type)
            return rv.value
        if mode == "masked":
            _bump(result.masked, rv.entity_type)
            return mask(rv.entity_type, rv.value)
        _bump(result.withheld, rv.entity_type)
        return m.group(0)
    result.text = TOKEN_RE.sub(sub, text)
    return result


def tokens_in(texts: Iterable[str]) -> list[str]:
    """Distinct tokens in the texts, in order of first appearance."""
    seen: dict[str, None] = {}
    for t in texts:
        for m in TOKEN_RE.finditer(t):
            seen.setdefault(m.group(0), None)
    return list(seen)
