"""Spoken identifiers that are not one run of digits, and numbers that are no identifier.

* IPv4 read aloud: "one ninety two dot one sixty eight dot one dot twenty" (the view
  has "192 dot 168 dot 1 dot 20"); every octet at most 255.
* The "plus" (or "+") before an international number belongs to the number:
  "plus four four seven nine ..." is one PHONE_NUMBER span.
* A date and time is no identifier: "May 28 2016 10:15 AM" must not become an
  ACCOUNT_NUMBER (``is_date_time``).
"""

from __future__ import annotations

import re

from redact_gw.detection import entities as E
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.lexicon import MONTHS
from redact_gw.detection.view import SpokenView

IP_RECOGNIZER = "SpokenIpRecognizer"
_DOT = r"[ \t]*(?:\.|dot|point|period)[ \t]*"
#: The first octet may end a longer run: "percent twenty thirty six dot ..." (a "%20"
#: read aloud before the address) is "2036 dot ..." in the view.
IPV4_RE = re.compile(rf"(?<![.])(\d{{1,3}}){_DOT}(\d{{1,3}}){_DOT}(\d{{1,3}}){_DOT}(\d{{1,3}})\b",
                     re.IGNORECASE)
_PLUS_RE = re.compile(r"(?:\bplus|\+)[ \t]*$", re.IGNORECASE)
_MONTH_RE = re.compile(
    r"\b(?:" + "|".join(MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)"
    r"\.?[ \t]*$", re.IGNORECASE)
_TIME_AFTER = re.compile(r"^[ \t]*:\d\d|^\d*:\d\d")
_DATE_SHAPE = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d\d|(?:19|20)\d\d-\d\d-\d\d")


def ip_candidates(seg: int, view: SpokenView) -> list[Candidate]:
    """Dotted quads in the view whose octets are at most 255 (spoken or written)."""
    out: list[Candidate] = []
    for m in IPV4_RE.finditer(view.text):
        if "dot" not in m.group().lower() and "point" not in m.group().lower() and (
                "period" not in m.group().lower()):
            continue  # written "10.0.0.1": Presidio's IpRecognizer has it
        if all(int(g) <= 255 for g in m.groups()):
            a, b = view.to_original(m.start(), m.end())
            out.append(Candidate(seg, a, b, E.IP_ADDRESS, 0.9, IP_RECOGNIZER,
                                 ".".join(str(int(g)) for g in m.groups()),
                                 "spoken dotted quad, octets <= 255"))
    return out


def with_plus(text: str, cand: Candidate) -> Candidate:
    """A number grown over the "plus" or "+" just before it: an international phone
    number when it has 8 to 15 digits ("plus four one four oh three ..."), whatever
    the words before it suggested."""
    m = _PLUS_RE.search(text, 0, cand.start)
    ndigits = len(cand.normalized or "")
    if m is None or not (cand.entity_type == E.PHONE_NUMBER or 8 <= ndigits <= 15):
        return cand
    return Candidate(cand.seg, m.start(), cand.end, E.PHONE_NUMBER, max(cand.score, 0.8),
                     cand.recognizer, cand.normalized, "international number after 'plus'")


def is_date_time(text: str, start: int, end: int) -> bool:
    """Whether digits at ``[start, end)`` read as a date or a time: right after a month
    name ("May 28 2016"), right before a clock's ":15", or written as a date
    ("03/04/2025", "2025-03-04")."""
    return (_MONTH_RE.search(text, 0, start) is not None
            or _TIME_AFTER.match(text[end:end + 4]) is not None
            or _DATE_SHAPE.fullmatch(text[start:end].strip()) is not None)
