"""Dates and times the other recognizers miss, for the dates policy.

The policy (README, "Dates, the policy"): a date in a birth context is a
``DATE_OF_BIRTH`` and always redacted; every other date or time is a ``DATE_TIME``
scored under the threshold, redacted only when ``DATE_TIME`` is named in
``detection.entities``; a relative date that pins no day, hour or year ("for years",
"last night") is no date to redact at all (``is_vague``). This module finds:

* written dates and timestamps as one span: "4/2/1937", "2000-11-13 20:26:58.79"
  (the normalized view joins their digits into one run, so the view's date pattern
  never sees the slashes, and a timestamp's seconds looked like an account number);
* a month with its day, and the digits that follow it ("january seventeenth twenty
  twenty two ten forty five": a date and a time read aloud);
* spoken years after a word that introduces a year: "in two thousand five", "since
  nineteen eighty six", "act of twenty thirteen" (1900-2099, at most four words; "of"
  and "a" only before a year read in two halves).
"""

from __future__ import annotations

import re

from redact_gw.detection import entities as E
from redact_gw.detection.address_gates import folded, has_any
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.context import TranscriptContext
from redact_gw.detection.lexicon import MONTHS, ORDINALS, TEENS, TENS, UNITS, WEEKDAYS
from redact_gw.detection.view import SpokenView

RECOGNIZER = "DateRecognizer"
WRITTEN_RE = re.compile(
    r"(?<![\w/.-])(?:(?:19|20)\d\d-\d\d-\d\d(?:[ T]\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?)?"
    r"|\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2}))(?![\w/-]|\.\d)")
_ORDINAL = "|".join(sorted(ORDINALS, key=len, reverse=True))
#: A month and its day in the view, with the digits that follow ("january seventeenth
#: 20221045", "May 28th"): vanilla spaCy calls "march fourth" a date, so does this.
MONTH_DAY_RE = re.compile(
    r"\b(?:" + "|".join(MONTHS) + r")\s+(?:the\s+)?"
    rf"(?:(?:twenty|thirty)\s+)?(?:{_ORDINAL}|\d{{1,2}}(?:st|nd|rd|th)?)\b(?:,?\s+\d+\b)?",
    re.IGNORECASE)
#: Words right before a spoken year ("in two thousand five", "since nineteen eighty").
YEAR_CUES = frozenset({"in", "since", "during", "until", "till", "year", "before", "after",
                       "circa", "early", "late", "mid", "summer", "winter", "spring",
                       "autumn", *MONTHS})
#: Words before a year read in two halves only ("act of twenty thirteen", "a nineteen
#: eighty six film"): "a total of two thousand ten" is a count.
WEAK_YEAR_CUES = frozenset({"of", "a", "by", "from", "around"})
_YEAR_WORDS = 4
#: Words that pin a date or a time to a day, an hour or a year.
_PINNING = frozenset(MONTHS) | frozenset(WEEKDAYS) | frozenset(ORDINALS) | frozenset(
    UNITS) | frozenset(TEENS) | frozenset(TENS) | {
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "noon", "midnight", "today", "tomorrow", "yesterday", "tonight", "christmas", "easter",
    "thanksgiving", "hundred", "thousand"}
_WORD_RE = re.compile(r"[a-z]+")
#: Held by every ``WRITTEN_RE`` match (a digit, a separator, a digit): most lines have
#: none, and this scan is a few times cheaper than the pattern's.
_WRITTEN_HINT = re.compile(r"\d[/.-]\d")


def may_name_month(text: str) -> bool:
    """Whether ``MONTH_DAY_RE`` can match ``text``: every match holds a month's name.
    Read only on ASCII text, where the pattern's ``IGNORECASE`` is ``str.lower``
    (elsewhere it also matches the long s (U+017F) to "s"...; always ``True`` there)."""
    return has_any(folded(text), MONTHS)


def is_vague(value: str) -> bool:
    """Whether a date or time says no day, hour or year ("years", "last night", "this
    morning", "weekly"): not a personal date, even with ``DATE_TIME`` opted in."""
    if any(ch.isdigit() for ch in value):
        return False
    return not any(w in _PINNING for w in _WORD_RE.findall(value.lower()))


def date_candidates(seg: int, view: SpokenView, ctx: TranscriptContext) -> list[Candidate]:
    """Written dates and timestamps, and spoken years, as ``DATE_TIME`` (or
    ``DATE_OF_BIRTH`` in a birth context)."""
    out: list[Candidate] = []
    written = _WRITTEN_HINT.search(view.original) is not None
    for m in WRITTEN_RE.finditer(view.original) if written else ():
        out.append(_typed(seg, m.start(), m.end(), ctx, "written date"))
    for m in MONTH_DAY_RE.finditer(view.text) if may_name_month(view.text) else ():
        a, b = view.to_original(m.start(), m.end())
        out.append(_typed(seg, a, b, ctx, "month and day"))
    toks = view.tokens
    for run in view.runs:
        chars, words = run.chars, run.tok_last - run.tok_first + 1
        if not (chars.isdecimal() and len(chars) == 4 and 1900 <= int(chars) <= 2099):
            continue
        if words > _YEAR_WORDS or toks[run.tok_first].text.isdigit():
            continue  # written years are spaCy's
        before = toks[run.tok_first - 1].lower if run.tok_first else ""
        halves = not any(t.lower == "thousand" for t in toks[run.tok_first:run.tok_last + 1])
        if before in YEAR_CUES or (halves and before in WEAK_YEAR_CUES):
            out.append(_typed(seg, run.start, run.end, ctx, f"spoken year after '{before}'"))
    return out


def _typed(seg: int, start: int, end: int, ctx: TranscriptContext, why: str) -> Candidate:
    hint = ctx.hint(seg, start, end)
    if hint is not None and hint.family == "dob":
        return Candidate(seg, start, end, E.DATE_OF_BIRTH, 0.9, RECOGNIZER, None,
                         f"{why}, birth context ('{hint.word}')")
    return Candidate(seg, start, end, E.DATE_TIME, 0.3, RECOGNIZER, None, why)
