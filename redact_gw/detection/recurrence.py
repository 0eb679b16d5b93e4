"""Recurrences: a value caught once, or known from the record, is caught everywhere.

Digit values (cards, phones, SSNs...) recur as any piece of four or more of their
consecutive digits, written or spoken ("the card ending in four four seven one").
Names recur word by word (a surname alone), spelled or not. Any known value also
recurs verbatim, in any case, except a place found in the transcript (not a known
value) whose every word is a common English word ("Nice", "Reading", "Mobile"): it
recurs only as it was written, capitalized ("have a nice day" is no place), and not
at all when it was found in lower case.

Known values must be the caller's own (``engine.Redactor`` passes only values the
calling principal, or its share group, sent): a recurrence of another principal's
piece would tell the caller which pieces that value has.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from spacy.lang.en.stop_words import STOP_WORDS

from redact_gw.detection import entities as E
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.lexicon import NOT_NAMES
from redact_gw.detection.view import SpokenView
from redact_gw.model import KnownValue

RECOGNIZER = "RecurrenceRecognizer"
MIN_DIGITS = 4
#: Score of a known value's recurrences (plus 0.05); found values use their own score.
KNOWN_SCORE = 0.9
_DIGITS_RE = re.compile(r"\d+")
_WORD_RE = re.compile(r"[^\W\d_][^\W\d_'\-]*")  # letters of any script: "ståle", not "st"
_LETTERS_RE = re.compile(r"[a-z]+")


@dataclass(frozen=True, slots=True)
class Source:
    """Entity type of a value to look for again, and the score its recurrences get."""

    entity_type: str
    score: float


@dataclass(slots=True)
class Needles:
    """What to look for again: digit strings, name words and verbatim phrases."""

    digits: dict[str, Source] = field(default_factory=dict)
    words: dict[str, Source] = field(default_factory=dict)
    phrases: dict[str, Source] = field(default_factory=dict)
    #: Places of common words, looked for in their own case only.
    cased: dict[str, Source] = field(default_factory=dict)

    def add(self, entity_type: str, value: str, normalized: str | None = None,
            score: float = KNOWN_SCORE, common: Callable[[str], bool] | None = None) -> None:
        """Remember a value of ``entity_type`` (its text and normalized form); a place
        whose every word ``common`` says is a common English word (lower case) is looked
        for only as written."""
        src = Source(entity_type, min(score, KNOWN_SCORE) - 0.05)
        digits = "".join(ch for ch in (normalized or value) if ch.isdigit())
        if entity_type in E.DIGIT_ENTITIES and len(digits) >= MIN_DIGITS:
            _keep_best(self.digits, digits, src)
        if entity_type == E.PERSON:
            for word in _WORD_RE.findall(normalized or value):
                w = word.lower()
                if len(w) >= 3 and w not in STOP_WORDS and w not in NOT_NAMES:
                    _keep_best(self.words, w, src)
        phrase = value.strip().lower()
        if entity_type == E.LOCATION and common is not None and _all_common(phrase, common):
            if value.strip()[:1].isupper():
                _keep_best(self.cased, value.strip(), src)
            return
        if entity_type in (E.PERSON, E.LOCATION, E.ADDRESS, E.EMAIL_ADDRESS) and len(phrase) >= 3:
            _keep_best(self.phrases, phrase, src)


def _all_common(phrase: str, common: Callable[[str], bool]) -> bool:
    words = _WORD_RE.findall(phrase)
    return bool(words) and all(map(common, words))


def _keep_best(table: dict[str, Source], key: str, src: Source) -> None:
    old = table.get(key)
    if old is None or old.score < src.score:
        table[key] = src


def collect(texts: Sequence[str], found: Iterable[Candidate],
            known: Iterable[KnownValue],
            common: Callable[[str], bool] | None = None) -> Needles:
    """Needles from candidates found in this transcript and from known values;
    ``common`` says which (lower-case) words are common English words (read for the
    found places only: a known value recurs in any case)."""
    needles = Needles()
    for kv in known:  # the caller's own values: a common word is still theirs, in any case
        needles.add(kv.entity_type, kv.value)
    for cand in found:
        needles.add(cand.entity_type, texts[cand.seg][cand.start:cand.end], cand.normalized,
                    cand.score, common)
    return needles


def find(seg: int, view: SpokenView, needles: Needles) -> list[Candidate]:
    """Every recurrence of a needle in one segment."""
    return [*_digit_hits(seg, view, needles), *_word_hits(seg, view, needles),
            *_phrase_hits(seg, view.original, needles)]


def _digit_hits(seg: int, view: SpokenView, needles: Needles) -> list[Candidate]:
    out: list[Candidate] = []
    if not needles.digits:
        return out
    for m in _DIGITS_RE.finditer(view.text):
        piece = m.group()
        if len(piece) < MIN_DIGITS:
            continue
        for value, src in needles.digits.items():
            if piece in value:
                a, b = view.to_original(m.start(), m.end())
                out.append(_hit(seg, a, b, src, piece, "digits of a value seen before"))
                break
            at = piece.find(value)
            if at >= 0:
                a, b = view.to_original(m.start() + at, m.start() + at + len(value))
                out.append(_hit(seg, a, b, src, value, "a value seen before"))
                break
    return out


def _word_hits(seg: int, view: SpokenView, needles: Needles) -> list[Candidate]:
    out: list[Candidate] = []
    if not needles.words:
        return out
    text = view.original
    for m in _WORD_RE.finditer(text):
        src = needles.words.get(m.group().lower())
        if src:
            out.append(_hit(seg, m.start(), m.end(), src, None, "name seen before"))
    for m in _LETTERS_RE.finditer(view.text) if view.runs else ():  # spelled: in a run
        src = needles.words.get(m.group())
        if src and any(run.view_start <= m.start() < run.view_end for run in view.runs):
            a, b = view.to_original(m.start(), m.end())
            out.append(_hit(seg, a, b, src, m.group(), "spelled name seen before"))
    return out


def _phrase_hits(seg: int, text: str, needles: Needles) -> list[Candidate]:
    out: list[Candidate] = []
    lower = text.lower()
    # a letter may lower-case longer ("İ": "i" and a dot above): each lowered
    # character's index in ``text``, so that no span slides off the value
    back = None if len(lower) == len(text) else [
        i for i, c in enumerate(text) for _ in c.lower()]
    for haystack, table in ((lower, needles.phrases), (text, needles.cased)):
        for phrase, src in table.items():
            start = haystack.find(phrase)
            while start >= 0:
                end = start + len(phrase)
                a, b = ((back[start], back[end - 1] + 1) if back is not None
                        and haystack is lower else (start, end))
                if _bounded(text, a, b):
                    out.append(_hit(seg, a, b, src, None, "value seen before"))
                start = haystack.find(phrase, end)
    return out


def _bounded(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or after.isalnum())


def _hit(seg: int, a: int, b: int, src: Source, normalized: str | None,
         why: str) -> Candidate:
    return Candidate(seg, a, b, src.entity_type, src.score, RECOGNIZER, normalized,
                     f"recurrence: {why}")
