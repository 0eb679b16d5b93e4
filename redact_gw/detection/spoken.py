"""Recognizers that run on the normalized view of one segment.

Numbers (cards, SSNs, phones, accounts, zip codes...), spoken IBANs, dates of birth,
and passwords after "my password is". Every span found in the view
is mapped back to the original characters through ``SpokenView.to_original``.
"""

from __future__ import annotations

import re

from redact_gw.detection import entities as E
from redact_gw.detection import numbers, phones, spoken_ids
from redact_gw.detection.address_gates import folded, has_any
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.context import TranscriptContext
from redact_gw.detection.lexicon import MONTHS, ORDINALS
from redact_gw.detection.view import Run, SpokenView

DATE_RECOGNIZER = "SpokenDateRecognizer"
PASSWORD_RECOGNIZER = "PasswordRecognizer"
IBAN_RECOGNIZER = "SpokenIbanRecognizer"

_MONTH = "|".join(MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
_ORD = "|".join(sorted(ORDINALS, key=len, reverse=True))
_DAY = rf"(?:\d{{1,2}}\s+(?:{_ORD})|\d{{1,2}}(?:st|nd|rd|th)?|{_ORD})"
_YEAR = r"(?:\d{4}|\d{2})\d?"
DATE_RE = re.compile(
    rf"\b(?:(?:{_MONTH})\.?\s+{_DAY},?\s+(?:of\s+)?{_YEAR}"
    rf"|(?:the\s+)?{_DAY}\s+(?:of\s+)?(?:{_MONTH}),?\s+{_YEAR}"
    rf"|\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}})\b", re.IGNORECASE)
PASSWORD_RE = re.compile(
    r"\b(?:password|passcode|passphrase|pass\s+word|pwd|pin|api[ _-]?key|secret|"
    r"access[ _-]?token)\b(?:\s+(?:is|was|would\s+be|will\s+be|should\s+be)\s*[:=]?|\s*[:=])"
    r"\s*(?P<value>[^\s\"']{3,})", re.IGNORECASE)
#: Words announcing the last digits of an identifier ("ending in 4471", "last four").
PARTIAL_CUES = frozenset({"ending", "ends", "last", "final", "trailing"})
_DIGIT_RE = re.compile(r"\d")
#: Every ``DATE_RE`` match ends in a year or a day of two digits or more.
_TWO_DIGITS_RE = re.compile(r"\d\d")
#: Every ``DATE_RE`` match holds a month's name or two numbers joined by a separator.
_MONTH_NAMES = (*MONTHS, "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "oct",
                "nov", "dec")
_NUMERIC_DATE_RE = re.compile(r"\d[/.-]\d")
#: ``PASSWORD_RE``'s keywords hold one of these.
_PASSWORD_PIECES = ("pass", "pwd", "pin", "api", "secret", "access")
#: The shortest IBAN ``_IBAN_RE`` reads: two letters, two digits, eleven more.
_IBAN_MIN = 15
_IBAN_RE = re.compile(r"[a-z]{2}\d{2}[a-z0-9]{11,30}")
#: A written IBAN in any case, compact or in groups of four ("gb42nawi0445...");
#: Presidio's recognizer only reads upper case.
_WRITTEN_IBAN_RE = re.compile(
    r"\b[a-z]{2}\d{2}(?:[ \t]?[a-z0-9]{4}){2,7}(?:[ \t]?[a-z0-9]{1,3})?\b", re.IGNORECASE)


def number_candidates(seg: int, view: SpokenView, ctx: TranscriptContext) -> list[Candidate]:
    """Identifier-shaped digit pieces of every run, classified by shape and context."""
    out: list[Candidate] = []
    for run in view.runs:
        for chars, start, end in run.chunks():
            if not chars.isdigit() or len(chars) < 3 or _is_amount(view.original, start, end):
                continue
            hint = ctx.hint(seg, start, end)
            partial = bool(ctx.mentions(seg, start, PARTIAL_CUES, 3))
            verdict = numbers.classify(chars, view.original[start:end], hint, partial)
            if verdict is None and 7 <= len(chars) <= 15 and (
                    spoken_ids.after_plus(view.original, start)
                    or phones.has_extension(view, end)):
                verdict = numbers.Verdict(E.PHONE_NUMBER, 0.8, "number with '+' or extension")
            if verdict is None:
                continue
            if verdict.entity_type != E.DATE_OF_BIRTH and spoken_ids.is_date_time(
                    view.original, start, end):  # "May 28 2016 10:15": no account number
                out.append(Candidate(seg, start, end, E.DATE_TIME, 0.3, DATE_RECOGNIZER,
                                     None, "date or time digits"))
                continue
            cand = Candidate(seg, start, end, verdict.entity_type, verdict.score,
                             numbers.RECOGNIZER, chars, verdict.reason)
            out.append(spoken_ids.with_plus(view.original, cand))
        out.extend(_alphanumeric_id(seg, view, run, ctx))
    return out


def _alphanumeric_id(seg: int, view: SpokenView, run: Run,
                     ctx: TranscriptContext) -> list[Candidate]:
    """A run mixing letters and digits ("a b c one two three") after "member id" etc."""
    chars = run.chars
    if len(chars) < 5 or chars.isdigit() or chars.isalpha():
        return []
    hint = ctx.hint(seg, run.start, run.end)
    if hint is None or hint.family not in ("member", "account", "card", "tax", "ssn"):
        return []
    return [Candidate(seg, run.start, run.end, E.ACCOUNT_NUMBER, 0.75, numbers.RECOGNIZER,
                      chars, f"letters and digits, identifier context ('{hint.word}')")]


def _is_amount(text: str, start: int, end: int) -> bool:
    """A money amount or percentage: "$737.78", "15%"."""
    return text[max(0, start - 1):start] in ("$", "€", "£") or text[end:end + 1] == "%"


def iban_candidates(seg: int, view: SpokenView, ctx: TranscriptContext) -> list[Candidate]:
    """IBANs read out letter by letter and digit by digit."""
    out: list[Candidate] = []
    for run in view.runs:
        if len(run.chars) < _IBAN_MIN:
            continue  # both readings are as long as the run (an "o" for a "0")
        readings = [_IBAN_RE.search(chars) for chars in _iban_readings(view, run)]
        found = [m for m in readings if m is not None]
        if not found:
            continue
        m = next((r for r in found if numbers.iban_ok(r.group())), found[0])
        valid = numbers.iban_ok(m.group())
        asked = ctx.mentions(seg, run.start, frozenset({"iban"}), 14)
        if not (valid or asked):
            continue
        a, b = view.to_original(run.view_start + m.start(), run.view_start + m.end())
        why = "IBAN checksum ok" if valid else "IBAN context"
        out.append(Candidate(seg, a, b, E.IBAN_CODE, 0.95 if valid else 0.8,
                             IBAN_RECOGNIZER, m.group().upper(), why))
    if _DIGIT_RE.search(view.original) is None:
        return out  # a written IBAN has its check digits
    for m in _WRITTEN_IBAN_RE.finditer(view.original):
        compact = re.sub(r"[ \t]", "", m.group()).upper()
        if not m.group().isupper() and numbers.iban_ok(compact):
            out.append(Candidate(seg, m.start(), m.end(), E.IBAN_CODE, 0.95, IBAN_RECOGNIZER,
                                 compact, "written IBAN, checksum ok"))
    return out


def _iban_readings(view: SpokenView, run: Run) -> list[str]:
    """The run's characters, and again with every spoken "o" read as the letter: "h x
    d o eight eight" is a bank code "HXDO" then digits, though "o" beside a number is
    usually zero."""
    letters = "".join("o" if g.chars == "0" and view.original[g.start:g.end].lower() == "o"
                      else g.chars for g in run.groups)
    return [run.chars] if letters == run.chars else [run.chars, letters]


def date_candidates(seg: int, view: SpokenView, ctx: TranscriptContext) -> list[Candidate]:
    """Dates; a birth-date context makes them ``DATE_OF_BIRTH``."""
    out: list[Candidate] = []
    if _TWO_DIGITS_RE.search(view.text) is None:
        return out  # every date shape ends in two digits or more (its year)
    if not (_NUMERIC_DATE_RE.search(view.text) or _may_name(view.text, _MONTH_NAMES)):
        return out
    for m in DATE_RE.finditer(view.text):
        a, b = view.to_original(m.start(), m.end())
        hint = ctx.hint(seg, a, b)
        if hint is not None and hint.family == "dob":
            out.append(Candidate(seg, a, b, E.DATE_OF_BIRTH, 0.9, DATE_RECOGNIZER,
                                 None, f"date, birth context ('{hint.word}')"))
        else:
            out.append(Candidate(seg, a, b, E.DATE_TIME, 0.3, DATE_RECOGNIZER, None, "date"))
    return out


def password_candidates(seg: int, view: SpokenView) -> list[Candidate]:
    """The value after "my password is", "pin:", "api key =" and similar."""
    out: list[Candidate] = []
    text = view.original
    if not _may_name(text, _PASSWORD_PIECES):
        return out
    for m in PASSWORD_RE.finditer(text):
        a, b = m.span("value")
        if text[a:b].lower() in {"is", "was", "for", "and", "the", "reset", "please"}:
            continue
        for run in view.runs:
            if a <= run.start <= b + 1 < run.end:
                b = run.end
        out.append(Candidate(seg, a, b, E.CREDENTIAL, 0.85, PASSWORD_RECOGNIZER, None,
                             "value after a password keyword"))
    return out


def _may_name(text: str, pieces: tuple[str, ...]) -> bool:
    """Whether ``text`` may hold one of ``pieces`` under ``IGNORECASE``: read only on
    ASCII text, where that is ``str.lower`` (it also matches the long s (U+017F) to "s"...; ``True``
    for any other text)."""
    return has_any(folded(text), pieces)
