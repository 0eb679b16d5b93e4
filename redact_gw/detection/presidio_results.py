"""Presidio's results read again for transcripts (``adjust``).

spaCy's NER and Presidio's pattern recognizers were made for written text. Each result
becomes a ``Candidate`` here, rescored or dropped: vague dates ("for years"), NER spans
without a name word, ORG spans that are known places or first names, PERSON spans
that are only English words, numbers in a quantity context ("order", "dollars"),
dates in a birth context. ``presidio_detector`` calls ``adjust`` per result.
"""

from __future__ import annotations

import re

from presidio_analyzer import RecognizerResult
from spacy.lang.en.stop_words import STOP_WORDS

from redact_gw.detection import dates, gazetteer, names, truecase
from redact_gw.detection import entities as E
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.context import TranscriptContext
from redact_gw.detection.engine import explain, recognizer_name
from redact_gw.detection.lexicon import NOT_NAMES

#: Presidio entity types that are numbers; a quantity context ("order", "dollars")
#: drops them unless Presidio validated them strongly.
_NUMERIC_TYPES = frozenset({E.PHONE_NUMBER, E.US_BANK_NUMBER, E.US_PASSPORT, E.US_SSN,
                            E.US_ITIN, E.CREDIT_CARD})
_NER_TYPES = frozenset({E.PERSON, E.LOCATION, E.NRP, E.ORGANIZATION})
_DIGIT_RE = re.compile(r"\d")
_WORD_RE = re.compile(r"[A-Za-z']+")
#: Types that are rarely personal on their own: scored under the default threshold,
#: unless ``detection.entities`` names them, then just under identifiers (which win an
#: overlap: a date inside a card or an address stays part of it).
LOW_VALUE_TYPES = {E.DATE_TIME: 0.3, E.URL: 0.3}
OPTED_IN_SCORE = 0.6
#: Score of an NER name made only of English words that are no names.
WORD_NAME_SCORE = 0.35


def adjust(seg: int, offset: int, line: str, result: RecognizerResult,
           ctx: TranscriptContext, gaz: gazetteer.Gazetteer | None,
           opted_in: frozenset[str] = frozenset()) -> Candidate | None:
    """A Presidio result as a candidate, rescored for transcripts."""
    start, end = offset + result.start, offset + result.end
    entity, score = result.entity_type, result.score
    value = line[result.start:result.end]
    digit = _DIGIT_RE.search(value)
    if entity == E.LOCATION and digit is not None and digit.start() > 0:
        value = value[:digit.start()].rstrip(" ,")  # "Tucson AZ 85701": the place part
        end = start + len(value)
    if entity == E.DATE_TIME and dates.is_vague(value):
        return None  # "for years", "last night": no day, hour or year
    if entity in _NER_TYPES and not _has_name_word(value) and not (
            entity == E.LOCATION and value.isupper() and value.isalpha()):
        return None  # but "US", "UK" (stop words when lower-cased) are places
    if entity == E.ORGANIZATION:
        if gaz is None:
            return None
        entity, score = _organization(value, gaz)
        if not entity:
            return None
    if gaz is not None and entity in (E.LOCATION, E.PERSON):
        entity = _person_or_place(entity, value, gaz)
    if entity == E.PERSON and gaz is not None:
        if not name_like(value, gaz):
            # "Discipline", "Guilty Pleasures": words, not names
            score = min(score, WORD_NAME_SCORE)
        a, b = _trim_words(value, gaz)
        start, end = start + a, start + b
    if entity == E.NRP:
        score = min(score, 0.6)
    why = explain(result)
    hint = ctx.hint(seg, start, end)
    quantity = hint is not None and hint.family == "negative"
    if entity in _NUMERIC_TYPES and quantity and score < 0.9:
        return None
    has_digit = any(ch.isdigit() for ch in line[result.start:result.end])
    if entity == E.DATE_TIME and hint is not None and hint.family == "dob" and has_digit:
        entity, score, why = E.DATE_OF_BIRTH, 0.85, f"{why}, birth context ('{hint.word}')"
    elif entity in LOW_VALUE_TYPES:
        cap = OPTED_IN_SCORE if entity in opted_in else LOW_VALUE_TYPES[entity]
        score = min(score, cap)
    return Candidate(seg, start, end, entity, score, recognizer_name(result), None, why)


def _organization(value: str, gaz: gazetteer.Gazetteer) -> tuple[str, float]:
    """An ORG span read again: a known place is a LOCATION ("Savannah"), a first name
    with name-like words a PERSON ("Katsuko Koku"); anything else no entity ("")."""
    lowered = [w[2].lower() for w in truecase.words(value)]
    if not lowered:
        return "", 0.0
    if gaz.place_kind(" ".join(lowered)):
        return E.LOCATION, 0.6
    if len(lowered) >= 2 and gaz.is_first(lowered[0]) and all(
            gaz.name_kind(w) for w in lowered[1:]):
        return E.PERSON, 0.6
    return "", 0.0


def _person_or_place(entity: str, value: str, gaz: gazetteer.Gazetteer) -> str:
    """NER's PERSON / LOCATION label, corrected by the gazetteer: a value starting with
    a census first name that is no known place is a PERSON ("rebecca", "marguerite
    osterhaus"), a known place that starts with no first name a LOCATION."""
    lowered = " ".join(w[2].lower() for w in truecase.words(value))
    first = gaz.is_first(lowered.split(" ")[0]) if lowered else False
    place = gaz.place_kind(lowered) > 0
    if entity == E.LOCATION and first and not place:
        return E.PERSON
    if entity == E.PERSON and place and not first:
        return E.LOCATION
    return entity


def _trim_words(value: str, gaz: gazetteer.Gazetteer) -> tuple[int, int]:
    """The part of a PERSON value without lower-case English words at its edges
    ("kristensen originally", "songwriter amy mitchell") or a possessive "'s"."""
    ws = truecase.words(value)
    def word(w: str) -> bool:
        return w.lower() in names.HONORIFICS or (
            w.islower() and len(w) > 1 and not gaz.is_first(w) and (
                gaz.name_kind(w) == 0 or w in gaz.words))
    while len(ws) > 1 and word(ws[-1][2]):
        ws.pop()
    while len(ws) > 1 and word(ws[0][2]):
        ws.pop(0)
    return (ws[0][0], ws[-1][1]) if ws else (0, len(value))


def name_like(text: str, gaz: gazetteer.Gazetteer) -> bool:
    """Whether some word of a PERSON value is a name, not only an English word.

    A capitalized word may be any name-like word; a lower-case one (speech, where
    capitals say nothing) must be a census name or no English word at all: "lemurs
    antelope camels" is no name, "miyoshi" is.
    """
    for _a, _b, word in truecase.words(text):
        w = word.lower()
        if len(w) < 2:
            continue
        if word[:1].isupper() and (gaz.name_kind(w) or gaz.is_first(w)):
            return True
        if word.islower() and gaz.looks_like_name(w):
            return True
    return False


def _has_name_word(text: str) -> bool:
    if any(ch.isdigit() for ch in text):
        return False
    words = [w.lower() for w in _WORD_RE.findall(text)]
    return any(len(w) > 1 and w not in STOP_WORDS and w not in NOT_NAMES for w in words)
