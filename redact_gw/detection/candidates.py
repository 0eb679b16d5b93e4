"""Candidate spans from every recognizer, and how they become final ``Span`` lists.

Resolution, per segment: keep enabled entity types; never cover a speaker label at a
line start; never cross a line; trim separators at the edges; drop allow-listed values
and scores under the entity's threshold; then keep non-overlapping candidates, best
score first and longest first among equal scores.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from redact_gw.detection.entities import DIGIT_ENTITIES
from redact_gw.detection.labels import label_ranges
from redact_gw.model import Span
from redact_gw.settings import DetectionSettings

#: Entity types whose spans may cross a line break.
MULTILINE_TYPES = frozenset({"CREDENTIAL"})
_EDGE = " \t\r\n,;:!?\"'()[]{}<>"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A possible span, before thresholds and overlap resolution.

    Attributes:
        seg: Index of the segment.
        start: Start offset in the segment's original text.
        end: End offset.
        entity_type: Entity type name.
        score: Confidence in [0, 1].
        recognizer: Name of the recognizer.
        normalized: Canonical value, when known.
        explanation: Why it was raised; never the value.
    """

    seg: int
    start: int
    end: int
    entity_type: str
    score: float
    recognizer: str
    normalized: str | None = None
    explanation: str | None = None

    def to_span(self, text: str) -> Span:
        """The public ``Span`` for this candidate in its segment's ``text``."""
        normalized = self.normalized or default_normalized(
            self.entity_type, text[self.start:self.end])
        return Span(self.start, self.end, self.entity_type, round(self.score, 4),
                    self.recognizer, normalized, self.explanation)


def default_normalized(entity_type: str, value: str) -> str | None:
    """Canonical form of a written value: digits of numbers, IBAN and email case-folded.

    So "4111 1111 1111 1111" and "four one one one ..." share one token.
    """
    written = any(ch.isdigit() for ch in value) and not any(ch.isalpha() for ch in value)
    if entity_type in DIGIT_ENTITIES and written:
        return "".join(ch for ch in value if ch.isdigit())
    if entity_type == "IBAN_CODE":
        return "".join(ch for ch in value if ch.isalnum()).upper()
    if entity_type == "EMAIL_ADDRESS" and "@" in value:
        return value.strip().lower()
    return None


def deny_candidates(texts: Sequence[str], deny: dict[str, list[str]]) -> list[Candidate]:
    """Candidates for every deny-listed word, whole words, any case."""
    out: list[Candidate] = []
    for entity, words in deny.items():
        for word in words:
            pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
            for seg, text in enumerate(texts):
                out.extend(Candidate(seg, m.start(), m.end(), entity, 1.0, "DenyList",
                                     None, "deny list")
                           for m in pattern.finditer(text))
    return out


def resolve(text: str, cands: Iterable[Candidate],
            settings: DetectionSettings) -> list[Span]:
    """Turn one segment's candidates into sorted, non-overlapping spans."""
    kept = [c for c in cands if settings.enables(c.entity_type)
            and c.score >= settings.threshold_for(c.entity_type)]
    if not kept:
        return []  # most turns of a call: no labels to find, nothing to attach
    labels = label_ranges(text)
    allowed = allowed_values(settings)
    pool: list[Candidate] = []
    for cand in kept:
        pool.extend(p for p in _clean(text, cand, labels) if not is_allowed(text, p, allowed))
    return attach_id_parts(text, [c.to_span(text) for c in _non_overlapping(text, pool)])


#: Number-like types whose value can carry letters glued to its digits ("XK4471229",
#: "PL-88213-7734", passport "A12345678"); birth dates excluded.
_ID_TYPES = (DIGIT_ENTITIES - {"DATE_OF_BIRTH"}) | {"US_PASSPORT", "IBAN_CODE"}
_JOINERS = "-/"


def attach_id_parts(text: str, spans: Sequence[Span]) -> list[Span]:
    """Grow number-like spans over letters and digits glued to them.

    Recognizers find the digits of an identifier; a prefix such as "XK" in
    "XK4471229" would otherwise stay in the clear next to the token. A span grows
    over adjacent letters and digits, and over a single ``-`` or ``/`` between them,
    never into a neighbouring span.
    """
    out: list[Span] = []
    for i, span in enumerate(spans):
        if span.entity_type not in _ID_TYPES:
            out.append(span)
            continue
        low = out[-1].end if out else 0
        high = spans[i + 1].start if i + 1 < len(spans) else len(text)
        a, b = span.start, span.end
        while a > low and (text[a - 1].isalnum() or (
                text[a - 1] in _JOINERS and a - 1 > low and text[a - 2].isalnum())):
            a -= 1
        while b < high and (text[b].isalnum() or (
                text[b] in _JOINERS and b + 1 < high and text[b + 1].isalnum())):
            b += 1
        if a > low and text[a - 1] == "(" and ")" in text[a:b]:  # "(503) 555-0147"
            a -= 1
        out.append(span if (a, b) == (span.start, span.end) else replace(span, start=a, end=b))
    return out


def allowed_values(settings: DetectionSettings) -> frozenset[str]:
    """The allow list, lowercased and stripped."""
    return frozenset(w.strip().lower() for w in settings.allow_list)


def is_allowed(text: str, cand: Candidate, allowed: frozenset[str]) -> bool:
    """Whether the candidate's text or normalized value is allow-listed (exact, any case)."""
    if not allowed:
        return False
    value = text[cand.start:cand.end].strip().lower()
    return value in allowed or (cand.normalized or "").lower() in allowed


def _clean(text: str, cand: Candidate, labels: list[tuple[int, int]]) -> list[Candidate]:
    """Split at line breaks, cut speaker labels out, trim separators at the edges.

    Only credentials (private key blocks) may span lines.
    """
    pieces: list[Candidate] = []
    start = cand.start
    chunk = text[cand.start:cand.end]
    lines = [chunk] if cand.entity_type in MULTILINE_TYPES else chunk.split("\n")
    for line in lines:
        a, b = start, start + len(line)
        start = b + 1
        for la, lb in labels:
            if la < b and a < lb:
                a = max(a, lb)
        while a < b and text[a] in _EDGE:
            a += 1
        while b > a and text[b - 1] in _EDGE + ".":
            b -= 1
        if a < b:
            same = a == cand.start and b == cand.end  # most candidates need no cut
            pieces.append(cand if same else replace(cand, start=a, end=b))
    return pieces


def _merge_same_type(pool: list[Candidate]) -> list[Candidate]:
    """Union overlapping candidates of one entity type ("santa" + "santa fe")."""
    merged: list[Candidate] = []
    for cand in sorted(pool, key=lambda c: (c.entity_type, c.start)):
        last = merged[-1] if merged else None
        if last is None or last.entity_type != cand.entity_type or cand.start >= last.end:
            merged.append(cand)
            continue
        best = last if last.score >= cand.score else cand
        start, end = last.start, max(last.end, cand.end)
        same = (start, end) == (best.start, best.end)
        merged[-1] = best if same else replace(best, start=start, end=end, normalized=None)
    return merged


def _non_overlapping(text: str, pool: list[Candidate]) -> list[Candidate]:
    """Best first; a weaker candidate keeps the words no stronger one covers."""
    ranked = sorted(_whole_places(_merge_same_type(pool)),
                    key=lambda c: (-c.score, -(c.end - c.start), c.start))
    taken: list[Candidate] = []
    for cand in ranked:
        clashes = [t for t in taken if t.start < cand.end and cand.start < t.end]
        if not clashes:
            taken.append(cand)
            continue
        taken.extend(_remainders(text, cand, clashes))
    return sorted(taken, key=lambda c: c.start)


def _whole_places(pool: list[Candidate]) -> list[Candidate]:
    """Drop a PERSON candidate lying inside a longer LOCATION candidate: a stronger
    name reading of one word ("merløse") would otherwise cut the place ("store
    merløse") into a LOCATION piece and a PERSON piece."""
    places = [(c.start, c.end) for c in pool if c.entity_type == "LOCATION"]
    if not places:
        return pool
    return [c for c in pool if c.entity_type != "PERSON" or not any(
        a <= c.start and c.end <= b and b - a > c.end - c.start for a, b in places)]


#: Types whose leftover pieces may hold punctuation ("58 Apt. 128, Uruguay").
_PUNCTUATED = frozenset({"ADDRESS"})
_WORD2 = re.compile(r"\w\w")


def _remainders(text: str, cand: Candidate, clashes: list[Candidate]) -> list[Candidate]:
    """Pieces of ``cand`` outside ``clashes`` that still hold a word of 2+ characters."""
    out: list[Candidate] = []
    pos = cand.start
    for t in [*sorted(clashes, key=lambda c: c.start), replace(cand, start=cand.end)]:
        a, b = pos, min(t.start, cand.end)
        while a < b and not text[a].isalnum():
            a += 1
        while b > a and not text[b - 1].isalnum():
            b -= 1
        piece = text[a:b]
        if b - a >= 2 and (piece.replace(" ", "").isalnum() or (
                cand.entity_type in _PUNCTUATED and _WORD2.search(piece))):
            out.append(replace(cand, start=a, end=b, normalized=None))
        pos = max(pos, t.end)
    return out
