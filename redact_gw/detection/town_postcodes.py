"""A known town beside a postcode of its country: both are personal data.

"Paris 75001 is where I live": "paris" is a common English word to the gazetteer (no
place on its own), and spaCy reads "Paris 75001" as an organization, dropped for its
digits. Either half alone is weak; together they are strong evidence for each other
when the code has the postcode shape of a country that has a town of that name
(``Gazetteer.postcode_fits``, GeoNames): "Nice 06000" (France, five digits), "Reading
RG1 1AA" (Great Britain), "Mobile, AL 36602" (US ZIP), "75001 Paris" (the code first,
as most of Europe writes it). "Store 12345" (Slovenia, four digits) and "Time 12345"
(Norway) fit no country of theirs.

The codes read: five digits (written or spoken, on the view's digit runs), ZIP+4
written with its dash, UK and Canadian postcodes written in capitals or spoken letter
by letter ("r g one one a a"). Four-digit codes
are left to ``address_parts``: a year or a count as often as a postcode.

Not read as a pair:

* a town written in lower case in a line with capitals ("reading 12345 lines");
* in speech (no capitals), a town that is a common word without "in", "from", "to"...
  before it ("nice zero six zero zero zero" may be praise);
* a number that counts what follows ("Reading 12345 lines", "Phoenix 20000 people"):
  after a five-digit code in writing, a lower-case word that is no stop word
  ("is", "in") ends the pair; a UK or Canadian code is a postcode whatever follows
  but a counted plural;
* a phone label ("Mobile 36602") without a state code or a place cue: it announces a
  phone number as often;
* a number before a departure verb ("Solothurn 4501 departs", ``DEPARTURE_VERBS``):
  a train's or a flight's;
* a town that is a common word and an English verb (the model's lemma table: "split")
  first in its sentence, where its capital says nothing, before a five-digit code
  without a state code and with the sentence going on after it: "Split 21000 was
  great" reads as the verb, as "split" in lower case would. "Paris 75001 is where I
  live", "Nice 06000" (no verbs) stay pairs, and so do "Split 21000, Croatia" and
  "Split 21000" ending its line (an address line).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence

from spacy.lang.en.stop_words import STOP_WORDS

from redact_gw.detection import entities as E
from redact_gw.detection.addresses import CA_POSTCODE, STATE_CODES, UK_POSTCODE
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.gazetteer import Gazetteer
from redact_gw.detection.lexicon import (
    COUNTED_NOUNS,
    CURRENCY_WORDS,
    DEPARTURE_VERBS,
    MONTHS,
    PHONE_LABELS,
    QUANTITY_WORDS,
    WEEKDAYS,
)
from redact_gw.detection.places import RECOGNIZER as PLACE_RECOGNIZER
from redact_gw.detection.places import TOWN_CUES
from redact_gw.detection.view import SpokenView, Tok

POSTCODE_RECOGNIZER = "PostcodeRecognizer"
#: UK and Canadian postcodes in capitals (as ``addresses.POSTCODE_RE`` reads them).
_LETTERED = re.compile(rf"\b(?:{UK_POSTCODE}|{CA_POSTCODE})\b")
#: The same, spoken letter by letter (a run of the view: "r g one one a a").
_LETTERED_RUN = re.compile(r"[a-z]{1,2}\d[a-z\d]?\d[a-z]{2}|[a-z]\d[a-z]\d[a-z]\d")
_ZIP4 = re.compile(r"\d{5}-\d{4}")
_WRITTEN = re.compile(r"\d{5}(?:-\d{4})?")
_DIGIT = re.compile(r"\d")
#: Between a town and what follows it: spaces, or a comma.
_SEP = re.compile(r"[ \t]+|[ \t]*,[ \t]*")
#: What ends a sentence before the next word (a line break included).
_SENTENCE_END = re.compile(r"[.!?:;\n]")
#: Between the words of a town's name ("Saint-Denis", "New York").
_JOIN = re.compile(r"[ -]")
_SPACES = re.compile(r"[ \t]+")
#: Characters that glue a number to something else ("$12345", "12345.67", "#12345").
_GLUED_BEFORE = frozenset("$€£#./:-+")
_GLUED_AFTER = re.compile(r"[^\W_]|[.,:/-]\d|%")
#: Words after a number that make it a quantity, a time, an amount or a train's: the
#: shared lists (``QUANTITY_WORDS`` and the plurals they count, ``COUNTED_NOUNS``, here
#: in any case), and what only this step reads after a five-digit code ("Reading 12345
#: lines", "Split 21000 votes").
_QUANTITY = (QUANTITY_WORDS | COUNTED_NOUNS | CURRENCY_WORDS | DEPARTURE_VERBS
             | {"units", "lines", "words", "votes"})
_NOT_TOWN = frozenset(MONTHS) | frozenset(WEEKDAYS)
#: A postcode: (start, end) in the original text, its first and last token, and its
#: characters (digits for a spoken code).
Code = tuple[int, int, int, int, str]
#: A town: (start, end) in the original text, and whether its capitals told it.
Town = tuple[int, int, bool]


def candidates(seg: int, view: SpokenView, gaz: Gazetteer,
               verbs: frozenset[str] = frozenset()) -> list[Candidate]:
    """LOCATION and ZIP_CODE candidates for each town beside a postcode that fits it
    (``verbs``: English verbs in their base form, ``nlp.base_verbs``)."""
    codes = _codes(view)
    if not codes:
        return []
    text, toks = view.original, view.tokens
    out: list[Candidate] = []
    for a, b, first, last, code in codes:
        if (a > 0 and text[a - 1] in _GLUED_BEFORE) or _GLUED_AFTER.match(text, b):
            continue  # an amount, a decimal, a reference number
        town = _town_before(text, toks, (first, last), code, gaz, verbs)
        if town is None and code.isdigit():
            town = _town_after(text, toks, last, code, gaz)
        if town is None:
            continue
        out.append(Candidate(seg, town[0], town[1], E.LOCATION, 0.6, PLACE_RECOGNIZER, None,
                             "known town beside a postcode of its country"))
        out.append(Candidate(seg, a, b, E.ZIP_CODE, 0.8, POSTCODE_RECOGNIZER, None,
                             "postcode beside a known town of its country"))
    return out


def _codes(view: SpokenView) -> list[Code]:
    """Five-digit runs (spoken or written), ZIP+4 and lettered postcodes (written in
    capitals, or spoken)."""
    toks = view.tokens
    out: list[Code] = []
    for run in view.runs:
        chars = run.chars
        if chars.isdigit() and len(chars) in (5, 9):
            written = view.original[run.start:run.end]
            if _DIGIT.search(written) and not _WRITTEN.fullmatch(written):
                continue  # "364 34", "12 345": digits written apart are no postcode here
            if len(chars) == 5 or _ZIP4.fullmatch(written):
                out.append((run.start, run.end, run.tok_first, run.tok_last,
                            written if len(chars) == 9 else chars))
        elif len(run.groups) > 2 and _LETTERED_RUN.fullmatch(chars):
            out.append((run.start, run.end, run.tok_first, run.tok_last, chars.upper()))
    if view.original.islower():
        return out  # no capital: no written lettered code (one C call)
    starts: list[int] = []
    for m in _LETTERED.finditer(view.original):
        starts = starts or [t.start for t in toks]
        first = bisect.bisect_left(starts, m.start())
        last = bisect.bisect_left(starts, m.end()) - 1
        if first < len(toks) and toks[first].start == m.start() and toks[last].end == m.end():
            # one space between the halves, as GeoNames' patterns ("\\s?") read them
            out.append((m.start(), m.end(), first, last, _SPACES.sub(" ", m.group())))
    return out


def _town_before(text: str, toks: Sequence[Tok], code_toks: tuple[int, int], code: str,
                 gaz: Gazetteer, verbs: frozenset[str]) -> Town | None:
    """The town ending right before the code (``code_toks``: its first and last token),
    over a state code between them ("Mobile, AL 36602")."""
    first, last = code_toks
    i, right = first - 1, toks[first].start
    region = (i >= 0 and toks[i].text in STATE_CODES
              and _SEP.fullmatch(text, toks[i].end, right) is not None)
    if region:
        right, i = toks[i].start, i - 1
    if i < 0 or _SEP.fullmatch(text, toks[i].end, right) is None:
        return None
    for n in range(min(3, i + 1), 0, -1):
        town = _town(text, toks, i - n + 1, i, code, gaz, region)
        if town is not None and not region and code.isdigit() and _verb_first(
                text, toks, (i - n + 1, last), verbs, gaz):
            return None  # "Split 21000 was great": the verb, capitalized by its place
        if town is not None:
            return town if _ends_pair(text, toks, last + 1, code, town[2]) else None
    return None


def _town_after(text: str, toks: Sequence[Tok], last: int, code: str,
                gaz: Gazetteer) -> Town | None:
    """The town starting right after the code ``toks[last]`` ends ("75001 Paris")."""
    j = last + 1
    if j >= len(toks) or _SPACES.fullmatch(text, toks[last].end, toks[j].start) is None:
        return None
    for n in range(min(3, len(toks) - j), 0, -1):
        town = _town(text, toks, j, j + n - 1, code, gaz, False)
        if town is not None:
            return town if _ends_pair(text, toks, j + n, code, True) else None
    return None


def _town(text: str, toks: Sequence[Tok], i: int, j: int, code: str,
          gaz: Gazetteer, region: bool) -> Town | None:
    """``toks[i..j]`` as a known town the code fits: (start, end, capitalized), or
    ``None``."""
    words = toks[i:j + 1]
    if not all(t.text[:1].isalpha() for t in words) or not all(
            _JOIN.fullmatch(text, x.end, y.start) for x, y in itertools.pairwise(words)):
        return None
    name = text[words[0].start:words[-1].end].lower()
    if name in STOP_WORDS or name in _NOT_TOWN or len(name) < 3:
        return None
    cued = i > 0 and toks[i - 1].lower in TOWN_CUES
    capitalized = words[0].text[0].isupper() and words[-1].text[0].isupper()
    if not (capitalized or cued or gaz.place_kind(name)):
        return None  # "reading 12345", "nice zero six ...": a common word in lower case
    if name in PHONE_LABELS and not (region or cued):
        return None  # "Mobile 36602": a phone label before a number
    if not gaz.postcode_fits(name, code):
        return None
    return words[0].start, words[-1].end, capitalized


def _verb_first(text: str, toks: Sequence[Tok], pair: tuple[int, int],
                verbs: frozenset[str], gaz: Gazetteer) -> bool:
    """Whether the town ``toks[i]`` of the pair ``toks[i..last]`` is a common word and
    a verb first in its sentence (no place cue can be before it), and a word goes on
    after the code, on its line and without a comma."""
    i, last = pair
    word = toks[i].lower
    if word not in verbs or gaz.place_kind(word) > 0 or last + 1 >= len(toks) or (
            _SPACES.fullmatch(text, toks[last].end, toks[last + 1].start) is None):
        return False
    return i == 0 or _SENTENCE_END.search(text, toks[i - 1].end, toks[i].start) is not None


def _ends_pair(text: str, toks: Sequence[Tok], k: int, code: str, capitalized: bool) -> bool:
    """Whether the word ``toks[k]`` after the pair lets the number be a postcode: no
    digits go on, no counted word follows, and after a five-digit code and a town
    read by its capitals no lower-case word that is no stop word ("12345 lines")."""
    if k >= len(toks) or _SPACES.fullmatch(text, toks[k - 1].end, toks[k].start) is None:
        return True  # the line, the text or a clause ends
    word = toks[k].text
    if word.isdigit() or toks[k].lower in _QUANTITY:
        return False
    strict = capitalized and code.isdigit()
    return not (strict and word.islower() and word not in STOP_WORDS)
