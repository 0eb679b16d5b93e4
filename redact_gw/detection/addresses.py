"""Street addresses and postcodes, written and spoken.

Read on a segment's normalized view (spoken house numbers and ZIPs are digits there:
"twelve thirty four main street" is "1234 main street"):

* a street line: a house number, up to four name words, a USPS Publication 28 street
  suffix in any of its spellings ("Street", "St", "Strm", "Xing"...), or, after an
  address cue ("my address is", "lives at") or with capitalized name words, a street
  without a suffix ("Broadway", "Norra Bäckebo 73"); then unit designators ("Apt 4B",
  "Suite 453", "#12", "flat 3");
* PO boxes and military addresses ("PO Box 12", "Unit 4166 Box 9977", "PSC 8952,
  Box 6713", "USS Fujimura", "FPO AE 68206");
* the rest of the address after a street line, on the same line or the next ones
  (city, state, country, ZIP), up to its last ZIP, state code or known place: the
  whole address is one span;
* postcodes on their own: "Springfield, IL 62704", ZIP+4, UK ("SW1A 1AA") and
  Canadian ("K1A 0B1") postcodes.

The suffix, unit and state lists are Publication 28's, from ``usaddress-scourgify``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from scourgify.address_constants import (
    OCCUPANCY_TYPE_ABBREVIATIONS,
    STATE_ABBREVIATIONS,
    STREET_TYPE_ABBREVIATIONS,
)
from spacy.lang.en.stop_words import STOP_WORDS

from redact_gw.detection import address_gates as G
from redact_gw.detection import entities as E
from redact_gw.detection import street_lines
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.context import TranscriptContext
from redact_gw.detection.lexicon import (
    DEPARTURE_VERBS,
    PHONE_LABELS,
    QUANTITY_WORDS,
    WEAK_NAME_TRIGGERS,
)
from redact_gw.detection.spoken_ids import IP_CUES
from redact_gw.detection.view import SpokenView

ADDRESS_RECOGNIZER = "StreetAddressRecognizer"
POSTCODE_RECOGNIZER = "PostcodeRecognizer"


def _alternation(words: set[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


STREET_SUFFIXES: frozenset[str] = frozenset(
    w.lower() for pair in STREET_TYPE_ABBREVIATIONS.items() for w in pair)
#: Unit designators (Publication 28 C2) and their abbreviations, plus "flat" and "no".
UNIT_TYPES: frozenset[str] = frozenset(
    {w.lower() for pair in OCCUPANCY_TYPE_ABBREVIATIONS.items() for w in pair if w != "#"}
    | {"flat", "apt", "ste", "bldg", "fl", "rm"})
#: US state (Publication 28) and Canadian province codes.
STATE_CODES: frozenset[str] = frozenset(STATE_ABBREVIATIONS.values()) | frozenset(
    {"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"})
STATE_NAMES: frozenset[str] = frozenset(
    k.lower() for k in STATE_ABBREVIATIONS if len(k) > 2)
#: Words before an address ("my address is", "lives at", "ship it to").
ADDRESS_CUES: frozenset[str] = frozenset({
    "address", "addresses", "live", "lives", "living", "lived", "located", "ship",
    "shipping", "deliver", "delivery", "mail", "mailing", "send", "sent", "billing",
    "reside", "residence", "moved", "street",
})
#: Words that make "address" a network address ("the server address is fe eighty c
#: five ..."): the run after them is read by the spoken-IP step, never as a street.
_NETWORK_CUES = IP_CUES - {"address", "addresses", "p"}
#: Prepositions that announce a place only right before it ("meet me at 12 ...").
_NEAR_CUES = frozenset({"at", "on", "to", "meet"})
#: Words after a number that make it a quantity ("13 million musical works"), or a
#: train's number ("4501 departs"): no street name starts with them.
_QUANTITY = QUANTITY_WORDS | DEPARTURE_VERBS
#: Street suffixes that are also everyday words; they need an address cue or
#: capitals ("5 people in the park" is no address, "12 Oak Park" is).
_WEAK_SUFFIXES = frozenset({
    "way", "place", "park", "center", "centre", "point", "view", "run", "walk", "mall",
    "club", "key", "pass", "path", "rest", "spring", "springs", "square", "station",
    "stream", "track", "trace", "turn", "union", "unions", "valley", "village", "well",
    "wells", "mount", "mountain", "hill", "hills", "lake", "lakes", "field", "fields",
    "ford", "fork", "forks", "forest", "garden", "gardens", "green", "grove", "harbor",
    "haven", "heights", "island", "islands", "junction", "land", "light", "lights",
    "lock", "locks", "manor", "meadow", "meadows", "mill", "mills", "mission", "motorway",
    "neck", "orchard", "oval", "port", "ports", "prairie", "radial", "ranch", "ridge",
    "river", "route", "row", "shoal", "shore", "shores", "sky", "spur", "summit",
    "terrace", "trail", "tunnel", "vista", "cape", "common", "commons", "corner",
    "corners", "course", "courts", "cove", "creek", "crest", "crossing", "dale", "dam",
    "divide", "estate", "estates", "falls", "ferry", "flat", "flats", "fort", "freeway",
    "gateway", "glen", "hollow", "inlet", "knoll", "loaf", "lodge", "loop", "mews",
    "overpass", "parks", "pine", "pines", "plain", "plains", "plaza", "ramp", "rapid",
    "rapids", "shoals", "skyway", "throughway", "trafficway", "underpass", "viaduct",
    "views", "ville", "ways", "bottom", "branch", "bridge", "brook", "burg", "bypass",
    "camp", "canyon", "causeway", "cliff", "cliffs", "crescent", "curve", "expressway",
    "extension", "fall", "hwy", "alley", "annex", "arcade", "beach", "bend",
    "bluff", "bluffs", "burgs", "circle", "court", "avenue", "drive",
    "lane", "road", "street", "boulevard", "highway", "parkway", "pike",
} & STREET_SUFFIXES) - {"street", "avenue", "road", "boulevard", "drive", "lane",
                        "court", "highway", "parkway", "circle", "terrace", "trail",
                        "way", "place", "square", "loop", "row", "pike", "crescent", "hwy"}

_SUFFIX = _alternation(set(STREET_SUFFIXES))
_UNIT = _alternation(set(UNIT_TYPES))
_DIR = r"(?:n|s|e|w|ne|nw|se|sw|north|south|east|west|northeast|northwest|southeast|southwest)"
_NAME_WORD = r"[^\W\d_][\w'\u2019.-]*"
#: Up to 9 digits: spoken building and house numbers read as one run ("one three two
#: nine one eight nine berambing crescent").
_HOUSE = r"(?<![\d.:/-])\d{1,9}[a-z]?(?:-\d{1,4})?"
_UNITS = (rf"(?:[ \t]*,?[ \t]*(?:(?:{_UNIT})\.?[ \t]*\#?[ \t]*|\#[ \t]*)"
          rf"[a-z]?\d{{1,5}}[a-z]?\b(?:-?[a-z]\b)?){{0,2}}")
STREET_RE = re.compile(
    rf"\b{_HOUSE}[ \t]+(?:{_DIR}\.?[ \t]+)?(?P<name>(?:{_NAME_WORD}[ \t]+){{0,3}}"
    rf"{_NAME_WORD})[ \t]+(?P<suffix>{_SUFFIX})\b\.?(?:[ \t]+{_DIR}\b\.?)?{_UNITS}",
    re.IGNORECASE)
#: "393 Norra Bäckebo 73", "19 cours Jean Jaures", "12 Broadway": needs a cue or capitals.
BARE_STREET_RE = re.compile(
    rf"\b{_HOUSE}[ \t]+(?P<name>(?:{_NAME_WORD}[ \t]+){{0,3}}{_NAME_WORD})"
    rf"(?:[ \t]+\d{{1,5}}[a-z]?\b|(?=[ \t]*(?:[,;]|\n|$))){_UNITS}", re.IGNORECASE)
_UNITS_RE = re.compile(_UNITS, re.IGNORECASE)
#: A word ending in a period inside a street name, and the word after it (looked at,
#: not taken: it may end in a period too, "Avda. Gral. Sanjurjo").
_DOTTED_WORD = re.compile(r"([^\W\d_]+)\.[ \t]+(?=([^\W\d_][\w'\u2019]*))")
#: Words that open a sentence: function words ("I", "We", "The") and greetings
#: ("Thanks", "Hello", "It's").
_SENTENCE_STARTS = STOP_WORDS | {t.split()[0] for t in WEAK_NAME_TRIGGERS}
#: Address words abbreviated with a period ("Blvd.", "Bldg."): never a sentence end.
_ADDRESS_WORDS = STREET_SUFFIXES | UNIT_TYPES
BOX_RE = re.compile(
    r"(?:\b|(?<=\d))(?:p\.?[ \t]?o\.?[ \t]*box|post[ \t]+office[ \t]+box"
    r"|(?:unit|psc|cmr)[ \t]+\d{1,7},?[ \t]+box|box)[ \t]*\#?[ \t]*\d{1,7}\b"
    r"|\b(?:uss|usns|usnv|uscgc|usav|usar)[ \t]+[^\W\d_][\w'-]*", re.IGNORECASE)
UNIT_LINE_RE = re.compile(rf"(?<![\w])(?:{_UNIT})\.?[ \t]*\#?[ \t]*[a-z]?\d{{1,5}}[a-z]?\b",
                          re.IGNORECASE)
_ZIP = r"\d{5}(?:-\d{4})?"
#: A UK and a Canadian postcode in capitals (pattern text, shared with ``town_postcodes``).
UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?[ \t]*\d[A-Z]{2}"
CA_POSTCODE = r"[A-Z]\d[A-Z][ \t]?\d[A-Z]\d"
POSTCODE_RE = re.compile(
    rf"\b(?:(?:{'|'.join(sorted(STATE_CODES))})[ \t]+{_ZIP}|(?:APO|FPO|DPO)[ \t]+"
    rf"(?:AA|AE|AP)[ \t]+{_ZIP}|\d{{5}}-\d{{4}}|{UK_POSTCODE}|{CA_POSTCODE})\b")
_POSTCODE_TOKEN = re.compile(
    rf"(?:{_ZIP}|\d{{4,6}}|\d{{2}}-\d{{3}}|{UK_POSTCODE}|{CA_POSTCODE})", re.IGNORECASE)
_ZIP_END = re.compile(rf"{_ZIP}|{UK_POSTCODE}|{CA_POSTCODE}")
_DOTTED = re.compile(r"\d+[.:]\d")
_GLUED_POSTCODE = re.compile(r"\d{4,6}(?=[a-z]$)")
_SPLIT_POSTCODE = re.compile(rf"(?:{UK_POSTCODE}|{CA_POSTCODE}|\d{{3}}[ \t]\d{{2}})\b")
#: Between the parts of an address: spaces, commas, line breaks, and the ">" or "|" that
#: stand for line breaks in a quoted or flattened text ("Suite 12 > Springfield > 62704").
#: A region code of any country after the city ("Tallinn HA", "Hunderdorf BY").
_REGION_CODE = re.compile(r"[A-Z]{2,3}")
_FIELD_LABELS = frozenset({"mobile", "phone", "tel", "telephone", "fax", "desk", "cell",
                           "email", "e-mail", "website", "web", "office", "name"})
_LONG_NUMBER = re.compile(r"\+?\d{7,}")
_SPOKEN_REGION = re.compile(r"[a-z]{2,3}")  # "tallinn ha", stop words excluded before
#: Two letters a region code and a stop word share ("no", "on", "by", "so", "at").
_STOP_REGION = re.compile(r"[a-z]{2}")
_NEXT = re.compile(r"[ \t,.>|]*(?P<nl>\n[ \t,.>|]*)?(?P<tok>[^\s,>|]+)")
#: Tokens of the rest of an address looked at, and lines it may take.
_MAX_TAIL = 10
_MAX_LINES = 5

WordTest = Callable[[str], bool]


def address_candidates(seg: int, view: SpokenView, ctx: TranscriptContext,
                       is_place: WordTest, is_common: WordTest) -> list[Candidate]:
    """Street lines, boxes and unit lines with the rest of the address, and postcodes.

    Read on the view (spoken numbers as digits) and, when it differs, on the original
    text too (the view keeps only ASCII letters in words: "Ránargata").
    """
    def identity(a: int, b: int) -> tuple[int, int]:
        return a, b

    found = _find(view.text, view.to_original, ctx, seg, is_place, is_common)
    if view.text != view.original:
        found += _find(view.original, identity, ctx, seg, is_place, is_common)
    #: never from a dotted number: an IP address or a version is no house number
    found = [f for f in found if not _DOTTED.match(view.original, f[0])]
    out: list[Candidate] = []
    for a, b, entity, score, why in sorted(found, key=lambda f: (f[0] - f[1], -f[3], f[0])):
        if any(c.start < b and a < c.end for c in out):
            continue  # the longest finding of an address wins
        recognizer = ADDRESS_RECOGNIZER if entity == E.ADDRESS else POSTCODE_RECOGNIZER
        out.append(Candidate(seg, a, b, entity, score, recognizer, None, why))
    return sorted(out, key=lambda c: c.start)


Found = tuple[int, int, str, float, str]
Mapper = Callable[[int, int], tuple[int, int]]


#: A digit of any script (``\d``, as in every pattern of ``_find_all``).
_DIGIT = re.compile(r"\d")
#: The start of ``BOX_RE``'s ship alternative ("USS Fujimura"), its only digit-free one.
_SHIP = re.compile(r"\b(?:uss|usns|usnv|uscgc|usav|usar)[ \t]", re.IGNORECASE)
#: ``STREET_RE``'s suffix ends at a word boundary after a space: its last word is a
#: whole word of the text.
_SUFFIX_WORDS = G.last_words(STREET_SUFFIXES)


def may_hold_address(text: str) -> bool:
    """Whether ``_find_all`` can find anything in ``text``: a necessary condition.

    Every finding but two needs a digit (a house, box or unit number, a postcode);
    the two are a street corner ("corner of Main and Elm") and a ship ("USS
    Fujimura"). Most transcript lines have none of the three, and the address
    finders (a dozen scans and three tokenizations) then never run. Checked against
    ``_find_all`` itself in ``tests/detection/test_address_gate.py``.
    """
    return (_DIGIT.search(text) is not None or street_lines.CORNER.search(text) is not None
            or _SHIP.search(text) is not None)


def _find(text: str, to_original: Mapper, ctx: TranscriptContext, seg: int,
          is_place: WordTest, is_common: WordTest) -> list[Found]:
    if not may_hold_address(text):
        return []
    return _find_all(text, to_original, ctx, seg, is_place, is_common)


def _find_all(text: str, to_original: Mapper, ctx: TranscriptContext, seg: int,
              is_place: WordTest, is_common: WordTest) -> list[Found]:
    out: list[Found] = []
    taken: list[tuple[int, int]] = []
    low = G.folded(text)

    def is_word(w: str) -> bool:  # a known place or a common word, no abbreviation
        return is_place(w) or is_common(w)

    def cued(start: int, near: bool = True) -> bool:
        a = to_original(start, start + 1)[0]
        if ctx.mentions(seg, a, _NETWORK_CUES, 12):
            return False
        return bool(ctx.mentions(seg, a, ADDRESS_CUES, 10)) or (
            near and bool(ctx.mentions(seg, a, _NEAR_CUES, 2)))

    def add(a: int, b: int, why: str, score: float) -> None:
        b = _tail(text, b, is_place)
        building = street_lines.HOUSE_BEFORE.search(text, max(0, a - 16), a)
        if building is not None:  # "974 12 Main St": a building number before the line
            a = building.start()
        taken.append((a, b))  # overlaps are settled in address_candidates, longest first
        out.append((*to_original(a, b), E.ADDRESS, score, why))

    for a, b, why, score in street_lines.corners(text):
        add(a, b, why, score)
    # every alternative of BOX_RE but the ship names holds "box"
    boxes = G.has_any(low, ("box",)) or _SHIP.search(text) is not None
    for m in BOX_RE.finditer(text) if boxes else ():
        if m.group().lower().startswith("box") and not cued(m.start()):
            continue
        add(m.start(), m.end(), "PO box or military address", 0.85)
    lines = street_lines.line_tokens(text)
    for a, b, why, score in [*street_lines.street_lines(
            text, cued, is_common, lambda i: cued(i, near=False), lines),
                              *street_lines.number_first(text, is_common, lines)]:
        units = _UNITS_RE.match(text, b)
        add(a, units.end() if units else b, why, score)
    for m in STREET_RE.finditer(text) if G.has_word(low, _SUFFIX_WORDS) else ():
        suffix = m.group("suffix").lower()
        if not _name_ok(m.group("name"), is_word):
            continue
        if suffix in _WEAK_SUFFIXES and not (_capitalized(m.group("name")) or cued(m.start())):
            continue
        if suffix in STOP_WORDS and not m.group("suffix")[:1].isupper():
            continue  # "75001 Paris is where I live", "5 units via": a verb, a preposition
        add(m.start(), m.end(), "house number, street name and suffix", 0.85)
    for m in BARE_STREET_RE.finditer(text):
        name = m.group("name")
        if not _name_ok(name, is_word) or name.lower() in STREET_SUFFIXES:
            continue
        numbered = m.group().rstrip()[-1:].isdigit()
        lowered = name.lower().split()
        rare = not any(is_common(w) for w in lowered)
        if lowered[0] in _QUANTITY or all(w.rstrip(".") in PHONE_LABELS for w in lowered):
            continue
        if not (cued(m.start(), near=rare or _capitalized(name))
                or (numbered and (_capitalized(name) or rare))):
            continue
        if all(is_common(w) for w in name.lower().split()):
            continue  # "address 10.1.1.104 blocked", "i waited 20 minutes"
        add(m.start(), m.end(), "house number and street name, address context", 0.7)
    # a unit line only joins an address found before it: none found, none to scan for
    for m in UNIT_LINE_RE.finditer(text) if taken else ():
        line_start = text.rfind("\n", 0, m.start()) + 1
        if text[line_start:m.start()].strip(" \t,") == "" and any(
                line_start - 1 <= y <= m.start() for _x, y in taken):
            add(m.start(), m.end(), "unit line of an address", 0.8)
    cued_codes = street_lines.cued_postcodes(text) if G.has_any(low, ("zip", "post")) else []
    for a, b, why, score in [*cued_codes,
                             *street_lines.place_postcodes(text, is_place, is_common, lines)]:
        if not any(x < b and a < y for x, y in taken):
            taken.append((a, b))
            out.append((*to_original(a, b), E.ZIP_CODE, score, why))
    for m in POSTCODE_RE.finditer(text) if G.may_hold_postcode(text) else ():
        if not any(x < m.end() and m.start() < y for x, y in taken):
            out.append((*to_original(m.start(), m.end()), E.ZIP_CODE, 0.8, "postcode shape"))
    return out


def _ends_sentence(name: str, is_word: WordTest) -> bool:
    """Whether a sentence ends inside a street name: a word of four letters or more
    ends in a period, and it is a place or a common word ("6500 Bellinzona. Paul
    loved Split 21000"), or the next word opens a sentence ("6637 Sonogno. I loved").

    An abbreviation is neither a place nor a common word: "870 Avda. Alameda
    Sundheim 46", "845 Crta. Cádiz-Málaga 82" are one street each, and so are
    "St. Mary" (short) and "Blvd. East", "Bldg. Seven" (address words)."""
    return any(
        len(w) > 3 and w.lower() not in _ADDRESS_WORDS
        and (is_word(w.lower()) or after.lower() in _SENTENCE_STARTS)
        for w, after in _DOTTED_WORD.findall(name))


#: Words read aloud between the parts of other values ("192 dot 168", "a at b").
_SPOKEN_JOINERS = frozenset({"dot", "point", "period", "at", "dash", "hyphen",
                             "underscore", "slash", "colon", "percent", "plus", "oh"})


def _name_ok(name: str, is_word: WordTest) -> bool:
    """Street name words: no stop words ("3 of the ..."), no spoken joiners
    ("2036 dot 106"), not only short words, no sentence end: "6500 Bellinzona. I
    loved Split 21000" and "6500 Bellinzona. I walked Church Road" are two sentences,
    and a street run past the period outgrew the address before it ("Via Franscini
    71, 6500 Bellinzona") and left its street name in clear."""
    words = name.replace(".", " ").split()
    if _ends_sentence(name, is_word):
        return False
    return bool(words) and not any(
        w.lower() in STOP_WORDS or (w in _SPOKEN_JOINERS)  # "Point Walter Road" is a name
        for w in words if len(w) > 1) and any(len(w) > 1 for w in words)


def _capitalized(name: str) -> bool:
    return all(w[:1].isupper() for w in name.split())


def _tail(text: str, end: int, is_place: WordTest) -> int:
    """End of the address that starts before ``end``: over the city, state, country
    and ZIP that follow (same line or the next few), up to the last of them."""
    best, pos, lines, prev, region = end, end, 0, "", False
    spoken = street_lines.no_capitals(text)
    for _ in range(_MAX_TAIL):
        m = _NEXT.match(text, pos)
        if m is None:
            break
        if m.group("nl") is not None:
            lines += m.group("nl").count("\n")
            if lines > _MAX_LINES:
                break
        if m.group("tok").endswith(":") or m.group("tok").lower() in _FIELD_LABELS or (
                _LONG_NUMBER.fullmatch(m.group("tok"))):
            break  # a field label ("Mobile:", spoken "fax") or a phone starts the next field
        tok = raw = m.group("tok").rstrip(".;:!?")
        if tok.startswith("(") and tok.endswith(")"):
            if tok[1:-1].isdigit():
                break  # "NI\n(028) 5089-989": a phone's area code, no postcode
            tok = tok[1:-1]  # "Cyprus (Greek) 17251"
        low = tok.lower()
        if spoken and best > end and _STOP_REGION.fullmatch(low):
            # a region code that is also an English word, said before the postcode that
            # ends the address ("ehingen by one double eight nine five", "london on
            # three oh four nine four": "BY 18895", "ON 30494"): only with the code
            code = _NEXT.match(text, m.end())
            if code is not None and code.group("nl") is None and _ZIP_END.fullmatch(
                    code.group("tok").rstrip(".;:!?")):
                best = pos = code.end()
                continue
        if not tok or (low in STOP_WORDS and low not in street_lines.PARTICLES
                       and not (tok.isupper() and not spoken)):  # "HE 01118"
            break
        if not (spoken or tok[:1].isupper() or tok[:1].isdigit() or tok.startswith("#")
                or low in street_lines.PARTICLES):
            # one lower-case word (a region written small) before the postcode that
            # ends the address: "Bowil, wa 61587"
            code = _NEXT.match(text, m.end())
            if (best > end or pos > end) and low not in STOP_WORDS and tok.isalpha() and (
                    code is not None and code.group("nl") is None
                    and _ZIP_END.fullmatch(code.group("tok").rstrip(".;:!?"))):
                best = pos = code.end()
                continue
            break
        split = _SPLIT_POSTCODE.match(text, m.start("tok"))
        if split is not None:
            best = pos = split.end()
            continue
        pos = m.end()
        pair, prev = f"{prev} {low}", low
        after_region, region = region, bool(_REGION_CODE.fullmatch(tok)) and not spoken
        glued = _GLUED_POSTCODE.match(tok)  # the view glues a spelled letter: "41347i"
        if glued is not None and spoken:
            best = m.start("tok") + glued.end()
        elif tok.isdigit() and len(tok) == 3 and after_region:
            best = m.start("tok") + 3  # a 3-digit postcode right after a region: "LI 514"
        elif (_POSTCODE_TOKEN.fullmatch(tok) or (tok.upper() in STATE_CODES and (
                tok.isupper() or spoken)) or _REGION_CODE.fullmatch(tok)
                or low in STATE_NAMES or is_place(low) or is_place(pair)
                or UNIT_LINE_RE.fullmatch(tok)
                or (spoken and _SPOKEN_REGION.fullmatch(low) and low not in _SPOKEN_JOINERS)):
            best = m.start("tok") + len(raw)
    return best
