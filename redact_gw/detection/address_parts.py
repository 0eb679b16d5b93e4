"""Parts of an address beside what the other recognizers found.

Postcodes right after a found place or address:

A bare number has no shape of its own that says "postcode": "44131" is a postcode in
"Independence 44131" and a count in "we sold 44131". What tells them apart in a
transcript is what stands before it: a town, a state or a street line ("Springfield,
IL 62704", "in Independence 44131", "Gdańsk 84-968", "københavn k fourteen twenty
one"). This step runs after the other recognizers and reads the number that follows
a found place or address, written or spoken (on the view's digit runs), optionally
after a comma and a short region code ("Tallinn HA 10115").

Three or four digits right after a town with nothing between are a postcode only
when the town, written with its capital, is no common English word and has a country
whose postcodes have that shape (GeoNames: "Akureyri 603", "Solothurn 4501"), and no
travel or numbering word stands before it ("the flight from Zurich 1234"): "London
1234" (Great Britain and Canada write letters) stays a flight or a count.

A multi-line address (a form, a signature): a number alone on its line, after a found
place that ends its line (or one line of a short region code after it: "Odernheim am
Glan / RP / 55571"), when the place starts its line or a found street line is on the
line before ("Tromsø / 9008"): 3 to 6 digits, "431 59", "53-320", "5200-247".

Not read as a postcode: a four-digit year after a place ("Paris 2024"), a number
followed by a unit or a counted plural ("Boston 2000 people", "France 3500 stores"),
a number followed by a departure verb ("Solothurn 4501 departs at nine": a train's),
a number that is part of a longer one (a phone number after a city is one run of ten
digits).

A Dutch postcode's two capitals after its four digits ("9722 AS", "5146 AD") join
the code found before them.

Unit designators next to a found street line, with only punctuation between ("Flat 3,
14 Hill Street", "12 Main St | Suite 300"): the street line's own pattern reads units
after it on the same line only.

Postcodes with their cue after them: "is 02139 your zip code?".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from spacy.lang.en.stop_words import STOP_WORDS

from redact_gw.detection import entities as E
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.lexicon import (
    COUNTED_NOUNS,
    CURRENCY_WORDS,
    DEPARTURE_VERBS,
    NUMBERING_WORDS,
    QUANTITY_WORDS,
)
from redact_gw.detection.view import SpokenView

RECOGNIZER = "PostcodeRecognizer"
#: Found types a postcode may follow.
_PLACES = frozenset({E.LOCATION, E.ADDRESS})
#: A comma, then a region code of one to three letters ("IL", "HA", spoken "k").
_GAP = re.compile(r"[ \t]*,?[ \t]*(?:(?P<region>[^\W\d_]{1,3})\.?[ \t]*,?[ \t]*)?")
#: Postcode digit counts: 4 (AU, DK, CH...), 5 (US, DE, FR...), 6 (IN, RU...), 9 (ZIP+4).
_SHAPE = re.compile(r"\d{4,6}|\d{9}")
_YEAR = re.compile(r"(?:19|20)\d\d")
#: A place ending its line, at most one line of a region code, the code's line.
_LINES_GAP = re.compile(
    r"[ \t,]*\n(?:[ \t]*(?P<region>[^\W\d_]{1,3})\.?[ \t,]*\n)?[ \t]*")
#: A code alone on its line, as written (the view joins "431 59", "5200-247").
_LINE_CODE = re.compile(r"(?:\d{3,6}|\d{3} \d{2}|\d{2}-\d{3}|\d{4}-\d{3}|\d{5}-\d{4})"
                        r"(?:[ \t]?[A-Z]{2})?[ \t]*(?:\n|$)")
_WORDS_BEFORE = re.compile(r"[^\W\d_]+")
#: Whether a town (lower case) is no common word and has a country whose postcodes
#: have the shape of the code (``Gazetteer``: ``place_kind`` and ``postcode_fits``).
TownCode = Callable[[str, str], bool]
_NEXT_WORD = re.compile(r"[ \t]*(?P<w>%|[^\W\d_]+)")
#: Words after a postcode-shaped number that make it a quantity, a time, an amount or a
#: train's number ("Solothurn 4501 departs at nine", ``DEPARTURE_VERBS``):
#: the shared ``QUANTITY_WORDS``, and words only this step reads (``street_lines`` never
#: took them for its house numbers; sharing them would change what it finds):
_QUANTITY = QUANTITY_WORDS | {
    # "%" is a word to ``_NEXT_WORD`` ("Lyon 2000%"); ``street_lines`` tests the
    # character itself
    "%",
    # after a four-digit year ("Rome 1500 BC"), currency codes, lengths and areas
    "bc", "ad", "usd", "eur", "gbp", "feet", "ft", "sq", "units", "cases", "votes",
    # also in COUNTED_NOUNS, which count only lower case right after a town
    # ("Chicago 12000 subscribers"); these count in any case and after any place
    # ("Bern, 4500 Employees")
    "persons", "residents", "inhabitants", "fans", "jobs", "employees", "students",
    "visitors", "copies", "acres", "meters",
    # areas ("Oslo 1200 square metres")
    "square", "sqm", "m2",
} | CURRENCY_WORDS | DEPARTURE_VERBS


def beside_found(texts: Sequence[str], views: Sequence[SpokenView],
                 found: Sequence[Candidate], town_code: TownCode | None = None
                 ) -> list[Candidate]:
    """Postcodes and unit designators beside found places and addresses, and
    postcodes before their cue."""
    codes = [*after_places(texts, views, found, town_code), *cue_after(views)]
    return [*codes, *units_beside(texts, views, found),
            *dutch_letters(texts, [*found, *codes])]


def after_places(texts: Sequence[str], views: Sequence[SpokenView],
                 found: Sequence[Candidate], town_code: TownCode | None = None
                 ) -> list[Candidate]:
    """ZIP_CODE candidates for postcode-shaped numbers right after a found place."""
    places = {c.seg for c in found if c.entity_type in _PLACES}
    digits: list[dict[int, tuple[str, int]]] = [
        {start: (chars, end) for run in view.runs
         for chars, start, end in run.chunks() if chars.isdigit()} if seg in places else {}
        for seg, view in enumerate(views)]
    out: list[Candidate] = []
    seen: set[tuple[int, int]] = set()
    for cand in found:
        if cand.entity_type not in _PLACES:
            continue
        text = texts[cand.seg]
        lined = _on_next_line(text, cand, found)
        if lined is not None:
            seen.add((cand.seg, lined[0]))
            out.append(Candidate(cand.seg, *lined, E.ZIP_CODE, 0.8, RECOGNIZER, None,
                                 "postcode on the line after a place"))
            continue
        gap = _GAP.match(text, cand.end)
        if gap is None or "\n" in gap.group():
            continue
        region = gap.group("region")
        starts = [gap.end()]
        if region is not None:
            if region.lower() in STOP_WORDS and not region.isupper():
                starts = [gap.start("region")]  # "Boston in 2019": no region
            else:
                starts.append(gap.start("region"))
        for pos in starts:
            hit = digits[cand.seg].get(pos)
            if hit is None or (cand.seg, pos) in seen:
                continue
            chars, end = hit
            bare = cand.entity_type == E.LOCATION and pos == cand.end + 1  # "London 1234"
            short = len(chars) == 3 or (bare and len(chars) == 4)
            if not (_SHAPE.fullmatch(chars) or len(chars) == 3) or _quantity(
                    text, end, bare) or (
                    cand.entity_type == E.LOCATION and _YEAR.fullmatch(chars)) or (
                    short and not _town_code(text, cand, chars, town_code)):
                continue  # a flight or a count, as often as a postcode
            seen.add((cand.seg, pos))
            out.append(Candidate(cand.seg, pos, end, E.ZIP_CODE, 0.8, RECOGNIZER, None,
                                 "postcode after a place"))
            break
    return out


def _town_code(text: str, cand: Candidate, chars: str, town_code: TownCode | None) -> bool:
    """Whether a short code (3 digits, or 4 right after the town) is a postcode of
    the town ``cand``: written with its capital, no common word, a country of it
    has codes of that shape, no flight or score word in the three words before it."""
    name = text[cand.start:cand.end]
    if town_code is None or cand.entity_type != E.LOCATION or not name[:1].isupper():
        return False
    before = _WORDS_BEFORE.findall(text, max(0, cand.start - 40), cand.start)[-3:]
    return not any(w.lower() in NUMBERING_WORDS for w in before) and town_code(
        name.lower(), chars)


def _on_next_line(text: str, cand: Candidate, found: Sequence[Candidate]
                  ) -> tuple[int, int] | None:
    """The code alone on the line after the place ``cand`` that ends its line (over a
    region code's line), when the place starts its line or a found street line
    ends on the line before it: (start, end), or ``None``."""
    gap = _LINES_GAP.match(text, cand.end)
    if gap is None:
        return None
    code = _LINE_CODE.match(text, gap.end())
    if code is None:
        return None
    line_start = text.rfind("\n", 0, cand.start) + 1
    if text[line_start:cand.start].strip():
        before = text.rfind("\n", 0, max(0, line_start - 1)) + 1
        if not any(c.seg == cand.seg and c.entity_type == E.ADDRESS
                   and before <= c.end < line_start for c in found):
            return None  # a place inside a sentence, no street line above it
    digits = code.group().rstrip()
    if cand.entity_type == E.LOCATION and _YEAR.fullmatch(digits):
        return None  # "Denver / 2019"
    return gap.end(), gap.end() + len(digits)


def _quantity(text: str, end: int, bare: bool) -> bool:
    """A unit after the number ("12000 euros"), or a counted plural after a number
    right after a town ("Chicago 12000 subscribers"; "TN, 38103 takes" and "Boston
    02110 closes" are postcodes: ``COUNTED_NOUNS`` is a list of nouns, not any word
    ending in s)."""
    m = _NEXT_WORD.match(text, end)
    if m is None:
        return False
    w = m.group("w")
    return w.lower() in _QUANTITY or (bare and w.islower() and w in COUNTED_NOUNS)


_UNIT = re.compile(
    r"(?<![\w-])(?:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|bldg|building)\b\.?"
    r"[ \t]*(?:no\.?|number)?[ \t]*\#?[ \t]*[a-z]?\d{1,5}[a-z]?\b", re.IGNORECASE)
#: Only punctuation (and spaces) between a unit and the street line it belongs to.
_BETWEEN = re.compile(r"[^\w]{0,5}")


def units_beside(texts: Sequence[str], views: Sequence[SpokenView],
                 found: Sequence[Candidate]) -> list[Candidate]:
    """ADDRESS candidates for unit designators right before or after a found street
    line, as one span with it when they share a line."""
    out: list[Candidate] = []
    by_seg: dict[int, list[Candidate]] = {}
    for c in found:
        if c.entity_type == E.ADDRESS:
            by_seg.setdefault(c.seg, []).append(c)
    for seg, streets in sorted(by_seg.items()):
        view = views[seg]
        text = texts[seg]
        units = {view.to_original(m.start(), m.end()) for m in _UNIT.finditer(view.text)}
        units |= {m.span() for m in _UNIT.finditer(text)}  # the view joins "4B, 220"
        for a, b in sorted(units):
            for c in streets:
                if c.start <= a and b <= c.end:
                    break
                if a < c.start < b <= c.end or (  # "Flat 3, 14 Hill St": it took the "3"
                        b <= c.start and _BETWEEN.fullmatch(text[b:c.start])):
                    span = (a, c.end) if "\n" not in text[a:c.start] else (a, b)
                elif c.end <= a and _BETWEEN.fullmatch(text[c.end:a]):
                    span = (c.start, b) if "\n" not in text[c.end:a] else (a, b)
                else:
                    continue
                out.append(Candidate(seg, *span, E.ADDRESS, max(c.score, 0.8), RECOGNIZER,
                                     None, "unit designator beside a street line"))
                break
    return out


#: The letters of a Dutch postcode after its four digits ("9722 AS"); GeoNames' pattern
#: without the three pairs the Dutch post never gives, and no "AM", "PM", "OK".
_DUTCH_LETTERS = re.compile(r"[ \t]?(?!SA|SD|SS|AM|PM|OK)[A-Z]{2}(?![\w-])")


def dutch_letters(texts: Sequence[str], found: Sequence[Candidate]) -> list[Candidate]:
    """ZIP_CODE candidates for a found four-digit postcode and the two capitals after
    it, in a text not written in capitals."""
    out: list[Candidate] = []
    for c in found:
        text = texts[c.seg]
        if c.entity_type != E.ZIP_CODE or not text[c.start:c.end].isdigit() or (
                c.end - c.start != 4) or text.isupper():
            continue
        m = _DUTCH_LETTERS.match(text, c.end)
        if m is not None:
            out.append(Candidate(c.seg, c.start, m.end(), E.ZIP_CODE, c.score, RECOGNIZER,
                                 None, "Dutch postcode letters after its digits"))
    return out


_CUE_AFTER = re.compile(
    r"(?<![\d-])(?P<code>\d{5}(?:-?\d{4})?)[ \t,]+(?:(?:is|was|as)[ \t]+)?"
    r"(?:(?:my|your|the|our|his|her|their)[ \t]+)?"
    r"(?:zip|zipcode|postcode|post[ \t]*code|postal[ \t]*code)\b", re.IGNORECASE)


def cue_after(views: Sequence[SpokenView]) -> list[Candidate]:
    """ZIP_CODE candidates for a postcode with its cue after it ("02139 is my zip")."""
    out: list[Candidate] = []
    for seg, view in enumerate(views):
        for m in _CUE_AFTER.finditer(view.text):
            a, b = view.to_original(m.start("code"), m.end("code"))
            out.append(Candidate(seg, a, b, E.ZIP_CODE, 0.85, RECOGNIZER, None,
                                 "postcode before a postcode cue"))
    return out
