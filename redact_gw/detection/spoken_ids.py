"""Spoken identifiers that are not one run of digits, and numbers that are no identifier.

* IPv4 read aloud: "one ninety two dot one sixty eight dot one dot twenty" (the view
  has "192 dot 168 dot 1 dot 20"); every octet at most 255.
* IPv6 read aloud: hex groups as number words and letters a-f, with or without
  "colon" ("two thousand one colon d b eight colon eighty five a three ...").
* Web addresses read aloud: "www dot example dot com", "my website is example dot ch"
  (a low-value ``URL``, redacted when ``URL`` is named in ``detection.entities``).
* The "plus" (or "+") before an international number belongs to the number:
  "plus four four seven nine ..." is one PHONE_NUMBER span.
* A date and time is no identifier: "May 28 2016 10:15 AM" must not become an
  ACCOUNT_NUMBER (``is_date_time``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from redact_gw.detection import entities as E
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.context import TranscriptContext
from redact_gw.detection.lexicon import MONTHS, ORDINALS, REPEATERS, SCALES, TEENS, TENS, UNITS
from redact_gw.detection.view import SpokenView, Tok

IP_RECOGNIZER = "SpokenIpRecognizer"
_DOT = r"[ \t]*(?:\.|dot|point|period)[ \t]*"
#: The first octet may end a longer run: "percent twenty thirty six dot ..." (a "%20"
#: read aloud before the address) is "2036 dot ..." in the view.
IPV4_RE = re.compile(rf"(?<![.])(\d{{1,3}}){_DOT}(\d{{1,3}}){_DOT}(\d{{1,3}}){_DOT}(\d{{1,3}})\b",
                     re.IGNORECASE)
_PLUS_RE = re.compile(r"(?:\bplus|\+)[ \t]*$", re.IGNORECASE)
_ORDINAL = "|".join(sorted(ORDINALS, key=len, reverse=True))
#: A month name, maybe with its day ("january seventeenth", "May 28th"), right before.
_MONTH_RE = re.compile(
    r"\b(?:" + "|".join(MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)"
    rf"\.?(?:[ \t]+(?:(?:twenty|thirty)[ \t]+)?(?:{_ORDINAL}|\d{{1,2}}(?:st|nd|rd|th)))?"
    r",?[ \t]*$", re.IGNORECASE)
_TIME_AFTER = re.compile(r"^[ \t]*:\d\d|^\d*:\d\d")
_DATE_SHAPE = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d\d|(?:19|20)\d\d-\d\d-\d\d")


def ip_candidates(seg: int, view: SpokenView) -> list[Candidate]:
    """Dotted quads in the view whose octets are at most 255 (spoken or written)."""
    out: list[Candidate] = []
    low = view.text.lower()  # per character (but for sigma): holds each match's lower()
    if "dot" not in low and "point" not in low and "period" not in low:
        return out  # every match would be skipped below
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


#: Words that read hex digits aloud: number words, and letters a-f alone or in clusters
#: ("d b", "dac", "cee").
_HEX_NUMBER_WORDS = frozenset(UNITS) | frozenset(TEENS) | frozenset(TENS) | frozenset(
    SCALES) | frozenset(REPEATERS)
_HEX_LETTER_RE = re.compile(r"[a-f]{1,4}|bee|cee|dee|ee|ef|eff")
_IPV6_GAP_RE = re.compile(r"[ \t,:]*")
#: Words before a value that say it is a network address.
IP_CUES = frozenset({"ip", "ipv6", "ipv4", "address", "addresses", "host", "server", "p",
                     "router", "gateway", "subnet", "v6"})
#: A spoken IPv6 needs this many tokens, with at least this many of each kind; without
#: an IP cue before it, twice as many tokens.
_IPV6_TOKENS = 7
_IPV6_EACH = 2


def _hex_kind(tok: Tok) -> int:
    """1: a number word or digits; 2: hex letters; 3: "colon"; 0: none of these."""
    w = tok.lower
    if w == "colon":
        return 3
    if w.isdigit() or w in _HEX_NUMBER_WORDS:
        return 1
    return 2 if _HEX_LETTER_RE.fullmatch(w) else 0


def number_words(toks: Sequence[Tok]) -> int:
    """How many tokens ``_hex_kind`` calls 1 (a number word or digits), with set
    lookups only: counted before the letter test, which most lines then never need."""
    return sum(1 for t in toks if t.lower.isdigit() or t.lower in _HEX_NUMBER_WORDS)


def ipv6_candidates(seg: int, view: SpokenView, ctx: TranscriptContext) -> list[Candidate]:
    """Spoken IPv6 addresses: a long mix of number words and letters a-f.

    English words made of a-f ("a", "be", "bad", "face") rarely stand among many
    number words; a run needs both kinds, and a network cue ("ip", "address") before
    it unless it is twice as long.
    """
    text, toks = view.original, view.tokens
    out: list[Candidate] = []
    if number_words(toks) < _IPV6_EACH:
        return out  # most lines: no letter test on any of their words
    every = [_hex_kind(t) for t in toks]
    if every.count(1) < _IPV6_EACH or every.count(2) < _IPV6_EACH:
        return out  # no run can hold enough of both kinds
    i = 0
    while i < len(toks):
        if every[i] in (0, 3):
            i += 1
            continue
        j = i + 1
        while j < len(toks) and every[j] and _IPV6_GAP_RE.fullmatch(
                text, toks[j - 1].end, toks[j].start):
            j += 1
        while every[j - 1] == 3:
            j -= 1
        kinds = every[i:j]
        n, letters = j - i - kinds.count(3), kinds.count(2)
        cue = ctx.mentions(seg, toks[i].start, IP_CUES, 6)
        if min(letters, n - letters) >= _IPV6_EACH and n >= _IPV6_TOKENS * (1 if cue else 2):
            why = f"spoken hex groups, context '{cue}'" if cue else "long spoken hex groups"
            out.append(Candidate(seg, toks[i].start, toks[j - 1].end, E.IP_ADDRESS, 0.85,
                                 IP_RECOGNIZER, None, why))
        i = j
    return out


URL_RECOGNIZER = "SpokenUrlRecognizer"
#: Generic top-level domains people read aloud; every two-letter word is a country's.
_GENERIC_TLDS = ("com", "org", "net", "edu", "gov", "info", "biz", "io", "app", "dev",
                 "shop", "online", "site")
SPOKEN_URL_RE = re.compile(
    r"\b(?:(?:https?|www)[ \t]+dot[ \t]+)?(?:[a-z0-9-]+[ \t]+dot[ \t]+)+"
    rf"(?:{'|'.join(_GENERIC_TLDS)}|[a-z]{{2}})\b", re.IGNORECASE)
#: The word every ``SPOKEN_URL_RE`` match holds, matched as that pattern matches it.
_SPOKEN_DOT_RE = re.compile(r"dot", re.IGNORECASE)
URL_CUES = frozenset({"website", "site", "web", "url", "domain", "homepage", "page",
                      "visit", "link", "online"})


def url_candidates(seg: int, text: str, ctx: TranscriptContext) -> list[Candidate]:
    """Spoken web addresses: with "www", two dots or more, or after "website"."""
    out: list[Candidate] = []
    if _SPOKEN_DOT_RE.search(text) is None:
        return out  # every spoken address says "dot"
    for m in SPOKEN_URL_RE.finditer(text):
        value = m.group().lower()
        cue = ctx.mentions(seg, m.start(), URL_CUES, 4)
        if value.startswith(("www", "http")) or value.count(" dot ") >= 2 or cue:
            out.append(Candidate(seg, m.start(), m.end(), E.URL, 0.3, URL_RECOGNIZER, None,
                                 "spoken web address"))
    return out


def after_plus(text: str, start: int) -> bool:
    """Whether "plus" or "+" stands right before offset ``start``."""
    return _PLUS_RE.search(text, 0, start) is not None


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
    name, maybe with its day ("May 28 2016", "january seventeenth twenty twenty two"),
    right before a clock's ":15", or written as a date ("03/04/2025", "2025-03-04")."""
    return (_MONTH_RE.search(text, 0, start) is not None
            or _TIME_AFTER.match(text[end:end + 4]) is not None
            or _DATE_SHAPE.fullmatch(text[start:end].strip()) is not None)
